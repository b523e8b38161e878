"""Dashboard ("我的待办") panels. Apps register a function returning panels for a user:

    from core.dashboard import register

    @register
    def my_panels(user):
        return [{"title": _("待审核的目录"), "count": 3, "url": "/catalog/review/",
                 "items": [{"label": "...", "url": "...", "note": "...", "level": "danger"}],
                 "order": 20}]

Keys: ``title`` (required), ``items`` (list of ``label``/``url``/``note``/``level``), ``count``
(badge; the number of open tasks), ``url`` ("查看全部"), ``order`` (smaller first), ``level``
(``danger``/``warning``/``info``: the colour of the badge and of an item's note, e.g. overdue).
Return ``[]`` when the user has nothing to see: a panel the user may not act on is noise.
Providers are called in the request; keep them to one or two queries each.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)

_providers: list[Callable] = []


def register(func: Callable) -> Callable:
    if func not in _providers:
        _providers.append(func)
    return func


def panels_for(user) -> list[dict]:
    """All panels for ``user``, in order. A failing provider is logged and shown as unavailable,
    so one app's bug does not take the whole dashboard down."""
    panels: list[dict] = []
    for provider in _providers:
        try:
            panels.extend(provider(user) or [])
        except Exception:
            logger.exception(
                "dashboard panel provider %s failed", getattr(provider, "__qualname__", provider)
            )
            panels.append({"title": _("此面板暂时无法显示"), "items": [], "unavailable": True, "order": 999})
    return sorted(panels, key=lambda p: p.get("order", 100))
