"""Security review of the exchange gateway (``exchange.gateway``) against the API view.

Every test sends the *same* WSGI request twice: once through the production application
(``Gateway(WSGIHandler())``) and once straight to Django (``WSGIHandler()``, i.e. the DRF view
``RecordQueryApi``), and compares. The ``test_review_finding_*`` tests were written failing, each
showing a request the gateway answered differently from the API view (dead tokens using up the
client's rate limit, ALLOWED_HOSTS, non-ASCII whitespace in Authorization, unrouted paths, content
negotiation, session cookies); they pass since the gateway hands such calls to Django. The others
pin down behaviour that was checked and found equivalent.
"""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import quote

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.utils import timezone

from accounts import services as accounts
from accounts.models import ApiClient, RoleAssignment, Unit, User
from accounts.roles import Role
from catalog.models import DataItem, ResourceStatus, SharingType
from core.models import AuditEvent, RateWindow
from exchange.models import Grant, GrantStatus

from .test_gateway import SERVED, _refusal, call
from .test_reading import PEOPLE
from .test_review_access import _token

pytestmark = pytest.mark.django_db


@pytest.fixture
def django_only(wsgi):  # the same connection handling as the ``wsgi`` fixture
    return WSGIHandler()


def _path(world) -> str:
    return f"/api/v1/exchange/{world['resource'].code}/records"


def both(wsgi, django_only, path, query="", **kw):
    """(gateway status, headers, json), (django status, json) for one and the same request."""
    g_status, g_headers, g_body = call(wsgi, path, query, **kw)
    d_status, _d_headers, d_body = call(django_only, path, query, **kw)
    g = json.loads(g_body) if g_body[:1] == b"{" else g_body
    d = json.loads(d_body) if d_body[:1] == b"{" else d_body
    if isinstance(g, dict):
        g.pop("audit_id", None)
    if isinstance(d, dict):
        d.pop("audit_id", None)
    return (g_status, g_headers, g), (d_status, d)


def _last_read_event() -> AuditEvent:
    return AuditEvent.objects.filter(action="exchange.read.query").order_by("-id").first()


# --------------------------------------------------------------------------------------------
# Findings of the review (each failed before the fix)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["revoked", "expired"])
def test_review_finding_dead_token_calls_do_not_use_up_the_clients_rate_limit(
    world,
    client_token,
    wsgi,
    django_only,
    make_user,
    settings,
    how,
):
    """Review finding (fixed) (rate limiting). The API view authenticates before it throttles, so a
    revoked or expired token gets 401 and is never counted. The gateway counts every call whose
    token *exists* (PostgreSQL: the CTE in ``_lookup_sql``; SQLite: ``ratelimit.hit`` on any
    row) before it looks at ``usable``, and the count lands on the client's key ``c<id>``. Whoever
    holds a leaked-and-revoked (or an old expired) token can therefore keep the client's *valid*
    tokens at 429 forever."""
    settings.GOVHUB_EXCHANGE_RATE = "3/min"
    client, good = client_token
    admin = make_user(unit=client.unit, roles=[Role.UNIT_ADMIN])
    dead, dead_raw = accounts.api_token_issue(client=client, by=admin, scopes=["exchange.query"])
    if how == "revoked":
        accounts.api_token_revoke(token=dead, by=admin)
    else:
        dead.expires_at = timezone.now() - timedelta(seconds=1)
        dead.save(update_fields=["expires_at"])
    path = _path(world)
    # The API view alone: 401 and nothing counted.
    for _ in range(5):
        assert call(django_only, path, token=dead_raw)[0] == 401
    assert sum(RateWindow.objects.values_list("hits", flat=True)) == 0
    # Through the gateway: still 401 each time ...
    for _ in range(5):
        assert _refusal(wsgi, world, dead_raw)[0] == 401
    # ... but the legitimate client is now locked out.
    status, _headers, body = call(wsgi, path, token=good)
    assert status == 200, (status, body, "the valid token is rate-limited by the dead token's calls")
    assert sum(RateWindow.objects.values_list("hits", flat=True)) == 1


