"""Every read of the cloud app, scoped to what the acting user may see: center staff and auditors
see every unit; everyone else only their own unit's systems, applications and resources."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import F, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cloud.errors import CloudError
from cloud.models import (
    Allocation,
    ApplicationStatus,
    AppSystem,
    CloudApplication,
    CloudProduct,
    Exemption,
    MigrationPlan,
    ProvisionedResource,
    ResourcePool,
)
from cloud.permissions import can_review, sees_all
from cloud.transitions import CENTER_WAITING, UNIT_WAITING, allowed_actions
from core.errors import NotFound, PermissionDenied
from core.rules import CAPACITY_EXPANSION_THRESHOLD, RULES, Rule

LIVE_STATUSES = (
    ApplicationStatus.PRODUCTION,
    ApplicationStatus.CHANGE_PENDING,
    ApplicationStatus.CHANGE_TESTING,
    ApplicationStatus.TERMINATION_PENDING,
)


def _scope(qs: QuerySet, user: Any, field: str) -> QuerySet:
    if sees_all(user):
        return qs
    return qs.filter(**{field: user.unit_id})


def app_system_list(*, user: Any) -> QuerySet[AppSystem]:
    return _scope(AppSystem.objects.select_related("owner"), user, "owner_id")


def app_system_get(*, user: Any, pk: int) -> AppSystem:
    system = app_system_list(user=user).filter(pk=pk).first()
    if system is None:
        raise NotFound(CloudError.NOT_FOUND, _("未找到该应用系统。"))
    return system


def cloud_application_list(*, user: Any) -> QuerySet[CloudApplication]:
    return _scope(CloudApplication.objects.select_related("system", "unit"), user, "unit_id")


def cloud_application_get(*, user: Any, pk: int) -> CloudApplication:
    application = cloud_application_list(user=user).filter(pk=pk).first()
    if application is None:
        raise NotFound(CloudError.NOT_FOUND, _("未找到该申请。"))
    return application


def cloud_attachment_get(*, user: Any, application_pk: int, pk: int):
    """A material of an application the user may see (C§10); 404 otherwise."""
    application = cloud_application_get(user=user, pk=application_pk)
    attachment = application.attachments.filter(pk=pk).first()
    if attachment is None:
        raise NotFound(CloudError.NOT_FOUND, _("未找到该附件。"))
    return attachment


def provisioned_resource_list(*, user: Any, active_only: bool = True) -> QuerySet[ProvisionedResource]:
    qs = _scope(
        ProvisionedResource.objects.select_related("application__system", "application__unit", "product"),
        user,
        "application__unit_id",
    )
    return qs.filter(released_at__isnull=True) if active_only else qs


def product_list(*, user: Any) -> QuerySet[CloudProduct]:
    """The product catalog is public to every signed-in user (units choose from it, C§10)."""
    return CloudProduct.objects.filter(is_active=True)


@dataclass
class PoolCapacity:
    pool: ResourcePool
    total: int
    allocated: int
    used: int

    @property
    def free(self) -> int:
        return self.total - self.allocated

    @property
    def ratio(self) -> float:
        return self.allocated / self.total if self.total else 0.0

    @property
    def percent(self) -> int:
        return round(self.ratio * 100)

    @property
    def needs_expansion(self) -> bool:
        """C§27: expansion starts when a pool nears 70 %."""
        return self.ratio >= CAPACITY_EXPANSION_THRESHOLD


def pool_capacity_list(*, user: Any) -> list[PoolCapacity]:
    """Total / allocated (all live allocations) / used (systems in production) per pool — center only."""
    if not can_review(user):
        raise PermissionDenied(CloudError.NOT_ALLOWED, _("资源池容量仅对数据资源中心可见。"))
    result = []
    for pool in ResourcePool.objects.filter(is_active=True):
        active = Allocation.objects.filter(pool=pool, released_at__isnull=True)
        allocated = active.aggregate(s=Sum("amount"))["s"] or 0
        used = (
            active.filter(resource__application__status__in=LIVE_STATUSES).aggregate(s=Sum("amount"))["s"]
            or 0
        )
        result.append(PoolCapacity(pool=pool, total=pool.total, allocated=allocated, used=used))
    return result


def center_queue(*, user: Any) -> QuerySet[CloudApplication]:
    """Applications waiting for the center, the nearest deadline first (C§11, C§14, C§15)."""
    if not can_review(user):
        raise PermissionDenied(CloudError.NOT_ALLOWED, _("仅数据资源中心可查看待办队列。"))
    return (
        CloudApplication.objects.select_related("system", "unit")
        .filter(status__in=CENTER_WAITING)
        .order_by(F("due_at").asc(nulls_last=True), "id")
    )


def overdue_applications(*, user: Any, now: Any = None) -> QuerySet[CloudApplication]:
    """Applications whose running clock is past due."""
    now = now or timezone.now()
    return (
        cloud_application_list(user=user).filter(due_at__lt=now, status__in=CENTER_WAITING).order_by("due_at")
    )


def migration_flags(plan: MigrationPlan, today: date | None = None) -> dict[str, bool]:
    """C§20 reminders: target date passed without going live; keep period over, list not submitted."""
    today = today or timezone.localdate()
    return {
        "overdue": plan.status == MigrationPlan.Status.PLANNED and plan.target_date < today,
        "retire_list_due": plan.status == MigrationPlan.Status.LIVE
        and plan.keep_until is not None
        and plan.keep_until <= today,
    }


def migration_list(*, user: Any) -> QuerySet[MigrationPlan]:
    return _scope(MigrationPlan.objects.select_related("system", "system__owner"), user, "system__owner_id")


def migration_get(*, user: Any, pk: int) -> MigrationPlan:
    plan = migration_list(user=user).filter(pk=pk).first()
    if plan is None:
        raise NotFound(CloudError.NOT_FOUND, _("未找到该迁移计划。"))
    return plan


def migration_attention(*, user: Any, today: date | None = None) -> list[MigrationPlan]:
    today = today or timezone.localdate()
    plans = migration_list(user=user).filter(
        Q(status=MigrationPlan.Status.PLANNED, target_date__lt=today)
        | Q(status=MigrationPlan.Status.LIVE, keep_until__lte=today)
    )
    return list(plans)


def exemption_list(*, user: Any) -> QuerySet[Exemption]:
    return _scope(Exemption.objects.select_related("system", "system__owner"), user, "system__owner_id")


def exemption_get(*, user: Any, pk: int) -> Exemption:
    exemption = exemption_list(user=user).filter(pk=pk).first()
    if exemption is None:
        raise NotFound(CloudError.NOT_FOUND, _("未找到该例外申请。"))
    return exemption


def application_timeline(application: CloudApplication) -> list[dict]:
    """The steps so far (with the deadline each step started) and what comes next."""
    steps = [
        {
            "action": s.action,
            "from": s.from_status,
            "to": s.to_status,
            "actor": str(s.actor) if s.actor_id else "",
            "at": s.at,
            "note": s.note,
            "due_at": s.due_at,
        }
        for s in application.steps.select_related("actor")
    ]
    return steps


def waiting_on(application: CloudApplication) -> str:
    if application.status in CENTER_WAITING:
        return "center"
    if application.status in UNIT_WAITING:
        return "unit"
    return ""


def next_actions(application: CloudApplication) -> list[str]:
    return allowed_actions(application.status)


def rule_days(rule: str) -> int | None:
    try:
        return RULES[Rule(rule)].working_days
    except (ValueError, KeyError):
        return None
