"""Cloud lifecycle through the services (C§2-20), with real calendar dates."""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import override_settings

from accounts.roles import Role
from accounts.tests.factories import UnitFactory, UserFactory
from cloud import services
from cloud.adapters import InProcessAdapter
from cloud.models import (
    Allocation,
    ApplicationStatus,
    ApplicationStep,
    AppSystem,
    ChangeRequest,
    CloudApplication,
    CloudAttachment,
    CloudStatus,
    Exemption,
    MigrationPlan,
    ProvisionedResource,
)
from cloud.selectors import cloud_application_list, pool_capacity_list
from cloud.tests.factories import (
    advance,
    lines_of,
    minimal_docx,
    minimal_pdf,
    minimal_xlsx,
    owner,
    reviewer,
    standard_catalog,
    submit,
    system_for,
)
from core.errors import Conflict, Invalid, NotFound, PermissionDenied
from core.models import AuditEvent, Deadline
from core.rules import Rule

SH = ZoneInfo("Asia/Shanghai")


def at(*args) -> datetime:
    return datetime(*args, tzinfo=SH)


def clock(application, rule: Rule) -> Deadline:
    return Deadline.objects.filter(target_id=str(application.pk), rule=rule).order_by("-id").first()


@pytest.fixture
def catalog(db):
    return standard_catalog()


@pytest.fixture
def unit_user(db):
    return owner()


@pytest.fixture
def center_user(db):
    return reviewer()


# --- registration (C§1-5, C§34) --------------------------------------------------------------------


@pytest.mark.django_db
def test_classified_system_is_refused_on_registration_c2(unit_user):
    with pytest.raises(Invalid) as exc:
        services.app_system_register(
            by=unit_user, name="涉密办公系统", protection_level=3, is_classified=True
        )
    assert exc.value.code == "cloud.classified_refused"
    assert not AppSystem.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="cloud.").exists()


@pytest.mark.django_db
def test_level_4_system_needs_certificate_and_is_exempt_automatically_c4_c34(unit_user):
    with pytest.raises(Invalid):
        services.app_system_register(by=unit_user, name="视频监控平台", protection_level=4)
    system = services.app_system_register(
        by=unit_user, name="视频监控平台", protection_level=4, filing_certificate_no="43010240001-00001"
    )
    system.refresh_from_db()
    assert system.cloud_status == CloudStatus.EXEMPT
    exemption = system.exemptions.get()
    assert exemption.status == Exemption.Status.AUTOMATIC
    assert exemption.certificate_no == "43010240001-00001"
    assert AuditEvent.objects.filter(action="cloud.exemption.automatic").count() == 1


@pytest.mark.django_db
def test_marking_a_system_classified_later_records_the_automatic_exemption_c4(unit_user, catalog):
    system = system_for(unit_user)
    services.app_system_update(system=system, by=unit_user, is_classified=True)
    system.refresh_from_db()
    assert system.cloud_status == CloudStatus.EXEMPT
    with pytest.raises(Conflict):
        submit(unit_user, catalog, system=system)


@pytest.mark.django_db
def test_only_system_owner_or_unit_admin_registers_c8():
    user = UserFactory(roles=[Role.DATA_OFFICER])
    with pytest.raises(PermissionDenied):
        services.app_system_register(by=user, name="系统", protection_level=2)
    admin = UserFactory(roles=[Role.UNIT_ADMIN])
    assert services.app_system_register(by=admin, name="系统", protection_level=2).pk


@pytest.mark.django_db
def test_protection_level_must_be_1_to_5_c5(unit_user):
    with pytest.raises(Invalid):
        services.app_system_register(by=unit_user, name="系统", protection_level=6)
    assert not AppSystem.objects.exists()


# --- apply and the C§11 clocks ---------------------------------------------------------------------


@pytest.mark.django_db
def test_acceptance_due_in_3_working_days_across_national_day_2026_c11(unit_user, center_user, catalog):
    # Tue 29 Sep 2026: not counted; 30 Sep = 1, 1-7 Oct holiday, 8 Oct = 2, 9 Oct = 3.
    with time_machine.travel(at(2026, 9, 29, 10, 0), tick=False):
        app = submit(unit_user, catalog, host=1)
    assert clock(app, Rule.CLOUD_ACCEPT).due_at == at(2026, 10, 9, 23, 59, 59)
    app.refresh_from_db()
    assert app.due_at == at(2026, 10, 9, 23, 59, 59)


