"""Cloud operations pages (/cloud/ops/…) and the periodic jobs."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client

from accounts.roles import Role
from accounts.tests.factories import UnitFactory, UserFactory
from catalog.models import ProjectCatalog
from cloud import ops_services
from cloud.models import (
    Allocation,
    ApplicationStatus,
    CapacityAlert,
    EfficiencyFlag,
    PoolKind,
    ProjectPlan,
    ProvisionedResource,
    Settlement,
)
from cloud.tests.factories import application_in, center_unit, reviewer, standard_catalog
from core import jobs

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 7, 15, 10, 0, tzinfo=SH)


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def site(db):
    with time_machine.travel(NOW - timedelta(days=10), tick=False):
        center = center_unit()
        unit_a, unit_b = UnitFactory(), UnitFactory()
        standard_catalog(compute=5)
        app = application_in(ApplicationStatus.PRODUCTION, unit=unit_a, center=center)
    return {"center": reviewer(center), "a": unit_a, "b": unit_b, "app": app}


@time_machine.travel(NOW, tick=False)
def test_pool_dashboard_page_draws_charts_with_local_echarts_for_the_center_only(site):
    for d in range(3):
        ops_services.pool_snapshot(now=NOW - timedelta(days=d))
    ops_services.capacity_check(now=NOW)  # 4 of 5 vCPU ≥ 70 %
    page = browser(site["center"]).get("/cloud/ops/pools/?days=30")
    assert page.status_code == 200
    html = page.content.decode()
    assert "/static/vendor/echarts/echarts.min.js" in html and "cdn" not in html.lower()
    assert 'id="pool-data"' in html and 'data-testid="pool-kind-compute"' in html
    assert CapacityAlert.objects.filter(status="open").count() == 1
    assert "待扩容" in html
    owner = UserFactory(unit=site["a"], roles=[Role.SYSTEM_OWNER])
    assert browser(owner).get("/cloud/ops/pools/").status_code == 403


@time_machine.travel(NOW, tick=False)
def test_unit_accepts_an_efficiency_flag_from_the_page(site):
    resource = ProvisionedResource.objects.filter(application=site["app"]).first()
    flag = EfficiencyFlag.objects.create(
        resource=resource,
        application=site["app"],
        unit=site["a"],
        kind="idle",
        measured={"cpu_max": 1.0, "cpu_p95": 1.0},
        suggestion=[],
        suggestion_text="闲置：建议释放",
        detected_at=NOW,
    )
    owner = UserFactory(unit=site["a"], roles=[Role.SYSTEM_OWNER])
    page = browser(owner).get("/cloud/ops/efficiency/")
    assert page.status_code == 200 and "闲置：建议释放" in page.content.decode()
    other = UserFactory(unit=site["b"], roles=[Role.SYSTEM_OWNER])
    assert "闲置：建议释放" not in browser(other).get("/cloud/ops/efficiency/").content.decode()
    response = browser(owner).post(
        "/cloud/ops/efficiency/", {"flag": flag.pk, "decision": "dismiss", "reason": "备用"}
    )
    assert response.status_code == 302
    flag.refresh_from_db()
    assert flag.status == "dismissed"


@time_machine.travel(NOW, tick=False)
def test_plans_page_declares_in_the_window_and_the_center_reviews(site):
    owner = UserFactory(unit=site["a"], roles=[Role.UNIT_ADMIN])
    catalog = ProjectCatalog.objects.create(unit=site["a"], name="项目目录")
    client = browser(owner)
    assert client.get("/cloud/ops/plans/").status_code == 200
    client.post(
        "/cloud/ops/plans/",
        {
            "action": "plan",
            "name": "一网通办",
            "budget": "88",
            "construction_plan": "方案",
            "project_catalog": catalog.pk,
        },
    )
    plan = ProjectPlan.objects.get()
    assert (plan.year, plan.unit) == (2027, site["a"])
    center = browser(site["center"])
    assert "一网通办" in center.get("/cloud/ops/plans/").content.decode()
    center.post("/cloud/ops/plans/", {"action": "review", "plan": plan.pk, "decision": "approve"})
    plan.refresh_from_db()
    assert plan.status == "approved"
    page = client.post("/cloud/ops/plans/", {"action": "demand", "inc_compute": "4"}, follow=True)
    assert "10 月申报" in page.content.decode()  # July: refused with the month


@time_machine.travel(NOW, tick=False)
def test_plans_page_offers_and_accepts_only_the_units_own_project_catalogs_s42(site):
    """Another unit's project catalog is neither listed nor usable: the plan is refused, none is saved."""
    ProjectCatalog.objects.create(unit=site["a"], name="甲单位项目目录")
    owner_b = UserFactory(unit=site["b"], roles=[Role.UNIT_ADMIN])
    client = browser(owner_b)
    assert "甲单位项目目录" not in client.get("/cloud/ops/plans/").content.decode()
    page = client.post(
        "/cloud/ops/plans/",
        {"action": "plan", "name": "借用目录", "budget": "1", "construction_plan": "方案",
         "project_catalog": ProjectCatalog.objects.get().pk},
        follow=True,
    )  # fmt: skip
    assert "请关联项目资源目录" in page.content.decode()
    assert not ProjectPlan.objects.exists()


