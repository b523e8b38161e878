"""Signed webhooks: signature, backoff, dead letters and replay (系统对接, S§31)."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.utils import timezone

from accounts.roles import Role
from core.errors import Invalid, PermissionDenied
from exchange import webhooks
from exchange.models import DeliveryStatus, Grant, WebhookDelivery

from .factories import published_resource

pytestmark = pytest.mark.django_db


class _Receiver(BaseHTTPRequestHandler):
    status = 200
    received: list = []

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((self.headers, body))
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    _Receiver.received = []
    _Receiver.status = 200
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, _Receiver
    server.shutdown()


@pytest.fixture
def grant(make_unit, make_user):
    provider = make_unit()
    consumer = make_user(unit=make_unit(), roles=[Role.DATA_OFFICER])
    res = published_resource(provider=provider)
    today = timezone.localdate()
    g = Grant.objects.create(
        resource=res,
        consumer=consumer.unit,
        items=["sfzh"],
        purpose_category="business_collaboration",
        purpose="业务协同",
        channels=["system_feed"],
        valid_from=today,
        valid_to=today + timedelta(days=30),
    )
    g.user = consumer
    return g


def test_delivery_is_signed_with_hmac_sha256_over_timestamp_and_body(grant, receiver):
    server, handler = receiver
    hook, secret = webhooks.webhook_create(
        grant=grant, by=grant.user, url=f"http://127.0.0.1:{server.server_port}/h"
    )
    assert (
        webhooks.enqueue_for_resource(resource=grant.resource, event="data.changed", payload={"cursor": 5})
        == 1
    )
    assert webhooks.deliver_due() == {"delivered": 1, "retry": 0, "dead": 0}
    headers, body = handler.received[0]
    expected = hmac.new(secret.encode(), headers["X-GovHub-Timestamp"].encode() + b"." + body, hashlib.sha256)
    assert headers["X-GovHub-Signature"] == "sha256=" + expected.hexdigest()
    assert json.loads(body)["data"] == {"cursor": 5}


def test_failed_delivery_backs_off_exponentially_then_goes_to_dead_letters_and_can_be_replayed(
    grant, receiver
):
    server, handler = receiver
    handler.status = 500
    webhooks.webhook_create(grant=grant, by=grant.user, url=f"http://127.0.0.1:{server.server_port}/h")
    webhooks.enqueue_for_resource(resource=grant.resource, event="data.changed", payload={})
    now = timezone.now()
    delays = []
    for _ in range(webhooks.MAX_ATTEMPTS):
        d = WebhookDelivery.objects.get()
        webhooks.deliver_due(now=max(now, d.next_attempt_at))
        d.refresh_from_db()
        if d.status == DeliveryStatus.PENDING:
            delays.append(
                (d.next_attempt_at - max(now, d.next_attempt_at - webhooks.backoff(d.attempts))).seconds
            )
    d = WebhookDelivery.objects.get()
    assert (
        d.status == DeliveryStatus.DEAD and d.attempts == webhooks.MAX_ATTEMPTS and d.last_status_code == 500
    )
    assert webhooks.backoff(1) < webhooks.backoff(2) < webhooks.backoff(3)
    handler.status = 200
    webhooks.delivery_replay(delivery=d, by=grant.user)
    assert webhooks.deliver_due()["delivered"] == 1


def test_unreachable_endpoint_is_retried_not_raised(grant):
    webhooks.webhook_create(grant=grant, by=grant.user, url="http://127.0.0.1:9/unreachable")
    webhooks.enqueue_for_resource(resource=grant.resource, event="data.changed", payload={})
    assert webhooks.deliver_due() == {"delivered": 0, "retry": 1, "dead": 0}


def test_only_the_consumer_unit_registers_webhooks_and_replays(grant, make_user, make_unit):
    stranger = make_user(unit=make_unit(), roles=[Role.DATA_OFFICER])
    with pytest.raises(PermissionDenied):
        webhooks.webhook_create(grant=grant, by=stranger, url="http://127.0.0.1:1/x")
    with pytest.raises(Invalid):
        webhooks.webhook_create(grant=grant, by=grant.user, url="ftp://example/x")


def test_webhook_needs_a_system_channel_in_the_grant(grant):
    grant.channels = ["online_query"]
    grant.save()
    with pytest.raises(Invalid):
        webhooks.webhook_create(grant=grant, by=grant.user, url="http://127.0.0.1:1/x")