def test_review_finding_gateway_ignores_allowed_hosts(world, client_token, wsgi, django_only):
    """Review finding (fixed) (Django's request validation skipped). Django refuses a Host that is not in
    ALLOWED_HOSTS (``CommonMiddleware`` → ``request.get_host()`` → DisallowedHost, 400) before
    any view runs. The gateway never validates Host and serves (and audits) the read."""
    _client, raw = client_token
    (g_status, g_headers, _g), (d_status, _d) = both(
        wsgi, django_only, _path(world), token=raw, host="attacker.example"
    )
    assert d_status == 400
    assert SERVED not in g_headers and g_status == d_status


@pytest.mark.parametrize("suffix", ["\x85", "\xa0", "\x1c", "\x1f"], ids=["NEL", "NBSP", "FS", "US"])
def test_review_finding_authorization_with_non_ascii_whitespace(
    world,
    client_token,
    wsgi,
    django_only,
    suffix,
):
    """Review finding (fixed) (header parsing). DRF splits the Authorization header as *bytes* (ASCII
    whitespace only) and rejects ``Bearer <token>\\x85`` (non-ASCII → 401) or ``…\\x1c`` (wrong
    hash → 401). The gateway splits the latin-1 *str* with ``str.split()``, which also splits on
    U+001C–U+001F, U+0085 and U+00A0, drops them, and authenticates the bare token."""
    _client, raw = client_token
    (g_status, g_headers, _g), (d_status, _d) = both(wsgi, django_only, _path(world), token=raw + suffix)
    assert d_status == 401
    assert SERVED not in g_headers and g_status == d_status


@pytest.mark.parametrize("tail", ["/", "\n"], ids=["slash", "newline"])
def test_review_finding_paths_django_does_not_route(world, client_token, wsgi, django_only, tail):
    """Review finding (fixed) (routing). ``PATH`` accepts ``records/`` (``/?``) and, because ``$`` matches
    before a final newline, ``records\\n`` (``%0A`` decoded by the server). The URLconf
    (``<str:code>/records``) routes neither: Django answers 404. The gateway serves and audits."""
    _client, raw = client_token
    (g_status, g_headers, _g), (d_status, _d) = both(wsgi, django_only, _path(world) + tail, token=raw)
    assert d_status == 404
    assert SERVED not in g_headers and g_status == d_status


@pytest.mark.parametrize(
    ("query", "headers"),
    [("format=csv", {}), ("format=xml", {}), ("", {"accept": "application/xml"})],
    ids=["format-csv", "format-xml", "accept-xml"],
)
def test_review_finding_content_negotiation_refusals(
    world,
    client_token,
    wsgi,
    django_only,
    query,
    headers,
):
    """Review finding (fixed) (minor). DRF negotiates the renderer before authentication: ``?format=`` of
    an unknown renderer is a 404 and an unsatisfiable ``Accept`` a 406 — no data read, no
    audit event. The gateway always reads, audits and answers JSON."""
    _client, raw = client_token
    (g_status, g_headers, _g), (d_status, _d) = both(
        wsgi, django_only, _path(world), query, token=raw, **headers
    )
    assert d_status in (404, 406)
    assert SERVED not in g_headers and g_status == d_status


# --------------------------------------------------------------------------------------------
# Checked and equivalent (these pass)
# --------------------------------------------------------------------------------------------


def _grant(world, **kw) -> Grant:
    today = timezone.localdate()
    fields = dict(
        resource=world["resource"],
        consumer=world["consumer"].unit,
        items=["sfzh", "xm", "jd", "csrq"],
        purpose_category="data_check",
        purpose="核对",
        channels=["online_query"],
        valid_from=today,
        valid_to=today + timedelta(days=30),
    )
    fields.update(kw)
    return Grant.objects.create(**fields)


def _same_success(wsgi, django_only, world, raw, query="", **kw):
    (g_status, g_headers, g), (d_status, d) = both(wsgi, django_only, _path(world), query, token=raw, **kw)
    assert d_status == 200 and g_status == 200, (g, d)
    assert g_headers[SERVED] == "exchange-gateway"
    assert g == d
    a, b = AuditEvent.objects.filter(action="exchange.read.query").order_by("-id")[:2]
    assert a.details == b.details and a.purpose == b.purpose and a.unit_id == b.unit_id
    return g, a


