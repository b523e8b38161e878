"""Writes of the exchange: grants and conditional access requests (S§28-31)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.roles import Role
from catalog.models import Channel, Resource, ResourceStatus, SharingType
from core import audit, deadlines
from core.errors import Conflict, Invalid, NotFound, PermissionDenied
from core.notify import notify
from core.rules import Rule

from . import selectors
from .errors import ExchangeError
from .models import AccessRequest, AccessRequestStatus, Grant, GrantStatus, PurposeCategory
from .permissions import can_answer_as_provider, can_manage_grant, can_request_access, is_center_staff

#: Default length of an unconditional grant; renewable.
DEFAULT_GRANT_DAYS = 365


def _check_resource_shareable(resource: Resource, by) -> None:
    if resource.status != ResourceStatus.PUBLISHED:
        raise NotFound(ExchangeError.NOT_PUBLISHED, _("资源不存在或尚未发布。"))
    if resource.sharing_type == SharingType.NOT_SHARED:
        raise Conflict(
            ExchangeError.NOT_SHARED,
            _("该资源为不予共享，不能申请。依据：%(basis)s") % {"basis": resource.not_shared_basis},
        )
    if resource.provider_id == by.unit_id:
        raise Invalid(ExchangeError.OWN_RESOURCE, _("本单位提供的资源无需申请共享。"))


def _clean_items(resource: Resource, items) -> list[str]:
    codes = set(resource.items.values_list("code", flat=True))
    items = [str(i) for i in (items or [])]
    if not items:
        raise Invalid(ExchangeError.BAD_ITEMS, _("请至少选择一个信息项。"), {"field": "items"})
    unknown = sorted(set(items) - codes)
    if unknown:
        raise Invalid(
            ExchangeError.BAD_ITEMS, _("资源中没有这些信息项：%(items)s") % {"items": "、".join(unknown)}
        )
    return sorted(set(items), key=items.index)


def _clean_channels(resource: Resource, channels) -> list[str]:
    channels = [str(c) for c in (channels or [])]
    valid = set(Channel.values)
    offered = set(resource.channels or []) or valid
    if not channels:
        raise Invalid(ExchangeError.BAD_CHANNELS, _("请至少选择一种共享方式。"))
    bad = [c for c in channels if c not in valid or c not in offered]
    if bad:
        raise Invalid(
            ExchangeError.BAD_CHANNELS, _("该资源不提供这些共享方式：%(c)s") % {"c": "、".join(bad)}
        )
    return sorted(set(channels))


def _clean_purpose(category: str, purpose: str) -> tuple[str, str]:
    if category not in PurposeCategory.values:
        raise Invalid(
            ExchangeError.BAD_PURPOSE, _("请选择用途类别（行政依据、工作参考、数据校核、业务协同）。")
        )
    purpose = (purpose or "").strip()
    if len(purpose) < 4:
        raise Invalid(ExchangeError.BAD_PURPOSE, _("请具体说明使用用途（至少 4 个字）。"))
    return category, purpose[:300]


def _clean_period(valid_from: date | None, valid_to: date | None) -> tuple[date, date]:
    today = timezone.localdate()
    valid_from = valid_from or today
    valid_to = valid_to or (valid_from + timedelta(days=DEFAULT_GRANT_DAYS))
    if valid_to < valid_from or valid_to < today:
        raise Invalid(ExchangeError.BAD_PERIOD, _("使用期限无效：截止日期须不早于开始日期和今天。"))
    if (valid_to - valid_from).days > 3 * 366:
        raise Invalid(ExchangeError.BAD_PERIOD, _("单次授权期限不能超过 3 年，到期可续期。"))
    return valid_from, valid_to


@transaction.atomic
def grant_obtain_unconditional(
    *,
    resource: Resource,
    by,
    items: list[str],
    purpose_category: str,
    purpose: str,
    channels: list[str],
    valid_to: date | None = None,
    api_client_ids: list[int] | None = None,
    request=None,
) -> Grant:
    """Unconditional sharing (S§29): obtained directly on the platform, recorded at once."""
    if not can_request_access(by):
        raise PermissionDenied(ExchangeError.NOT_ALLOWED)
    resource = Resource.objects.select_for_update().get(pk=resource.pk)
    _check_resource_shareable(resource, by)
    if resource.sharing_type != SharingType.UNCONDITIONAL:
        raise Conflict(ExchangeError.WRONG_SHARING_TYPE, _("该资源为有条件共享，请通过共享申请办理。"))
    if selectors.access_needs_review(resource=resource, unit_id=by.unit_id):
        raise Conflict(
            ExchangeError.REVOKED_NEEDS_REVIEW,
            _(
                "本单位对该资源的授权已被撤销，不能直接再次获取；如确需使用，请提交共享申请，经提供单位和数据资源中心审核。"
            ),
        )
    if Grant.objects.filter(resource=resource, consumer_id=by.unit_id, status=GrantStatus.SUSPENDED).exists():
        raise Conflict(
            ExchangeError.BAD_STATE,
            _("本单位对该资源的授权已被暂停，暂停期间不能再次获取；请联系数据资源中心。"),
        )
    items = _clean_items(resource, items)
    channels = _clean_channels(resource, channels)
    purpose_category, purpose = _clean_purpose(purpose_category, purpose)
    valid_from, valid_to = _clean_period(None, valid_to)
    grant = Grant.objects.create(
        resource=resource,
        consumer=by.unit,
        items=items,
        purpose_category=purpose_category,
        purpose=purpose,
        channels=channels,
        valid_from=valid_from,
        valid_to=valid_to,
        api_client_ids=list(api_client_ids or []),
        granted_by=by,
    )
    audit.record(
        actor=by,
        action="exchange.grant.obtain",
        target=grant,
        purpose=purpose,
        request=request,
        details={"resource": resource.code, "items": items, "channels": channels, "valid_to": str(valid_to)},
    )
    notify(
        event="exchange.grant.created",
        title=_("%(unit)s 获取了无条件共享资源「%(res)s」") % {"unit": by.unit.name, "res": resource.name},
        roles=[Role.DATA_OFFICER],
        unit=resource.provider,
    )
    return grant


@transaction.atomic
def access_request_submit(
    *,
    resource: Resource,
    by,
    purpose_category: str,
    purpose: str,
    basis: str,
    items: list[str],
    channels: list[str],
    valid_from: date | None = None,
    valid_to: date | None = None,
    api_client_ids: list[int] | None = None,
    request=None,
) -> AccessRequest:
    """Conditional sharing (S§29): the consumer applies through the platform; the center receives
    it and asks the provider's opinion, which is due in 10 working days (国发〔2016〕51号)."""
    if not can_request_access(by):
        raise PermissionDenied(ExchangeError.NOT_ALLOWED)
    resource = Resource.objects.select_for_update().get(pk=resource.pk)
    _check_resource_shareable(resource, by)
    if not selectors.access_needs_review(resource=resource, unit_id=by.unit_id):
        raise Conflict(ExchangeError.WRONG_SHARING_TYPE, _("该资源为无条件共享，可直接获取。"))
    items = _clean_items(resource, items)
    channels = _clean_channels(resource, channels)
    purpose_category, purpose = _clean_purpose(purpose_category, purpose)
    if len((basis or "").strip()) < 4:
        raise Invalid(ExchangeError.BAD_PURPOSE, _("请填写法律或职责依据。"), {"field": "basis"})
    valid_from, valid_to = _clean_period(valid_from, valid_to)
    req = AccessRequest.objects.create(
        resource=resource,
        consumer=by.unit,
        requested_by=by,
        purpose_category=purpose_category,
        purpose=purpose,
        basis=basis.strip(),
        items=items,
        channels=channels,
        valid_from=valid_from,
        valid_to=valid_to,
        api_client_ids=list(api_client_ids or []),
        status=AccessRequestStatus.PROVIDER_OPINION,
    )
    deadlines.start(target=req, rule=Rule.ACCESS_PROVIDER_OPINION, responsible_unit=resource.provider)
    audit.record(
        actor=by,
        action="exchange.request.submit",
        target=req,
        purpose=purpose,
        request=request,
        details={"resource": resource.code, "items": items, "channels": channels},
    )
    title = _("共享申请：%(unit)s 申请使用「%(res)s」") % {"unit": by.unit.name, "res": resource.name}
    notify(event="exchange.request.submitted", title=title, roles=[Role.DATA_OFFICER], unit=resource.provider)
    notify(event="exchange.request.submitted", title=title, roles=[Role.CENTER_REVIEWER, Role.CENTER_ADMIN])
    return req


