"""Hooks other apps attach to (the exchange sits to the right of the data store and may not be
imported from here, DESIGN.md): after each successful load, units holding grants on the resource
are told to compare and update (S§25).

    from datastore import hooks
    hooks.connect_after_load(my_receiver)   # my_receiver(resource=..., load=...)
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

logger = logging.getLogger(__name__)

_receivers: list[Callable[..., Any]] = []


def connect_after_load(receiver: Callable[..., Any]) -> None:
    if receiver not in _receivers:
        _receivers.append(receiver)


def disconnect_after_load(receiver: Callable[..., Any]) -> None:
    if receiver in _receivers:
        _receivers.remove(receiver)


def after_load(resource: Any, load: Any) -> None:
    """Called once after a load is applied and committed. A failing receiver is logged and does
    not undo the load (the data is already in place)."""
    for receiver in list(_receivers):
        try:
            receiver(resource=resource, load=load)
        except Exception:
            logger.exception("datastore after_load receiver %r failed for load %s", receiver, load.pk)