@pytest.mark.django_db
def test_review_opinion_due_in_2_working_days_of_acceptance_incl_tiaoxiu_saturday_c11(
    unit_user, center_user, catalog
):
    with time_machine.travel(at(2026, 9, 30, 16, 0), tick=False):
        app = submit(unit_user, catalog, host=1)
    # Fri 9 Oct accepted: Sat 10 Oct 2026 is a 调休 working day (1), Mon 12 Oct (2).
    with time_machine.travel(at(2026, 10, 9, 9, 0), tick=False):
        services.cloud_application_accept(application=app, by=center_user)
    accept_clock = clock(app, Rule.CLOUD_ACCEPT)
    assert accept_clock.state == Deadline.State.MET and not accept_clock.late
    assert clock(app, Rule.CLOUD_REVIEW).due_at == at(2026, 10, 12, 23, 59, 59)


@pytest.mark.django_db
def test_late_acceptance_is_recorded_late_c11(unit_user, center_user, catalog):
    with time_machine.travel(at(2026, 9, 29, 10, 0), tick=False):
        app = submit(unit_user, catalog, host=1)
    with time_machine.travel(at(2026, 10, 12, 9, 0), tick=False):
        services.cloud_application_accept(application=app, by=center_user)
    assert clock(app, Rule.CLOUD_ACCEPT).late


@pytest.mark.django_db
def test_application_needs_plan_self_test_report_and_lines_c10(unit_user, catalog):
    system = system_for(unit_user)
    with pytest.raises(Invalid) as exc:
        services.cloud_application_submit(
            by=unit_user,
            system=system,
            construction_plan="",
            self_test_report="报告",
            lines=lines_of(catalog, host=1),
        )
    assert exc.value.code == "cloud.materials_missing"
    with pytest.raises(Invalid):
        services.cloud_application_submit(
            by=unit_user, system=system, construction_plan="方案", self_test_report="报告", lines=[]
        )
    with pytest.raises(Invalid):
        services.cloud_application_submit(
            by=unit_user,
            system=system,
            construction_plan="方案",
            self_test_report="报告",
            lines=[{"product": catalog["host"].pk, "quantity": 0}],
        )
    with pytest.raises(Invalid):
        services.cloud_application_submit(
            by=unit_user,
            system=system,
            construction_plan="方案",
            self_test_report="报告",
            lines=[{"product": 999999, "quantity": 1}],
        )
    assert not CloudApplication.objects.exists()
    assert not Deadline.objects.exists()


@pytest.mark.django_db
def test_another_unit_cannot_apply_for_or_see_a_system_c8(unit_user, catalog):
    system = system_for(unit_user)
    stranger = owner()
    with pytest.raises(NotFound):
        submit(stranger, catalog, system=system)
    app = submit(unit_user, catalog, system=system)
    assert list(cloud_application_list(user=stranger)) == []
    assert list(cloud_application_list(user=unit_user)) == [app]


# --- not accepted → resubmit the same application (C§11) -------------------------------------------


@pytest.mark.django_db
def test_unaccepted_application_is_resubmitted_as_the_same_application_with_history_c11(
    unit_user, center_user, catalog
):
    with time_machine.travel(at(2026, 11, 2, 9, 0), tick=False):
        app = submit(unit_user, catalog, host=4)
    with pytest.raises(Invalid):
        services.cloud_application_return(application=app, by=center_user, reasons="  ")
    with time_machine.travel(at(2026, 11, 3, 9, 0), tick=False):
        services.cloud_application_return(application=app, by=center_user, reasons="自测报告缺少安全测试结论")
    app.refresh_from_db()
    assert app.status == ApplicationStatus.RETURNED
    assert app.review_reasons == "自测报告缺少安全测试结论"
    with pytest.raises(Conflict):
        services.cloud_application_accept(application=app, by=center_user)
    # Thu 5 Nov 2026 resubmitted → a fresh 3-WD clock: 6, 9, 10 Nov.
    with time_machine.travel(at(2026, 11, 5, 11, 0), tick=False):
        services.cloud_application_resubmit(
            application=app,
            by=unit_user,
            self_test_report="性能：并发 300；安全：等保测评无高中危",
            lines=lines_of(catalog, host=2),
        )
    app.refresh_from_db()
    assert app.status == ApplicationStatus.SUBMITTED
    assert app.round == 2
    assert CloudApplication.objects.count() == 1
    assert clock(app, Rule.CLOUD_ACCEPT).due_at == at(2026, 11, 10, 23, 59, 59)
    steps = list(app.steps.values_list("action", flat=True))
    assert steps == ["submit", "return", "resubmit"]
    resubmit = app.steps.get(action="resubmit")
    assert resubmit.details["previous"]["returned_for"] == "自测报告缺少安全测试结论"
    assert resubmit.details["previous"]["lines"] == [{"product": "ecs-4c8g", "quantity": 4}]
    assert [ln.quantity for ln in app.lines.all()] == [2]


