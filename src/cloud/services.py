"""Every write of the cloud app (C§2-20). One function per act: lock, check, change, audit, notify.

Statuses come only from ``cloud.transitions.next_status``; deadlines only from
``core.deadlines`` with the ``Rule.CLOUD_*`` clocks of ``core.rules``.
"""

from __future__ import annotations

import calendar as pycalendar
from collections.abc import Iterable
from datetime import date, timedelta
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.roles import Role
from cloud import attachments as attachment_checks
from cloud.adapters import AdapterError, LineSpec, ProvisionedItem, get_adapter
from cloud.agreement import agreement_number
from cloud.errors import CloudError
from cloud.models import (
    Allocation,
    ApplicationStatus,
    ApplicationStep,
    AppSystem,
    AttachmentKind,
    ChangeRequest,
    CloudApplication,
    CloudAttachment,
    CloudProduct,
    CloudStatus,
    Exemption,
    HostingAgreement,
    MigrationPlan,
    PoolKind,
    ProvisionedResource,
    RequestLine,
    ResourcePool,
    TestEvaluation,
)
from cloud.permissions import can_act_for_unit, can_review, can_view_unit
from cloud.transitions import Action, next_status
from core import audit, deadlines
from core.errors import Conflict, Invalid, NotFound, PermissionDenied, from_validation_error
from core.notify import notify
from core.rules import OLD_SYSTEM_KEEP_MONTHS, TRIAL_MIN_CALENDAR_DAYS, Rule

CENTER_STAFF = (Role.CENTER_REVIEWER, Role.CENTER_ADMIN)
UNIT_ACTORS = (Role.SYSTEM_OWNER, Role.UNIT_ADMIN)


def major_change_ratio() -> float:
    """C§14: a change adding more than this share of vCPU or storage is major (center setting)."""
    return float(getattr(settings, "GOVHUB_CLOUD_MAJOR_CHANGE_RATIO", 0.5))


# --- small shared steps --------------------------------------------------------------------------


def _require_unit_actor(user: Any, unit_id: int) -> None:
    if not can_view_unit(user, unit_id):
        raise NotFound(CloudError.NOT_FOUND, _("未找到该对象。"))
    if not can_act_for_unit(user, unit_id):
        raise PermissionDenied(CloudError.NOT_ALLOWED, _("只有本单位的系统负责人或单位管理员可以办理。"))


def _require_center(user: Any, unit_id: int | None = None) -> None:
    if not can_review(user):
        if unit_id is not None and not can_view_unit(user, unit_id):
            raise NotFound(CloudError.NOT_FOUND, _("未找到该对象。"))
        raise PermissionDenied(CloudError.NOT_ALLOWED, _("只有数据资源中心审核员或管理员可以办理。"))


def _full_clean(obj: Any, exclude: Iterable[str] | None = None) -> None:
    try:
        obj.full_clean(exclude=list(exclude or []))
    except ValidationError as exc:
        raise from_validation_error(exc)


def _lock(application: CloudApplication) -> CloudApplication:
    try:
        return (
            CloudApplication.objects.select_for_update()
            .select_related("system", "unit")
            .get(pk=application.pk)
        )
    except CloudApplication.DoesNotExist:
        raise NotFound(CloudError.NOT_FOUND, _("未找到该申请。"))


def _app_url(application: CloudApplication) -> str:
    return f"/cloud/applications/{application.pk}/"


def _start_clock(application: CloudApplication, rule: Rule, unit: Any) -> None:
    clock = deadlines.start(target=application, rule=rule, responsible_unit=unit)
    application.due_at = getattr(clock, "due_at", None)
    application.due_rule = rule.value


def _meet_clock(application: CloudApplication, rule: Rule) -> None:
    deadlines.meet(target=application, rule=rule)
    application.due_at = None
    application.due_rule = ""


def _transition(
    application: CloudApplication,
    action: Action,
    *,
    by: Any,
    note: str = "",
    details: dict | None = None,
    extra_fields: Iterable[str] = (),
) -> CloudApplication:
    """Move along the one table, save, keep the history row and the audit event."""
    before = application.status
    application.status = next_status(before, action)
    application.save(update_fields=["status", "due_at", "due_rule", "updated_at", *extra_fields])
    ApplicationStep.objects.create(
        application=application,
        action=action.value,
        from_status=before,
        to_status=application.status,
        actor=by,
        at=timezone.now(),
        note=note,
        due_at=application.due_at,
        details=details or {},
    )
    audit.record(
        action=f"cloud.application.{action.value}",
        actor=by,
        target=application,
        details={"from": before, "to": application.status, **(details or {})},
        note=note,
    )
    return application


def _tell_center(application: CloudApplication, event: str, title: str) -> None:
    notify(event=event, title=title, url=_app_url(application), roles=CENTER_STAFF)


def _tell_unit(application: CloudApplication, event: str, title: str, body: str = "") -> None:
    users = [application.created_by] if application.created_by_id else []
    notify(
        event=event,
        title=title,
        body=body,
        url=_app_url(application),
        users=users,
        roles=UNIT_ACTORS,
        unit=application.unit,
    )


def _set_system_status(system: AppSystem, status: str) -> None:
    AppSystem.objects.filter(pk=system.pk).update(cloud_status=status, updated_at=timezone.now())
    system.cloud_status = status


# --- application systems (C§1-5, C§18, C§34) -----------------------------------------------------


def _auto_exempt(system: AppSystem, by: Any) -> Exemption | None:
    """C§4: classified and 等保 ≥ 4 systems are exempt automatically, recorded with the certificate."""
    if not system.auto_exempt or system.exemptions.filter(status=Exemption.Status.AUTOMATIC).exists():
        return None
    basis = (
        _("《政务云管理暂行办法》第四条：涉密信息系统不迁移上云。")
        if system.is_classified
        else _("《政务云管理暂行办法》第四条：等保四级（含）以上信息系统不迁移上云。")
    )
    exemption = Exemption.objects.create(
        system=system,
        kind=Exemption.Kind.STAY_OFF_CLOUD,
        legal_basis=str(basis),
        certificate_no=system.filing_certificate_no,
        status=Exemption.Status.AUTOMATIC,
        requested_by=by,
        requested_at=timezone.now(),
        decided_at=timezone.now(),
    )
    _set_system_status(system, CloudStatus.EXEMPT)
    audit.record(
        action="cloud.exemption.automatic",
        actor=by,
        target=exemption,
        unit=system.owner,
        details={
            "system": system.pk,
            "level": system.protection_level,
            "certificate": system.filing_certificate_no,
        },
    )
    return exemption


