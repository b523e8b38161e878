"""Permission-matrix rows for /api/v1/cloud/ (format: core/tests/matrix.py).

Who may (C§6-8): system owners and unit admins of the owning unit apply, change and terminate;
center reviewers and admins accept, review, test, sign, reclaim and decide exemptions; auditors of
an oversight office read everything; everyone else sees only their own unit (lists are scoped,
so every signed-in role may call them). Objects for the rows live in unit A.
"""

from __future__ import annotations

import io
from datetime import timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from accounts.roles import Role
from cloud.models import (
    ApplicationStatus,
    AppSystem,
    CloudApplication,
    Exemption,
    MigrationPlan,
    ResourcePool,
)
from cloud.tests.factories import application_in, minimal_pdf, standard_catalog
from core.tests.matrix import ALL_ROLES, CENTER_ROLES, UNIT_ROLES, Row

UNIT_ACTORS = {Role.SYSTEM_OWNER, Role.UNIT_ADMIN}
READERS = UNIT_ROLES | CENTER_ROLES | {Role.AUDITOR}
S = ApplicationStatus


def _system(ctx) -> AppSystem:
    return AppSystem.objects.create(owner=ctx.unit_a, name="矩阵系统", protection_level=2)


def _app(status: str, data: dict | None = None, fmt: str = "json"):
    def setup(ctx):
        app = application_in(status, unit=ctx.unit_a, center=ctx.center)
        if status == S.TRIAL:  # the 30-day trial (C§12) lies behind us
            CloudApplication.objects.filter(pk=app.pk).update(
                trial_started_at=timezone.now() - timedelta(days=31)
            )
        body = data() if callable(data) else (data or {})
        return {"kwargs": {"pk": app.pk}, "data": body, "format": fmt}

    return setup


def _new_system(ctx):
    return {"data": {"name": "新系统", "protection_level": 3}}


def _system_detail(ctx):
    return {"kwargs": {"pk": _system(ctx).pk}, "data": {"sso_status": "integrated"}}


def _new_application(ctx):
    catalog = standard_catalog()
    return {
        "data": {
            "system": _system(ctx).pk,
            "construction_plan": "方案",
            "self_test_report": "报告",
            "lines": [{"product": catalog["host"].pk, "quantity": 1}],
        }
    }


def _pdf():
    return {"file": SimpleUploadedFile("材料.pdf", minimal_pdf(), content_type="application/pdf")}


def _with_attachment(ctx):
    from cloud import services

    app = application_in(S.SUBMITTED, unit=ctx.unit_a, center=ctx.center)
    attachment = services.cloud_application_attach(
        application=app, by=app.created_by, upload=io.BytesIO(minimal_pdf()), filename="方案.pdf"
    )
    return {"kwargs": {"pk": app.pk, "attachment_pk": attachment.pk}}


def _new_exemption(ctx):
    return {"data": {"system": _system(ctx).pk, "kind": "stay_off_cloud", "legal_basis": "某规定第十条"}}


def _exemption(ctx):
    system = _system(ctx)
    exemption = Exemption.objects.create(
        system=system, kind="stay_off_cloud", legal_basis="依据", requested_at=timezone.now()
    )
    return {"kwargs": {"pk": exemption.pk}, "data": {"approve": True}}


def _new_migration(ctx):
    return {
        "data": {
            "system": _system(ctx).pk,
            "target_date": (timezone.localdate() + timedelta(days=30)).isoformat(),
            "backup_plan": "全量备份",
        }
    }


def _plan(status: str):
    def setup(ctx):
        today = timezone.localdate()
        plan = MigrationPlan.objects.create(
            system=_system(ctx),
            target_date=today,
            backup_plan="备份",
            status=status,
            went_live_on=today - timedelta(days=70) if status == "live" else None,
            keep_until=today - timedelta(days=5) if status == "live" else None,
        )
        data = (
            {"went_live_on": today.isoformat()} if status == "planned" else {"resource_list": "服务器 2 台"}
        )
        return {"kwargs": {"pk": plan.pk}, "data": data}

    return setup


def _new_product(ctx):
    return {
        "data": {
            "code": "ecs-16c32g",
            "name": "云主机 16核32G",
            "kind": "host",
            "vcpu": 16,
            "memory_gb": 32,
            "unit_price_month": "1300.00",
        }
    }


def _pool(ctx):
    standard_catalog()
    return {"kwargs": {"pk": ResourcePool.objects.get(kind="compute").pk}, "data": {"total": 1024}}