@pytest.mark.django_db
def test_only_the_owning_unit_resubmits_c11(unit_user, center_user, catalog):
    app = submit(unit_user, catalog)
    services.cloud_application_return(application=app, by=center_user, reasons="材料不全")
    colleague = UserFactory(roles=[Role.UNIT_USER], unit=unit_user.unit)
    with pytest.raises(PermissionDenied):
        services.cloud_application_resubmit(application=app, by=colleague)
    with pytest.raises(NotFound):
        services.cloud_application_resubmit(application=app, by=owner())


# --- review and allocation (C§11-12) ----------------------------------------------------------------


@pytest.mark.django_db
def test_reviewer_may_approve_fewer_resources_only_with_reasons_c12(unit_user, center_user, catalog):
    app = submit(unit_user, catalog, host=4, disk=2)
    services.cloud_application_accept(application=app, by=center_user)
    host_line = app.lines.get(product=catalog["host"])
    with pytest.raises(Invalid) as exc:
        services.cloud_application_approve(application=app, by=center_user, approved={host_line.pk: 2})
    assert exc.value.code == "cloud.reasons_required"
    with pytest.raises(Invalid):
        services.cloud_application_approve(
            application=app, by=center_user, approved={host_line.pk: 5}, reasons="多给"
        )
    assert not ProvisionedResource.objects.exists()
    services.cloud_application_approve(
        application=app, by=center_user, approved={host_line.pk: 2}, reasons="按实际并发 2 台足够（按需分配）"
    )
    app.refresh_from_db()
    assert app.status == ApplicationStatus.TESTING
    assert app.system.cloud_status == CloudStatus.TESTING
    host_line.refresh_from_db()
    assert host_line.approved_quantity == 2
    hosts = ProvisionedResource.objects.filter(application=app, product=catalog["host"])
    assert hosts.count() == 2
    assert all(h.ip and h.host_name for h in hosts)
    assert clock(app, Rule.CLOUD_REVIEW).state == Deadline.State.MET


@pytest.mark.django_db
def test_stored_sizes_are_what_the_platform_provisioned_not_what_was_asked(unit_user, center_user, catalog):
    from cloud.tests.factories import ProductFactory

    odd = ProductFactory(code="ebs-45", name="云存储 45GB", kind="storage", storage_gb=45)
    system = system_for(unit_user)
    app = services.cloud_application_submit(
        by=unit_user,
        system=system,
        construction_plan="方案",
        self_test_report="报告",
        lines=[{"product": odd.pk, "quantity": 1}],
    )
    services.cloud_application_accept(application=app, by=center_user)
    services.cloud_application_approve(application=app, by=center_user)
    disk = ProvisionedResource.objects.get(application=app)
    assert disk.storage_gb == 50  # the in-process platform hands out 10 GB steps
    assert Allocation.objects.get(resource=disk).amount == 50


@pytest.mark.django_db
def test_allocation_beyond_pool_capacity_is_refused_and_nothing_is_written_c27(unit_user, center_user):
    catalog = standard_catalog(compute=10)
    app = submit(unit_user, catalog, host=3)  # 12 vCPU > 10
    services.cloud_application_accept(application=app, by=center_user)
    events_before = AuditEvent.objects.count()
    with pytest.raises(Conflict) as exc:
        services.cloud_application_approve(application=app, by=center_user)
    assert exc.value.code == "cloud.capacity_exceeded"
    assert "计算" in exc.value.message and "12" in exc.value.message
    assert exc.value.details["short"]["compute"] == {"need": 12, "free": 10}
    app.refresh_from_db()
    assert app.status == ApplicationStatus.ACCEPTED
    assert not ProvisionedResource.objects.exists() and not Allocation.objects.exists()
    assert AuditEvent.objects.count() == events_before
    assert app.lines.get().approved_quantity is None