def _lock_request(access_request: AccessRequest) -> AccessRequest:
    return AccessRequest.objects.select_for_update().select_related("resource").get(pk=access_request.pk)


@transaction.atomic
def access_request_provider_opinion(
    *, access_request: AccessRequest, by, agrees: bool, opinion: str, request=None
) -> AccessRequest:
    """The provider answers the center (S§29) — agreeing or not, with reasons."""
    req = _lock_request(access_request)
    if not can_answer_as_provider(by, req.resource):
        raise PermissionDenied(ExchangeError.NOT_ALLOWED)
    if req.status != AccessRequestStatus.PROVIDER_OPINION:
        raise Conflict(ExchangeError.BAD_STATE, _("该申请当前不需要提供单位意见。"))
    if not agrees and len((opinion or "").strip()) < 2:
        raise Invalid(ExchangeError.REASON_REQUIRED, _("不同意共享时须说明理由。"))
    req.provider_agrees = bool(agrees)
    req.provider_opinion = (opinion or "").strip()
    req.provider_opinion_by = by
    req.provider_opinion_at = timezone.now()
    req.status = AccessRequestStatus.CENTER_DECISION
    req.save()
    deadlines.meet(target=req, rule=Rule.ACCESS_PROVIDER_OPINION)
    audit.record(
        actor=by,
        action="exchange.request.provider_opinion",
        target=req,
        request=request,
        details={"agrees": req.provider_agrees, "opinion": req.provider_opinion},
    )
    notify(
        event="exchange.request.opinion",
        title=_("提供单位已对共享申请「%(res)s」提出意见") % {"res": req.resource.name},
        roles=[Role.CENTER_REVIEWER, Role.CENTER_ADMIN],
    )
    return req