@transaction.atomic
def app_system_register(
    *,
    by: Any,
    name: str,
    protection_level: int,
    description: str = "",
    filing_certificate_no: str = "",
    filing_date: date | None = None,
    is_classified: bool = False,
    sso_status: str = "not_started",
    resource_ids: Iterable[int] = (),
) -> AppSystem:
    """Register a unit's application system (C§5: it declares its 等保 level).

    C§1-2: the measures cover non-classified projects only, so a classified system is refused.
    """
    if not can_act_for_unit(by, by.unit_id):
        raise PermissionDenied(CloudError.NOT_ALLOWED, _("只有系统负责人或单位管理员可以登记应用系统。"))
    if is_classified:
        raise Invalid(
            CloudError.CLASSIFIED_REFUSED,
            _("涉密信息系统不适用《政务云管理暂行办法》（第二条），不能在政务云平台登记。"),
        )
    system = AppSystem(
        owner=by.unit,
        name=(name or "").strip(),
        description=description,
        protection_level=protection_level,
        filing_certificate_no=(filing_certificate_no or "").strip(),
        filing_date=filing_date,
        sso_status=sso_status,
        created_by=by,
    )
    _full_clean(system, exclude=["resources"])
    if AppSystem.objects.filter(owner=by.unit, name=system.name).exists():
        raise Invalid(CloudError.INVALID_SYSTEM, _("本单位已有同名应用系统。"))
    system.save()
    if resource_ids:
        from catalog.models import Resource

        ids = list(resource_ids)
        found = list(Resource.objects.filter(pk__in=ids, provider=by.unit))
        if len(found) != len(set(ids)):
            raise Invalid(CloudError.INVALID_SYSTEM, _("只能关联本单位登记的信息资源（S§42）。"))
        system.resources.set(found)
    audit.record(
        action="cloud.system.register", actor=by, target=system, details={"level": system.protection_level}
    )
    _auto_exempt(system, by)
    return system


@transaction.atomic
def app_system_update(*, system: AppSystem, by: Any, **fields: Any) -> AppSystem:
    """Update an app system's filing, SSO status or description; marking it classified or 等保 ≥ 4
    records the automatic exemption (C§4)."""
    system = AppSystem.objects.select_for_update().get(pk=system.pk)
    _require_unit_actor(by, system.owner_id)
    allowed = {
        "description",
        "protection_level",
        "filing_certificate_no",
        "filing_date",
        "is_classified",
        "sso_status",
    }
    unknown = set(fields) - allowed
    if unknown:
        raise Invalid(
            CloudError.INVALID_SYSTEM, _("不能修改这些字段：%(f)s") % {"f": ", ".join(sorted(unknown))}
        )
    changed = {}
    for key, value in fields.items():
        if getattr(system, key) != value:
            changed[key] = str(value)
            setattr(system, key, value)
    _full_clean(system, exclude=["resources"])
    system.save()
    audit.record(action="cloud.system.update", actor=by, target=system, details={"changed": changed})
    _auto_exempt(system, by)
    return system


# --- apply, accept, return, resubmit (C§10-11) -----------------------------------------------------


def _clean_lines(lines: Iterable[dict]) -> list[tuple[CloudProduct, int]]:
    """Validate request lines: known active products, positive integer quantities, no duplicates."""
    result: list[tuple[CloudProduct, int]] = []
    seen: set[int] = set()
    for raw in lines or []:
        try:
            product_id = int(
                raw["product"] if not isinstance(raw["product"], CloudProduct) else raw["product"].pk
            )
            quantity = int(raw["quantity"])
        except (KeyError, TypeError, ValueError):
            raise Invalid(CloudError.INVALID_LINES, _("资源需求每项须包含产品和数量。"))
        if quantity < 1 or quantity > 1000:
            raise Invalid(CloudError.INVALID_LINES, _("申请数量应为 1-1000 的整数。"))
        if product_id in seen:
            raise Invalid(CloudError.INVALID_LINES, _("同一产品请合并为一项。"))
        product = CloudProduct.objects.filter(pk=product_id, is_active=True).first()
        if product is None:
            raise Invalid(CloudError.INVALID_LINES, _("所选云产品不存在或已停售。"), {"product": product_id})
        seen.add(product_id)
        result.append((product, quantity))
    if not result:
        raise Invalid(CloudError.INVALID_LINES, _("请至少填写一项云资源需求（C§10）。"))
    return result


def _require_materials(construction_plan: str, self_test_report: str) -> None:
    missing = []
    if not (construction_plan or "").strip():
        missing.append("construction_plan")
    if not (self_test_report or "").strip():
        missing.append("self_test_report")
    if missing:
        raise Invalid(
            CloudError.MATERIALS_MISSING,
            _("申请材料不完整：须提供应用系统建设方案和性能、安全自测报告（C§10）。"),
            {"missing": missing},
        )


def _store_attachment(
    application: CloudApplication, by: Any, upload: IO[bytes], filename: str, kind: str
) -> CloudAttachment:
    if kind not in AttachmentKind.values:
        raise Invalid(CloudError.BAD_ATTACHMENT, _("附件类别无效。"))
    data, file_type = attachment_checks.read_checked(upload, filename)
    attachment = CloudAttachment(
        application=application,
        kind=kind,
        filename=filename[:200],
        file_type=file_type,
        size=len(data),
        uploaded_by=by,
    )
    attachment.file.save(f"ys{application.pk}-{file_type}.{file_type}", ContentFile(data), save=False)
    attachment.save()
    return attachment