@pytest.mark.django_db
def test_platform_failure_stores_nothing(unit_user, center_user, catalog, monkeypatch):
    monkeypatch.setattr(InProcessAdapter, "fail_products", {"ecs-4c8g"})
    app = submit(unit_user, catalog, host=1)
    services.cloud_application_accept(application=app, by=center_user)
    with pytest.raises(Conflict) as exc:
        services.cloud_application_approve(application=app, by=center_user)
    assert exc.value.code == "cloud.provision_failed"
    app.refresh_from_db()
    assert app.status == ApplicationStatus.ACCEPTED
    assert not ProvisionedResource.objects.exists()


@pytest.mark.django_db
def test_unit_staff_cannot_accept_or_approve_c11(unit_user, center_user, catalog):
    app = submit(unit_user, catalog)
    with pytest.raises(PermissionDenied):
        services.cloud_application_accept(application=app, by=unit_user)
    center_other = UserFactory(roles=[Role.SYS_ADMIN], unit=center_user.unit)
    with pytest.raises(NotFound):  # not center staff: the unit's application does not exist for them
        services.cloud_application_accept(application=app, by=center_other)
    stranger = owner()
    with pytest.raises(NotFound):
        services.cloud_application_accept(application=app, by=stranger)
    app.refresh_from_db()
    assert app.status == ApplicationStatus.SUBMITTED


@pytest.mark.django_db
def test_second_approval_of_the_same_application_is_refused(unit_user, center_user, catalog):
    app = submit(unit_user, catalog, host=1)
    services.cloud_application_accept(application=app, by=center_user)
    services.cloud_application_approve(application=app, by=center_user)
    with pytest.raises(Conflict) as exc:
        services.cloud_application_approve(application=app, by=reviewer())
    assert exc.value.code == "cloud.illegal_transition"
    assert ProvisionedResource.objects.filter(application=app).count() == 1


# --- test, trial, agreement, production (C§12-13, C§19) -----------------------------------------


@pytest.mark.django_db
def test_failed_test_goes_back_to_the_unit_then_retest_c19(unit_user, center_user, catalog):
    app = advance(
        submit(unit_user, catalog), ApplicationStatus.TESTING, center_user=center_user, unit_user=unit_user
    )
    with pytest.raises(Invalid):
        services.cloud_application_test_record(
            application=app, by=center_user, passed=False, performance="", security=""
        )
    services.cloud_application_test_record(
        application=app, by=center_user, passed=False, performance="响应 5s，不合格", security="存在 SQL 注入"
    )
    app.refresh_from_db()
    assert app.status == ApplicationStatus.TEST_FAILED
    with pytest.raises(Conflict):
        services.cloud_application_go_live(application=app, by=center_user)
    services.cloud_application_retest(application=app, by=unit_user, note="已修复注入并优化查询")
    services.cloud_application_test_record(
        application=app, by=center_user, passed=True, performance="合格", security="合格"
    )
    app.refresh_from_db()
    assert app.status == ApplicationStatus.TRIAL
    assert app.system.cloud_status == CloudStatus.TRIAL
    assert app.evaluations.count() == 2


@pytest.mark.django_db
def test_production_refused_before_30_calendar_days_of_trial_c12(unit_user, center_user, catalog):
    app = advance(
        submit(unit_user, catalog), ApplicationStatus.TESTING, center_user=center_user, unit_user=unit_user
    )
    with time_machine.travel(at(2026, 3, 2, 10, 0), tick=False):
        services.cloud_application_test_record(
            application=app, by=center_user, passed=True, performance="合格", security="合格"
        )
    app.refresh_from_db()
    assert services.trial_earliest_end(app) == date(2026, 4, 1)
    # Day 29 (31 Mar, late evening): refused.
    with time_machine.travel(at(2026, 3, 31, 23, 59), tick=False), pytest.raises(Conflict) as exc:
        services.cloud_application_agreement_sign(
            application=app, by=center_user, upload=io.BytesIO(minimal_pdf()), filename="协议.pdf"
        )
    assert exc.value.code == "cloud.trial_too_short"
    assert "2026-04-01" in exc.value.message
    assert not CloudAttachment.objects.filter(application=app).exists()
    # Day 30 (1 Apr): the agreement may be signed and production may start.
    with time_machine.travel(at(2026, 4, 1, 9, 0), tick=False):
        services.cloud_application_agreement_sign(
            application=app, by=center_user, upload=io.BytesIO(minimal_pdf()), filename="协议.pdf"
        )
        services.cloud_application_go_live(application=app, by=center_user)
    app.refresh_from_db()
    assert app.status == ApplicationStatus.PRODUCTION
    assert app.system.cloud_status == CloudStatus.PRODUCTION


