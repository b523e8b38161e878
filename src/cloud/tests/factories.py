"""Factories and journey helpers for the cloud tests: objects are made through the services, so
every state in a test was reached the way a person reaches it."""

from __future__ import annotations

import io
import zipfile
from datetime import timedelta
from decimal import Decimal

import factory
from django.utils import timezone

from accounts.models import Unit
from accounts.roles import Role
from accounts.tests.factories import UnitFactory, UserFactory
from cloud import services
from cloud.models import ApplicationStatus, AppSystem, CloudProduct, PoolKind, ProductKind, ResourcePool


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CloudProduct
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"p{n}")
    name = factory.Sequence(lambda n: f"产品{n}")
    kind = ProductKind.HOST
    unit_price_month = Decimal("100.00")


class PoolFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ResourcePool
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"资源池{n}")
    kind = PoolKind.COMPUTE
    total = 100
    unit_label = "核"


def standard_catalog(
    *, compute: int = 64, memory: int = 256, storage: int = 4000, network: int = 1000
) -> dict:
    """Four pools and a few products (4 vCPU/8 GB/100 GB host, database, 500 GB storage, WAF, 10 Mbps)."""
    PoolFactory(name="计算池", kind=PoolKind.COMPUTE, total=compute, unit_label="核")
    PoolFactory(name="内存池", kind=PoolKind.MEMORY, total=memory, unit_label="GB")
    PoolFactory(name="存储池", kind=PoolKind.STORAGE, total=storage, unit_label="GB")
    PoolFactory(name="网络池", kind=PoolKind.NETWORK, total=network, unit_label="Mbps")
    return {
        "host": ProductFactory(
            code="ecs-4c8g",
            name="云主机 4核8G",
            kind=ProductKind.HOST,
            vcpu=4,
            memory_gb=8,
            storage_gb=100,
            spec="麒麟 V10",
        ),
        "db": ProductFactory(
            code="rds-4c16g",
            name="云数据库 4核16G",
            kind=ProductKind.DATABASE,
            vcpu=4,
            memory_gb=16,
            storage_gb=200,
            spec="达梦 DM8",
        ),
        "disk": ProductFactory(
            code="ebs-500", name="云存储 500GB", kind=ProductKind.STORAGE, storage_gb=500, spec="块存储"
        ),
        "waf": ProductFactory(code="waf", name="Web 应用防火墙", kind=ProductKind.SECURITY, spec="WAF"),
        "bw": ProductFactory(code="bw-10", name="带宽 10Mbps", kind=ProductKind.BANDWIDTH, bandwidth_mbps=10),
    }


def center_unit() -> Unit:
    return Unit.objects.filter(kind=Unit.Kind.CENTER).first() or UnitFactory(
        kind=Unit.Kind.CENTER, name="芙蓉区数据资源中心"
    )


def reviewer(unit: Unit | None = None):
    return UserFactory(roles=[Role.CENTER_REVIEWER], unit=unit or center_unit())


def owner(unit: Unit | None = None):
    return UserFactory(roles=[Role.SYSTEM_OWNER], unit=unit or UnitFactory())


def system_for(user, **kwargs) -> AppSystem:
    fields = {"name": f"系统{AppSystem.objects.count() + 1}", "protection_level": 2, **kwargs}
    return services.app_system_register(by=user, **fields)


def lines_of(catalog: dict, **quantities: int) -> list[dict]:
    return [{"product": catalog[key].pk, "quantity": qty} for key, qty in quantities.items()]


def submit(user, catalog: dict, system: AppSystem | None = None, **quantities: int):
    system = system or system_for(user)
    return services.cloud_application_submit(
        by=user,
        system=system,
        construction_plan="建设方案：部署于政务云，前后端分离。",
        self_test_report="性能自测：并发 200，响应 < 1s；安全自测：无高危漏洞。",
        lines=lines_of(catalog, **(quantities or {"host": 2})),
    )


def advance(application, to: str, *, center_user, unit_user):
    """Drive an application through the real services until it reaches ``to``."""
    order = [
        ApplicationStatus.SUBMITTED,
        ApplicationStatus.ACCEPTED,
        ApplicationStatus.TESTING,
        ApplicationStatus.TRIAL,
        ApplicationStatus.AGREEMENT_SIGNED,
        ApplicationStatus.PRODUCTION,
    ]
    steps = {
        ApplicationStatus.ACCEPTED: lambda a: services.cloud_application_accept(
            application=a, by=center_user
        ),
        ApplicationStatus.TESTING: lambda a: services.cloud_application_approve(
            application=a, by=center_user
        ),
        ApplicationStatus.TRIAL: lambda a: services.cloud_application_test_record(
            application=a, by=center_user, passed=True, performance="合格", security="合格"
        ),
        ApplicationStatus.PRODUCTION: lambda a: services.cloud_application_go_live(
            application=a, by=center_user
        ),
    }
    application.refresh_from_db()
    target = order.index(to)
    while order.index(application.status) < target:
        nxt = order[order.index(application.status) + 1]
        if nxt == ApplicationStatus.AGREEMENT_SIGNED:
            _sign(application, center_user)
        else:
            steps[nxt](application)
        application.refresh_from_db()
    return application


def _sign(application, center_user):
    """Test set-up: the 30-calendar-day trial (C§12) lies behind us, then the agreement is signed."""
    type(application).objects.filter(pk=application.pk).update(
        trial_started_at=timezone.now() - timedelta(days=31)
    )
    application.refresh_from_db()
    services.cloud_application_agreement_sign(
        application=application, by=center_user, upload=io.BytesIO(minimal_pdf()), filename="协议.pdf"
    )


def minimal_pdf() -> bytes:
    return b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def minimal_docx() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document/>")
    return buf.getvalue()


def minimal_xlsx() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
    return buf.getvalue()


def application_in(status: str, *, unit: Unit, center: Unit | None = None, catalog: dict | None = None):
    """An application of ``unit`` brought to ``status`` through the services."""
    catalog = catalog or standard_catalog()
    unit_user = owner(unit)
    center_user = reviewer(center)
    app = submit(unit_user, catalog, host=1)
    S = ApplicationStatus
    if status == S.SUBMITTED:
        return app
    if status == S.RETURNED:
        services.cloud_application_return(application=app, by=center_user, reasons="材料不全")
        return app
    if status == S.TEST_FAILED:
        advance(app, S.TESTING, center_user=center_user, unit_user=unit_user)
        services.cloud_application_test_record(
            application=app, by=center_user, passed=False, performance="不合格", security="不合格"
        )
        return app
    main = [S.ACCEPTED, S.TESTING, S.TRIAL, S.AGREEMENT_SIGNED, S.PRODUCTION]
    if status in main:
        return advance(app, status, center_user=center_user, unit_user=unit_user)
    advance(app, S.PRODUCTION, center_user=center_user, unit_user=unit_user)
    if status == S.CHANGE_PENDING:
        services.cloud_change_request(
            application=app,
            by=unit_user,
            lines=lines_of(catalog, host=1, bw=1),
            reason="加带宽",
            construction_plan="方案",
            self_test_report="报告",
        )
        return app
    services.cloud_termination_request(
        application=app, by=unit_user, offboarding_confirmed=True, backup_confirmed=True
    )
    if status == S.RECLAIMING:
        services.cloud_termination_approve(application=app, by=center_user)
    return app