@transaction.atomic
def cloud_application_submit(
    *,
    by: Any,
    system: AppSystem,
    construction_plan: str,
    self_test_report: str,
    lines: Iterable[dict],
    files: Iterable[tuple[str, str, IO[bytes]]] = (),
) -> CloudApplication:
    """C§10: the unit applies with its construction plan, self-test report, resource request and
    other materials; the center must decide on acceptance within 3 working days (C§11)."""
    system = AppSystem.objects.select_for_update().get(pk=system.pk)
    _require_unit_actor(by, system.owner_id)
    if system.auto_exempt or system.cloud_status in (CloudStatus.EXEMPT, CloudStatus.RETIRED):
        raise Conflict(CloudError.SYSTEM_NOT_ELIGIBLE, _("该系统为不上云例外或已下线，不能申请政务云资源。"))
    open_statuses = set(ApplicationStatus.values) - {ApplicationStatus.REJECTED, ApplicationStatus.TERMINATED}
    if system.applications.filter(status__in=open_statuses).exists():
        raise Conflict(CloudError.SYSTEM_NOT_ELIGIBLE, _("该系统已有办理中的政务云申请。"))
    _require_materials(construction_plan, self_test_report)
    clean = _clean_lines(lines)
    application = CloudApplication.objects.create(
        system=system,
        unit=system.owner,
        construction_plan=construction_plan.strip(),
        self_test_report=self_test_report.strip(),
        submitted_at=timezone.now(),
        created_by=by,
    )
    for product, quantity in clean:
        RequestLine.objects.create(application=application, product=product, quantity=quantity)
    for kind, filename, upload in files:
        _store_attachment(application, by, upload, filename, kind)
    _start_clock(application, Rule.CLOUD_ACCEPT, unit=None)
    application.save(update_fields=["due_at", "due_rule"])
    ApplicationStep.objects.create(
        application=application,
        action=Action.SUBMIT.value,
        to_status=application.status,
        actor=by,
        at=application.submitted_at,
        due_at=application.due_at,
        details={"lines": [{"product": p.code, "quantity": q} for p, q in clean]},
    )
    audit.record(
        action="cloud.application.submit", actor=by, target=application, details={"system": system.pk}
    )
    _tell_center(application, "cloud.application.submitted", str(_("新的政务云使用申请待受理")))
    return application


@transaction.atomic
def cloud_application_attach(
    *,
    application: CloudApplication,
    by: Any,
    upload: IO[bytes],
    filename: str,
    kind: str = AttachmentKind.OTHER,
) -> CloudAttachment:
    """Add a material to an application the unit may still amend (submitted or returned)."""
    application = _lock(application)
    _require_unit_actor(by, application.unit_id)
    if application.status not in (
        ApplicationStatus.SUBMITTED,
        ApplicationStatus.RETURNED,
        ApplicationStatus.TEST_FAILED,
    ):
        raise Conflict(CloudError.ILLEGAL_TRANSITION, _("当前状态不能补充申请材料。"))
    attachment = _store_attachment(application, by, upload, filename, kind)
    audit.record(
        action="cloud.application.attach",
        actor=by,
        target=application,
        details={"attachment": attachment.pk, "filename": attachment.filename, "type": attachment.file_type},
    )
    return attachment


@transaction.atomic
def cloud_application_accept(*, application: CloudApplication, by: Any, note: str = "") -> CloudApplication:
    """C§11: the center accepts within 3 working days; the review opinion is due 2 working days later."""
    application = _lock(application)
    _require_center(by, application.unit_id)
    next_status(application.status, Action.ACCEPT)
    _meet_clock(application, Rule.CLOUD_ACCEPT)
    _start_clock(application, Rule.CLOUD_REVIEW, unit=by.unit)
    _transition(application, Action.ACCEPT, by=by, note=note)
    _tell_unit(application, "cloud.application.accepted", str(_("政务云申请已受理")))
    return application


@transaction.atomic
def cloud_application_return(*, application: CloudApplication, by: Any, reasons: str) -> CloudApplication:
    """C§11: not accepted — the center states its reasons; the unit revises and resubmits."""
    application = _lock(application)
    _require_center(by, application.unit_id)
    if not (reasons or "").strip():
        raise Invalid(CloudError.REASONS_REQUIRED, _("不予受理须说明理由（C§11）。"))
    next_status(application.status, Action.RETURN)
    _meet_clock(application, Rule.CLOUD_ACCEPT)
    application.review_reasons = reasons.strip()
    _transition(application, Action.RETURN, by=by, note=reasons.strip(), extra_fields=["review_reasons"])
    _tell_unit(
        application, "cloud.application.returned", str(_("政务云申请不予受理，请修改后重新提交")), reasons
    )
    return application


@transaction.atomic
def cloud_application_resubmit(
    *,
    application: CloudApplication,
    by: Any,
    construction_plan: str | None = None,
    self_test_report: str | None = None,
    lines: Iterable[dict] | None = None,
    note: str = "",
) -> CloudApplication:
    """C§11: the unit revises the SAME application and submits it again; the earlier round stays in the history."""
    application = _lock(application)
    _require_unit_actor(by, application.unit_id)
    next_status(application.status, Action.RESUBMIT)
    plan = application.construction_plan if construction_plan is None else construction_plan
    report = application.self_test_report if self_test_report is None else self_test_report
    _require_materials(plan, report)
    previous = {
        "round": application.round,
        "lines": [
            {"product": ln.product.code, "quantity": ln.quantity}
            for ln in application.lines.filter(is_active=True)
        ],
        "returned_for": application.review_reasons,
    }
    if lines is not None:
        clean = _clean_lines(lines)
        application.lines.all().delete()
        for product, quantity in clean:
            RequestLine.objects.create(application=application, product=product, quantity=quantity)
    application.construction_plan = plan.strip()
    application.self_test_report = report.strip()
    application.round += 1
    application.submitted_at = timezone.now()
    _start_clock(application, Rule.CLOUD_ACCEPT, unit=None)
    _transition(
        application,
        Action.RESUBMIT,
        by=by,
        note=note,
        details={"previous": previous},
        extra_fields=["construction_plan", "self_test_report", "round", "submitted_at"],
    )
    _tell_center(application, "cloud.application.resubmitted", str(_("政务云申请已重新提交，待受理")))
    return application


# --- review and allocation (C§11-12) --------------------------------------------------------------


def _locked_pools() -> list[ResourcePool]:
    return list(ResourcePool.objects.select_for_update().filter(is_active=True).order_by("id"))


def _pool_free(
    pools: list[ResourcePool], exclude_application: CloudApplication | None = None
) -> dict[int, int]:
    free = {}
    for pool in pools:
        qs = Allocation.objects.filter(pool=pool, released_at__isnull=True)
        if exclude_application is not None:
            qs = qs.exclude(resource__application=exclude_application)
        used = sum(qs.values_list("amount", flat=True))
        free[pool.pk] = pool.total - used
    return free


def _check_capacity(pools: list[ResourcePool], need: dict[str, int], free: dict[int, int]) -> None:
    short = {}
    for kind, amount in need.items():
        if not amount:
            continue
        available = sum(free[p.pk] for p in pools if p.kind == kind)
        if amount > available:
            short[kind] = {"need": amount, "free": max(available, 0)}
    if short:
        parts = "；".join(
            str(_("%(kind)s需要 %(need)s，可用 %(free)s") % {"kind": PoolKind(k).label, **v})
            for k, v in short.items()
        )
        raise Conflict(
            CloudError.CAPACITY_EXCEEDED,
            _("资源池容量不足，不能分配：%(parts)s。请核减资源或待中心扩容（C§27）。") % {"parts": parts},
            {"short": short},
        )


