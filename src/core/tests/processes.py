"""Helpers for tests that run GovHub in processes of their own (a worker, the web server), each
against a database of its own that the test suite's transaction does not hide."""

from __future__ import annotations


def build_schema() -> None:
    """Set Django up and create every table from the models, as the suite does (``--no-migrations``:
    faster than migrating). Call in the child process, before anything else touches the database."""
    import django

    django.setup()
    from django.apps import apps
    from django.conf import settings
    from django.core.management import call_command

    settings.MIGRATION_MODULES = {app.label: None for app in apps.get_app_configs()}
    call_command("migrate", run_syncdb=True, verbosity=0)
