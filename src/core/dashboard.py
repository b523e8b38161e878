"""Dashboard panels. Apps register a function returning panels for a user:

from core.dashboard import register
@register
def my_panels(user): return [{"title": ..., "items": [...], "url": ...}]
"""

from __future__ import annotations

from collections.abc import Callable

_providers: list[Callable] = []


def register(func: Callable) -> Callable:
    _providers.append(func)
    return func


def panels_for(user) -> list[dict]:
    panels: list[dict] = []
    for provider in _providers:
        panels.extend(provider(user) or [])
    return panels