def test_grant_selection_among_several_grants_matches_the_view(
    world, client_token, wsgi, django_only, make_user
):
    client, raw = client_token
    other_client, _ = _token(client.unit, make_user, scopes=["exchange.query"], name="别的系统")
    world["grant"].delete()
    _grant(world, items=["sfzh", "xm", "jd", "csrq", "lxdh"], allow_plain=True)  # older, plain, more
    chosen = _grant(world, items=["sfzh", "jd"])  # newest live, matching: this one
    _grant(world, items=["lxdh"], purpose_category="work_reference")  # other purpose
    _grant(world, items=["lxdh"], api_client_ids=[other_client.pk])  # another system only
    _grant(world, items=["lxdh"], channels=["batch_download"])  # other channel
    _grant(world, items=["lxdh"], status=GrantStatus.SUSPENDED)
    _grant(world, items=["lxdh"], valid_from=timezone.localdate() + timedelta(days=1))  # not yet
    _grant(world, items=["lxdh"], valid_to=timezone.localdate() - timedelta(days=1))  # over
    body, event = _same_success(wsgi, django_only, world, raw)
    assert event.details["grant"] == chosen.pk
    assert set(body["results"][0]) == {"sfzh", "jd"}
    assert PEOPLE[0]["lxdh"] not in json.dumps(body)
    assert body["results"][0]["sfzh"].count("*") == 8


def test_grant_restricted_to_this_client_is_used(world, client_token, wsgi, django_only):
    client, raw = client_token
    world["grant"].api_client_ids = [client.pk]
    world["grant"].save()
    _same_success(wsgi, django_only, world, raw)


@pytest.mark.parametrize(
    "change",
    [
        "client_inactive", "unit_inactive", "service_user_inactive", "no_consumer_role",
        "not_shared", "unpublished", "grant_other_client", "grant_revoked", "token_no_scope",
    ],
)  # fmt: skip
def test_refusals_match_the_view(world, client_token, wsgi, django_only, make_user, change):
    client, raw = client_token
    res = world["resource"]
    if change == "client_inactive":
        ApiClient.objects.filter(pk=client.pk).update(is_active=False)
    elif change == "unit_inactive":
        Unit.objects.filter(pk=client.unit_id).update(is_active=False)
    elif change == "service_user_inactive":
        User.objects.filter(pk=client.service_user_id).update(is_active=False)
    elif change == "no_consumer_role":
        RoleAssignment.objects.filter(user_id=client.service_user_id).delete()
    elif change == "not_shared":
        type(res).objects.filter(pk=res.pk).update(
            sharing_type=SharingType.NOT_SHARED, not_shared_basis="《条例》第十条"
        )
    elif change == "unpublished":
        type(res).objects.filter(pk=res.pk).update(status=ResourceStatus.WITHDRAWN)
    elif change == "grant_other_client":
        other, _ = _token(client.unit, make_user, scopes=["exchange.query"], name="别的系统")
        Grant.objects.filter(pk=world["grant"].pk).update(api_client_ids=[other.pk])
    elif change == "grant_revoked":
        Grant.objects.filter(pk=world["grant"].pk).update(status=GrantStatus.REVOKED)
    elif change == "token_no_scope":
        client.tokens.update(scopes=["exchange.download"])
    g_status, _ = _refusal(wsgi, world, raw)
    d_status = call(django_only, _path(world), token=raw)[0]
    assert g_status == d_status and d_status in (401, 403, 404)
    assert not AuditEvent.objects.filter(action="exchange.read.query").exists()


