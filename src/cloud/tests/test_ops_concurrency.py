"""Cloud operations under concurrency (PostgreSQL): one expansion alert, no lost or doubled points."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from accounts.tests.factories import UnitFactory
from cloud import ops_services
from cloud.models import Allocation, ApplicationStatus, CapacityAlert, MetricPoint, MetricSeries, PoolKind
from cloud.tests.factories import application_in, center_unit, reviewer, standard_catalog
from core.models import Deadline
from core.rules import Rule
from core.tests.concurrency import race

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs real row locks across connections (PostgreSQL)"
)


@pytest.mark.django_db(transaction=True)
def test_concurrent_capacity_checks_open_exactly_one_alert_c27():
    center = center_unit()
    standard_catalog(compute=5)
    application_in(ApplicationStatus.PRODUCTION, unit=UnitFactory(), center=center)  # 4 of 5 vCPU
    outcomes = race([ops_services.capacity_check for _ in range(3)])
    assert sorted(len(o["opened"]) for o in outcomes) == [0, 0, 1]
    assert CapacityAlert.objects.count() == 1
    assert Deadline.objects.filter(rule=Rule.CLOUD_EXPANSION).count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_pushes_of_the_same_hours_keep_one_value_per_hour_c27():
    center = center_unit()
    standard_catalog()
    app = application_in(ApplicationStatus.PRODUCTION, unit=UnitFactory(), center=center)
    alloc = Allocation.objects.get(resource__application=app, pool__kind=PoolKind.COMPUTE)
    MetricSeries.objects.create(pool=alloc.pool, allocation=alloc, metric="cpu")
    user = reviewer(center)
    now = timezone.now()
    batches = [
        [
            {"allocation": alloc.pk, "at": (now - timedelta(hours=h)).isoformat(), "value": v}
            for h in range(2500)
        ]
        for v in (10, 20)
    ]
    outcomes = race([lambda b=b: ops_services.metrics_push(by=user, points=b).points for b in batches])
    assert outcomes == [2500, 2500]
    series = MetricSeries.objects.get(allocation=alloc)
    assert MetricPoint.objects.filter(series=series).count() == 2500
    assert len(set(MetricPoint.objects.filter(series=series).values_list("value", flat=True))) == 1