@pytest.mark.django_db
def test_production_needs_the_signed_hosting_agreement_c13(unit_user, center_user, catalog):
    app = advance(
        submit(unit_user, catalog), ApplicationStatus.TRIAL, center_user=center_user, unit_user=unit_user
    )
    CloudApplication.objects.filter(pk=app.pk).update(
        trial_started_at=app.trial_started_at - timedelta(days=40)
    )
    with pytest.raises(Conflict) as exc:
        services.cloud_application_go_live(application=app, by=center_user)
    assert exc.value.code == "cloud.illegal_transition"
    with pytest.raises(Invalid):  # an XLSX is not a signed agreement
        services.cloud_application_agreement_sign(
            application=app, by=center_user, upload=io.BytesIO(minimal_xlsx()), filename="协议.xlsx"
        )
    assert not app.agreements.exists()


@pytest.mark.django_db
def test_generated_agreement_is_a_docx_with_the_application_data_c13(unit_user, center_user, catalog):
    from docx import Document

    from cloud.agreement import build_docx

    app = advance(
        submit(unit_user, catalog), ApplicationStatus.TRIAL, center_user=center_user, unit_user=unit_user
    )
    content = build_docx(app)
    text = "\n".join(p.text for p in Document(io.BytesIO(content)).paragraphs)
    assert "数据资源服务托管协议" in text
    assert unit_user.unit.name in text and app.system.name in text


# --- attachments --------------------------------------------------------------------------------------


def _macro_docx() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document/>")
        z.writestr("word/vbaProject.bin", b"\x00evil")
    return buf.getvalue()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("content", "name"),
    [
        (b"MZ\x90\x00 this is an exe", "方案.pdf"),
        (minimal_docx(), "方案.pdf"),
        (minimal_pdf(), "方案.exe"),
        (b"PK\x03\x04garbage", "方案.docx"),
        (_macro_docx(), "方案.docx"),
        (b"", "方案.pdf"),
    ],
    ids=["exe-named-pdf", "docx-named-pdf", "pdf-named-exe", "broken-zip", "macro-docx", "empty"],
)
def test_bad_attachments_are_refused_by_content(unit_user, catalog, content, name):
    app = submit(unit_user, catalog)
    with pytest.raises(Invalid) as exc:
        services.cloud_application_attach(
            application=app, by=unit_user, upload=io.BytesIO(content), filename=name
        )
    assert exc.value.code == "cloud.bad_attachment"
    assert not CloudAttachment.objects.exists()


@pytest.mark.django_db
@override_settings(GOVHUB_CLOUD_MAX_ATTACHMENT_BYTES=1024)
def test_attachment_over_the_size_limit_is_refused(unit_user, catalog):
    app = submit(unit_user, catalog)
    big = minimal_pdf() + b"0" * 2000
    with pytest.raises(Invalid) as exc:
        services.cloud_application_attach(
            application=app, by=unit_user, upload=io.BytesIO(big), filename="大.pdf"
        )
    assert exc.value.code == "cloud.attachment_too_large"
    assert not CloudAttachment.objects.exists()


@pytest.mark.django_db
def test_pdf_docx_xlsx_materials_are_accepted(unit_user, catalog):
    app = submit(unit_user, catalog)
    for content, name in [
        (minimal_pdf(), "方案.pdf"),
        (minimal_docx(), "报告.docx"),
        (minimal_xlsx(), "清单.xlsx"),
    ]:
        services.cloud_application_attach(
            application=app, by=unit_user, upload=io.BytesIO(content), filename=name
        )
    assert sorted(app.attachments.values_list("file_type", flat=True)) == ["docx", "pdf", "xlsx"]


# --- change (C§14) -----------------------------------------------------------------------------------


@pytest.fixture
def live(unit_user, center_user, catalog):
    return advance(
        submit(unit_user, catalog, host=2, disk=1),
        ApplicationStatus.PRODUCTION,
        center_user=center_user,
        unit_user=unit_user,
    )


