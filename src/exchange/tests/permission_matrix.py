"""Exchange endpoints × roles (S§29, S§34-36)."""

from __future__ import annotations

from datetime import date, timedelta

from django.utils import timezone

from accounts.roles import Role
from catalog.models import SharingType
from core.tests.matrix import ALL_ROLES, CENTER_ROLES, Row
from exchange.models import AccessRequest, AccessRequestStatus, Grant

from .factories import published_resource

CONSUMERS = {Role.UNIT_USER, Role.DATA_OFFICER, Role.UNIT_ADMIN}
PROVIDER_OFFICERS = {Role.DATA_OFFICER, Role.UNIT_ADMIN}


def _grant(*, provider, consumer, sharing_type=SharingType.UNCONDITIONAL) -> Grant:
    res = published_resource(provider=provider, sharing_type=sharing_type)
    today = timezone.localdate()
    return Grant.objects.create(
        resource=res,
        consumer=consumer,
        items=["sfzh", "xm"],
        purpose_category="data_check",
        purpose="资格核对",
        channels=["online_query"],
        valid_from=today,
        valid_to=today + timedelta(days=30),
    )


def _request(*, provider, consumer, requester) -> AccessRequest:
    res = published_resource(provider=provider, sharing_type=SharingType.CONDITIONAL)
    return AccessRequest.objects.create(
        resource=res,
        consumer=consumer,
        requested_by=requester,
        purpose_category="administrative_basis",
        purpose="社会救助核对",
        basis="《社会救助暂行办法》",
        items=["sfzh", "xm"],
        channels=["online_query"],
        valid_from=date.today(),
        valid_to=date.today() + timedelta(days=90),
        status=AccessRequestStatus.PROVIDER_OPINION,
    )


def _own_grant(ctx):
    return {"kwargs": {"pk": _grant(provider=ctx.unit_b, consumer=ctx.home).pk}}


def _grant_on_my_resource(ctx):
    grant = _grant(provider=ctx.home, consumer=ctx.unit_b)
    return {"kwargs": {"pk": grant.pk}, "data": {"reason": "核查需要"}}


def _narrow(ctx):
    d = _grant_on_my_resource(ctx)
    d["data"]["items"] = ["sfzh"]
    return d


def _renew_own(ctx):
    grant = _grant(provider=ctx.unit_b, consumer=ctx.home)
    return {"kwargs": {"pk": grant.pk}, "data": {"valid_to": str(timezone.localdate() + timedelta(days=200))}}


def _obtain(ctx):
    res = published_resource(provider=ctx.unit_b)
    return {
        "data": {
            "resource": res.code,
            "items": ["sfzh"],
            "purpose_category": "data_check",
            "purpose": "低保资格核对",
            "channels": ["online_query"],
        }
    }


def _submit(ctx):
    res = published_resource(provider=ctx.unit_b, sharing_type=SharingType.CONDITIONAL)
    return {
        "data": {
            "resource": res.code,
            "items": ["sfzh"],
            "purpose_category": "administrative_basis",
            "purpose": "社会救助核对",
            "basis": "《社会救助暂行办法》第十一条",
            "channels": ["online_query"],
        }
    }


def _own_request(ctx):
    req = _request(provider=ctx.unit_b, consumer=ctx.home, requester=ctx.actor or ctx.user())
    return {"kwargs": {"pk": req.pk}}


def _request_on_my_resource(ctx):
    req = _request(provider=ctx.home, consumer=ctx.unit_b, requester=ctx.user(unit=ctx.unit_b))
    return {"kwargs": {"pk": req.pk}, "data": {"agrees": True, "opinion": "同意"}}


def _request_to_decide(ctx):
    req = _request(provider=ctx.home, consumer=ctx.unit_b, requester=ctx.user(unit=ctx.unit_b))
    return {"kwargs": {"pk": req.pk}, "data": {"approve": False, "reason": "用途不明确"}}


