"""Request counters for rate limits shared by every server process (DESIGN rule 6)."""

from __future__ import annotations

from django.db import models


class RateWindow(models.Model):
    """Hits of one caller (``key``, e.g. ``c12/60`` for API client 12 per minute) in one fixed window
    (``window``: its start, in seconds since the epoch). On PostgreSQL the table is
    UNLOGGED (``core.ratelimit.install_on_post_migrate``): counters are not worth a WAL flush and
    are simply empty again after a crash."""

    key = models.CharField(max_length=64)
    window = models.BigIntegerField()
    hits = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["key", "window"], name="uniq_rate_window")]

    def __str__(self) -> str:
        return f"{self.key}@{self.window}: {self.hits}"
