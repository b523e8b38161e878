"""Hooks other apps attach to (the exchange sits to the right of the data store and may not be
imported from here, DESIGN.md):

- after each successful load, units holding grants on the resource are told to compare and
  update (S§25);
- derived columns: on PostgreSQL a data item's table may carry a stored generated column computed
  from the item's column (the exchange keeps each masked item's masked text there, so that a
  masked download is a plain read, decision 0010).

    from datastore import hooks
    hooks.connect_after_load(my_receiver)   # my_receiver(resource=..., load=...)
    hooks.connect_derived_column(derive)    # derive(item) -> immutable SQL over its column, or None
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

logger = logging.getLogger(__name__)

_receivers: list[Callable[..., Any]] = []
_derivers: list[Callable[[Any], str | None]] = []


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


def connect_derived_column(deriver: Callable[[Any], str | None]) -> None:
    if deriver not in _derivers:
        _derivers.append(deriver)


def derived_expressions(items: Any) -> dict[int, str]:
    """``{item id: expression}`` for the items some deriver gives a column (the first one that
    answers). The expression is SQL the deriver generated from the item's column name (never user
    text), immutable, as PostgreSQL requires of a stored generated column."""
    out = {}
    for item in items:
        for deriver in _derivers:
            expr = deriver(item)
            if expr:
                out[item.pk] = expr
                break
    return out