@pytest.mark.django_db
def test_minor_change_completed_within_5_working_days_across_national_day_c14(
    live, unit_user, center_user, catalog
):
    # Wed 30 Sep 2026 → 8, 9, 10 (调休 Sat), 12, 13 Oct.
    with time_machine.travel(at(2026, 9, 30, 10, 0), tick=False):
        change = services.cloud_change_request(
            application=live, by=unit_user, lines=lines_of(catalog, host=3, disk=1), reason="业务量增长"
        )
    assert not change.is_major  # 12 vCPU vs 8: +50 % is not more than 50 %
    assert clock(live, Rule.CLOUD_CHANGE).due_at == at(2026, 10, 13, 23, 59, 59)
    with time_machine.travel(at(2026, 10, 9, 10, 0), tick=False):
        services.cloud_change_approve(application=live, by=center_user)
    live.refresh_from_db()
    assert live.status == ApplicationStatus.PRODUCTION
    active = ProvisionedResource.objects.filter(application=live, released_at__isnull=True)
    assert active.filter(product=catalog["host"]).count() == 3
    assert ProvisionedResource.objects.filter(application=live, released_at__isnull=False).count() == 3
    compute = next(p for p in pool_capacity_list(user=center_user) if p.pool.kind == "compute")
    assert compute.allocated == 12
    change.refresh_from_db()
    assert change.status == ChangeRequest.Status.DONE


@pytest.mark.django_db
def test_major_change_needs_materials_again_and_new_tests_c14(live, unit_user, center_user, catalog):
    with pytest.raises(Invalid) as exc:
        services.cloud_change_request(
            application=live, by=unit_user, lines=lines_of(catalog, host=2, disk=1, db=1), reason="加数据库"
        )
    assert exc.value.code == "cloud.materials_missing"
    change = services.cloud_change_request(
        application=live,
        by=unit_user,
        lines=lines_of(catalog, host=4, disk=1),
        reason="扩容",
        construction_plan="新方案",
        self_test_report="新自测报告",
    )
    assert change.is_major and change.major_reasons == ["vcpu"]
    services.cloud_change_approve(application=live, by=center_user)
    live.refresh_from_db()
    assert live.status == ApplicationStatus.CHANGE_TESTING
    with pytest.raises(Conflict):
        services.cloud_change_request(
            application=live, by=unit_user, lines=lines_of(catalog, host=1), reason="再改"
        )
    services.cloud_application_test_record(
        application=live, by=center_user, passed=False, performance="不合格", security="合格"
    )
    live.refresh_from_db()
    assert live.status == ApplicationStatus.CHANGE_TESTING
    services.cloud_application_test_record(
        application=live, by=center_user, passed=True, performance="合格", security="合格"
    )
    live.refresh_from_db()
    assert live.status == ApplicationStatus.PRODUCTION
    change.refresh_from_db()
    assert change.status == ChangeRequest.Status.DONE


@pytest.mark.django_db
@override_settings(GOVHUB_CLOUD_MAJOR_CHANGE_RATIO=0.2)
def test_major_change_threshold_comes_from_settings_c14(live, unit_user, catalog):
    change = services.cloud_change_request(
        application=live,
        by=unit_user,
        lines=lines_of(catalog, host=3, disk=1),
        reason="扩容",
        construction_plan="方案",
        self_test_report="报告",
    )
    assert change.is_major


@pytest.mark.django_db
def test_same_configuration_is_not_a_change(live, unit_user, catalog):
    with pytest.raises(Invalid) as exc:
        services.cloud_change_request(
            application=live, by=unit_user, lines=lines_of(catalog, host=2, disk=1), reason="无"
        )
    assert exc.value.code == "cloud.no_change"


# --- termination and reclaim (C§15) ------------------------------------------------------------------


@pytest.mark.django_db
def test_termination_needs_offboarding_and_backup_then_review_5wd_and_reclaim_3wd_c15(
    live, unit_user, center_user, catalog
):
    with pytest.raises(Invalid) as exc:
        services.cloud_termination_request(
            application=live, by=unit_user, offboarding_confirmed=True, backup_confirmed=False
        )
    assert exc.value.code == "cloud.confirmation_missing"
    # Mon 30 Nov 2026 → review due Mon 7 Dec (1, 2, 3, 4, 7 Dec).
    with time_machine.travel(at(2026, 11, 30, 10, 0), tick=False):
        services.cloud_termination_request(
            application=live, by=unit_user, offboarding_confirmed=True, backup_confirmed=True
        )
    assert clock(live, Rule.CLOUD_TERMINATE_REVIEW).due_at == at(2026, 12, 7, 23, 59, 59)
    # Fri 4 Dec approved → reclaim due Wed 9 Dec (7, 8, 9 Dec).
    with time_machine.travel(at(2026, 12, 4, 15, 0), tick=False):
        services.cloud_termination_approve(application=live, by=center_user)
    assert clock(live, Rule.CLOUD_RECLAIM).due_at == at(2026, 12, 9, 23, 59, 59)
    before = {p.pool.kind: p.allocated for p in pool_capacity_list(user=center_user)}
    assert before["compute"] == 8
    with time_machine.travel(at(2026, 12, 8, 10, 0), tick=False):
        services.cloud_application_reclaim(application=live, by=center_user)
    live.refresh_from_db()
    assert live.status == ApplicationStatus.TERMINATED
    assert live.system.cloud_status == CloudStatus.RETIRED
    after = {p.pool.kind: p.allocated for p in pool_capacity_list(user=center_user)}
    assert after == {"compute": 0, "memory": 0, "storage": 0, "network": 0}
    assert not ProvisionedResource.objects.filter(application=live, released_at__isnull=True).exists()
    assert clock(live, Rule.CLOUD_RECLAIM).state == Deadline.State.MET