def test_cached_access_context_follows_grant_and_catalog_changes(world, client_token, wsgi, django_only):
    """``_BUILT`` / ``_SHAPES`` are keyed by content: every change of grant or items is seen."""
    _client, raw = client_token
    q = f"sfzh={PEOPLE[0]['sfzh']}"
    body, _ = _same_success(wsgi, django_only, world, raw, q)
    assert "*" in body["results"][0]["sfzh"]
    Grant.objects.filter(pk=world["grant"].pk).update(allow_plain=True)
    body, _ = _same_success(wsgi, django_only, world, raw, q)
    assert body["results"][0]["sfzh"] == PEOPLE[0]["sfzh"]
    Grant.objects.filter(pk=world["grant"].pk).update(allow_plain=False, items=["sfzh", "jd"])
    body, _ = _same_success(wsgi, django_only, world, raw, q)
    assert set(body["results"][0]) == {"sfzh", "jd"} and "*" in body["results"][0]["sfzh"]
    DataItem.objects.filter(resource=world["resource"], code="jd").update(sensitivity="personal")
    body, _ = _same_success(wsgi, django_only, world, raw, q)
    assert "*" in body["results"][0]["jd"]
    Grant.objects.filter(pk=world["grant"].pk).update(row_filter={"jd": ["火星街道"]})
    body, _ = _same_success(wsgi, django_only, world, raw)
    assert body["returned"] == 2


@pytest.mark.parametrize(
    ("query", "headers"),
    [
        ("jd=x&jd=" + quote("火星街道"), {}),  # repeated key: last wins
        ("jd=" + quote("火星街道") + "&jd=x", {}),
        ("xm__in=" + quote("张三") + "+," + quote("李四"), {}),  # + is a space
        ("jd=%E7%81%AB%E6%98%9F%E8%A1%97%E9%81%93", {}),
        ("purpose=data_check", {"x_purpose": ""}),  # empty header → parameter
        ("purpose=work_reference", {"x_purpose": "data_check"}),  # header wins
        ("purpose=data_check&purpose_detail=" + quote("低保") + "&limit=2&after=", {}),
        ("limit=99999&after=-5", {}),
        ("jd=" + "a" * 5000, {}),
        ("jd=" + quote("火星街道") + "&&=&", {}),
    ],
    ids=[
        "repeat-last",
        "repeat-first",
        "plus",
        "pct",
        "empty-header",
        "header-wins",
        "detail",
        "paging",
        "long",
        "empty-pairs",
    ],
)
def test_query_string_parsing_matches_django(world, client_token, wsgi, django_only, query, headers):
    _client, raw = client_token
    kw = dict(headers)
    purpose = kw.pop("x_purpose", "data_check")
    if "purpose=" in query and "x_purpose" not in headers:
        purpose = None
    (g_status, g_headers, g), (d_status, d) = both(
        wsgi, django_only, _path(world), query, token=raw, purpose=purpose, **kw
    )
    assert g_status == d_status, (g, d)
    if d_status == 200:
        assert g == d
    else:
        assert SERVED not in g_headers


@pytest.mark.parametrize(
    "query",
    ["jd=%FF", "jd=%00", "%00=1", "jd=%C3", "limit=1" + "&limit=2" * 300],
    ids=["bad-utf8", "nul-value", "nul-key", "truncated-utf8", "300-fields"],
)
def test_unusual_query_strings_are_left_to_django(world, client_token, wsgi, django_only, query):
    _client, raw = client_token
    (g_status, g_headers, g), (d_status, d) = both(wsgi, django_only, _path(world), query, token=raw)
    assert g_status == d_status
    if d_status == 200:
        assert g == d


def test_review_finding_session_middleware_refusals_are_skipped(
    world, client_token, wsgi, django_only, make_user
):
    """Review finding (fixed) (minor; middleware skipped). With a browser session cookie next to the
    Bearer token, Django's ``ForcePasswordChangeMiddleware`` (and likewise
    ``SessionIdleTimeoutMiddleware``) refuses the API call (403 / 401) before DRF authenticates the
    token. The gateway does not run the middleware and serves the read."""
    from django.test import Client

    _client, raw = client_token
    person = make_user(unit=world["consumer"].unit, roles=[Role.UNIT_USER])
    User.objects.filter(pk=person.pk).update(must_change_password=True)
    browser = Client()
    browser.force_login(User.objects.get(pk=person.pk))
    cookie = f"sessionid={browser.cookies['sessionid'].value}"
    (g_status, g_headers, _g), (d_status, _d) = both(
        wsgi, django_only, _path(world), token=raw, cookie=cookie
    )
    assert d_status == 403
    assert SERVED not in g_headers and g_status == d_status
