from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = _("平台核心")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from . import signals  # noqa: F401
        from .audit_db import install_on_post_migrate

        # Append-only triggers on the audit trail, after real migrations and --no-migrations test DBs.
        post_migrate.connect(install_on_post_migrate, sender=self, dispatch_uid="core.audit_db.triggers")
        from .ratelimit import install_on_post_migrate as unlogged_counters

        post_migrate.connect(unlogged_counters, sender=self, dispatch_uid="core.ratelimit.unlogged")
