"""Permission-matrix rows for core's API endpoints (format: ``core/tests/matrix.py``).

Owned by the calendar work; the audit and notification work append their rows below theirs.
"""

from __future__ import annotations

from core.tests.matrix import Row

ROWS: list[Row] = []