ROWS = [
    Row("cloud-api:product-list", "GET", allowed=ALL_ROLES),
    Row("cloud-api:product-list", "POST", allowed={Role.CENTER_ADMIN}, setup=_new_product),
    Row("cloud-api:pool-list", "GET", allowed=CENTER_ROLES),
    Row("cloud-api:pool-detail", "PATCH", allowed={Role.CENTER_ADMIN}, setup=_pool),
    Row("cloud-api:queue", "GET", allowed=CENTER_ROLES),
    Row("cloud-api:overdue", "GET", allowed=CENTER_ROLES),
    Row("cloud-api:resource-list", "GET", allowed=ALL_ROLES, note="scoped to the caller's unit"),
    Row("cloud-api:system-list", "GET", allowed=ALL_ROLES, note="scoped"),
    Row("cloud-api:system-list", "POST", allowed=UNIT_ACTORS, setup=_new_system),
    Row("cloud-api:system-detail", "GET", allowed=READERS, setup=_system_detail),
    Row("cloud-api:system-detail", "PATCH", allowed=UNIT_ACTORS, setup=_system_detail),
    Row("cloud-api:application-list", "GET", allowed=ALL_ROLES, note="scoped"),
    Row("cloud-api:application-list", "POST", allowed=UNIT_ACTORS, setup=_new_application),
    Row("cloud-api:application-detail", "GET", allowed=READERS, setup=_app(S.SUBMITTED)),
    Row(
        "cloud-api:application-attach",
        "POST",
        allowed=UNIT_ACTORS,
        setup=_app(S.SUBMITTED, _pdf, "multipart"),
    ),
    Row("cloud-api:application-attachment", "GET", allowed=READERS, setup=_with_attachment),
    Row("cloud-api:application-accept", "POST", allowed=CENTER_ROLES, setup=_app(S.SUBMITTED)),
    Row(
        "cloud-api:application-return",
        "POST",
        allowed=CENTER_ROLES,
        setup=_app(S.SUBMITTED, {"reasons": "缺材料"}),
    ),
    Row("cloud-api:application-resubmit", "POST", allowed=UNIT_ACTORS, setup=_app(S.RETURNED)),
    Row("cloud-api:application-approve", "POST", allowed=CENTER_ROLES, setup=_app(S.ACCEPTED)),
    Row(
        "cloud-api:application-reject",
        "POST",
        allowed=CENTER_ROLES,
        setup=_app(S.ACCEPTED, {"reasons": "不合理"}),
    ),
    Row(
        "cloud-api:application-test",
        "POST",
        allowed=CENTER_ROLES,
        setup=_app(S.TESTING, {"passed": True, "performance": "合格", "security": "合格"}),
    ),
    Row("cloud-api:application-retest", "POST", allowed=UNIT_ACTORS, setup=_app(S.TEST_FAILED)),
    Row("cloud-api:application-agreement", "GET", allowed=READERS, setup=_app(S.TRIAL)),
    Row(
        "cloud-api:application-agreement",
        "POST",
        allowed=CENTER_ROLES,
        setup=_app(S.TRIAL, _pdf, "multipart"),
    ),
    Row("cloud-api:application-go-live", "POST", allowed=CENTER_ROLES, setup=_app(S.AGREEMENT_SIGNED)),
    Row(
        "cloud-api:application-change",
        "POST",
        allowed=UNIT_ACTORS,
        setup=_app(
            S.PRODUCTION,
            lambda: {
                "lines": [{"product": standard_catalog()["host"].pk, "quantity": 1}],
                "reason": "无变化",
            },
        ),
        note="400 no_change for the allowed roles: permission passed",
    ),
    Row("cloud-api:application-change-approve", "POST", allowed=CENTER_ROLES, setup=_app(S.CHANGE_PENDING)),
    Row(
        "cloud-api:application-change-refuse",
        "POST",
        allowed=CENTER_ROLES,
        setup=_app(S.CHANGE_PENDING, {"reasons": "暂不扩容"}),
    ),
    Row(
        "cloud-api:application-terminate",
        "POST",
        allowed=UNIT_ACTORS,
        setup=_app(S.PRODUCTION, {"offboarding_confirmed": True, "backup_confirmed": True}),
    ),
    Row(
        "cloud-api:application-terminate-approve",
        "POST",
        allowed=CENTER_ROLES,
        setup=_app(S.TERMINATION_PENDING),
    ),
    Row(
        "cloud-api:application-terminate-refuse",
        "POST",
        allowed=CENTER_ROLES,
        setup=_app(S.TERMINATION_PENDING, {"reasons": "备份未验证"}),
    ),
    Row("cloud-api:application-reclaim", "POST", allowed=CENTER_ROLES, setup=_app(S.RECLAIMING)),
    Row("cloud-api:exemption-list", "GET", allowed=ALL_ROLES, note="scoped"),
    Row("cloud-api:exemption-list", "POST", allowed=UNIT_ACTORS, setup=_new_exemption),
    Row("cloud-api:exemption-decide", "POST", allowed=CENTER_ROLES, setup=_exemption),
    Row("cloud-api:migration-list", "GET", allowed=ALL_ROLES, note="scoped"),
    Row("cloud-api:migration-list", "POST", allowed=UNIT_ACTORS, setup=_new_migration),
    Row("cloud-api:migration-live", "POST", allowed=UNIT_ACTORS, setup=_plan("planned")),
    Row("cloud-api:migration-retired-list", "POST", allowed=UNIT_ACTORS, setup=_plan("live")),
]

from .permission_matrix_ops import ROWS as _OPS  # noqa: E402  cloud operations (issue 9)

ROWS += _OPS
