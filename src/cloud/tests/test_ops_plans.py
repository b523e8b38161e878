"""Cloud operations — yearly project plans (C§16, S§42), resource demand plans and settlement (C§42)."""

from __future__ import annotations

import io
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from openpyxl import load_workbook

from accounts.roles import Role
from accounts.tests.factories import UnitFactory, UserFactory
from catalog.models import ProjectCatalog
from catalog.tests.factories import register
from cloud import ops_services, services
from cloud.models import (
    ApplicationStatus,
    ProjectPlan,
    ProvisionedResource,
    ResourceDemand,
    Settlement,
)
from cloud.tests.factories import advance, owner, reviewer, standard_catalog, submit
from core.models import AuditEvent

SH = ZoneInfo("Asia/Shanghai")
PLANS = "/api/v1/cloud/ops/project-plans/"


def at(*args) -> datetime:
    return datetime(*args, tzinfo=SH)


@pytest.fixture
def people(db):
    center_user = reviewer()
    unit_a, unit_b = UnitFactory(), UnitFactory()
    return {
        "center": center_user,
        "a": unit_a,
        "b": unit_b,
        "owner_a": owner(unit_a),
        "owner_b": owner(unit_b),
        "catalog_a": ProjectCatalog.objects.create(unit=unit_a, name="智慧社区项目资源目录"),
    }


def _plan_body(people, name="智慧社区平台"):
    return {
        "name": name,
        "construction_plan": "依托政务云建设，三级等保。",
        "budget": "120.50",
        "project_catalog": people["catalog_a"].pk,
    }


@pytest.mark.parametrize(
    ("day", "allowed"),
    [
        (at(2026, 5, 31, 23, 59), False),
        (at(2026, 6, 1, 0, 1), True),
        (at(2026, 8, 31, 23, 59), True),
        (at(2026, 9, 1, 0, 1), False),
    ],
)
def test_project_plans_are_declared_only_from_1_june_to_31_august_c16(people, api, day, allowed):
    api.force_authenticate(people["owner_a"])
    with time_machine.travel(day, tick=False):
        response = api.post(PLANS, _plan_body(people), format="json")
    if allowed:
        assert response.status_code == 201, response.json()
        assert response.json()["year"] == 2027 and response.json()["status"] == "submitted"
    else:
        assert response.status_code == 409
        error = response.json()["error"]
        assert error["code"] == "cloud.window_closed"
        assert "6 月 1 日至 8 月 31 日" in error["message"]
        expected = "2026-06-01" if day.month == 5 else "2027-06-01"
        assert error["details"]["opens"] == expected and expected in error["message"]
        assert not ProjectPlan.objects.exists()


@time_machine.travel(at(2026, 7, 1, 10), tick=False)
def test_a_plan_must_pre_register_its_resource_catalog_of_its_own_unit_s42(people, api):
    api.force_authenticate(people["owner_a"])
    body = _plan_body(people)
    del body["project_catalog"]
    assert api.post(PLANS, body, format="json").status_code == 400
    api.force_authenticate(people["owner_b"])  # B may not use A's project catalog
    assert api.post(PLANS, _plan_body(people), format="json").status_code == 400
    officer = UserFactory(unit=people["a"], roles=[Role.DATA_OFFICER])
    resource = register(officer)
    api.force_authenticate(people["owner_a"])
    body["resources"] = [resource.pk]
    assert api.post(PLANS, body, format="json").status_code == 201
    assert api.post(PLANS, {**_plan_body(people), "budget": "-1"}, format="json").status_code == 400
    assert ProjectPlan.objects.count() == 1


