"""Navigation by role. Each app adds its entries with ``register`` in its ``navigation.py``
(imported by ``menu_for``); an entry is shown when ``visible(user)`` is true."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.urls import NoReverseMatch, reverse


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    visible: Callable = field(default=lambda user: True)
    group: str = ""
    order: int = 100


_items: list[NavItem] = []
_loaded = False


def register(item: NavItem) -> None:
    _items.append(item)


def _load() -> None:
    global _loaded
    if _loaded:
        return
    for app in settings.INSTALLED_APPS:
        if "." in app:
            continue
        try:
            importlib.import_module(f"{app}.navigation")
        except ModuleNotFoundError as exc:
            if exc.name != f"{app}.navigation":
                raise
    _loaded = True


def menu_for(user) -> list[dict]:
    """Groups of links the user may follow, in order."""
    _load()
    groups: dict[str, list[dict]] = {}
    for item in sorted(_items, key=lambda i: i.order):
        if not item.visible(user):
            continue
        try:
            url = reverse(item.url_name)
        except NoReverseMatch:
            continue
        groups.setdefault(str(item.group), []).append({"label": str(item.label), "url": url})
    return [{"group": g, "items": links} for g, links in groups.items()]


# --- core's own entries (core is an app too: ``_load`` imports this very module) ---------------


def _can_manage_calendar(user) -> bool:
    from core.calendar import can_manage_calendar

    return can_manage_calendar(user)


def _can_view_rules(user) -> bool:
    from core.calendar import can_view_rules

    return can_view_rules(user)


def _register_core_items() -> None:
    from django.utils.translation import gettext_lazy as _

    register(NavItem(_("办理时限"), "core:deadline-list", group=_("督办"), order=15))
    register(
        NavItem(_("工作日历"), "core:calendar", visible=_can_manage_calendar, group=_("平台管理"), order=700)
    )
    register(
        NavItem(_("时限规则"), "core:calendar-rules", visible=_can_view_rules, group=_("平台管理"), order=710)
    )


_register_core_items()
