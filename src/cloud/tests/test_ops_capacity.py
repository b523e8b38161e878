"""Cloud operations — the 70 % rule (C§27) and idle / over-provisioned resources (C§38)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine

from accounts.roles import Role
from accounts.tests.factories import UnitFactory, UserFactory
from cloud import ops_services, services
from cloud.models import (
    Allocation,
    ApplicationStatus,
    CapacityAlert,
    ChangeRequest,
    EfficiencyFlag,
    MetricSeries,
    PoolKind,
    ProductKind,
    ProvisionedResource,
    ResourcePool,
)
from cloud.tests.factories import (
    ProductFactory,
    advance,
    application_in,
    owner,
    reviewer,
    standard_catalog,
    submit,
)
from core import calendar
from core.models import AuditEvent, Deadline
from core.rules import Rule

SH = ZoneInfo("Asia/Shanghai")
MONDAY = datetime(2026, 9, 21, 10, 0, tzinfo=SH)  # the clock runs across the 国庆 holidays


def _production(unit, center_user, catalog, **quantities):
    unit_user = owner(unit)
    app = submit(unit_user, catalog, **(quantities or {"host": 1}))
    return advance(app, ApplicationStatus.PRODUCTION, center_user=center_user, unit_user=unit_user), unit_user


@pytest.fixture
def center_user(db):
    return reviewer()


@time_machine.travel(MONDAY, tick=False)
def test_pool_reaching_70_percent_opens_one_expansion_task_exactly_once_c27(center_user):
    catalog = standard_catalog(compute=10)  # a host is 4 vCPU
    _production(UnitFactory(), center_user, catalog)
    assert ops_services.capacity_check()["opened"] == []  # 40 %
    _production(UnitFactory(), center_user, catalog)  # 8 of 10 = 80 %
    first = ops_services.capacity_check()
    assert len(first["opened"]) == 1
    assert ops_services.capacity_check()["opened"] == []  # not repeated while open
    assert ops_services.capacity_check()["opened"] == []
    alert = CapacityAlert.objects.get()
    assert alert.pool.kind == PoolKind.COMPUTE and alert.ratio_at_open == pytest.approx(0.8)
    clock = Deadline.objects.get(rule=Rule.CLOUD_EXPANSION, target_id=str(alert.pk))
    expected, _provisional = calendar.due_at(MONDAY, 10)
    assert alert.due_at == clock.due_at == expected
    assert (clock.due_at.date() - MONDAY.date()).days > 14  # 10 working days span the 国庆 week
    assert AuditEvent.objects.filter(action="cloud.capacity_alert.open").count() == 1


@time_machine.travel(MONDAY, tick=False)
def test_expansion_alert_closes_when_capacity_is_raised_and_a_new_crossing_opens_a_new_one_c27(center_user):
    catalog = standard_catalog(compute=10)
    _production(UnitFactory(), center_user, catalog)
    _production(UnitFactory(), center_user, catalog)
    ops_services.capacity_check()
    pool = ResourcePool.objects.get(kind=PoolKind.COMPUTE)
    admin = UserFactory(unit=center_user.unit, roles=[Role.CENTER_ADMIN])
    services.resource_pool_resize(pool=pool, by=admin, total=11, note="小幅扩容")
    assert ops_services.capacity_check()["closed"] == []  # 8/11 is still above 70 %: stays open
    services.resource_pool_resize(pool=pool, by=admin, total=20, note="扩容")
    result = ops_services.capacity_check()
    assert len(result["closed"]) == 1
    alert = CapacityAlert.objects.get()
    assert alert.status == "closed" and alert.total_at_close == 20
    assert Deadline.objects.get(rule=Rule.CLOUD_EXPANSION).state == "met"
    _production(UnitFactory(), center_user, catalog)
    _production(UnitFactory(), center_user, catalog)  # 16 of 20 = 80 % again
    assert len(ops_services.capacity_check()["opened"]) == 1
    assert CapacityAlert.objects.filter(status="open").count() == 1


def test_capacity_alerts_are_for_the_center_only(db, api, center_user):
    standard_catalog()
    api.force_authenticate(center_user)
    assert api.get("/api/v1/cloud/ops/capacity-alerts/").status_code == 200
    api.force_authenticate(UserFactory(unit=UnitFactory(), roles=[Role.UNIT_ADMIN]))
    assert api.get("/api/v1/cloud/ops/capacity-alerts/").status_code == 403


# --- C§38 -----------------------------------------------------------------------------------------

NOW = datetime(2026, 6, 30, 12, 0, tzinfo=SH)


def _cpu(resource, values_by_hour_back):
    """Write hourly CPU % for the resource's compute allocation, ``f(h)`` for h hours back."""
    alloc = Allocation.objects.get(resource=resource, pool__kind=PoolKind.COMPUTE)
    series, _ = MetricSeries.objects.get_or_create(pool=alloc.pool, allocation=alloc, metric="cpu")
    last = ops_services.hour_of(NOW)
    rows = {(series.pk, last - h): float(values_by_hour_back(h)) for h in range(values_by_hour_back.hours)}
    ops_services.write_points(rows)