@pytest.mark.django_db
def test_refused_termination_keeps_the_system_running_c15(live, unit_user, center_user):
    services.cloud_termination_request(
        application=live, by=unit_user, offboarding_confirmed=True, backup_confirmed=True
    )
    with pytest.raises(Invalid):
        services.cloud_termination_refuse(application=live, by=center_user, reasons="")
    services.cloud_termination_refuse(application=live, by=center_user, reasons="备份未验证")
    live.refresh_from_db()
    assert live.status == ApplicationStatus.PRODUCTION
    assert ProvisionedResource.objects.filter(application=live, released_at__isnull=True).count() == 3


@pytest.mark.django_db
def test_every_transition_is_audited_and_kept_in_the_timeline(live):
    actions = list(ApplicationStep.objects.filter(application=live).values_list("action", flat=True))
    assert actions == ["submit", "accept", "approve", "test_pass", "sign_agreement", "go_live"]
    audited = set(
        AuditEvent.objects.filter(
            target_id=str(live.pk), action__startswith="cloud.application."
        ).values_list("action", flat=True)
    )
    assert {f"cloud.application.{a}" for a in actions} <= audited


# --- exemptions and migrations (C§3-4, C§20) ---------------------------------------------------------


@pytest.mark.django_db
def test_exemption_request_needs_legal_basis_and_center_decision_c3(unit_user, center_user):
    system = system_for(unit_user)
    with pytest.raises(Invalid):
        services.exemption_request(system=system, by=unit_user, kind="own_infrastructure", legal_basis=" ")
    exemption = services.exemption_request(
        system=system, by=unit_user, kind="stay_off_cloud", legal_basis="《公安信息网安全管理规定》第十条"
    )
    with pytest.raises(PermissionDenied):
        services.exemption_decide(exemption=exemption, by=unit_user, approve=True)
    with pytest.raises(Invalid):
        services.exemption_decide(exemption=exemption, by=center_user, approve=False, note="")
    services.exemption_decide(exemption=exemption, by=center_user, approve=True, note="依据充分")
    system.refresh_from_db()
    assert system.cloud_status == CloudStatus.EXEMPT
    with pytest.raises(Conflict):
        services.exemption_decide(exemption=exemption, by=center_user, approve=False, note="改主意")


@pytest.mark.django_db
def test_old_system_kept_at_least_two_months_then_retired_list_c20(unit_user):
    system = system_for(unit_user)
    with time_machine.travel(at(2026, 10, 20, 9, 0), tick=False):
        with pytest.raises(Invalid):
            services.migration_plan_create(
                system=system, by=unit_user, target_date=date(2026, 12, 31), backup_plan=""
            )
        plan = services.migration_plan_create(
            system=system, by=unit_user, target_date=date(2026, 12, 31), backup_plan="迁移前全量备份至异地"
        )
    with time_machine.travel(at(2027, 1, 5, 9, 0), tick=False):
        from cloud.selectors import migration_flags

        assert migration_flags(plan)["overdue"]
        plan = services.migration_mark_live(plan=plan, by=unit_user, went_live_on=date(2026, 12, 31))
    assert plan.keep_until == date(2027, 2, 28)  # 31 Dec + 2 months
    with time_machine.travel(at(2027, 2, 27, 9, 0), tick=False):
        with pytest.raises(Conflict) as exc:
            services.migration_submit_retired_list(plan=plan, by=unit_user, resource_list="服务器 3 台")
        assert exc.value.code == "cloud.keep_period_not_over"
    with time_machine.travel(at(2027, 2, 28, 9, 0), tick=False):
        assert migration_flags(plan)["retire_list_due"]
        plan = services.migration_submit_retired_list(
            plan=plan, by=unit_user, resource_list="服务器 3 台，存储 2TB"
        )
    assert plan.status == MigrationPlan.Status.RETIRED


