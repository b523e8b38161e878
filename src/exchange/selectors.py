"""Reads of the exchange, always scoped to the acting user."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.models import Resource, ResourceStatus, SharingType
from core.errors import NotFound, PermissionDenied

from .errors import ExchangeError
from .masking import masker_for
from .models import AccessRequest, Grant, GrantStatus, PurposeCategory
from .permissions import can_read_shared_data, can_read_usage, is_center_staff


def grant_list(*, user) -> QuerySet[Grant]:
    """Center: all grants. A unit: grants it holds ("my grants") and grants on resources it
    provides ("who uses my data"). Nobody else's."""
    qs = Grant.objects.select_related("resource", "consumer", "resource__provider")
    if is_center_staff(user):
        return qs
    if not user.is_authenticated:
        return qs.none()
    return qs.filter(Q(consumer_id=user.unit_id) | Q(resource__provider_id=user.unit_id))


def grant_get(*, user, pk: int) -> Grant:
    try:
        return grant_list(user=user).get(pk=pk)
    except Grant.DoesNotExist:
        raise NotFound()


def access_request_list(*, user) -> QuerySet[AccessRequest]:
    qs = AccessRequest.objects.select_related("resource", "consumer", "resource__provider", "requested_by")
    if is_center_staff(user):
        return qs
    if not user.is_authenticated:
        return qs.none()
    return qs.filter(Q(consumer_id=user.unit_id) | Q(resource__provider_id=user.unit_id))


def access_request_get(*, user, pk: int) -> AccessRequest:
    try:
        return access_request_list(user=user).get(pk=pk)
    except AccessRequest.DoesNotExist:
        raise NotFound()


@dataclass
class AccessContext:
    """What one read may return: the live grant, the granted items (DataItems, in catalog order)
    and how each is masked."""

    grant: Grant
    resource: Resource
    items: list = field(default_factory=list)
    maskers: dict = field(default_factory=dict)
    purpose_category: str = ""
    purpose_detail: str = ""


def access_needs_review(*, resource: Resource, unit_id: int | None) -> bool:
    """Whether the unit's access to the resource goes through review (provider opinion and center
    decision): a conditional resource, or an unconditional one whose grant to this unit was
    revoked last (a revocation is the center's or the provider's act; obtaining the resource
    again at once would undo it). A grant that simply expired does not count."""
    if resource.sharing_type == SharingType.CONDITIONAL:
        return True
    last = (
        Grant.objects.filter(resource=resource, consumer_id=unit_id)
        .order_by("-id")
        .values_list("status", flat=True)
    ).first()
    return resource.sharing_type == SharingType.UNCONDITIONAL and last == GrantStatus.REVOKED


def published_resource_by_code(code: str) -> Resource:
    """A published resource by its code, or 404 (the public catalog shows the same)."""
    res = (
        Resource.objects.filter(code=code, status=ResourceStatus.PUBLISHED).select_related("provider").first()
    )
    if res is None:
        raise NotFound(ExchangeError.NOT_PUBLISHED, _("资源不存在或尚未发布。"))
    return res


def access_check(
    *, user, resource: Resource, channel: str, purpose: str, purpose_detail: str = "", api_client=None
) -> AccessContext:
    """The one door (DESIGN rule 2): a live grant of the caller's unit for this resource, this
    channel and this purpose — and, if the grant names systems, this API client. Refusals say
    nothing about the data (no counts, no hints)."""
    if not can_read_shared_data(user):
        raise PermissionDenied(ExchangeError.NOT_ALLOWED)
    if purpose not in PurposeCategory.values:
        raise PermissionDenied(
            ExchangeError.BAD_PURPOSE,
            _(
                "每次调用都须声明用途（X-Purpose：administrative_basis、work_reference、data_check 或 business_collaboration）。"
            ),
        )
    if resource.sharing_type == SharingType.NOT_SHARED:  # 不予共享 now: no grant opens it any more
        raise PermissionDenied(ExchangeError.NOT_SHARED, _("该资源现为不予共享，不能读取。"))
    today = timezone.localdate()
    grants = Grant.objects.filter(
        resource=resource,
        consumer_id=user.unit_id,
        status=GrantStatus.ACTIVE,
        valid_from__lte=today,
        valid_to__gte=today,
    ).order_by("-id")
    live = [g for g in grants if g.allows_channel(channel)]
    # A grant that names systems opens the data to those API clients only — not to a browser
    # session (api_client None) of any user of the unit.
    live = [
        g
        for g in live
        if not g.api_client_ids or (api_client is not None and api_client.pk in g.api_client_ids)
    ]
    if not live:
        raise PermissionDenied(ExchangeError.NO_GRANT, _("本单位没有该资源在此共享方式下的有效授权。"))
    matching = [g for g in live if g.purpose_category == purpose]
    if not matching:
        raise PermissionDenied(ExchangeError.PURPOSE_MISMATCH, _("声明的用途与授权用途不一致。"))
    grant = matching[0]
    granted = set(grant.items)
    items = [i for i in resource.items.all() if i.code in granted]
    maskers = {} if grant.allow_plain else {i.code: masker_for(i) for i in items if masker_for(i)}
    return AccessContext(
        grant=grant,
        resource=resource,
        items=items,
        maskers=maskers,
        purpose_category=purpose,
        purpose_detail=purpose_detail[:200],
    )


def usage_visible(*, user, resource: Resource | None = None) -> bool:
    return can_read_usage(user, resource)


def webhook_list(*, user) -> QuerySet:
    """Webhooks of the caller's unit's grants (the center sees all)."""
    from .models import Webhook

    qs = Webhook.objects.select_related("grant", "grant__resource")
    if is_center_staff(user):
        return qs
    return qs.filter(grant__consumer_id=user.unit_id) if user.is_authenticated else qs.none()


def delivery_list(*, user) -> QuerySet:
    from .models import WebhookDelivery

    qs = WebhookDelivery.objects.select_related("webhook", "webhook__grant")
    if is_center_staff(user):
        return qs
    return qs.filter(webhook__grant__consumer_id=user.unit_id) if user.is_authenticated else qs.none()


def usage_daily(*, user, days: int = 30, resource: Resource | None = None) -> QuerySet:
    """Daily usage counters the caller may see (S§38 input): center staff and auditors see all;
    a provider's data officer or unit admin sees the use of the unit's own resources."""
    from datetime import timedelta

    from accounts.roles import Role

    from .models import UsageDaily

    qs = UsageDaily.objects.filter(day__gte=timezone.localdate() - timedelta(days=max(1, min(days, 400))))
    if resource is not None:
        qs = qs.filter(resource=resource)
    if can_read_usage(user, resource):
        return qs
    if resource is None and user.is_authenticated and user.has_role(Role.DATA_OFFICER, Role.UNIT_ADMIN):
        return qs.filter(resource__provider_id=user.unit_id)
    raise PermissionDenied(ExchangeError.NOT_ALLOWED)