class Curve:
    def __init__(self, hours, f):
        self.hours, self.f = hours, f

    def __call__(self, h):
        return self.f(h)


@pytest.fixture
def fleet(db, center_user):
    with time_machine.travel(NOW - timedelta(days=45), tick=False):
        catalog = standard_catalog()
        ProductFactory(
            code="ecs-2c4g",
            name="云主机 2核4G",
            kind=ProductKind.HOST,
            vcpu=2,
            memory_gb=4,
            storage_gb=100,
            unit_price_month=Decimal("50.00"),
        )
        catalog["host"].unit_price_month = Decimal("100.00")
        catalog["host"].save()
        unit_a, unit_b = UnitFactory(), UnitFactory()
        app_a, user_a = _production(unit_a, center_user, catalog, host=2)
        app_b, user_b = _production(unit_b, center_user, catalog, host=1)
    hosts = list(
        ProvisionedResource.objects.filter(application=app_a, product=catalog["host"]).order_by("id")
    )
    return {
        "a": unit_a,
        "b": unit_b,
        "app_a": app_a,
        "user_a": user_a,
        "user_b": user_b,
        "hosts": hosts,
        "host_b": ProvisionedResource.objects.get(application=app_b),
        "catalog": catalog,
    }


@time_machine.travel(NOW, tick=False)
def test_cpu_below_5_percent_for_30_days_is_flagged_idle_once_c38(fleet):
    idle, busy = fleet["hosts"]
    _cpu(idle, Curve(31 * 24, lambda h: 1 + (h % 3)))  # 1–3 %
    _cpu(busy, Curve(31 * 24, lambda h: 40 + (h % 50)))  # 40–89 %
    result = ops_services.efficiency_scan(now=NOW)
    flag = EfficiencyFlag.objects.get()
    assert result["flagged"] == [flag.pk]
    assert (flag.resource, flag.kind, flag.unit) == (idle, "idle", fleet["a"])
    assert flag.measured["cpu_max"] == 3.0
    assert flag.suggestion == [{"product": fleet["catalog"]["host"].pk, "quantity": 1}]
    assert ops_services.efficiency_scan(now=NOW)["flagged"] == []  # not repeated while open


@time_machine.travel(NOW, tick=False)
def test_less_than_30_days_of_data_is_not_judged_idle_c38(fleet):
    _cpu(fleet["hosts"][0], Curve(29 * 24, lambda h: 1))
    assert ops_services.efficiency_scan(now=NOW)["flagged"] == []


@time_machine.travel(NOW, tick=False)
def test_one_busy_hour_in_30_days_means_not_idle_but_over_provisioned_c38(fleet):
    _cpu(fleet["hosts"][0], Curve(31 * 24, lambda h: 60 if h == 100 else 3))
    ops_services.efficiency_scan(now=NOW)
    flag = EfficiencyFlag.objects.get()
    assert flag.kind == "overprovisioned"  # p95 3 % < 30 % of the size
    small = fleet["catalog"]["host"].__class__.objects.get(code="ecs-2c4g")
    assert {(ln["product"], ln["quantity"]) for ln in flag.suggestion} == {
        (fleet["catalog"]["host"].pk, 1),
        (small.pk, 1),
    }


