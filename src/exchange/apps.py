from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExchangeConfig(AppConfig):
    name = "exchange"
    verbose_name = _("共享交换")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from catalog.services import register_consumer_provider
        from datastore import hooks

        from .copyout import masked_column
        from .services import notify_consumers_after_load, resource_consumer_users

        hooks.connect_after_load(notify_consumers_after_load)
        hooks.connect_derived_column(masked_column)
        register_consumer_provider(resource_consumer_users)
