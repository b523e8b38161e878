"""The exchange gateway (``exchange.gateway``): the online query's hot path in front of Django.

It must give exactly the answer and the audit trail of the API view for every successful call,
and hand every other call — refusals, bad input, the rate limit — to Django unchanged (S§31,
S§35; DESIGN rule 2). Calls go through the real WSGI application, as the web server (granian) makes them."""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import quote, urlencode

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.utils import timezone

from accounts import services as accounts
from accounts.roles import Role
from core.models import AuditEvent, RateWindow
from exchange import services
from exchange.accounting import usage_buffer
from exchange.gateway import Gateway
from exchange.models import RecordAccess, UsageDaily

from .test_reading import PEOPLE
from .test_review_access import _token

pytestmark = pytest.mark.django_db
SERVED = "X-GovHub-Served-By"


@pytest.fixture
def wsgi():
    """The application the web server runs (gateway + Django). Like Django's test client, keep the test's
    database connection open across requests."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield Gateway(WSGIHandler())
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def call(
    app,
    path: str,
    query: str = "",
    *,
    token: str | None = None,
    purpose: str | None = "data_check",
    remote_addr: str = "10.0.0.7",
    **headers,
):
    environ = {
        "REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": query, "SERVER_NAME": "testserver",
        "SERVER_PORT": "80", "REMOTE_ADDR": remote_addr, "wsgi.url_scheme": "http", "wsgi.input": None,
        "SERVER_PROTOCOL": "HTTP/1.1",
    }  # fmt: skip
    import io

    environ["wsgi.input"] = io.BytesIO(b"")
    if token is not None:
        environ["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    if purpose is not None:
        environ["HTTP_X_PURPOSE"] = purpose
    for k, v in headers.items():
        environ["HTTP_" + k.upper()] = v
    seen = {}

    def start_response(status, response_headers, exc_info=None):
        seen["status"] = int(status.split()[0])
        seen["headers"] = dict(response_headers)

    # Django's test client reconnects these after each of its requests: keep the test's connection
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    body = b"".join(app(environ, start_response))
    return seen["status"], seen["headers"], body


@pytest.fixture
def client_token(world, make_user):
    client, raw = _token(world["consumer"].unit, make_user, scopes=["exchange.query"])
    return client, raw


QUERIES = [
    {"sfzh": PEOPLE[0]["sfzh"]},
    {"jd": "定王台街道"},
    {"jd": "定王台街道", "limit": "1"},
    {"xm__in": "张三,李四"},
    {"jd__in": "定王台街道,火星街道", "limit": "3"},
    {"sfzh": "' OR '1'='1"},
    {"jd__in": "火星街道;DROP TABLE x--"},
    {"limit": "2", "after": "1"},
    {},
]


@pytest.mark.parametrize("query", QUERIES, ids=lambda q: ",".join(q) or "all")
def test_gateway_answers_and_audits_exactly_like_the_api_view_s31_s35(api, world, client_token, wsgi, query):
    client, raw = client_token
    code = world["resource"].code
    qs = urlencode(query)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    via_django = api.get(f"/api/v1/exchange/{code}/records?{qs}", HTTP_X_PURPOSE="data_check")
    status, headers, body = call(wsgi, f"/api/v1/exchange/{code}/records", qs, token=raw)
    assert via_django.status_code == 200 and status == 200, body
    assert headers[SERVED] == "exchange-gateway" and SERVED not in via_django
    assert headers["Content-Type"] == "application/json" and headers["X-Content-Type-Options"] == "nosniff"
    mine, theirs = json.loads(body), via_django.json()
    assert mine.pop("audit_id") != theirs.pop("audit_id")
    assert mine == theirs
    a, b = AuditEvent.objects.filter(action="exchange.read.query").order_by("id")
    fields = ["actor_id", "actor_label", "api_client_id", "api_client_label", "unit_id", "unit_label", "action",
              "target_type", "target_id", "target_label", "purpose", "details"]  # fmt: skip
    assert {f: getattr(a, f) for f in fields} == {f: getattr(b, f) for f in fields}
    assert b.api_client_id == client.pk and b.ip == "10.0.0.7" and len(b.request_id) == 32
    assert sorted(
        RecordAccess.objects.filter(audit_event_id=a.pk).values_list("key_hash", flat=True)
    ) == sorted(RecordAccess.objects.filter(audit_event_id=b.pk).values_list("key_hash", flat=True))
    usage = UsageDaily.objects.get(resource=world["resource"], channel="online_query")
    assert usage.calls == 2 and usage.rows == 2 * theirs["returned"]


def test_gateway_masks_and_returns_only_granted_items(world, client_token, wsgi):
    _client, raw = client_token
    person = PEOPLE[0]
    status, headers, body = call(
        wsgi, f"/api/v1/exchange/{world['resource'].code}/records", f"sfzh={person['sfzh']}", token=raw
    )
    row = json.loads(body)["results"][0]
    assert status == 200 and headers[SERVED]
    assert set(row) == {"sfzh", "xm", "jd", "csrq"}
    assert row["sfzh"] == person["sfzh"][:6] + "********" + person["sfzh"][-4:] and row["xm"] == "张*"
    assert person["sfzh"].encode() not in body and person["lxdh"].encode() not in body


def _refusal(wsgi, world, raw, query="", **kw):
    path = kw.pop("path", f"/api/v1/exchange/{world['resource'].code}/records")
    status, headers, body = call(wsgi, path, query, token=raw, **kw)
    assert SERVED not in headers, "the gateway must not answer a refusal itself"
    assert b"results" not in body
    for person in PEOPLE:
        assert person["jd"].encode() not in body and person["sfzh"][-4:].encode() not in body
    return status, json.loads(body)


def test_refusals_are_handed_to_django_with_its_errors_and_no_read_event(
    world, client_token, wsgi, make_user
):
    _client, raw = client_token
    code = world["resource"].code
    assert _refusal(wsgi, world, "not-a-token")[0] == 401
    assert _refusal(wsgi, world, raw, purpose=None)[0] == 403  # no purpose
    assert _refusal(wsgi, world, raw, purpose="work_reference")[0] == 403  # not the grant's purpose
    assert _refusal(wsgi, world, raw, "lxdh=13800000001")[0] == 400  # item outside the grant
    assert _refusal(wsgi, world, raw, "sfzh__gte=1")[0] == 400  # range on a masked item
    assert _refusal(wsgi, world, raw, "limit=x")[0] == 400
    assert _refusal(wsgi, world, raw, "jd=%00")[0] == 400  # NUL
    assert _refusal(wsgi, world, raw, path="/api/v1/exchange/NOPE-1/records")[0] == 404
    assert _refusal(wsgi, world, raw, path="/api/v1/exchange/x'%20OR%201=1--/records")[0] == 404
    _c, no_scope = _token(world["consumer"].unit, make_user, scopes=["exchange.download"], name="下载系统")
    assert _refusal(wsgi, world, no_scope)[0] == 403
    other_client, other = _token(make_user().unit, make_user, scopes=["exchange.query"], name="别的单位")
    assert _refusal(wsgi, world, other)[0] == 403  # another unit: no grant
    assert not AuditEvent.objects.filter(action="exchange.read.query").exists()
    assert call(wsgi, f"/api/v1/exchange/{code}/records", token=raw)[0] == 200


def test_a_revoked_grant_or_token_stops_the_very_next_call(world, client_token, wsgi, center, make_user):
    client, raw = client_token
    reviewer = make_user(unit=center, roles=[Role.CENTER_REVIEWER])
    path = f"/api/v1/exchange/{world['resource'].code}/records"
    assert call(wsgi, path, token=raw)[0] == 200
    services.grant_suspend(grant=world["grant"], by=reviewer, reason="核查期间暂停")
    assert _refusal(wsgi, world, raw)[0] == 403
    services.grant_resume(grant=world["grant"], by=reviewer, reason="核查完毕")
    assert call(wsgi, path, token=raw)[0] == 200
    token = client.tokens.get()
    assert token.last_used_ip == "10.0.0.7" and token.last_used_at is not None  # "last used" kept
    token.expires_at = timezone.now() - timedelta(seconds=1)
    token.save(update_fields=["expires_at"])
    assert _refusal(wsgi, world, raw)[0] == 401  # expired
    token.expires_at = timezone.now() + timedelta(days=1)
    token.save(update_fields=["expires_at"])
    assert call(wsgi, path, token=raw)[0] == 200
    unit_admin = make_user(unit=world["consumer"].unit, roles=[Role.UNIT_ADMIN])
    accounts.api_token_revoke(token=token, by=unit_admin)
    assert _refusal(wsgi, world, raw)[0] == 401


def test_the_rate_limit_is_one_count_for_gateway_and_api_view(world, client_token, wsgi, api, settings):
    settings.GOVHUB_EXCHANGE_RATE = "3/min"
    _client, raw = client_token
    path = f"/api/v1/exchange/{world['resource'].code}/records"
    assert call(wsgi, path, token=raw)[0] == 200
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api.get(path, HTTP_X_PURPOSE="data_check").status_code == 200
    assert call(wsgi, path, token=raw)[0] == 200
    status, body = _refusal(wsgi, world, raw)
    assert status == 429 and body["error"]["code"]
    resp = api.get(path, HTTP_X_PURPOSE="data_check")
    assert resp.status_code == 429 and int(resp["Retry-After"]) > 0
    assert sum(RateWindow.objects.values_list("hits", flat=True)) == 5  # each call counted once
    assert AuditEvent.objects.filter(action="exchange.read.query").count() == 3


def test_other_methods_paths_and_browser_sessions_go_to_django(world, client_token, wsgi):
    _client, raw = client_token
    path = f"/api/v1/exchange/{world['resource'].code}/records"
    status, headers, _body = call(wsgi, path, token=None)
    assert status in (401, 403) and SERVED not in headers
    status, headers, _body = call(wsgi, "/healthz", token=raw)
    assert SERVED not in headers


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_the_event_and_usage_are_committed(world, client_token, wsgi):
    """The production path: the audit insert commits before the answer leaves; the usage counter
    commits on its own (on PostgreSQL without waiting for the WAL flush)."""
    _client, raw = client_token
    path = f"/api/v1/exchange/{world['resource'].code}/records"
    for _ in range(3):
        status, headers, body = call(wsgi, path, f"jd={quote('火星街道')}", token=raw)
        assert status == 200 and headers[SERVED]
    events = AuditEvent.objects.filter(action="exchange.read.query")
    assert events.count() == 3 and {e.details["rows"] for e in events} == {2}
    usage_buffer.flush()  # PostgreSQL: counted in the process, written once a second
    usage = UsageDaily.objects.get(
        resource=world["resource"], channel="online_query", day=timezone.localdate()
    )
    assert (usage.calls, usage.rows) == (3, 6)
    assert RecordAccess.objects.count() == 6


@pytest.mark.django_db(transaction=True)
def test_usage_buffer_adds_up_calls_and_keeps_counts_it_could_not_write(world):
    """S§38 statistics: counts added up in the process reach UsageDaily in one write; a failed write
    loses nothing."""
    from exchange.accounting import UsageBuffer

    buf = UsageBuffer(every=3600)
    day, res, unit = timezone.localdate(), world["resource"].pk, world["consumer"].unit_id
    for rows in (1, 2, 3):
        buf.add((day, res, unit, "data_check", "online_query"), rows)
    buf.add((day, 987654321, unit, "data_check", "online_query"), 5)  # no such resource: the write fails
    assert buf.flush() == 0
    assert not UsageDaily.objects.exists()
    buf._pending.pop((day, 987654321, unit, "data_check", "online_query"))
    buf.add((day, res, unit, "data_check", "online_query"), 4)
    assert buf.flush() == 1
    usage = UsageDaily.objects.get()
    assert (usage.calls, usage.rows) == (4, 10)
    assert buf.flush() == 0


def test_each_call_has_its_own_time_address_request_id_and_details_s35(world, client_token, wsgi):
    """The event's fixed part (actor, client, unit, target, purpose) is built once per caller and
    reused (on PostgreSQL); what belongs to one call must never be carried into the next."""
    _client, raw = client_token
    code = world["resource"].code
    path = f"/api/v1/exchange/{code}/records"
    first = call(
        wsgi,
        path,
        urlencode({"sfzh": PEOPLE[0]["sfzh"]}),
        token=raw,
        X_REQUEST_ID="call-one",
        remote_addr="10.0.0.1",
    )
    between = timezone.now()
    second = call(
        wsgi, path, urlencode({"jd": "火星街道", "purpose_detail": "复核"}), token=raw, X_REQUEST_ID="call-two",
        remote_addr="10.0.0.2",
    )  # fmt: skip
    assert first[1][SERVED] == second[1][SERVED] == "exchange-gateway"
    a, b = AuditEvent.objects.filter(action="exchange.read.query").order_by("id")
    assert (a.request_id, b.request_id) == ("call-one", "call-two")
    assert (a.ip, b.ip) == ("10.0.0.1", "10.0.0.2")
    assert a.occurred_at <= between <= b.occurred_at
    assert a.details["filters"] != b.details["filters"] and "jd" in b.details["filters"]
    assert (a.details["purpose_detail"], b.details["purpose_detail"]) == ("", "复核")
    assert a.details["rows"] == json.loads(first[2])["returned"]
    assert b.details["rows"] == json.loads(second[2])["returned"]
    assert (a.actor_id, a.api_client_id, a.unit_id) == (b.actor_id, b.api_client_id, b.unit_id)
    # a third call, without filters and without a request id of its own
    status, _headers, _body = call(wsgi, path, "", token=raw)
    assert status == 200
    c = AuditEvent.objects.filter(action="exchange.read.query").latest("id")
    assert c.request_id not in ("", "call-two") and c.details["filters"] == {}


def test_renamed_unit_client_and_resource_are_in_the_very_next_event_s35(world, client_token, wsgi):
    """The labels the gateway reuses follow the catalog and the accounts at once."""
    client, raw = client_token
    resource, unit = world["resource"], world["consumer"].unit
    path = f"/api/v1/exchange/{resource.code}/records"
    assert call(wsgi, path, "", token=raw)[0] == 200
    before = AuditEvent.objects.filter(action="exchange.read.query").latest("id")
    unit.name, client.name, resource.name = "改名后的单位", "改名后的系统", "改名后的资源"
    unit.save(update_fields=["name"])
    client.save(update_fields=["name"])
    resource.save(update_fields=["name"])
    assert call(wsgi, path, "", token=raw)[1][SERVED] == "exchange-gateway"
    after = AuditEvent.objects.filter(action="exchange.read.query").latest("id")
    assert "改名后" not in before.unit_label + before.api_client_label + before.target_label
    assert after.unit_label == "改名后的单位"
    assert after.api_client_label.startswith("改名后的系统") and after.target_label.startswith("改名后的资源")
