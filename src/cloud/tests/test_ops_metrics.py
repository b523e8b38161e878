"""Cloud operations — utilisation metrics (C§27): push, CSV, bad input, retention, dashboard."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.roles import Role
from accounts.tests.factories import UnitFactory, UserFactory, issue_token, make_api_client
from cloud import ops_selectors, ops_services
from cloud.models import (
    Allocation,
    ApplicationStatus,
    Metric,
    MetricDaily,
    MetricPoint,
    MetricSeries,
    PoolKind,
)
from cloud.tests.factories import application_in, center_unit, reviewer, standard_catalog
from core.errors import Invalid, PermissionDenied
from core.models import AuditEvent

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 5, 20, 10, 30, tzinfo=SH)
PUSH = "/api/v1/cloud/ops/metrics/"


@pytest.fixture
def world(db):
    with time_machine.travel(NOW - timedelta(days=40), tick=False):
        center = center_unit()
        unit_a, unit_b = UnitFactory(), UnitFactory()
        catalog = standard_catalog()
        app = application_in(ApplicationStatus.PRODUCTION, unit=unit_a, center=center, catalog=catalog)
    compute = Allocation.objects.get(resource__application=app, pool__kind=PoolKind.COMPUTE)
    storage = Allocation.objects.get(resource__application=app, pool__kind=PoolKind.STORAGE)
    return {"center": center, "a": unit_a, "b": unit_b, "app": app, "compute": compute, "storage": storage}


def _token_client(api, unit, scopes=("cloud.metrics",)):
    client, admin = make_api_client(unit, scopes=list(scopes))
    _token, raw = issue_token(client, admin)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def _point(alloc, value, at=None, **extra):
    return {"allocation": alloc.pk, "at": (at or NOW).isoformat(), "value": value, **extra}


@time_machine.travel(NOW, tick=False)
def test_owning_unit_client_pushes_hourly_cpu_and_pool_sum_follows_c27(world, api):
    _token_client(api, world["a"])
    compute = world["compute"]  # 4 vCPU
    response = api.post(
        PUSH,
        {"points": [_point(compute, 50, metric="cpu"), _point(compute, 25, NOW - timedelta(hours=1))]},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["points"] == 2
    series = MetricSeries.objects.get(allocation=compute, metric=Metric.CPU)
    assert sorted(MetricPoint.objects.filter(series=series).values_list("value", flat=True)) == [25, 50]
    used = MetricSeries.objects.get(pool=compute.pool, allocation=None, metric=Metric.POOL_USED_SUM)
    assert MetricPoint.objects.get(series=used, hour=ops_services.hour_of(NOW)).value == pytest.approx(2.0)
    assert AuditEvent.objects.filter(action="cloud.metrics.ingest").count() == 1


@time_machine.travel(NOW, tick=False)
def test_a_later_value_in_the_same_hour_replaces_the_earlier(world, api):
    _token_client(api, world["a"])
    compute = world["compute"]
    api.post(PUSH, {"points": [_point(compute, 10)]}, format="json")
    api.post(PUSH, {"points": [_point(compute, 30, NOW + timedelta(minutes=10))]}, format="json")
    assert list(MetricPoint.objects.values_list("value", flat=True).filter(series__metric="cpu")) == [30]


@time_machine.travel(NOW, tick=False)
def test_center_client_may_push_for_any_unit_and_for_a_pool(world, api):
    _token_client(api, world["center"])
    pool = world["compute"].pool
    response = api.post(
        PUSH,
        {
            "points": [
                _point(world["compute"], 12),
                {"pool": pool.pk, "metric": "used", "at": NOW.isoformat(), "value": 20},
            ]
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert MetricSeries.objects.filter(pool=pool, allocation=None, metric="used").exists()


@time_machine.travel(NOW, tick=False)
def test_another_units_client_cannot_push_for_the_allocation_and_nothing_is_written(world, api):
    _token_client(api, world["b"])
    response = api.post(PUSH, {"points": [_point(world["compute"], 10)]}, format="json")
    assert response.status_code == 400
    body = response.json()["error"]
    assert body["code"] == "cloud.bad_metrics"
    assert body["details"]["errors"][0]["code"] == "unknown_allocation"
    assert not MetricPoint.objects.exists()
    assert not AuditEvent.objects.filter(action="cloud.metrics.ingest").exists()


@time_machine.travel(NOW, tick=False)
def test_a_units_client_cannot_push_pool_values(world, api):
    _token_client(api, world["a"])
    pool = world["compute"].pool
    response = api.post(
        PUSH, {"points": [{"pool": pool.pk, "at": NOW.isoformat(), "value": 1}]}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["details"]["errors"][0]["code"] == "unknown_pool"


@time_machine.travel(NOW, tick=False)
def test_people_of_a_unit_may_not_push_only_its_registered_clients(world, api):
    person = UserFactory(unit=world["a"], roles=[Role.SYSTEM_OWNER])
    api.force_authenticate(person)
    response = api.post(PUSH, {"points": [_point(world["compute"], 10)]}, format="json")
    assert response.status_code == 403
    with pytest.raises(PermissionDenied):
        ops_services.metrics_push(by=person, points=[_point(world["compute"], 10)])


@pytest.mark.parametrize(
    ("point", "code"),
    [
        ({"allocation": 999999, "value": 1}, "unknown_allocation"),
        ({"value": 100.5}, "out_of_range"),
        ({"value": -1}, "out_of_range"),
        ({"value": "abc"}, "bad_value"),
        ({"value": "NaN"}, "bad_value"),
        ({"value": 5, "at": "yesterday"}, "bad_time"),
        ({"value": 5, "at": "2026-05-20T14:00:00+08:00"}, "time_out_of_range"),  # in the future
        ({"value": 5, "at": "2025-01-01T00:00:00+08:00"}, "time_out_of_range"),  # older than 13 months
        ({"value": 5, "metric": "memory"}, "bad_metric"),
        ({"value": 5, "pool": 1}, "target"),
    ],
)
@time_machine.travel(NOW, tick=False)
def test_bad_metric_input_is_refused_with_a_clear_reason_c27(world, api, point, code):
    _token_client(api, world["a"])
    good = _point(world["compute"], 40)
    bad = {**_point(world["compute"], 0), **point}
    response = api.post(PUSH, {"points": [good, bad]}, format="json")
    assert response.status_code == 400, response.json()
    error = response.json()["error"]
    assert error["details"]["errors"] == [
        {"row": 2, "code": code, "message": error["details"]["errors"][0]["message"]}
    ]
    assert "第 2 条" in error["message"]
    assert not MetricPoint.objects.exists()  # whole batch or nothing


@time_machine.travel(NOW, tick=False)
def test_storage_used_cannot_exceed_the_allocation(world, api):
    _token_client(api, world["a"])
    storage = world["storage"]
    response = api.post(PUSH, {"points": [_point(storage, storage.amount + 1)]}, format="json")
    assert response.status_code == 400
    assert api.post(PUSH, {"points": [_point(storage, storage.amount)]}, format="json").status_code == 201


@time_machine.travel(NOW, tick=False)
def test_empty_or_malformed_body_is_400_not_500(world, api):
    _token_client(api, world["a"])
    assert api.post(PUSH, {"points": []}, format="json").status_code == 400
    assert api.post(PUSH, {"nothing": 1}, format="json").status_code == 400
    assert api.post(PUSH, {"points": ["x"]}, format="json").status_code == 400


@time_machine.travel(NOW, tick=False)
def test_center_uploads_csv_units_may_not(world, api):
    compute = world["compute"]
    text = f"allocation,pool,metric,at,value\n{compute.pk},,cpu,2026-05-20 09:00,33.5\n,{compute.pool_id},used,2026-05-20 09:00,7\n"
    api.force_authenticate(reviewer(world["center"]))
    upload = SimpleUploadedFile("m.csv", text.encode("gb18030"), content_type="text/csv")
    response = api.post("/api/v1/cloud/ops/metrics/csv/", {"file": upload}, format="multipart")
    assert response.status_code == 201, response.json()
    assert response.json()["points"] == 2
    api.force_authenticate(UserFactory(unit=world["a"], roles=[Role.UNIT_ADMIN]))
    upload = SimpleUploadedFile("m.csv", text.encode(), content_type="text/csv")
    assert api.post("/api/v1/cloud/ops/metrics/csv/", {"file": upload}, format="multipart").status_code == 403


@time_machine.travel(NOW, tick=False)
def test_csv_with_a_wrong_header_is_refused(world):
    with pytest.raises(Invalid) as exc:
        ops_services.metrics_csv_upload(by=reviewer(world["center"]), content=b"a,b\n1,2\n")
    assert exc.value.code == "cloud.bad_csv"


def test_hourly_data_older_than_13_months_is_downsampled_to_daily(world):
    series = MetricSeries.objects.create(
        pool=world["compute"].pool, allocation=world["compute"], metric="cpu"
    )
    old_day = datetime(2025, 3, 10, tzinfo=SH)  # older than 13 months before 2026-05-20
    recent = datetime(2026, 5, 1, tzinfo=SH)
    rows = {(series.pk, ops_services.hour_of(old_day + timedelta(hours=h))): float(h) for h in range(24)}
    rows.update({(series.pk, ops_services.hour_of(recent + timedelta(hours=h))): 1.0 for h in range(3)})
    ops_services.write_points(rows)
    result = ops_services.metrics_downsample(now=NOW)
    assert result["hourly_removed"] == 24
    daily = MetricDaily.objects.get(series=series)
    assert ops_services.day_date(daily.day) == date(2025, 3, 10)
    assert (daily.avg, daily.max, daily.samples) == (pytest.approx(11.5), 23.0, 24)
    assert MetricPoint.objects.filter(series=series).count() == 3
    assert ops_services.metrics_downsample(now=NOW)["hourly_removed"] == 0  # idempotent


def test_linear_forecast_says_when_70_and_100_percent_are_reached():
    days = [date(2026, 1, 1) + timedelta(days=i) for i in range(90)]
    values = [50 + 0.5 * i for i in range(90)]  # 50 % of 100 rising half a point a day
    forecast = ops_selectors.linear_forecast(days, values, 100.0, "allocated")
    assert forecast.reach_70 is None and forecast.reached_70  # 94.5 today: already past 70
    assert forecast.reach_100 == date(2026, 1, 1) + timedelta(days=100)
    flat = ops_selectors.linear_forecast(days, [10.0] * 90, 100.0, "allocated")
    assert flat.reach_70 is None and not flat.reached_70
    rising = ops_selectors.linear_forecast(days, [10 + 0.1 * i for i in range(90)], 100.0, "allocated")
    assert rising.reach_70 == date(2026, 1, 1) + timedelta(days=600)


@time_machine.travel(NOW, tick=False)
def test_pool_dashboard_shows_used_allocated_total_per_kind_for_the_center_only(world, api):
    pool = world["compute"].pool
    for d in range(5):
        ops_services.pool_snapshot(now=NOW - timedelta(days=4 - d))
    _token_client(api, world["a"])
    api.post(PUSH, {"points": [_point(world["compute"], 50)]}, format="json")
    api.credentials()
    api.force_authenticate(reviewer(world["center"]))
    response = api.get("/api/v1/cloud/ops/pools/dashboard/", {"days": 30})
    assert response.status_code == 200
    compute = next(k for k in response.json()["kinds"] if k["kind"] == "compute")
    assert compute["total"] == pool.total and compute["allocated"] == 4
    assert len(compute["days"]) == 5
    assert compute["series"]["total"] == [float(pool.total)] * 5
    assert compute["series"]["used_sum"][-1] == pytest.approx(2.0)
    assert compute["forecast"]["method"].startswith("最小二乘")
    assert api.get("/api/v1/cloud/ops/pools/dashboard/", {"kind": "bogus"}).status_code == 400
    api.force_authenticate(UserFactory(unit=world["a"], roles=[Role.UNIT_ADMIN]))
    assert api.get("/api/v1/cloud/ops/pools/dashboard/").status_code == 403


@time_machine.travel(NOW, tick=False)
def test_a_big_batch_is_stored_whole_and_a_resend_replaces_it(world):
    """≥ 2,000 points go through COPY on PostgreSQL (bulk upsert on SQLite): same result."""
    compute, storage = world["compute"], world["storage"]
    center_user = reviewer(world["center"])
    points = [_point(compute, h % 100, NOW - timedelta(hours=h)) for h in range(1500)]
    points += [_point(storage, 10, NOW - timedelta(hours=h)) for h in range(1500)]
    assert len(points) >= ops_services.COPY_MIN_POINTS
    result = ops_services.metrics_push(by=center_user, points=points)
    assert result.points == 3000 and MetricPoint.objects.count() == 3000 + 2 * 1500  # + pool sums
    resend = [{**p, "value": 1} for p in points[:1500]]
    ops_services.metrics_push(by=center_user, points=resend)
    series = MetricSeries.objects.get(allocation=compute)
    assert set(MetricPoint.objects.filter(series=series).values_list("value", flat=True)) == {1.0}
    used = MetricSeries.objects.get(pool=compute.pool, allocation=None, metric=Metric.POOL_USED_SUM)
    assert MetricPoint.objects.filter(series=used).count() == 1500
    assert MetricPoint.objects.get(series=used, hour=ops_services.hour_of(NOW)).value == pytest.approx(0.04)


def test_a_nearly_flat_trend_is_not_given_an_absurd_date():
    days = [date(2026, 1, 1) + timedelta(days=i) for i in range(90)]
    forecast = ops_selectors.linear_forecast(days, [10 + 1e-12 * i for i in range(90)], 100.0, "allocated")
    assert forecast.reach_70 is None and forecast.reach_100 is None


@time_machine.travel(NOW, tick=False)
def test_a_token_without_the_metrics_scope_cannot_push(world, api):
    from cloud.ops_models import MetricPoint

    _token_client(api, world["a"], scopes=())
    response = api.post(PUSH, {"points": [_point(world["compute"], 10, metric="cpu")]}, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "accounts.token_scope_missing"
    assert not MetricPoint.objects.exists()