def _need(specs: list[LineSpec]) -> dict[str, int]:
    need = {k: 0 for k in PoolKind.values}
    for spec in specs:
        for kind, amount in spec.product.draws(spec.quantity).items():
            need[kind] += amount
    return need


def _record_items(
    application: CloudApplication,
    items: list[ProvisionedItem],
    pools: list[ResourcePool],
    free: dict[int, int],
) -> list[ProvisionedResource]:
    """Store what the platform provisioned and draw it from the pools."""
    now = timezone.now()
    products = {p.pk: p for p in CloudProduct.objects.filter(pk__in={i.product_id for i in items})}
    stored = []
    for item in items:
        resource = ProvisionedResource.objects.create(
            application=application,
            product=products[item.product_id],
            external_id=item.external_id,
            host_name=item.host_name,
            ip=item.ip,
            vcpu=item.vcpu,
            memory_gb=item.memory_gb,
            storage_gb=item.storage_gb,
            bandwidth_mbps=item.bandwidth_mbps,
            provisioned_at=now,
        )
        amounts = {
            PoolKind.COMPUTE: item.vcpu,
            PoolKind.MEMORY: item.memory_gb,
            PoolKind.STORAGE: item.storage_gb,
            PoolKind.NETWORK: item.bandwidth_mbps,
        }
        for kind, amount in amounts.items():
            if not amount:
                continue
            pool = next((p for p in pools if p.kind == kind and free[p.pk] >= amount), None)
            if pool is None:
                _check_capacity(pools, {kind: amount}, free)  # raises when the pools are short in total
                raise Conflict(
                    CloudError.CAPACITY_EXCEEDED,
                    _("没有单个%(kind)s资源池能容纳 %(amount)s，请中心调整资源池（C§27）。")
                    % {"kind": PoolKind(kind).label, "amount": amount},
                )
            free[pool.pk] -= amount
            Allocation.objects.create(resource=resource, pool=pool, amount=amount)
        stored.append(resource)
    return stored


@transaction.atomic
def cloud_application_approve(
    *, application: CloudApplication, by: Any, approved: dict[int, int] | None = None, reasons: str = ""
) -> CloudApplication:
    """C§11-12: review opinion within 2 working days; allocate "reasonable" resources — the reviewer
    may grant fewer than asked, with reasons. The platform provisions them for testing (C§19).

    Concurrent approvals: the row lock makes the second caller wait, then the table refuses it.
    """
    application = _lock(application)
    _require_center(by, application.unit_id)
    next_status(application.status, Action.APPROVE)
    try:
        approved = {int(k): v for k, v in (approved or {}).items()}
    except (TypeError, ValueError):
        raise Invalid(CloudError.INVALID_LINES, _("核定数量须按申请项编号填写。"))
    lines = list(application.lines.filter(is_active=True).select_related("product"))
    unknown = set(approved) - {ln.pk for ln in lines}
    if unknown:
        raise Invalid(CloudError.INVALID_LINES, _("核定数量对应的申请项不存在。"), {"lines": sorted(unknown)})
    reduced = False
    for line in lines:
        try:
            qty = int(approved.get(line.pk, line.quantity))
        except (TypeError, ValueError):
            raise Invalid(CloudError.INVALID_LINES, _("核定数量须为整数。"))
        if qty < 0 or qty > line.quantity:
            raise Invalid(
                CloudError.INVALID_LINES, _("核定数量应在 0 到申请数量之间（C§12）。"), {"line": line.pk}
            )
        reduced |= qty < line.quantity
        line.approved_quantity = qty
    if reduced and not (reasons or "").strip():
        raise Invalid(CloudError.REASONS_REQUIRED, _("核减资源须说明理由（C§12 按需分配）。"))
    specs = [LineSpec(ln.product, ln.approved_quantity) for ln in lines if ln.approved_quantity]
    if not specs:
        raise Invalid(CloudError.INVALID_LINES, _("至少核定一项资源；如不同意请选择审核不通过。"))
    pools = _locked_pools()
    free = _pool_free(pools)
    _check_capacity(pools, _need(specs), free)
    try:
        items = get_adapter().provision(application=application, lines=specs)
    except AdapterError as exc:
        raise Conflict(
            CloudError.PROVISION_FAILED,
            _("云平台开通资源失败，未分配任何资源：%(e)s") % {"e": exc},
            {"platform": str(exc)},
        )
    stored = _record_items(application, items, pools, free)
    for line in lines:
        line.save(update_fields=["approved_quantity"])
    application.review_reasons = (reasons or "").strip()
    _meet_clock(application, Rule.CLOUD_REVIEW)
    _transition(
        application,
        Action.APPROVE,
        by=by,
        note=application.review_reasons,
        details={
            "approved": {str(ln.pk): ln.approved_quantity for ln in lines},
            "reduced": reduced,
            "provisioned": [r.host_name for r in stored],
        },
        extra_fields=["review_reasons"],
    )
    _set_system_status(application.system, CloudStatus.TESTING)
    _tell_unit(
        application,
        "cloud.application.approved",
        str(_("政务云申请审核通过，测试环境已开通")),
        application.review_reasons,
    )
    return application


@transaction.atomic
def cloud_application_reject(*, application: CloudApplication, by: Any, reasons: str) -> CloudApplication:
    """C§11: the review opinion may be negative; reasons are required."""
    application = _lock(application)
    _require_center(by, application.unit_id)
    if not (reasons or "").strip():
        raise Invalid(CloudError.REASONS_REQUIRED, _("审核不通过须说明理由。"))
    next_status(application.status, Action.REJECT)
    _meet_clock(application, Rule.CLOUD_REVIEW)
    application.review_reasons = reasons.strip()
    _transition(application, Action.REJECT, by=by, note=reasons.strip(), extra_fields=["review_reasons"])
    _tell_unit(application, "cloud.application.rejected", str(_("政务云申请审核未通过")), reasons)
    return application


# --- test and trial (C§12, C§19) -------------------------------------------------------------------


