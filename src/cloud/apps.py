from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CloudConfig(AppConfig):
    name = "cloud"
    verbose_name = _("政务云")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import dashboard  # noqa: F401
