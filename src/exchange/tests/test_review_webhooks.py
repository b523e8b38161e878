"""Security review (issue 7) of system integration: webhook targets, what a webhook tells a grant
that may not see every row, and that a revoked grant stops at once; row filters of a decision."""

from __future__ import annotations

import threading
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.utils import timezone

from accounts.roles import Role
from catalog.models import SharingType
from core.errors import Invalid, PermissionDenied
from exchange import services, webhooks
from exchange.models import DeliveryStatus, Grant, GrantStatus, WebhookDelivery

from .factories import published_resource

pytestmark = pytest.mark.django_db


class _Hits(BaseHTTPRequestHandler):
    hits: list = []
    redirect_to = ""

    def do_POST(self):  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        type(self).hits.append(self.path)
        if type(self).redirect_to and self.path == "/h":
            self.send_response(302)
            self.send_header("Location", type(self).redirect_to)
        else:
            self.send_response(200)
        self.end_headers()

    do_GET = do_POST  # noqa: N815 — a followed 302 arrives as GET

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    _Hits.hits, _Hits.redirect_to = [], ""
    srv = HTTPServer(("127.0.0.1", 0), _Hits)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv
    srv.shutdown()


@pytest.fixture
def grant(make_unit, make_user):
    consumer = make_user(unit=make_unit(), roles=[Role.DATA_OFFICER])
    today = timezone.localdate()
    g = Grant.objects.create(
        resource=published_resource(provider=make_unit()),
        consumer=consumer.unit,
        items=["sfzh", "jd"],
        purpose_category="business_collaboration",
        purpose="业务协同",
        channels=["system_feed"],
        valid_from=today,
        valid_to=today + timedelta(days=30),
    )
    g.user = consumer
    return g


@pytest.mark.parametrize(
    "url",
    ["http://user:secret@127.0.0.1:8080/h", "http://token@10.1.2.3/h", "file:///etc/passwd", "gopher://x/"],
)
def test_webhook_urls_with_credentials_or_other_schemes_are_refused(grant, url):
    with pytest.raises(Invalid):
        webhooks.webhook_create(grant=grant, by=grant.user, url=url)


def test_intranet_addresses_are_legitimate_webhook_targets(grant):
    hook, _secret = webhooks.webhook_create(grant=grant, by=grant.user, url="http://10.20.30.40:8080/govhub")
    assert hook.pk


def test_deliveries_do_not_follow_redirects(grant, server):
    """A redirect would let a registered http(s) URL reach another target (or scheme) unchecked."""
    port = server.server_port
    _Hits.redirect_to = f"http://127.0.0.1:{port}/elsewhere"
    webhooks.webhook_create(grant=grant, by=grant.user, url=f"http://127.0.0.1:{port}/h")
    webhooks.enqueue_for_resource(resource=grant.resource, event="data.changed", payload={})
    result = webhooks.deliver_due()
    assert _Hits.hits == ["/h"]
    assert result["delivered"] == 0
    assert WebhookDelivery.objects.get().last_status_code == 302


@pytest.mark.parametrize("status", [GrantStatus.REVOKED, GrantStatus.SUSPENDED, "expired_by_date"])
def test_a_grant_that_is_no_longer_live_gets_no_more_deliveries_nor_replays(grant, server, status):
    webhooks.webhook_create(grant=grant, by=grant.user, url=f"http://127.0.0.1:{server.server_port}/x")
    webhooks.enqueue_for_resource(resource=grant.resource, event="data.changed", payload={"version": 2})
    if status == "expired_by_date":
        grant.valid_to = timezone.localdate() - timedelta(days=1)
    else:
        grant.status = status
    grant.save()
    webhooks.deliver_due()
    assert _Hits.hits == []
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.DEAD
    with pytest.raises((Invalid, PermissionDenied)):
        webhooks.delivery_replay(delivery=delivery, by=grant.user)


