"""Load the demo district: every GovHub app's ``demo.py`` in DESIGN order, in one transaction."""

from __future__ import annotations

import importlib
from types import ModuleType

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

#: DESIGN.md's order, left to right: an app's demo data may use what the apps before it loaded.
DESIGN_ORDER = (
    "core",
    "accounts",
    "catalog",
    "datastore",
    "exchange",
    "quality",
    "opendata",
    "cloud",
    "security",
    "assessment",
)


def demo_modules() -> list[tuple[str, ModuleType]]:
    """The installed GovHub apps that have a ``demo`` module with ``load(stdout)``, in DESIGN order."""
    found = []
    for label in DESIGN_ORDER:
        if not apps.is_installed(label):
            continue
        name = f"{apps.get_app_config(label).name}.demo"
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        if callable(getattr(module, "load", None)):
            found.append((label, module))
    return found


class Command(BaseCommand):
    help = "载入演示数据（长沙市芙蓉区：数据资源中心、各单位、监督部门、演示账号及各业务演示数据）。"

    def add_arguments(self, parser):
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="数据库中已有单位时不做任何事（make run 使用，重复运行保留已有数据）。",
        )

    def handle(self, *args, **options):
        from accounts.models import Unit

        if Unit.objects.exists():
            if options["if_empty"]:
                self.stdout.write("数据库中已有单位，保留现有数据，不再载入演示数据。")
                return
            raise CommandError("数据库中已有单位，演示数据只能载入空数据库（或使用 --if-empty 跳过）。")
        modules = demo_modules()
        # Whole or nothing (DESIGN rule 4): a failing app leaves no half-loaded district behind.
        with transaction.atomic():
            for label, module in modules:
                self.stdout.write(f"载入演示数据：{label}")
                module.load(self.stdout)
        self.stdout.write(self.style.SUCCESS("演示数据载入完成。"))
