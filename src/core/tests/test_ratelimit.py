"""Rate limits counted in the database (core.ratelimit): one count per caller for all processes."""

from __future__ import annotations

import time

import pytest
from django.db import connection

from core import ratelimit
from core.models import RateWindow

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("text", ["", "1200", "/min", "10/fortnight", "-5/min", "ten/min", "5 / min / x"])
def test_a_rate_that_is_not_n_per_period_is_refused(text):
    with pytest.raises(ValueError, match="rate must look like"):
        ratelimit.parse_rate(text)


def test_rates_read_in_every_period():
    assert ratelimit.parse_rate("1200/min") == ratelimit.Rate(1200, 60)
    assert ratelimit.parse_rate(" 10 / s ") == ratelimit.Rate(10, 1)
    assert ratelimit.parse_rate("5000/hour") == ratelimit.Rate(5000, 3600)
    assert ratelimit.parse_rate("100/day") == ratelimit.Rate(100, 86400)


def test_the_call_over_the_limit_is_refused_with_the_seconds_left_in_its_window():
    rate, now = ratelimit.Rate(2, 60), 1_800_000_030.0  # 30 s into a minute window
    assert [ratelimit.hit("c7", rate, now=now).allowed for _ in range(3)] == [True, True, False]
    refused = ratelimit.peek("c7", rate, now=now)
    assert not refused.allowed and refused.hits == 3 and 30 <= refused.retry_after <= 31
    assert ratelimit.peek("c7", rate, now=now).hits == 3  # peeking does not count
    assert ratelimit.hit("c7", rate, now=now + 60).allowed  # the next window starts at one
    assert ratelimit.hit("c8", rate, now=now).hits == 1  # another caller has its own count


def test_counts_of_different_periods_never_share_a_row():
    now = 1_800_000_000.0
    ratelimit.hit("c7", ratelimit.Rate(5, 60), now=now)
    ratelimit.hit("c7", ratelimit.Rate(5, 3600), now=now)
    assert sorted(RateWindow.objects.values_list("key", flat=True)) == ["c7/3600", "c7/60"]


def test_sweep_drops_only_windows_long_past():
    old, recent = int(time.time()) - 3 * 86400, int(time.time()) - 60
    RateWindow.objects.create(key="c1/60", window=old, hits=9)
    RateWindow.objects.create(key="c1/60", window=recent, hits=1)
    assert ratelimit.sweep() == 1
    assert list(RateWindow.objects.values_list("window", flat=True)) == [recent]


def test_the_counter_table_is_unlogged_on_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("UNLOGGED tables are PostgreSQL's")
    with connection.cursor() as cursor:
        cursor.execute("SELECT relpersistence FROM pg_class WHERE relname = %s", [RateWindow._meta.db_table])
        assert cursor.fetchone()[0] == "u"