@transaction.atomic
def access_request_decide(
    *,
    access_request: AccessRequest,
    by,
    approve: bool,
    reason: str = "",
    items: list[str] | None = None,
    valid_to: date | None = None,
    row_filter: dict | None = None,
    request=None,
) -> AccessRequest:
    """The center decides: approve as asked, approve narrower (items / rows / period), or refuse
    with reasons. An approval creates the grant."""
    req = _lock_request(access_request)
    if not is_center_staff(by):
        raise PermissionDenied(ExchangeError.NOT_ALLOWED)
    if req.status not in (AccessRequestStatus.PROVIDER_OPINION, AccessRequestStatus.CENTER_DECISION):
        raise Conflict(ExchangeError.BAD_STATE, _("该申请已办结，不能重复决定。"))
    reason = (reason or "").strip()
    if not approve:
        if len(reason) < 2:
            raise Invalid(ExchangeError.REASON_REQUIRED, _("不予批准时须说明理由。"))
        req.status = AccessRequestStatus.REFUSED
    else:
        granted_items = _clean_items(req.resource, items) if items is not None else list(req.items)
        if not set(granted_items) <= set(req.items):
            raise Invalid(ExchangeError.NOT_NARROWER, _("批准的信息项不能超出申请范围。"))
        granted_to = valid_to or req.valid_to
        if granted_to > req.valid_to:
            raise Invalid(ExchangeError.NOT_NARROWER, _("批准的期限不能超出申请期限。"))
        narrowed = granted_items != list(req.items) or granted_to != req.valid_to or bool(row_filter)
        if narrowed and len(reason) < 2:
            raise Invalid(ExchangeError.REASON_REQUIRED, _("缩小授权范围时须说明理由。"))
        req.status = AccessRequestStatus.APPROVED
        Grant.objects.create(
            resource=req.resource,
            consumer=req.consumer,
            request=req,
            items=granted_items,
            row_filter=_clean_row_filter(req.resource, row_filter, granted_items),
            purpose_category=req.purpose_category,
            purpose=req.purpose,
            channels=req.channels,
            valid_from=req.valid_from,
            valid_to=granted_to,
            api_client_ids=req.api_client_ids,
            granted_by=by,
        )
    req.decision_reason = reason
    req.decided_by = by
    req.decided_at = timezone.now()
    req.save()
    deadlines.cancel(target=req, rule=Rule.ACCESS_PROVIDER_OPINION)
    audit.record(
        actor=by,
        action="exchange.request.approve" if approve else "exchange.request.refuse",
        target=req,
        request=request,
        details={"reason": reason, "items": items, "valid_to": str(valid_to) if valid_to else None},
    )
    notify(
        event="exchange.request.decided",
        title=_("您的共享申请「%(res)s」：%(status)s")
        % {"res": req.resource.name, "status": req.get_status_display()},
        body=reason,
        users=[req.requested_by],
    )
    return req


