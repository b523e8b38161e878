"""Permission-matrix rows for the cloud operations API (/api/v1/cloud/ops/…; format:
core/tests/matrix.py).

Who may: the center (reviewers, admins) pushes and uploads metrics, reads the pool dashboard and
capacity alerts, reviews plans, aggregates demands and computes / reviews settlements; system
owners and unit admins of a unit declare its plans and answer its efficiency flags; lists are
scoped, so every signed-in role may call them; a settlement is read by its unit, the center and
oversight auditors. Machine callers (the platform's API clients) are tested in test_ops_metrics.
Objects for the rows live in unit A.
"""

from __future__ import annotations

from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from accounts.roles import Role
from catalog.models import ProjectCatalog
from cloud.models import (
    Allocation,
    ApplicationStatus,
    EfficiencyFlag,
    PoolKind,
    ProjectPlan,
    ProvisionedResource,
    Settlement,
)
from cloud.tests.factories import application_in, standard_catalog
from core.tests.matrix import ALL_ROLES, CENTER_ROLES, UNIT_ROLES, Row

UNIT_ACTORS = {Role.SYSTEM_OWNER, Role.UNIT_ADMIN}
READERS = UNIT_ROLES | CENTER_ROLES | {Role.AUDITOR}


def _push(ctx):
    app = application_in(ApplicationStatus.PRODUCTION, unit=ctx.unit_a, center=ctx.center)
    alloc = Allocation.objects.filter(resource__application=app, pool__kind=PoolKind.COMPUTE).first()
    return {"data": {"points": [{"allocation": alloc.pk, "at": timezone.now().isoformat(), "value": 12.5}]}}


def _csv(ctx):
    standard_catalog()
    content = b"allocation,pool,metric,at,value\n"
    return {
        "data": {"file": SimpleUploadedFile("m.csv", content, content_type="text/csv")},
        "format": "multipart",
    }


def _flag(data: dict):
    def setup(ctx):
        app = application_in(ApplicationStatus.PRODUCTION, unit=ctx.unit_a, center=ctx.center)
        resource = ProvisionedResource.objects.filter(application=app).first()
        flag = EfficiencyFlag.objects.create(
            resource=resource,
            application=app,
            unit=ctx.unit_a,
            kind="idle",
            measured={"cpu_max": 1.0},
            suggestion=[],
            suggestion_text="闲置",
            detected_at=timezone.now(),
        )
        return {"kwargs": {"pk": flag.pk}, "data": data}

    return setup


def _new_plan(ctx):
    catalog = ProjectCatalog.objects.create(unit=ctx.unit_a, name="矩阵项目目录")
    return {
        "data": {
            "name": "矩阵项目",
            "construction_plan": "方案",
            "budget": "10",
            "project_catalog": catalog.pk,
        }
    }


def _plan(ctx):
    plan = ProjectPlan.objects.create(
        unit=ctx.unit_a,
        year=timezone.localdate().year + 1,
        name="矩阵项目",
        construction_plan="方案",
        budget=Decimal("10"),
        submitted_at=timezone.now(),
    )
    return {"kwargs": {"pk": plan.pk}, "data": {"approve": True}}


def _year(ctx):
    return {"query": {"year": timezone.localdate().year + 1}}


def _demand(ctx):
    return {"data": {"items": [{"kind": "compute", "increment": 8}]}}


def _compute(ctx):
    return {"data": {"year": timezone.localdate().year}}


def _settlement(ctx):
    settlement = Settlement.objects.create(
        unit=ctx.unit_a, year=timezone.localdate().year, amount=Decimal("100.00"), computed_at=timezone.now()
    )
    return {"kwargs": {"pk": settlement.pk}}


ROWS = [
    Row(
        "cloud-api:ops-metric-push",
        "POST",
        allowed=CENTER_ROLES,
        setup=_push,
        note="+ API clients of the center / owning unit",
    ),
    Row(
        "cloud-api:ops-metric-csv",
        "POST",
        allowed=CENTER_ROLES,
        setup=_csv,
        note="empty file: 400 for the center",
    ),
    Row("cloud-api:ops-pool-dashboard", "GET", allowed=CENTER_ROLES),
    Row("cloud-api:ops-capacity-alert-list", "GET", allowed=CENTER_ROLES),
    Row("cloud-api:ops-efficiency-list", "GET", allowed=ALL_ROLES, note="scoped"),
    Row(
        "cloud-api:ops-efficiency-accept",
        "POST",
        allowed=UNIT_ACTORS,
        setup=_flag({}),
        note="409 no suggestion",
    ),
    Row("cloud-api:ops-efficiency-dismiss", "POST", allowed=UNIT_ACTORS, setup=_flag({"reason": "保留"})),
    Row("cloud-api:ops-project-plan-list", "GET", allowed=ALL_ROLES, note="scoped"),
    Row(
        "cloud-api:ops-project-plan-list",
        "POST",
        allowed=UNIT_ACTORS,
        setup=_new_plan,
        note="409 outside the window",
    ),
    Row("cloud-api:ops-project-plan-export", "GET", allowed=CENTER_ROLES, setup=_year),
    Row("cloud-api:ops-project-plan-review", "POST", allowed=CENTER_ROLES, setup=_plan),
    Row("cloud-api:ops-resource-demand-list", "GET", allowed=ALL_ROLES, note="scoped"),
    Row(
        "cloud-api:ops-resource-demand-list",
        "POST",
        allowed=UNIT_ACTORS,
        setup=_demand,
        note="409 outside October",
    ),
    Row("cloud-api:ops-resource-demand-summary", "GET", allowed=CENTER_ROLES, setup=_year),
    Row("cloud-api:ops-settlement-list", "GET", allowed=ALL_ROLES, note="scoped"),
    Row("cloud-api:ops-settlement-compute", "POST", allowed=CENTER_ROLES, setup=_compute),
    Row("cloud-api:ops-settlement-review", "POST", allowed=CENTER_ROLES, setup=_settlement),
    Row("cloud-api:ops-settlement-xlsx", "GET", allowed=READERS, setup=_settlement),
    Row("cloud-api:ops-settlement-pdf", "GET", allowed=READERS, setup=_settlement),
]