@time_machine.travel(at(2026, 7, 1, 10), tick=False)
def test_center_reviews_and_exports_the_approved_list_units_see_only_their_own_c16(people, api):
    api.force_authenticate(people["owner_a"])
    keep = api.post(PLANS, _plan_body(people, "智慧社区平台"), format="json").json()["id"]
    drop = api.post(PLANS, _plan_body(people, "重复建设项目"), format="json").json()["id"]
    assert api.post(f"{PLANS}{keep}/review/", {"approve": True}, format="json").status_code == 403
    api.force_authenticate(people["owner_b"])
    assert api.get(PLANS).json()["results"] == []
    assert api.post(f"{PLANS}{keep}/review/", {"approve": True}, format="json").status_code == 404
    api.force_authenticate(people["center"])
    assert api.post(f"{PLANS}{keep}/review/", {"approve": True}, format="json").status_code == 200
    assert api.post(f"{PLANS}{drop}/review/", {"approve": False}, format="json").status_code == 400  # reasons
    assert (
        api.post(
            f"{PLANS}{drop}/review/", {"approve": False, "note": "与已有系统重复"}, format="json"
        ).status_code
        == 200
    )
    assert (
        api.post(f"{PLANS}{keep}/review/", {"approve": False, "note": "x"}, format="json").status_code == 409
    )
    response = api.get(f"{PLANS}export/", {"year": 2027})
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    names = [row[2] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert names == ["智慧社区平台"]
    api.force_authenticate(people["owner_a"])
    assert api.get(f"{PLANS}export/", {"year": 2027}).status_code == 403


# --- resource demand plans (C§42) -----------------------------------------------------------------


def test_resource_demands_are_declared_in_october_and_summed_against_capacity_c42(people, api):
    standard_catalog(compute=100)
    url = "/api/v1/cloud/ops/resource-demands/"
    items = {
        "items": [
            {"kind": "compute", "increment": 40, "reason": "新建系统"},
            {"kind": "storage", "increment": 0},
        ]
    }
    api.force_authenticate(people["owner_a"])
    with time_machine.travel(at(2026, 9, 30, 18), tick=False):
        response = api.post(url, items, format="json")
        assert response.status_code == 409 and response.json()["error"]["details"]["opens"] == "2026-10-01"
    with time_machine.travel(at(2026, 10, 1, 9), tick=False):
        assert api.post(url, items, format="json").status_code == 201
        assert (
            api.post(url, {"items": [{"kind": "compute", "increment": 50}]}, format="json").status_code == 201
        )
        assert api.post(url, {"items": [{"kind": "gpu", "increment": 1}]}, format="json").status_code == 400
        api.force_authenticate(people["owner_b"])
        api.post(url, {"items": [{"kind": "compute", "increment": 30}]}, format="json")
        assert {d["unit"] for d in api.get(url).json()["results"]} == {people["b"].pk}
        assert api.get(f"{url}summary/").status_code == 403
        api.force_authenticate(people["center"])
        summary = api.get(f"{url}summary/", {"year": 2027}).json()["results"]
    compute = next(r for r in summary if r["kind"] == "compute")
    assert (compute["declared"], compute["units"], compute["total"]) == (80, 2, 100)  # A re-declared 50
    assert compute["needs_expansion"] is True and compute["expand_by"] == 15  # 80 / 0.7 = 115
    assert ResourceDemand.objects.filter(unit=people["a"], year=2027, kind="compute").get().increment == 50


# --- settlement (C§42) ----------------------------------------------------------------------------


@pytest.fixture
def running(people):
    """Unit A: two 4-core hosts from 1 March 2026 (100 元/月 each); on 16 March a (minor, C§14)
    change makes it three: the platform replaces the resources that day."""
    catalog = standard_catalog()
    catalog["host"].unit_price_month = Decimal("100.00")
    catalog["host"].save()
    with time_machine.travel(at(2026, 3, 1, 9), tick=False):
        app = submit(people["owner_a"], catalog, host=2)
        advance(app, ApplicationStatus.PRODUCTION, center_user=people["center"], unit_user=people["owner_a"])
    with time_machine.travel(at(2026, 3, 16, 9), tick=False):
        services.cloud_change_request(
            application=app,
            by=people["owner_a"],
            lines=[{"product": catalog["host"].pk, "quantity": 3}],
            reason="业务量增长",
        )
        services.cloud_change_approve(application=app, by=people["center"])
    return app


def test_settlement_prorates_a_mid_month_change_by_day_c42(people, running, api):
    assert ProvisionedResource.objects.filter(application=running).count() == 5
    api.force_authenticate(people["center"])
    with time_machine.travel(at(2026, 10, 20, 9), tick=False):
        response = api.post("/api/v1/cloud/ops/settlements/compute/", {"year": 2026}, format="json")
    assert response.status_code == 201, response.json()
    settlement = Settlement.objects.get(unit=people["a"], year=2026)
    lines = sorted(settlement.lines.all(), key=lambda ln: (ln.start, ln.id))
    old, new = lines[:2], lines[2:]
    # 1–15 March at the old configuration: 100 × 15/31 per host
    assert {(ln.start.isoformat(), ln.end.isoformat(), ln.days, ln.amount) for ln in old} == {
        ("2026-03-01", "2026-03-15", 15, Decimal("48.39"))
    }
    # 16–31 March (100 × 16/31 = 51.61) + April–December (9 × 100), each of the three hosts
    assert {(ln.start.isoformat(), ln.end.isoformat(), ln.amount) for ln in new} == {
        ("2026-03-16", "2026-12-31", Decimal("951.61"))
    }
    assert len(new) == 3
    assert settlement.amount == Decimal("2951.61") and settlement.late is False
    assert AuditEvent.objects.filter(action="cloud.settlement.compute").count() == 1


def test_settlement_after_1_november_is_marked_late_c42(people, running):
    with time_machine.travel(at(2026, 11, 2, 9), tick=False):
        (settlement,) = ops_services.settlement_compute(by=people["center"], year=2026)
    assert settlement.late is True


def test_settlement_review_export_and_who_sees_it_c42(people, running, api):
    with time_machine.travel(at(2026, 10, 20, 9), tick=False):
        (settlement,) = ops_services.settlement_compute(by=people["center"], year=2026)
    base = f"/api/v1/cloud/ops/settlements/{settlement.pk}/"
    api.force_authenticate(people["owner_a"])
    assert api.post(f"{base}review/").status_code == 403
    assert (
        api.post("/api/v1/cloud/ops/settlements/compute/", {"year": 2026}, format="json").status_code == 403
    )
    assert [s["id"] for s in api.get("/api/v1/cloud/ops/settlements/").json()["results"]] == [settlement.pk]
    assert api.get(f"{base}export.pdf").status_code == 200  # a unit reads its own
    api.force_authenticate(people["owner_b"])
    assert api.get("/api/v1/cloud/ops/settlements/").json()["results"] == []
    assert api.get(f"{base}export.pdf").status_code == 404
    assert api.get(f"{base}export.xlsx").status_code == 404
    api.force_authenticate(people["center"])
    assert api.post(f"{base}review/").status_code == 200
    assert api.post(f"{base}review/").status_code == 409
    pdf = api.get(f"{base}export.pdf")
    assert (
        pdf.status_code == 200
        and pdf["Content-Type"] == "application/pdf"
        and pdf.content.startswith(b"%PDF")
    )
    xlsx = api.get(f"{base}export.xlsx")
    rows = list(load_workbook(io.BytesIO(xlsx.content)).active.iter_rows(values_only=True))
    assert rows[-1][-1] == pytest.approx(2951.61)
    # a reviewed settlement is not overwritten by a recomputation
    with time_machine.travel(at(2026, 10, 25, 9), tick=False):
        ops_services.settlement_compute(by=people["center"], year=2026)
    settlement.refresh_from_db()
    assert settlement.status == "reviewed" and settlement.amount == Decimal("2951.61")