def _clean_row_filter(resource: Resource, row_filter: dict | None, items: list[str]) -> dict:
    """A row filter is ``{item_code: [allowed values]}`` on granted items only."""
    if not row_filter:
        return {}
    if not isinstance(row_filter, dict):
        raise Invalid(ExchangeError.BAD_FILTER, _("行过滤条件格式不正确。"))
    from datastore.tables import coerce, columns_of

    from .reading import check_filter_value

    columns = {c.code: c for c in columns_of(resource)}
    data_items = {i.code: i for i in resource.items.all()}
    cleaned = {}
    for code, values in row_filter.items():
        if code not in items:
            raise Invalid(ExchangeError.BAD_FILTER, _("行过滤只能使用已授权的信息项：%(c)s") % {"c": code})
        if (
            not isinstance(values, list)
            or not values
            or len(values) > 100
            or not all(isinstance(v, str | int | float | Decimal) and not isinstance(v, bool) for v in values)
        ):
            raise Invalid(ExchangeError.BAD_FILTER, _("行过滤值须为 1 到 100 个取值的列表。"))
        cleaned[code] = [str(v) for v in values]
        for value in cleaned[code]:  # a value the data store cannot read would refuse every read
            check_filter_value(data_items[code], value)
            coerce(columns[code], value)
    return cleaned


def _lock_grant(grant: Grant) -> Grant:
    return Grant.objects.select_for_update().select_related("resource").get(pk=grant.pk)


def _grant_transition(
    grant: Grant, by, *, to: str, allowed_from: tuple, reason: str, action: str, request=None
):
    grant = _lock_grant(grant)
    if not can_manage_grant(by, grant):
        raise PermissionDenied(ExchangeError.NOT_ALLOWED)
    if grant.status not in allowed_from:
        raise Conflict(
            ExchangeError.BAD_STATE,
            _("授权当前状态为「%(s)s」，不能执行此操作。") % {"s": grant.get_status_display()},
        )
    if len((reason or "").strip()) < 2:
        raise Invalid(ExchangeError.REASON_REQUIRED, _("请说明原因。"))
    before = grant.status
    grant.status = to
    grant.status_reason = reason.strip()[:300]
    grant.save(update_fields=["status", "status_reason", "updated_at"])
    audit.record(
        actor=by,
        action=action,
        target=grant,
        request=request,
        details={"from": before, "to": to, "reason": reason},
    )
    notify(
        event=action,
        title=_("共享授权「%(res)s」%(s)s") % {"res": grant.resource.name, "s": grant.get_status_display()},
        body=reason,
        roles=[Role.DATA_OFFICER, Role.UNIT_ADMIN],
        unit=grant.consumer,
    )
    return grant


@transaction.atomic
def grant_suspend(*, grant: Grant, by, reason: str, request=None) -> Grant:
    """Suspend with immediate effect (e.g. suspected misuse, S§34)."""
    return _grant_transition(
        grant, by, to=GrantStatus.SUSPENDED, allowed_from=(GrantStatus.ACTIVE,), reason=reason,
        action="exchange.grant.suspend", request=request,
    )  # fmt: skip


