"""Limits of the data store. Each can be overridden in settings (``GOVHUB_DATASTORE_<NAME>``).

Rule-like figures (the default reject threshold, update-cycle windows) are listed here with the
reason beside each; the integrator may move them into ``core.rules``.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.conf import settings

#: Default share of rejected rows above which a whole load fails with nothing applied (issue 6).
DEFAULT_REJECT_THRESHOLD = Decimal("0.01")

#: Update cycle -> longest calendar time between two successful loads before the resource is
#: flagged overdue (S§24: the provider keeps its data current per its declared cycle). Cycles are
#: calendar periods, not 工作日 clocks, so plain timedeltas are right here.
UPDATE_CYCLE_WINDOW = {
    "realtime": timedelta(days=1),
    "daily": timedelta(days=2),
    "weekly": timedelta(days=8),
    "monthly": timedelta(days=32),
    "quarterly": timedelta(days=93),
    "yearly": timedelta(days=367),
}


def _get(name: str, default):
    return getattr(settings, f"GOVHUB_DATASTORE_{name}", default)


def max_upload_bytes() -> int:
    return int(getattr(settings, "GOVHUB_MAX_UPLOAD_BYTES", 2 * 1024**3))


def max_line_chars() -> int:
    """Longest physical line (or JSON line) accepted; guards against a file with no newlines."""
    return int(_get("MAX_LINE_CHARS", 1_000_000))


def batch_rows() -> int:
    return int(_get("BATCH_ROWS", 20_000))


def max_rejects_kept() -> int:
    """Rejected values stored for download per load (all are counted)."""
    return int(_get("MAX_REJECTS_KEPT", 10_000))


def xlsx_max_uncompressed_bytes() -> int:
    return int(_get("XLSX_MAX_UNCOMPRESSED", 4 * 1024**3))


def xlsx_max_ratio() -> int:
    """Largest compression ratio of one member of an XLSX before it is treated as a zip bomb."""
    return int(_get("XLSX_MAX_RATIO", 200))


def push_max_rows() -> int:
    return int(_get("PUSH_MAX_ROWS", 10_000))


def files_dir():
    from pathlib import Path

    return Path(_get("FILES_DIR", settings.VAR_DIR / "datastore"))


def stale_after() -> timedelta:
    """A running load without a heartbeat for this long was interrupted (crash, kill -9)."""
    return timedelta(seconds=int(_get("STALE_SECONDS", 120)))