@transaction.atomic
def cloud_application_test_record(
    *, application: CloudApplication, by: Any, passed: bool, performance: str, security: str
) -> TestEvaluation:
    """C§19: the center evaluates the test in the test environment. Passed → trial (C§12) or, after
    a major change, production again; failed → the unit adjusts and retests."""
    application = _lock(application)
    _require_center(by, application.unit_id)
    if not (performance or "").strip() or not (security or "").strip():
        raise Invalid(CloudError.MATERIALS_MISSING, _("须填写性能测试和安全测试结论（C§19）。"))
    action = Action.TEST_PASS if passed else Action.TEST_FAIL
    was = application.status
    next_status(was, action)
    evaluation = TestEvaluation.objects.create(
        application=application,
        passed=bool(passed),
        performance=performance.strip(),
        security=security.strip(),
        evaluated_by=by,
        evaluated_at=timezone.now(),
    )
    extra: list[str] = []
    if passed and was == ApplicationStatus.TESTING:
        application.trial_started_at = timezone.now()
        extra.append("trial_started_at")
    if passed and was == ApplicationStatus.CHANGE_TESTING:
        change = application.changes.filter(status=ChangeRequest.Status.TESTING).first()
        if change:
            change.status = ChangeRequest.Status.DONE
            change.decided_at = timezone.now()
            change.save(update_fields=["status", "decided_at"])
    _transition(
        application,
        action,
        by=by,
        details={"evaluation": evaluation.pk, "passed": bool(passed)},
        extra_fields=extra,
    )
    if passed and was == ApplicationStatus.TESTING:
        _set_system_status(application.system, CloudStatus.TRIAL)
    _tell_unit(
        application,
        "cloud.application.tested",
        str(_("测试评估合格") if passed else _("测试评估不合格，请调整后申请复测")),
        f"{performance}\n{security}",
    )
    return evaluation


@transaction.atomic
def cloud_application_retest(*, application: CloudApplication, by: Any, note: str = "") -> CloudApplication:
    """C§19: after adjusting, the unit asks for the test again."""
    application = _lock(application)
    _require_unit_actor(by, application.unit_id)
    next_status(application.status, Action.RETEST)
    _transition(application, Action.RETEST, by=by, note=note)
    _tell_center(application, "cloud.application.retest", str(_("应用系统已调整，申请复测")))
    return application


def trial_earliest_end(application: CloudApplication) -> date | None:
    """C§12: the first day production may start — 30 calendar days after the trial began."""
    if application.trial_started_at is None:
        return None
    return timezone.localdate(application.trial_started_at) + timedelta(days=TRIAL_MIN_CALENDAR_DAYS)


def _require_trial_done(application: CloudApplication) -> None:
    earliest = trial_earliest_end(application)
    if earliest is None or timezone.localdate() < earliest:
        raise Conflict(
            CloudError.TRIAL_TOO_SHORT,
            _("试运行不少于 %(days)s 个自然日（C§12），%(date)s 起方可签订托管协议并正式运行。")
            % {"days": TRIAL_MIN_CALENDAR_DAYS, "date": earliest.isoformat() if earliest else "-"},
            {"earliest": earliest.isoformat() if earliest else None},
        )


@transaction.atomic
def cloud_application_agreement_sign(
    *, application: CloudApplication, by: Any, upload: IO[bytes], filename: str, signed_on: date | None = None
) -> HostingAgreement:
    """C§13: after the trial, the signed 《数据资源服务托管协议》 is uploaded (PDF/DOCX only)."""
    application = _lock(application)
    _require_center(by, application.unit_id)
    next_status(application.status, Action.SIGN_AGREEMENT)
    _require_trial_done(application)
    attachment = _store_attachment(application, by, upload, filename, AttachmentKind.SIGNED_AGREEMENT)
    if attachment.file_type not in ("pdf", "docx"):
        raise Invalid(CloudError.BAD_ATTACHMENT, _("已签协议须为 PDF 或 DOCX 文件。"))
    signed_on = signed_on or timezone.localdate()
    if signed_on > timezone.localdate():
        raise Invalid(CloudError.AGREEMENT_MISSING, _("签订日期不能晚于今天。"))
    agreement = HostingAgreement.objects.create(
        application=application,
        signed_file=attachment,
        agreement_no=agreement_number(application),
        signed_on=signed_on,
        recorded_by=by,
    )
    _transition(application, Action.SIGN_AGREEMENT, by=by, details={"agreement": agreement.agreement_no})
    _tell_unit(application, "cloud.application.agreement", str(_("托管协议已签订")))
    return agreement


@transaction.atomic
def cloud_application_go_live(*, application: CloudApplication, by: Any) -> CloudApplication:
    """C§12-13: production only after ≥ 30 calendar days of trial AND a signed hosting agreement."""
    application = _lock(application)
    _require_center(by, application.unit_id)
    next_status(application.status, Action.GO_LIVE)
    _require_trial_done(application)
    if not application.agreements.exists():
        raise Conflict(
            CloudError.AGREEMENT_MISSING, _("未签订《数据资源服务托管协议》，不能正式运行（C§13）。")
        )
    application.production_at = timezone.now()
    _transition(application, Action.GO_LIVE, by=by, extra_fields=["production_at"])
    _set_system_status(application.system, CloudStatus.PRODUCTION)
    _tell_unit(application, "cloud.application.production", str(_("应用系统已正式运行")))
    return application


# --- change (C§14) ---------------------------------------------------------------------------------


def _totals(pairs: Iterable[tuple[CloudProduct, int]]) -> tuple[int, int, set[str]]:
    vcpu = storage = 0
    kinds: set[str] = set()
    for product, qty in pairs:
        vcpu += product.vcpu * qty
        storage += product.storage_gb * qty
        kinds.add(product.kind)
    return vcpu, storage, kinds


def classify_change(application: CloudApplication, new: list[tuple[CloudProduct, int]]) -> list[str]:
    """C§14: why a change is major (empty list = minor). Threshold: settings ratio; new product kind."""
    current = [(ln.product, ln.approved_quantity or 0) for ln in application.lines.filter(is_active=True)]
    cur_vcpu, cur_storage, cur_kinds = _totals(current)
    new_vcpu, new_storage, new_kinds = _totals(new)
    ratio = major_change_ratio()
    reasons = []
    if new_vcpu > cur_vcpu * (1 + ratio):
        reasons.append("vcpu")
    if new_storage > cur_storage * (1 + ratio):
        reasons.append("storage")
    if new_kinds - cur_kinds:
        reasons.append("new_kind")
    return reasons