@time_machine.travel(NOW, tick=False)
def test_settlements_page_computes_and_reviews(site):
    center = browser(site["center"])
    center.post("/cloud/ops/settlements/", {"action": "compute", "year": 2026})
    settlement = Settlement.objects.get(unit=site["a"])
    page = center.get("/cloud/ops/settlements/?year=2026").content.decode()
    assert f"/api/v1/cloud/ops/settlements/{settlement.pk}/export.pdf" in page
    center.post("/cloud/ops/settlements/", {"action": "review", "year": 2026, "settlement": settlement.pk})
    settlement.refresh_from_db()
    assert settlement.status == "reviewed"
    owner = UserFactory(unit=site["b"], roles=[Role.SYSTEM_OWNER])
    assert (
        browser(owner).post("/cloud/ops/settlements/", {"action": "compute", "year": 2026}).status_code == 302
    )
    assert Settlement.objects.count() == 1


@time_machine.travel(NOW, tick=False)
def test_periodic_jobs_are_registered_and_run(site):
    names = {p.name: p for p in jobs.load_schedules()}
    for name in ("pool_snapshot", "capacity_check", "efficiency_scan", "metrics_downsample"):
        entry = names[f"cloud.ops.{name}"]
        module, _sep, attr = entry.func.rpartition(".")
        getattr(__import__(module, fromlist=[attr]), attr)()
    compute = Allocation.objects.filter(pool__kind=PoolKind.COMPUTE).first().pool
    assert compute.metric_series.filter(metric="total").exists()


@time_machine.travel(NOW, tick=False)
def test_bad_query_parameters_are_400_or_ignored_never_500(site, api):
    api.force_authenticate(site["center"])
    for url in (
        "/api/v1/cloud/ops/settlements/?year=abc",
        "/api/v1/cloud/ops/settlements/?year=99999999999",
        "/api/v1/cloud/ops/project-plans/export/",
        "/api/v1/cloud/ops/resource-demands/summary/?year=1",
        "/api/v1/cloud/ops/pools/dashboard/?days=abc",
        "/api/v1/cloud/ops/pools/dashboard/?days=0",
    ):
        assert api.get(url).status_code == 400, url
    center = browser(site["center"])
    for url in (
        "/cloud/ops/settlements/?year=99999",
        "/cloud/ops/plans/?year=x",
        "/cloud/ops/pools/?days=-1",
    ):
        assert center.get(url).status_code == 200, url
    response = center.post("/cloud/ops/settlements/", {"action": "review", "settlement": "99999999999999"})
    assert response.status_code == 302
