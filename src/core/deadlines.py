"""Deadline clocks (SLA) on any workflow object. Interface used by every app:

    deadlines.start(target=obj, rule=Rule.CLOUD_ACCEPT, responsible_unit=unit)  -> Deadline
    deadlines.meet(target=obj, rule=Rule.CLOUD_ACCEPT)                           -> Deadline | None
    deadlines.pause(target=obj, rule=..., reason="...") / deadlines.resume(target=obj, rule=...)
    deadlines.current(target=obj, rule=...)                                      -> Deadline | None

(Implementation filled by the core-services work; signatures are fixed.)
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from core.rules import Rule


def start(*, target: Any, rule: Rule, responsible_unit: Any = None, started_at: datetime | None = None):
    """Start the clock ``rule`` for ``target`` (C§11 etc.): due per the working-day calendar."""
    return None


def meet(*, target: Any, rule: Rule, at: datetime | None = None):
    """Stop the clock: the duty was done (met, or late if past due)."""
    return None


def pause(*, target: Any, rule: Rule, reason: str = "", at: datetime | None = None):
    return None


def resume(*, target: Any, rule: Rule, at: datetime | None = None):
    return None


def cancel(*, target: Any, rule: Rule):
    return None


def current(*, target: Any, rule: Rule):
    return None
