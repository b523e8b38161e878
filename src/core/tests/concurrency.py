"""Running service calls at the same moment from several threads, each on its own database
connection (PostgreSQL row-lock tests)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.db import connections

from core.errors import DomainError


def race(calls: list[Callable[[], Any]], timeout: float = 60) -> list[Any]:
    """Start ``calls`` together (a barrier) and return, in order, what each returned or the code of
    the ``DomainError`` it raised. Other exceptions fail the test (they are re-raised)."""
    barrier = threading.Barrier(len(calls))
    outcomes: list[Any] = [None] * len(calls)
    failures: list[BaseException] = []

    def run(i: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            outcomes[i] = call()
        except DomainError as exc:
            outcomes[i] = exc.code
        except BaseException as exc:  # noqa: BLE001 — re-raised in the test's thread below
            failures.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    if failures:
        raise failures[0]
    return outcomes
