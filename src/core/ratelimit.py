"""Fixed-window rate limits counted in the database, so every server process (web workers,
threads) shares one count per caller — a per-process cache would multiply the limit by the
number of processes.

One statement per call: ``INSERT … ON CONFLICT DO UPDATE … RETURNING hits``. On PostgreSQL the
table is UNLOGGED, so a transaction that only bumps a counter commits without waiting for a WAL
flush; callers' hot counter rows are therefore locked for microseconds, not for a disk write.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from django.db import connection

PERIODS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600, "d": 86400, "day": 86400}  # fmt: skip


@dataclass(frozen=True)
class Rate:
    limit: int
    seconds: int


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    hits: int
    retry_after: int  # seconds until the window ends (0 when allowed)


def parse_rate(text: str) -> Rate:
    """``"1200/min"``, ``"10/s"``, ``"5000/hour"``, ``"100/day"``."""
    m = re.fullmatch(r"\s*(\d+)\s*/\s*([a-z]+)\s*", str(text))
    if not m or m.group(2) not in PERIODS:
        raise ValueError(f"rate must look like 1200/min, not {text!r}")
    return Rate(int(m.group(1)), PERIODS[m.group(2)])


def _table() -> str:
    from core.models import RateWindow

    return connection.ops.quote_name(RateWindow._meta.db_table)


def _window(rate: Rate, now: float) -> tuple[int, int]:
    """(start of the current window in epoch seconds, seconds until it ends)."""
    start = int(now // rate.seconds) * rate.seconds
    return start, int(start + rate.seconds - now) + 1


def rate_key(key: str, rate: Rate) -> str:
    """Counters of different periods never share a row."""
    return f"{key}/{rate.seconds}"[:64]


def _hit_sql() -> str:
    """The counting statement, with placeholders (key, window). (The exchange gateway counts with
    its own statement, joined to its token lookup: ``exchange.gateway._lookup_sql``.)"""
    t = _table()
    return (
        f"INSERT INTO {t} ({connection.ops.quote_name('key')}, {connection.ops.quote_name('window')}, hits) "
        f"VALUES (%s, %s, 1) ON CONFLICT ({connection.ops.quote_name('key')}, "
        f"{connection.ops.quote_name('window')}) DO UPDATE SET hits = {t}.hits + 1 RETURNING hits"
    )


def hit(key: str, rate: Rate, *, now: float | None = None) -> Verdict:
    """Count one call of ``key`` and say whether it is within ``rate``."""
    now = time.time() if now is None else now
    window, left = _window(rate, now)
    with connection.cursor() as cursor:
        cursor.execute(_hit_sql(), [rate_key(key, rate), window])
        hits = int(cursor.fetchone()[0])
    return verdict(rate, hits, left)


def verdict(rate: Rate, hits: int, left: int) -> Verdict:
    return Verdict(hits <= rate.limit, hits, 0 if hits <= rate.limit else left)


def peek(key: str, rate: Rate, *, now: float | None = None) -> Verdict:
    """The verdict for a call already counted (by the exchange gateway) without counting it again."""
    now = time.time() if now is None else now
    window, left = _window(rate, now)
    t = _table()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT hits FROM {t} WHERE {connection.ops.quote_name('key')} = %s "
            f"AND {connection.ops.quote_name('window')} = %s",
            [rate_key(key, rate), window],
        )
        row = cursor.fetchone()
    return verdict(rate, int(row[0]) if row else 0, left)


def window_of(rate: Rate, now: float | None = None) -> tuple[int, int]:
    return _window(rate, time.time() if now is None else now)


def sweep(*, older_than_seconds: int = 2 * 86400) -> int:
    """Drop counters of windows that started long ago (periodic; daily windows stay two days)."""
    from core.models import RateWindow

    deleted, _ = RateWindow.objects.filter(window__lt=int(time.time()) - older_than_seconds).delete()
    return deleted


def install_on_post_migrate(sender, using="default", **kwargs) -> None:
    """PostgreSQL: make the counter table UNLOGGED (idempotent)."""
    from django.db import connections

    from core.models import RateWindow

    conn = connections[using]
    if conn.vendor != "postgresql":
        return
    table = RateWindow._meta.db_table
    with conn.cursor() as cursor:
        cursor.execute("SELECT relpersistence FROM pg_class WHERE relname = %s", [table])
        row = cursor.fetchone()
        if row and row[0] == "p":
            cursor.execute(f"ALTER TABLE {conn.ops.quote_name(table)} SET UNLOGGED")
