"""Signed webhooks (系统对接): HMAC-SHA256 over ``<timestamp>.<body>``, retries with exponential
backoff, a dead-letter list the consumer can replay, and a delivery log.

Receivers verify::

    expected = hmac.new(secret, f"{X-GovHub-Timestamp}.{body}".encode(), sha256).hexdigest()
    compare_digest(expected, X-GovHub-Signature.removeprefix("sha256=")) and |now - timestamp| < 300 s

Target policy (SSRF): GovHub runs on the 政务外网, where a unit's systems and exchange nodes (前置机)
live at private addresses, so internal hosts and IPs are legitimate targets and are not blocked.
What is refused: any scheme but http/https, and user names or passwords in the URL (secrets do not
belong in a URL that is shown in lists and logs; receivers check the HMAC signature instead).
Deliveries never follow redirects (a 3xx is a failed attempt), so a registered URL cannot bounce a
POST to another host or scheme. Payloads are thin and only go to grants that are live at send time.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import logging
import secrets
import urllib.error
import urllib.request
from datetime import timedelta
from urllib.parse import urlparse

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core import audit
from core.errors import Invalid, PermissionDenied

from .errors import ExchangeError
from .models import DeliveryStatus, Grant, GrantStatus, Webhook, WebhookDelivery
from .permissions import can_request_access

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
BASE_DELAY_SECONDS = 30  # 30 s, 1 min, 2 min, 4 min … ≈ 1 h in total before the dead-letter list
TIMEOUT_SECONDS = 5


def sign(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=BASE_DELAY_SECONDS * (2 ** max(0, attempts - 1)))


@transaction.atomic
def webhook_create(*, grant: Grant, by, url: str, request=None) -> tuple[Webhook, str]:
    """Register an endpoint for a grant of the caller's unit; returns the webhook and its secret
    (shown once)."""
    if not (can_request_access(by) and grant.consumer_id == by.unit_id):
        raise PermissionDenied(ExchangeError.NOT_ALLOWED)
    if "system_feed" not in grant.channels and "exchange_node" not in grant.channels:
        raise Invalid(ExchangeError.BAD_CHANNELS, _("该授权不包含系统对接或前置机交换方式。"))
    try:
        parsed = urlparse(url or "")
        parsed.port  # noqa: B018 — raises ValueError for a port that is not 0-65535
    except ValueError:
        parsed = None
    if (
        parsed is None
        or parsed.scheme not in ("http", "https")
        or not parsed.hostname
        or any(c.isspace() or ord(c) < 32 for c in url)
    ):
        raise Invalid(ExchangeError.BAD_CHANNELS, _("回调地址须为 http(s) 地址。"))
    if parsed.username is not None or parsed.password is not None or "\x00" in url:
        raise Invalid(ExchangeError.BAD_CHANNELS, _("回调地址不能包含用户名或密码，请用签名校验来源。"))
    secret = secrets.token_urlsafe(32)
    hook = Webhook.objects.create(grant=grant, url=url, secret=secret, created_by=by)
    audit.record(
        actor=by, action="exchange.webhook.create", target=hook, request=request, details={"url": url}
    )
    return hook, secret


#: Whole-resource facts a grant limited to some rows may not learn (they count the other rows).
ROW_COUNT_KEYS = ("inserted", "updated", "deleted")


def _payload_for(grant: Grant, payload: dict) -> dict:
    if grant.row_filter:
        return {k: v for k, v in payload.items() if k not in ROW_COUNT_KEYS}
    return payload


def enqueue_for_resource(*, resource, event: str, payload: dict) -> int:
    """Queue one delivery per active webhook of a live grant on ``resource``."""
    today = timezone.localdate()
    hooks = Webhook.objects.filter(
        active=True,
        grant__resource=resource,
        grant__status=GrantStatus.ACTIVE,
        grant__valid_from__lte=today,
        grant__valid_to__gte=today,
    ).select_related("grant")
    deliveries = [
        WebhookDelivery(webhook=h, event=event, payload=_payload_for(h.grant, payload)) for h in hooks
    ]
    WebhookDelivery.objects.bulk_create(deliveries)
    return len(deliveries)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A 3xx is the receiver's answer, not an instruction to POST somewhere else."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def _post(delivery: WebhookDelivery) -> tuple[int | None, str]:
    body = json.dumps(
        {"id": delivery.pk, "event": delivery.event, "data": delivery.payload}, ensure_ascii=False
    ).encode()
    ts = str(int(timezone.now().timestamp()))
    req = urllib.request.Request(  # noqa: S310 — scheme checked at registration (http/https only)
        delivery.webhook.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "X-GovHub-Event": delivery.event,
            "X-GovHub-Delivery": str(delivery.pk),
            "X-GovHub-Timestamp": ts,
            "X-GovHub-Signature": "sha256=" + sign(delivery.webhook.secret, ts, body),
        },
    )
    try:
        with _opener.open(req, timeout=TIMEOUT_SECONDS) as resp:
            return resp.status, ""
    except urllib.error.HTTPError as exc:
        return exc.code, f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError, TimeoutError, http.client.HTTPException, ValueError) as exc:
        # HTTPException: a malformed stored URL or a receiver answering garbage; never stop the loop
        return None, str(getattr(exc, "reason", exc))[:300]


def deliver_due(*, now=None, limit: int = 100) -> dict:
    """Send what is due; called by the worker every few seconds. Never raises for a receiver."""
    now = now or timezone.now()
    sent = failed = dead = 0
    due = list(
        WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
        .select_related("webhook__grant")
        .order_by("next_attempt_at")[:limit]
    )
    for delivery in due:
        if not delivery.webhook.grant.is_live():  # revoked, suspended or expired: nothing more goes out
            delivery.status = DeliveryStatus.DEAD
            delivery.last_status_code = None
            delivery.last_error = _("授权已失效，未发送。")
            delivery.save()
            dead += 1
            continue
        code, error = _post(delivery)
        delivery.attempts += 1
        delivery.last_status_code = code
        delivery.last_error = error
        if code is not None and 200 <= code < 300:
            delivery.status = DeliveryStatus.DELIVERED
            delivery.delivered_at = timezone.now()
            sent += 1
        elif delivery.attempts >= MAX_ATTEMPTS:
            delivery.status = DeliveryStatus.DEAD
            dead += 1
        else:
            delivery.next_attempt_at = now + backoff(delivery.attempts)
            failed += 1
        delivery.save()
    return {"delivered": sent, "retry": failed, "dead": dead}


@transaction.atomic
def delivery_replay(*, delivery: WebhookDelivery, by, request=None) -> WebhookDelivery:
    """Put a dead letter back in the queue (the consumer fixed its endpoint)."""
    delivery = (
        WebhookDelivery.objects.select_for_update().select_related("webhook__grant").get(pk=delivery.pk)
    )
    if delivery.webhook.grant.consumer_id != by.unit_id or not can_request_access(by):
        raise PermissionDenied(ExchangeError.NOT_ALLOWED)
    if delivery.status != DeliveryStatus.DEAD:
        raise Invalid(ExchangeError.BAD_STATE, _("只有死信可以重新投递。"))
    if not delivery.webhook.grant.is_live():
        raise Invalid(ExchangeError.BAD_STATE, _("授权已失效，不能重新投递。"))
    delivery.status = DeliveryStatus.PENDING
    delivery.attempts = 0
    delivery.next_attempt_at = timezone.now()
    delivery.save()
    audit.record(actor=by, action="exchange.webhook.replay", target=delivery, request=request)
    return delivery