@transaction.atomic
def cloud_change_request(
    *,
    application: CloudApplication,
    by: Any,
    lines: Iterable[dict],
    reason: str,
    construction_plan: str = "",
    self_test_report: str = "",
) -> ChangeRequest:
    """C§14: the unit asks for a new configuration; the center completes it within 5 working days.
    A major change needs the C§11 materials again and new performance and security tests."""
    application = _lock(application)
    _require_unit_actor(by, application.unit_id)
    next_status(application.status, Action.REQUEST_CHANGE)
    if not (reason or "").strip():
        raise Invalid(CloudError.REASONS_REQUIRED, _("请说明变更理由。"))
    clean = _clean_lines(lines)
    current = {(ln.product_id, ln.approved_quantity) for ln in application.lines.filter(is_active=True)}
    if {(p.pk, q) for p, q in clean} == current:
        raise Invalid(CloudError.NO_CHANGE, _("新配置与当前配置相同。"))
    major = classify_change(application, clean)
    if major:
        _require_materials(construction_plan, self_test_report)
    change = ChangeRequest.objects.create(
        application=application,
        lines=[{"product": p.pk, "quantity": q} for p, q in clean],
        reason=reason.strip(),
        is_major=bool(major),
        major_reasons=major,
        construction_plan=construction_plan.strip(),
        self_test_report=self_test_report.strip(),
        requested_by=by,
        requested_at=timezone.now(),
    )
    _start_clock(application, Rule.CLOUD_CHANGE, unit=None)
    _transition(
        application,
        Action.REQUEST_CHANGE,
        by=by,
        note=reason.strip(),
        details={"change": change.pk, "major": major},
    )
    _tell_center(application, "cloud.change.requested", str(_("政务云资源变更申请待处理")))
    return change


def _pending_change(application: CloudApplication) -> ChangeRequest:
    change = application.changes.filter(status=ChangeRequest.Status.PENDING).first()
    if change is None:
        raise Conflict(CloudError.ILLEGAL_TRANSITION, _("没有待处理的变更申请。"))
    return change


def _apply_configuration(
    application: CloudApplication, pairs: list[tuple[CloudProduct, int]]
) -> list[ProvisionedResource]:
    """Resize through the platform and store its answer; old resources and their pool draws return."""
    specs = [LineSpec(p, q) for p, q in pairs]
    current = list(application.provisioned.filter(released_at__isnull=True))
    pools = _locked_pools()
    free = _pool_free(pools, exclude_application=application)
    _check_capacity(pools, _need(specs), free)
    try:
        items = get_adapter().resize(application=application, current=current, lines=specs)
    except AdapterError as exc:
        raise Conflict(CloudError.PROVISION_FAILED, _("云平台变更资源失败，配置未改变：%(e)s") % {"e": exc})
    now = timezone.now()
    Allocation.objects.filter(resource__in=current, released_at__isnull=True).update(released_at=now)
    ProvisionedResource.objects.filter(pk__in=[r.pk for r in current]).update(released_at=now)
    stored = _record_items(application, items, pools, free)
    application.lines.filter(is_active=True).update(is_active=False)
    for product, qty in pairs:
        RequestLine.objects.create(
            application=application, product=product, quantity=qty, approved_quantity=qty
        )
    return stored


@transaction.atomic
def cloud_change_approve(*, application: CloudApplication, by: Any, note: str = "") -> ChangeRequest:
    """C§14: the center carries out the change (minor → done; major → tests again before production)."""
    application = _lock(application)
    _require_center(by, application.unit_id)
    change = _pending_change(application)
    action = Action.APPROVE_MAJOR_CHANGE if change.is_major else Action.COMPLETE_CHANGE
    next_status(application.status, action)
    pairs = [(CloudProduct.objects.get(pk=ln["product"]), int(ln["quantity"])) for ln in change.lines]
    stored = _apply_configuration(application, pairs)
    change.status = ChangeRequest.Status.TESTING if change.is_major else ChangeRequest.Status.DONE
    change.decided_at = timezone.now() if not change.is_major else None
    change.note = note
    change.save(update_fields=["status", "decided_at", "note"])
    _meet_clock(application, Rule.CLOUD_CHANGE)
    _transition(
        application,
        action,
        by=by,
        note=note,
        details={"change": change.pk, "provisioned": [r.host_name for r in stored]},
    )
    _tell_unit(
        application,
        "cloud.change.done",
        str(_("重大变更已实施，请配合性能和安全测试") if change.is_major else _("资源变更已完成")),
    )
    return change


@transaction.atomic
def cloud_change_refuse(*, application: CloudApplication, by: Any, reasons: str) -> ChangeRequest:
    """The center does not agree to the change (reasons required); the configuration stays."""
    application = _lock(application)
    _require_center(by, application.unit_id)
    if not (reasons or "").strip():
        raise Invalid(CloudError.REASONS_REQUIRED, _("不同意变更须说明理由。"))
    change = _pending_change(application)
    next_status(application.status, Action.REFUSE_CHANGE)
    change.status = ChangeRequest.Status.REFUSED
    change.decided_at = timezone.now()
    change.note = reasons.strip()
    change.save(update_fields=["status", "decided_at", "note"])
    _meet_clock(application, Rule.CLOUD_CHANGE)
    _transition(application, Action.REFUSE_CHANGE, by=by, note=reasons.strip(), details={"change": change.pk})
    _tell_unit(application, "cloud.change.refused", str(_("资源变更申请未获同意")), reasons)
    return change


# --- termination and reclaim (C§15) ---------------------------------------------------------------


@transaction.atomic
def cloud_termination_request(
    *,
    application: CloudApplication,
    by: Any,
    offboarding_confirmed: bool,
    backup_confirmed: bool,
    note: str = "",
) -> CloudApplication:
    """C§15: the unit confirms the system is offline and its data migrated and backed up; the center
    reviews within 5 working days."""
    application = _lock(application)
    _require_unit_actor(by, application.unit_id)
    next_status(application.status, Action.REQUEST_TERMINATION)
    if not (offboarding_confirmed and backup_confirmed):
        raise Invalid(
            CloudError.CONFIRMATION_MISSING,
            _("申请终止前须确认已完成应用系统下线和数据迁移备份（C§15）。"),
        )
    application.offboarding_confirmed = True
    application.backup_confirmed = True
    _start_clock(application, Rule.CLOUD_TERMINATE_REVIEW, unit=None)
    _transition(
        application,
        Action.REQUEST_TERMINATION,
        by=by,
        note=note,
        extra_fields=["offboarding_confirmed", "backup_confirmed"],
    )
    _tell_center(application, "cloud.termination.requested", str(_("政务云终止申请待审核")))
    return application


@transaction.atomic
def cloud_termination_approve(*, application: CloudApplication, by: Any, note: str = "") -> CloudApplication:
    """C§15: termination approved; the resources must be reclaimed within 3 working days."""
    application = _lock(application)
    _require_center(by, application.unit_id)
    next_status(application.status, Action.APPROVE_TERMINATION)
    _meet_clock(application, Rule.CLOUD_TERMINATE_REVIEW)
    _start_clock(application, Rule.CLOUD_RECLAIM, unit=by.unit)
    _transition(application, Action.APPROVE_TERMINATION, by=by, note=note)
    _tell_unit(application, "cloud.termination.approved", str(_("终止申请已通过，资源将在 3 个工作日内回收")))
    return application


