"""Demo cloud data for the demo district: products, pools, systems and applications in various
states, made through the services (called by ``demo_load`` via ``load(stdout)``).

The 30-day trial (C§12) of the demo's running systems is placed in the past by moving the trial
start back before signing — the only shortcut; every other step is the real service.
"""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from cloud import services
from cloud.models import CloudApplication, CloudProduct, PoolKind, ProductKind, ResourcePool

PRODUCTS = [
    ("ecs-2c4g", "云主机 2核4G", ProductKind.HOST, 2, 4, 50, 0, 0, "麒麟 V10 / 统信 UOS", "180.00"),
    ("ecs-4c8g", "云主机 4核8G", ProductKind.HOST, 4, 8, 100, 0, 0, "麒麟 V10 / 统信 UOS", "350.00"),
    ("ecs-8c16g", "云主机 8核16G", ProductKind.HOST, 8, 16, 100, 0, 0, "麒麟 V10 / 统信 UOS", "680.00"),
    (
        "rds-dm-4c16g",
        "云数据库 达梦 DM8 4核16G",
        ProductKind.DATABASE,
        4,
        16,
        200,
        0,
        0,
        "达梦 DM8 主备",
        "1200.00",
    ),
    (
        "rds-pg-4c16g",
        "云数据库 PostgreSQL 4核16G",
        ProductKind.DATABASE,
        4,
        16,
        200,
        0,
        0,
        "PostgreSQL 16 主备",
        "900.00",
    ),
    ("ebs-500", "云存储 块存储 500GB", ProductKind.STORAGE, 0, 0, 500, 0, 0, "SSD 块存储", "250.00"),
    ("oss-1t", "云存储 对象存储 1TB", ProductKind.STORAGE, 0, 0, 1000, 0, 0, "对象存储", "300.00"),
    ("waf", "云安全 Web 应用防火墙", ProductKind.SECURITY, 0, 0, 0, 0, 0, "WAF 防护 1 个域名", "500.00"),
    ("bastion", "云安全 堡垒机", ProductKind.SECURITY, 0, 0, 0, 0, 0, "运维审计", "300.00"),
    ("bw-10m", "政务外网带宽 10Mbps", ProductKind.BANDWIDTH, 0, 0, 0, 10, 0, "政务外网", "200.00"),
    ("eip", "互联网 IP", ProductKind.IP, 0, 0, 0, 0, 1, "经统一出口", "100.00"),
]

POOLS = [
    ("芙蓉区政务云·计算资源池", PoolKind.COMPUTE, 512, "核"),
    ("芙蓉区政务云·内存资源池", PoolKind.MEMORY, 2048, "GB"),
    ("芙蓉区政务云·存储资源池", PoolKind.STORAGE, 100_000, "GB"),
    ("芙蓉区政务云·网络资源池", PoolKind.NETWORK, 2000, "Mbps"),
]

PLAN = "系统采用 B/S 架构，应用与数据库分离部署于政务云，经政务外网访问，接入统一认证平台（C§18）。"
REPORT = "性能自测：200 并发下平均响应 0.8 秒；安全自测：第三方扫描无高、中危漏洞，已整改低危 3 项。"


def _pdf() -> io.BytesIO:
    return io.BytesIO(b"%PDF-1.4\n% GovHub demo signed agreement\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")


def _users() -> dict:
    from accounts.models import User

    names = ["center.reviewer", "ga.owner", "scjg.owner", "zj.owner", "wj.owner"]
    return {u.username: u for u in User.objects.filter(username__in=names)}


def _apply(owner, products, name, level, lines, description=""):
    system = services.app_system_register(
        by=owner, name=name, protection_level=level, description=description
    )
    return services.cloud_application_submit(
        by=owner,
        system=system,
        construction_plan=PLAN,
        self_test_report=REPORT,
        lines=[{"product": products[code].pk, "quantity": qty} for code, qty in lines],
    )


def _to_trial(app, center):
    services.cloud_application_accept(application=app, by=center)
    services.cloud_application_approve(application=app, by=center)
    services.cloud_application_test_record(
        application=app, by=center, passed=True, performance="性能测试合格", security="安全测试合格"
    )