def test_a_row_filtered_grant_is_not_told_whole_resource_counts(grant, make_user):
    """Counts of inserted/updated/deleted rows cover rows outside the grant's row filter."""
    filtered = Grant.objects.create(
        resource=grant.resource, consumer=grant.consumer, items=["sfzh", "jd"], row_filter={"jd": ["火星街道"]},
        purpose_category="business_collaboration", purpose="业务协同", channels=["system_feed"],
        valid_from=grant.valid_from, valid_to=grant.valid_to,
    )  # fmt: skip
    webhooks.webhook_create(grant=grant, by=grant.user, url="http://127.0.0.1:9/all")
    webhooks.webhook_create(grant=filtered, by=grant.user, url="http://127.0.0.1:9/street")
    payload = {"resource": "R", "version": 3, "inserted": 10, "updated": 2, "deleted": 1, "feed": "/f"}
    webhooks.enqueue_for_resource(resource=grant.resource, event="data.changed", payload=payload)
    by_url = {d.webhook.url: d.payload for d in WebhookDelivery.objects.select_related("webhook")}
    assert by_url["http://127.0.0.1:9/all"]["inserted"] == 10
    street = by_url["http://127.0.0.1:9/street"]
    assert street["version"] == 3 and street["feed"] == "/f"
    assert not {"inserted", "updated", "deleted"} & set(street)


@pytest.mark.parametrize(
    "row_filter",
    [
        {"jd": ["火星\x00街道"]},
        {"jd": [{"$ne": 1}]},
        {"jd": [None]},
        {"csrq": ["不是日期"]},
        {"jd": "火星街道"},
    ],
)
def test_a_row_filter_the_data_store_cannot_apply_is_refused_when_deciding(
    make_unit, make_user, center, row_filter
):
    provider = make_unit()
    res = published_resource(provider=provider, sharing_type=SharingType.CONDITIONAL)
    consumer = make_user(unit=make_unit(), roles=[Role.UNIT_USER])
    req = services.access_request_submit(
        resource=res, by=consumer, purpose_category="administrative_basis", purpose="社会救助核对",
        basis="《社会救助暂行办法》第十一条", items=["sfzh", "jd", "csrq"], channels=["online_query"],
        valid_from=date.today(), valid_to=date.today() + timedelta(days=30),
    )  # fmt: skip
    reviewer = make_user(unit=center, roles=[Role.CENTER_REVIEWER])
    with pytest.raises(Invalid):
        services.access_request_decide(
            access_request=req, by=reviewer, approve=True, reason="只限本街道", row_filter=row_filter
        )
    assert not Grant.objects.filter(request=req).exists()


def test_an_intranet_host_name_without_a_domain_can_be_registered_through_the_api(api, grant):
    """Exchange nodes (前置机) are often reached by a bare intranet name such as ``qzj-node``."""
    api.force_authenticate(grant.user)
    resp = api.post(
        f"/api/v1/exchange/grants/{grant.pk}/webhooks/", {"url": "http://qzj-node:8080/govhub"}, format="json"
    )
    assert resp.status_code == 201, resp.json()
    resp = api.post(
        f"/api/v1/exchange/grants/{grant.pk}/webhooks/", {"url": "http://u:p@qzj-node/x"}, format="json"
    )
    assert resp.status_code == 400


@pytest.mark.parametrize(
    "url", ["http://[::1/x", "http://host:99999/x", "http://host:port/x", "http://a b/x"]
)
def test_malformed_webhook_urls_are_a_clear_400(api, grant, url):
    api.force_authenticate(grant.user)
    api.raise_request_exception = False
    resp = api.post(f"/api/v1/exchange/grants/{grant.pk}/webhooks/", {"url": url}, format="json")
    assert resp.status_code == 400


def test_one_broken_stored_url_does_not_stop_the_other_deliveries(grant, server):
    from exchange.models import Webhook

    Webhook.objects.create(grant=grant, url="http://127.0.0.1:port/x", secret="s")  # stored before the checks
    webhooks.webhook_create(grant=grant, by=grant.user, url=f"http://127.0.0.1:{server.server_port}/ok")
    webhooks.enqueue_for_resource(resource=grant.resource, event="data.changed", payload={})
    result = webhooks.deliver_due()
    assert result["delivered"] == 1 and result["retry"] == 1