@transaction.atomic
def cloud_termination_refuse(*, application: CloudApplication, by: Any, reasons: str) -> CloudApplication:
    """C§15: the center refuses termination with reasons (e.g. backup not verifiable)."""
    application = _lock(application)
    _require_center(by, application.unit_id)
    if not (reasons or "").strip():
        raise Invalid(CloudError.REASONS_REQUIRED, _("终止审核不通过须说明理由。"))
    next_status(application.status, Action.REFUSE_TERMINATION)
    _meet_clock(application, Rule.CLOUD_TERMINATE_REVIEW)
    application.offboarding_confirmed = False
    application.backup_confirmed = False
    _transition(
        application,
        Action.REFUSE_TERMINATION,
        by=by,
        note=reasons.strip(),
        extra_fields=["offboarding_confirmed", "backup_confirmed"],
    )
    _tell_unit(application, "cloud.termination.refused", str(_("终止申请未通过")), reasons)
    return application


@transaction.atomic
def cloud_application_reclaim(*, application: CloudApplication, by: Any) -> CloudApplication:
    """C§15: reclaim the resources through the platform; pool capacity returns; services end."""
    application = _lock(application)
    _require_center(by, application.unit_id)
    next_status(application.status, Action.RECLAIM)
    current = list(application.provisioned.filter(released_at__isnull=True))
    try:
        released = set(get_adapter().release(application=application, resources=current))
    except AdapterError as exc:
        raise Conflict(CloudError.PROVISION_FAILED, _("云平台回收资源失败：%(e)s") % {"e": exc})
    missing = [r.external_id for r in current if r.external_id not in released]
    if missing:
        raise Conflict(
            CloudError.PROVISION_FAILED, _("云平台未能回收全部资源，请重试。"), {"not_released": missing}
        )
    pools = _locked_pools()  # lock order as in allocation
    now = timezone.now()
    Allocation.objects.filter(resource__in=current, released_at__isnull=True, pool__in=pools).update(
        released_at=now
    )
    ProvisionedResource.objects.filter(pk__in=[r.pk for r in current]).update(released_at=now)
    application.terminated_at = now
    _meet_clock(application, Rule.CLOUD_RECLAIM)
    _transition(
        application,
        Action.RECLAIM,
        by=by,
        details={"released": sorted(released)},
        extra_fields=["terminated_at"],
    )
    _set_system_status(application.system, CloudStatus.RETIRED)
    _tell_unit(application, "cloud.application.reclaimed", str(_("政务云资源已回收，服务已终止")))
    return application


# --- exemptions and migrations (C§3-4, C§20) -----------------------------------------------------


@transaction.atomic
def exemption_request(
    *, system: AppSystem, by: Any, kind: str, legal_basis: str, reason: str = ""
) -> Exemption:
    """C§3-4: the unit asks to build own infrastructure or to stay off the cloud, citing the legal basis."""
    system = AppSystem.objects.select_for_update().get(pk=system.pk)
    _require_unit_actor(by, system.owner_id)
    if kind not in Exemption.Kind.values:
        raise Invalid(CloudError.EXEMPTION_INVALID, _("例外类别无效。"))
    if not (legal_basis or "").strip():
        raise Invalid(CloudError.EXEMPTION_INVALID, _("须写明法律法规、政府规章或上级文件依据（C§3）。"))
    if system.exemptions.filter(
        kind=kind,
        status__in=[Exemption.Status.PENDING, Exemption.Status.APPROVED, Exemption.Status.AUTOMATIC],
    ).exists():
        raise Conflict(CloudError.EXEMPTION_INVALID, _("该系统已有同类例外申请或例外。"))
    exemption = Exemption.objects.create(
        system=system,
        kind=kind,
        legal_basis=legal_basis.strip(),
        reason=(reason or "").strip(),
        certificate_no=system.filing_certificate_no,
        requested_by=by,
        requested_at=timezone.now(),
    )
    audit.record(
        action="cloud.exemption.request",
        actor=by,
        target=exemption,
        details={"system": system.pk, "kind": kind},
    )
    notify(
        event="cloud.exemption.requested",
        title=str(_("不上云例外申请待审核")),
        url="/cloud/center/",
        roles=CENTER_STAFF,
    )
    return exemption


@transaction.atomic
def exemption_decide(*, exemption: Exemption, by: Any, approve: bool, note: str = "") -> Exemption:
    """C§3-4: the center approves or refuses an exemption request."""
    exemption = Exemption.objects.select_for_update().select_related("system").get(pk=exemption.pk)
    _require_center(by, exemption.system.owner_id)
    if exemption.status != Exemption.Status.PENDING:
        raise Conflict(CloudError.ILLEGAL_TRANSITION, _("该例外申请已处理。"))
    if not approve and not (note or "").strip():
        raise Invalid(CloudError.REASONS_REQUIRED, _("不批准须说明理由。"))
    exemption.status = Exemption.Status.APPROVED if approve else Exemption.Status.REJECTED
    exemption.decided_by = by
    exemption.decided_at = timezone.now()
    exemption.decision_note = (note or "").strip()
    exemption.save()
    if approve and exemption.kind == Exemption.Kind.STAY_OFF_CLOUD:
        _set_system_status(exemption.system, CloudStatus.EXEMPT)
    audit.record(
        action=f"cloud.exemption.{'approve' if approve else 'reject'}", actor=by, target=exemption, note=note
    )
    users = [exemption.requested_by] if exemption.requested_by_id else []
    notify(event="cloud.exemption.decided", title=str(_("不上云例外申请已处理")), users=users, url="/cloud/")
    return exemption


