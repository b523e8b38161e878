from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _create_search_structures(sender, using="default", **kwargs) -> None:
    """Create the FTS5 table / pg_trgm index idempotently, with and without migrations."""
    from django.db import connections

    from .search import ensure_search_structures

    ensure_search_structures(connections[using])


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = _("政务信息资源目录")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        post_migrate.connect(_create_search_structures, sender=self, dispatch_uid="catalog_search_structures")
        from . import dashboard  # noqa: F401