def _to_production(app, center, trial_days_ago=45):
    _to_trial(app, center)
    CloudApplication.objects.filter(pk=app.pk).update(
        trial_started_at=timezone.now() - timedelta(days=trial_days_ago)
    )
    app.refresh_from_db()
    services.cloud_application_agreement_sign(
        application=app, by=center, upload=_pdf(), filename="托管协议（已签）.pdf"
    )
    services.cloud_application_go_live(application=app, by=center)


def load(stdout) -> None:
    products = {}
    for code, name, kind, vcpu, mem, disk, bw, ips, spec, price in PRODUCTS:
        products[code], _ = CloudProduct.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "kind": kind,
                "vcpu": vcpu,
                "memory_gb": mem,
                "storage_gb": disk,
                "bandwidth_mbps": bw,
                "ip_count": ips,
                "spec": spec,
                "unit_price_month": Decimal(price),
            },
        )
    for name, kind, total, unit_label in POOLS:
        ResourcePool.objects.get_or_create(
            name=name, defaults={"kind": kind, "total": total, "unit_label": unit_label}
        )

    users = _users()
    center = users.get("center.reviewer")
    if center is None:
        stdout.write("  政务云：未找到演示账号，只载入产品和资源池。")
        return

    if ga := users.get("ga.owner"):
        app = _apply(
            ga,
            products,
            "人口信息综合管理系统",
            3,
            [("ecs-8c16g", 2), ("rds-dm-4c16g", 1), ("ebs-500", 2), ("waf", 1)],
        )
        _to_production(app, center)
        services.app_system_register(
            by=ga,
            name="视频图像信息平台",
            protection_level=4,
            filing_certificate_no="43010240018-00012",
            description="等保四级，依 C§4 自动登记为不上云例外",
        )
        old = services.app_system_register(by=ga, name="户籍业务旧系统", protection_level=3)
        plan = services.migration_plan_create(
            system=old,
            by=ga,
            target_date=timezone.localdate() + timedelta(days=60),
            backup_plan="迁移前全量备份至异地灾备中心",
        )
        services.migration_mark_live(plan=plan, by=ga, went_live_on=timezone.localdate() - timedelta(days=20))

    if scjg := users.get("scjg.owner"):
        app = _apply(
            scjg, products, "市场主体登记管理系统", 3, [("ecs-4c8g", 2), ("rds-pg-4c16g", 1), ("bw-10m", 1)]
        )
        _to_trial(app, center)
        _apply(scjg, products, "食品安全追溯系统", 2, [("ecs-2c4g", 2), ("oss-1t", 1)])

    if zj := users.get("zj.owner"):
        app = _apply(zj, products, "房屋交易与产权管理系统", 3, [("ecs-4c8g", 4), ("rds-dm-4c16g", 1)])
        services.cloud_application_accept(application=app, by=center)
        app = _apply(zj, products, "物业服务监管平台", 2, [("ecs-8c16g", 6)])
        services.cloud_application_return(
            application=app, by=center, reasons="资源需求偏大，请按实际并发测算；自测报告缺少安全测试结论。"
        )
        legacy = services.app_system_register(by=zj, name="不动产测绘专网系统", protection_level=3)
        services.exemption_request(
            system=legacy,
            by=zj,
            kind="own_infrastructure",
            legal_basis="《不动产登记暂行条例实施细则》有关专网传输的规定",
            reason="测绘成果须经省级专网传输",
        )

    if wj := users.get("wj.owner"):
        app = _apply(wj, products, "基层卫生信息系统", 3, [("ecs-4c8g", 2), ("rds-pg-4c16g", 1)])
        services.cloud_application_accept(application=app, by=center)
        services.cloud_application_approve(application=app, by=center)
        services.cloud_application_test_record(
            application=app,
            by=center,
            passed=False,
            performance="高峰响应 4.2 秒，不合格",
            security="存在越权访问",
        )
        app = _apply(wj, products, "疫苗冷链监测系统", 2, [("ecs-2c4g", 2), ("ebs-500", 1)])
        _to_production(app, center, trial_days_ago=120)
        services.cloud_change_request(
            application=app,
            by=wj,
            lines=[
                {"product": products["ecs-2c4g"].pk, "quantity": 3},
                {"product": products["ebs-500"].pk, "quantity": 1},
            ],
            reason="接入乡镇卫生院后监测点增加",
        )
    stdout.write(
        f"  政务云：{CloudProduct.objects.count()} 个产品，{CloudApplication.objects.count()} 个申请。"
    )
