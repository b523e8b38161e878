"""Notifications: in-app inbox + email per user preference. Interface used by every app:

    notify(event="cloud.application.accepted", users=[u], roles=[Role.CENTER_REVIEWER],
           unit=unit, title="...", body="...", url="/cloud/applications/3/")

Recipients: the given users, plus everyone holding any of ``roles`` (in ``unit`` if given; for
center roles, in the center). (Implementation filled by the core-services work.)
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def notify(
    *,
    event: str,
    title: str,
    body: str = "",
    url: str = "",
    users: Iterable[Any] = (),
    roles: Iterable[str] = (),
    unit: Any = None,
) -> int:
    """Deliver; returns how many people were notified."""
    return 0