@transaction.atomic
def grant_resume(*, grant: Grant, by, reason: str, request=None) -> Grant:
    """Only the center lifts a suspension (the provider may suspend and revoke, S§34-35)."""
    if not is_center_staff(by):
        raise PermissionDenied(ExchangeError.NOT_ALLOWED, _("只有数据资源中心可以恢复已暂停的授权。"))
    return _grant_transition(
        grant, by, to=GrantStatus.ACTIVE, allowed_from=(GrantStatus.SUSPENDED,), reason=reason,
        action="exchange.grant.resume", request=request,
    )  # fmt: skip


@transaction.atomic
def grant_revoke(*, grant: Grant, by, reason: str, request=None) -> Grant:
    """Revoke for good, with immediate effect."""
    return _grant_transition(
        grant, by, to=GrantStatus.REVOKED, allowed_from=(GrantStatus.ACTIVE, GrantStatus.SUSPENDED),
        reason=reason, action="exchange.grant.revoke", request=request,
    )  # fmt: skip


@transaction.atomic
def grant_narrow(
    *,
    grant: Grant,
    by,
    reason: str,
    items: list[str] | None = None,
    valid_to: date | None = None,
    request=None,
) -> Grant:
    """Narrow items or period of a live grant (never widen: widening is a new request)."""
    grant = _lock_grant(grant)
    if not can_manage_grant(by, grant):
        raise PermissionDenied(ExchangeError.NOT_ALLOWED)
    if grant.status in (GrantStatus.REVOKED, GrantStatus.EXPIRED):
        raise Conflict(ExchangeError.BAD_STATE, _("授权已终止，不能调整。"))
    if len((reason or "").strip()) < 2:
        raise Invalid(ExchangeError.REASON_REQUIRED, _("请说明原因。"))
    before = {"items": list(grant.items), "valid_to": str(grant.valid_to)}
    if items is not None:
        items = _clean_items(grant.resource, items)
        if not set(items) <= set(grant.items):
            raise Invalid(ExchangeError.NOT_NARROWER, _("只能缩小信息项范围；扩大范围请重新申请。"))
        grant.items = items
    if valid_to is not None:
        if valid_to > grant.valid_to:
            raise Invalid(ExchangeError.NOT_NARROWER, _("只能缩短期限；延长请使用续期。"))
        grant.valid_to = valid_to
    grant.save()
    audit.record(
        actor=by,
        action="exchange.grant.narrow",
        target=grant,
        request=request,
        details={
            "before": before,
            "after": {"items": grant.items, "valid_to": str(grant.valid_to)},
            "reason": reason,
        },
    )
    return grant


@transaction.atomic
def grant_renew(*, grant: Grant, by, valid_to: date, request=None) -> Grant:
    """Extend a live or expired grant. Unconditional: the consumer renews itself; conditional:
    the center renews (the same purpose and items still apply)."""
    grant = _lock_grant(grant)
    conditional = grant.resource.sharing_type == SharingType.CONDITIONAL
    own_unit = by.is_authenticated and by.unit_id == grant.consumer_id and can_request_access(by)
    if not (is_center_staff(by) or (own_unit and not conditional)):
        raise PermissionDenied(ExchangeError.NOT_ALLOWED)
    if grant.status not in (GrantStatus.ACTIVE, GrantStatus.EXPIRED):
        raise Conflict(ExchangeError.BAD_STATE, _("已暂停或撤销的授权不能续期。"))
    if (
        grant.resource.status != ResourceStatus.PUBLISHED
        or grant.resource.sharing_type == SharingType.NOT_SHARED
    ):
        raise Conflict(ExchangeError.NOT_SHARED, _("资源已不再共享，不能续期。"))
    valid_to = _clean_period(timezone.localdate(), valid_to)[1]
    before = grant.valid_to
    grant.valid_to = valid_to
    grant.status = GrantStatus.ACTIVE
    grant.expiry_notified_at = None
    grant.save()
    audit.record(
        actor=by, action="exchange.grant.renew", target=grant, request=request,
        details={"from": str(before), "to": str(valid_to)},
    )  # fmt: skip
    return grant


EXPIRY_NOTICE_DAYS = 14