def _readable(channel):
    def setup(ctx):
        grant = _grant(provider=ctx.unit_b, consumer=ctx.home)
        grant.channels = [channel]
        grant.save()
        return {"kwargs": {"code": grant.resource.code}, "query": {"purpose": "data_check"}}

    return setup


def _my_resource_usage(ctx):
    res = published_resource(provider=ctx.home)
    return {"query": {"resource": res.code}}


def _webhook_grant(ctx):
    grant = _grant(provider=ctx.unit_b, consumer=ctx.home)
    grant.channels = ["system_feed"]
    grant.save()
    return {"kwargs": {"pk": grant.pk}, "data": {"url": "http://127.0.0.1:9/hook"}}


def _dead_letter(ctx):
    from exchange.models import DeliveryStatus, Webhook, WebhookDelivery

    grant = _grant(provider=ctx.unit_b, consumer=ctx.home)
    hook = Webhook.objects.create(grant=grant, url="http://127.0.0.1:9/hook", secret="s")
    d = WebhookDelivery.objects.create(
        webhook=hook, event="data.changed", payload={}, status=DeliveryStatus.DEAD
    )
    return {"kwargs": {"pk": d.pk}}


ROWS = [
    Row("exchange-api:webhook-create", "POST", allowed=CONSUMERS, setup=_webhook_grant),
    Row("exchange-api:webhook-list", "GET", allowed=ALL_ROLES),
    Row("exchange-api:delivery-list", "GET", allowed=ALL_ROLES),
    Row("exchange-api:delivery-replay", "POST", allowed=CONSUMERS, setup=_dead_letter),
    Row("exchange-api:records", "GET", allowed=CONSUMERS, setup=_readable("online_query")),
    Row("exchange-api:download", "GET", allowed=CONSUMERS, setup=_readable("batch_download")),
    Row("exchange-api:changes", "GET", allowed=CONSUMERS, setup=_readable("system_feed")),
    Row(
        "exchange-api:who-accessed",
        "GET",
        allowed={Role.AUDITOR, Role.AUDIT_ADMIN},
        setup=lambda ctx: {"query": {"identifier": "430102199001011234"}},
    ),
    Row(
        "exchange-api:usage",
        "GET",
        allowed=CENTER_ROLES | PROVIDER_OFFICERS | {Role.AUDITOR, Role.AUDIT_ADMIN},
        setup=_my_resource_usage,
    ),
    Row("exchange-api:grant-list", "GET", allowed=ALL_ROLES),
    Row("exchange-api:grant-detail", "GET", allowed=ALL_ROLES, setup=_own_grant),
    Row("exchange-api:grant-obtain", "POST", allowed=CONSUMERS, setup=_obtain),
    Row(
        "exchange-api:grant-suspend",
        "POST",
        allowed=CENTER_ROLES | PROVIDER_OFFICERS,
        setup=_grant_on_my_resource,
    ),
    Row(
        "exchange-api:grant-resume",
        "POST",
        allowed=CENTER_ROLES,
        setup=_grant_on_my_resource,
    ),
    Row(
        "exchange-api:grant-revoke",
        "POST",
        allowed=CENTER_ROLES | PROVIDER_OFFICERS,
        setup=_grant_on_my_resource,
    ),
    Row("exchange-api:grant-narrow", "POST", allowed=CENTER_ROLES | PROVIDER_OFFICERS, setup=_narrow),
    Row("exchange-api:grant-renew", "POST", allowed=CENTER_ROLES | CONSUMERS, setup=_renew_own),
    Row("exchange-api:request-list", "GET", allowed=ALL_ROLES),
    Row("exchange-api:request-list", "POST", allowed=CONSUMERS, setup=_submit),
    Row("exchange-api:request-detail", "GET", allowed=ALL_ROLES, setup=_own_request),
    Row("exchange-api:request-opinion", "POST", allowed=PROVIDER_OFFICERS, setup=_request_on_my_resource),
    Row("exchange-api:request-decide", "POST", allowed=CENTER_ROLES, setup=_request_to_decide),
]
