"""Concurrent approvals (PostgreSQL): the row lock + the transition table let exactly one win."""

from __future__ import annotations

import pytest
from django.db import connection

from cloud import services
from cloud.models import Allocation, ApplicationStatus, CloudApplication, ProvisionedResource
from cloud.tests.factories import owner, reviewer, standard_catalog, submit
from core.tests.concurrency import race


def _ok_race(calls):
    """``race`` with "ok" for each call that succeeded."""
    return ["ok" if not isinstance(o, str) else o for o in race(calls)]


pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs real row locks across connections (PostgreSQL)"
)


@pytest.mark.django_db(transaction=True)
def test_concurrent_approvals_of_the_same_application_exactly_one_wins_c11():
    catalog = standard_catalog()
    unit_user = owner()
    first, second = reviewer(), reviewer()
    app = submit(unit_user, catalog, host=2)
    services.cloud_application_accept(application=app, by=first)
    outcomes = _ok_race(
        [
            lambda: services.cloud_application_approve(application=app, by=first),
            lambda: services.cloud_application_approve(application=app, by=second),
        ]
    )
    assert sorted(outcomes) == ["cloud.illegal_transition", "ok"]
    app.refresh_from_db()
    assert app.status == ApplicationStatus.TESTING
    assert ProvisionedResource.objects.filter(application=app).count() == 2
    assert app.steps.filter(action="approve").count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_applications_racing_for_the_last_capacity_only_one_is_allocated_c27():
    catalog = standard_catalog(compute=8)
    center_user = reviewer()
    apps = [submit(owner(), catalog, host=2) for _ in range(2)]  # 8 vCPU each, 8 in the pool
    for app in apps:
        services.cloud_application_accept(application=app, by=center_user)
    outcomes = _ok_race(
        [lambda a=a: services.cloud_application_approve(application=a, by=center_user) for a in apps]
    )
    assert sorted(outcomes) == ["cloud.capacity_exceeded", "ok"]
    assert sum(Allocation.objects.filter(pool__kind="compute").values_list("amount", flat=True)) == 8
    statuses = sorted(CloudApplication.objects.values_list("status", flat=True))
    assert statuses == ["accepted", "testing"]