@pytest.mark.django_db
def test_exempt_system_needs_no_migration_plan_c4(unit_user):
    system = services.app_system_register(
        by=unit_user, name="指挥系统", protection_level=4, filing_certificate_no="X-1"
    )
    with pytest.raises(Conflict):
        services.migration_plan_create(
            system=system, by=unit_user, target_date=date(2099, 1, 1), backup_plan="备份"
        )


@pytest.mark.django_db
def test_center_sees_every_unit_a_unit_only_its_own(unit_user, center_user, catalog):
    mine = submit(unit_user, catalog)
    other_owner = owner(UnitFactory())
    theirs = submit(other_owner, catalog)
    assert set(cloud_application_list(user=center_user)) == {mine, theirs}
    assert list(cloud_application_list(user=unit_user)) == [mine]
    auditor_unit = UnitFactory(kind="oversight")
    auditor = UserFactory(roles=[Role.AUDITOR], unit=auditor_unit)
    assert set(cloud_application_list(user=auditor)) == {mine, theirs}
    with pytest.raises(PermissionDenied):
        pool_capacity_list(user=unit_user)


@pytest.mark.django_db
def test_migration_reminders_once_a_day_for_overdue_plans_c20(unit_user):
    from core.models import Notification

    system = system_for(unit_user)
    with time_machine.travel(at(2026, 10, 20, 9, 0), tick=False):
        services.migration_plan_create(
            system=system, by=unit_user, target_date=date(2026, 11, 2), backup_plan="备份"
        )
        assert services.migration_reminder_sweep() == 0
    with time_machine.travel(at(2026, 11, 3, 9, 0), tick=False):
        assert services.migration_reminder_sweep() == 1
        assert services.migration_reminder_sweep() == 0  # once a day
    with time_machine.travel(at(2026, 11, 4, 9, 0), tick=False):
        assert services.migration_reminder_sweep() == 1
    assert Notification.objects.filter(recipient=unit_user, event="cloud.migration.reminder").count() == 2


@pytest.mark.django_db
def test_system_links_only_its_own_units_catalog_resources_s42(unit_user):
    from catalog.models import Resource

    def resource(unit, name):
        return Resource.objects.create(
            name=name, provider=unit, classification="31", sharing_type="unconditional", update_cycle="daily"
        )

    mine = resource(unit_user.unit, "网格事件信息")
    theirs = resource(UnitFactory(), "他人的资源")
    with pytest.raises(Invalid):
        services.app_system_register(
            by=unit_user, name="网格系统", protection_level=2, resource_ids=[theirs.pk]
        )
    assert not AppSystem.objects.exists()
    system = services.app_system_register(
        by=unit_user, name="网格系统", protection_level=2, resource_ids=[mine.pk]
    )
    assert list(system.resources.all()) == [mine]


@pytest.mark.django_db
def test_each_side_is_notified_of_the_others_step(unit_user, center_user, catalog):
    from core.models import Notification

    app = submit(unit_user, catalog)
    assert (
        Notification.objects.filter(recipient=center_user, event="cloud.application.submitted").count() == 1
    )
    services.cloud_application_accept(application=app, by=center_user)
    assert Notification.objects.filter(recipient=unit_user, event="cloud.application.accepted").count() == 1
    stranger = owner()
    assert not Notification.objects.filter(recipient=stranger).exists()


@pytest.mark.django_db
def test_termination_review_crossing_into_a_year_without_official_calendar_is_provisional_c15(
    live, unit_user, center_user
):
    # Tue 29 Dec 2026 + 5 WD: 30, 31 Dec, then 2027 (no official data yet: Mon-Fri) 1, 4, 5 Jan.
    with time_machine.travel(at(2026, 12, 29, 10, 0), tick=False):
        services.cloud_termination_request(
            application=live, by=unit_user, offboarding_confirmed=True, backup_confirmed=True
        )
    review = clock(live, Rule.CLOUD_TERMINATE_REVIEW)
    assert review.provisional
    assert review.due_at == at(2027, 1, 5, 23, 59, 59)