@time_machine.travel(NOW, tick=False)
def test_unit_accepts_right_sizing_as_a_c14_change_request_c38(fleet, api):
    _cpu(fleet["hosts"][0], Curve(31 * 24, lambda h: 1))
    ops_services.efficiency_scan(now=NOW)
    flag = EfficiencyFlag.objects.get()
    api.force_authenticate(fleet["user_b"])
    assert api.post(f"/api/v1/cloud/ops/efficiency/{flag.pk}/accept/").status_code == 404  # not theirs
    reader = UserFactory(unit=fleet["a"], roles=[Role.UNIT_USER])
    api.force_authenticate(reader)
    assert api.post(f"/api/v1/cloud/ops/efficiency/{flag.pk}/accept/").status_code == 403
    assert not ChangeRequest.objects.exists()
    api.force_authenticate(fleet["user_a"])
    response = api.post(f"/api/v1/cloud/ops/efficiency/{flag.pk}/accept/")
    assert response.status_code == 200, response.json()
    change = ChangeRequest.objects.get()
    assert response.json()["change"] == change.pk and response.json()["status"] == "accepted"
    assert change.lines == flag.suggestion and "C§38" in change.reason
    fleet["app_a"].refresh_from_db()
    assert fleet["app_a"].status == ApplicationStatus.CHANGE_PENDING
    assert Deadline.objects.filter(rule=Rule.CLOUD_CHANGE, target_id=str(fleet["app_a"].pk)).exists()
    assert api.post(f"/api/v1/cloud/ops/efficiency/{flag.pk}/accept/").status_code == 409


@time_machine.travel(NOW, tick=False)
def test_unit_may_dismiss_with_a_reason_only(fleet, api):
    _cpu(fleet["hosts"][0], Curve(31 * 24, lambda h: 1))
    ops_services.efficiency_scan(now=NOW)
    flag = EfficiencyFlag.objects.get()
    api.force_authenticate(fleet["user_a"])
    url = f"/api/v1/cloud/ops/efficiency/{flag.pk}/dismiss/"
    assert api.post(url, {"reason": " "}, format="json").status_code == 400
    assert api.post(url, {"reason": "年底业务高峰备用"}, format="json").status_code == 200
    flag.refresh_from_db()
    assert flag.status == "dismissed" and flag.decision_note == "年底业务高峰备用"


@time_machine.travel(NOW, tick=False)
def test_units_see_only_their_own_flags_center_sees_all_c38(fleet, api, center_user):
    _cpu(fleet["hosts"][0], Curve(31 * 24, lambda h: 1))
    _cpu(fleet["host_b"], Curve(31 * 24, lambda h: 2))
    ops_services.efficiency_scan(now=NOW)
    api.force_authenticate(fleet["user_a"])
    mine = api.get("/api/v1/cloud/ops/efficiency/").json()["results"]
    assert {f["unit"] for f in mine} == {fleet["a"].pk}
    api.force_authenticate(fleet["user_b"])
    assert {f["unit"] for f in api.get("/api/v1/cloud/ops/efficiency/").json()["results"]} == {fleet["b"].pk}
    api.force_authenticate(center_user)
    assert len(api.get("/api/v1/cloud/ops/efficiency/").json()["results"]) == 2


@time_machine.travel(NOW, tick=False)
def test_a_system_still_in_trial_is_not_judged_idle_c38(fleet):
    with time_machine.travel(NOW - timedelta(days=40), tick=False):
        trial = application_in(ApplicationStatus.TRIAL, unit=fleet["b"], catalog=fleet["catalog"])
    resource = ProvisionedResource.objects.filter(application=trial, released_at__isnull=True).first()
    _cpu(resource, Curve(31 * 24, lambda h: 1))
    assert ops_services.efficiency_scan(now=NOW)["flagged"] == []