def grant_expiry_sweep(*, today: date | None = None) -> dict:
    """Daily: expire grants past their end; give advance notice 14 days before."""
    today = today or timezone.localdate()
    expired = 0
    for grant in Grant.objects.filter(status=GrantStatus.ACTIVE, valid_to__lt=today).select_related(
        "resource"
    ):
        with transaction.atomic():
            g = _lock_grant(grant)
            if g.status != GrantStatus.ACTIVE or g.valid_to >= today:
                continue
            g.status = GrantStatus.EXPIRED
            g.status_reason = _("到期")
            g.save(update_fields=["status", "status_reason", "updated_at"])
            audit.record(action="exchange.grant.expire", target=g, details={"valid_to": str(g.valid_to)})
            expired += 1
    noticed = 0
    soon = Grant.objects.filter(
        status=GrantStatus.ACTIVE,
        valid_to__lte=today + timedelta(days=EXPIRY_NOTICE_DAYS),
        valid_to__gte=today,
        expiry_notified_at__isnull=True,
    ).select_related("resource", "consumer")
    for grant in soon:
        notify(
            event="exchange.grant.expiring",
            title=_("共享授权「%(res)s」将于 %(d)s 到期") % {"res": grant.resource.name, "d": grant.valid_to},
            roles=[Role.DATA_OFFICER, Role.UNIT_ADMIN],
            unit=grant.consumer,
        )
        Grant.objects.filter(pk=grant.pk).update(expiry_notified_at=timezone.now())
        noticed += 1
    return {"expired": expired, "noticed": noticed}


def notify_consumers_after_load(*, resource: Resource, load) -> int:
    """S§25: after each load, units holding live grants are told to compare and update — in the
    inbox and, where a system registered one, by webhook (thin payload: pull the feed)."""
    from .webhooks import enqueue_for_resource

    today = timezone.localdate()
    consumers = (
        Grant.objects.filter(
            resource=resource, status=GrantStatus.ACTIVE, valid_from__lte=today, valid_to__gte=today
        )
        .values_list("consumer_id", flat=True)
        .distinct()
    )
    from accounts.models import Unit

    title = _("「%(res)s」数据已更新（第 %(v)s 版），请比对更新") % {"res": resource.name, "v": load.version}
    for unit in Unit.objects.filter(pk__in=list(consumers)):
        notify(
            event="exchange.data.updated", title=title, roles=[Role.DATA_OFFICER, Role.UNIT_ADMIN], unit=unit
        )
    enqueue_for_resource(
        resource=resource,
        event="data.changed",
        payload={
            "resource": resource.code,
            "version": load.version,
            "inserted": load.rows_inserted,
            "updated": load.rows_updated,
            "deleted": load.rows_deleted,
            "feed": f"/api/v1/exchange/{resource.code}/changes",
        },
    )
    return len(consumers)


def resource_consumer_users(resource: Resource) -> list:
    """The people who must hear of data-item changes of ``resource`` (S§25): data officers and
    unit admins of units holding a live grant. Registered with the catalog in ``apps.ready``."""
    from accounts.models import User

    today = timezone.localdate()
    units = Grant.objects.filter(
        resource=resource, status=GrantStatus.ACTIVE, valid_from__lte=today, valid_to__gte=today
    ).values_list("consumer_id", flat=True)
    return list(
        User.objects.filter(
            unit_id__in=list(units),
            is_active=True,
            role_assignments__role__in=[Role.DATA_OFFICER, Role.UNIT_ADMIN],
        ).distinct()
    )


def record_access_lookup(*, user, identifier: str, request=None) -> list:
    """ "谁访问了这条记录" (S§35): every audited read that returned the record with this
    identifier. Auditors and the audit admin only; the lookup itself is audited."""
    from accounts.permissions import can_read_audit

    from .accounting import who_accessed

    if not can_read_audit(user):
        raise PermissionDenied(ExchangeError.NOT_ALLOWED)
    identifier = (identifier or "").strip()
    if not identifier or len(identifier) > 64:
        raise Invalid(ExchangeError.BAD_FILTER, _("请输入要查询的标识（如身份证号），不超过 64 个字符。"))
    events = who_accessed(identifier=identifier)
    audit.record(
        actor=user, action="exchange.who_accessed", request=request, details={"matches": len(events)}
    )
    return events