def add_months(day: date, months: int) -> date:
    """Calendar months (C§20 "两个月"): 31 Dec + 2 months = 28/29 Feb."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, pycalendar.monthrange(year, month)[1]))


@transaction.atomic
def migration_plan_create(
    *, system: AppSystem, by: Any, target_date: date, backup_plan: str
) -> MigrationPlan:
    """C§4, C§20: a migration plan with a target date and the data backup before migrating."""
    system = AppSystem.objects.select_for_update().get(pk=system.pk)
    _require_unit_actor(by, system.owner_id)
    if system.auto_exempt or system.cloud_status == CloudStatus.EXEMPT:
        raise Conflict(CloudError.MIGRATION_INVALID, _("不上云例外系统无需迁移计划。"))
    if not (backup_plan or "").strip():
        raise Invalid(CloudError.MIGRATION_INVALID, _("须说明迁移前的数据备份措施（C§20）。"))
    if not isinstance(target_date, date) or target_date < timezone.localdate():
        raise Invalid(CloudError.MIGRATION_INVALID, _("计划迁移日期不能早于今天。"))
    if system.migrations.exclude(status=MigrationPlan.Status.RETIRED).exists():
        raise Conflict(CloudError.MIGRATION_INVALID, _("该系统已有进行中的迁移计划。"))
    plan = MigrationPlan.objects.create(
        system=system, target_date=target_date, backup_plan=backup_plan.strip(), created_by=by
    )
    audit.record(
        action="cloud.migration.plan",
        actor=by,
        target=plan,
        details={"system": system.pk, "target": str(target_date)},
    )
    return plan


@transaction.atomic
def migration_mark_live(*, plan: MigrationPlan, by: Any, went_live_on: date) -> MigrationPlan:
    """C§20: the system went live on the cloud; the old one is kept at least 2 months."""
    plan = MigrationPlan.objects.select_for_update().select_related("system").get(pk=plan.pk)
    _require_unit_actor(by, plan.system.owner_id)
    if plan.status != MigrationPlan.Status.PLANNED:
        raise Conflict(CloudError.ILLEGAL_TRANSITION, _("该迁移计划已上线。"))
    if went_live_on > timezone.localdate():
        raise Invalid(CloudError.MIGRATION_INVALID, _("上线日期不能晚于今天。"))
    plan.status = MigrationPlan.Status.LIVE
    plan.went_live_on = went_live_on
    plan.keep_until = add_months(went_live_on, OLD_SYSTEM_KEEP_MONTHS)
    plan.save(update_fields=["status", "went_live_on", "keep_until"])
    audit.record(
        action="cloud.migration.live", actor=by, target=plan, details={"keep_until": str(plan.keep_until)}
    )
    return plan


@transaction.atomic
def migration_submit_retired_list(*, plan: MigrationPlan, by: Any, resource_list: str) -> MigrationPlan:
    """C§20: after the keep period the unit submits the old system's complete resource list."""
    plan = MigrationPlan.objects.select_for_update().select_related("system").get(pk=plan.pk)
    _require_unit_actor(by, plan.system.owner_id)
    if plan.status != MigrationPlan.Status.LIVE:
        raise Conflict(CloudError.ILLEGAL_TRANSITION, _("迁移上线后方可提交原系统资源清单。"))
    if timezone.localdate() < plan.keep_until:
        raise Conflict(
            CloudError.KEEP_PERIOD_NOT_OVER,
            _("原系统须保留至 %(date)s（上线后不少于两个月，C§20）。")
            % {"date": plan.keep_until.isoformat()},
        )
    if not (resource_list or "").strip():
        raise Invalid(CloudError.MIGRATION_INVALID, _("请填写原系统完整资源清单。"))
    plan.status = MigrationPlan.Status.RETIRED
    plan.retired_resource_list = resource_list.strip()
    plan.retired_submitted_at = timezone.now()
    plan.save(update_fields=["status", "retired_resource_list", "retired_submitted_at"])
    audit.record(action="cloud.migration.retire", actor=by, target=plan)
    notify(
        event="cloud.migration.retired",
        title=str(_("原系统资源清单已提交")),
        url="/cloud/center/",
        roles=CENTER_STAFF,
    )
    return plan


def migration_reminder_sweep(*, today: date | None = None) -> int:
    """C§20 reminders (periodic): plans past their target date, and plans whose keep period is over
    without the retired resource list. Each plan is reminded at most once a day; returns how many."""
    from cloud.selectors import migration_flags

    today = today or timezone.localdate()
    sent = 0
    candidates = MigrationPlan.objects.select_related("system", "system__owner").exclude(
        status=MigrationPlan.Status.RETIRED
    )
    for plan in candidates.exclude(reminded_on=today):
        flags = migration_flags(plan, today)
        if not any(flags.values()):
            continue
        with transaction.atomic():
            locked = MigrationPlan.objects.select_for_update().get(pk=plan.pk)
            if locked.reminded_on == today:
                continue
            locked.reminded_on = today
            locked.save(update_fields=["reminded_on"])
            title = (
                _("迁移计划已逾期：%(name)s")
                if flags["overdue"]
                else _("原系统保留期已满，请提交资源清单：%(name)s")
            ) % {"name": plan.system.name}
            notify(
                event="cloud.migration.reminder",
                title=str(title),
                url="/cloud/",
                roles=UNIT_ACTORS,
                unit=plan.system.owner,
            )
            audit.record(
                action="cloud.migration.remind", target=locked, unit=plan.system.owner, details=flags
            )
            sent += 1
    return sent


# --- products and pools (center administration, C§10, C§27) -------------------------------------


def _require_center_admin(user: Any) -> None:
    from cloud.permissions import is_center_staff

    if not (is_center_staff(user) and user.has_role(Role.CENTER_ADMIN)):
        raise PermissionDenied(CloudError.NOT_ALLOWED, _("只有数据资源中心管理员可以维护云产品和资源池。"))


@transaction.atomic
def cloud_product_create(*, by: Any, **fields: Any) -> CloudProduct:
    """The center adds a product to the catalog units apply from (C§10), with its monthly price."""
    _require_center_admin(by)
    product = CloudProduct(**fields)
    _full_clean(product)
    product.save()
    audit.record(action="cloud.product.create", actor=by, target=product, details={"code": product.code})
    return product


@transaction.atomic
def resource_pool_resize(*, pool: ResourcePool, by: Any, total: int, note: str = "") -> ResourcePool:
    """C§27: the center expands (or shrinks) a pool; never below what is allocated from it."""
    _require_center_admin(by)
    pool = ResourcePool.objects.select_for_update().get(pk=pool.pk)
    allocated = sum(
        Allocation.objects.filter(pool=pool, released_at__isnull=True).values_list("amount", flat=True)
    )
    if not isinstance(total, int) or total < 1:
        raise Invalid(CloudError.CAPACITY_EXCEEDED, _("总容量须为正整数。"))
    if total < allocated:
        raise Conflict(
            CloudError.CAPACITY_EXCEEDED,
            _("总容量不能小于已分配量 %(allocated)s %(unit)s。")
            % {"allocated": allocated, "unit": pool.unit_label},
        )
    before = pool.total
    pool.total = total
    pool.save(update_fields=["total"])
    audit.record(
        action="cloud.pool.resize", actor=by, target=pool, details={"from": before, "to": total}, note=note
    )
    return pool
