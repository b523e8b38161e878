"""API clients and tokens (系统对接, S§31, S§34-36): shown once, stored hashed, expiry, revocation,
last used, attribution to client and unit."""

from __future__ import annotations

import datetime as dt
import hashlib
from zoneinfo import ZoneInfo

import pytest
import time_machine

from accounts import services
from accounts.models import ApiToken
from accounts.roles import Role
from accounts.tests.factories import issue_token, make_api_client
from core import audit
from core.errors import Invalid, PermissionDenied
from core.models import AuditEvent

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")
T0 = dt.datetime(2026, 11, 2, 10, 0, tzinfo=SH)
ME = "/api/v1/accounts/me/"


def _bearer(api, raw):
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return api


def test_token_is_stored_as_hash_and_prefix_only(make_unit):
    client, admin = make_api_client(make_unit(), scopes=["catalog.read"])
    token, raw = issue_token(client, admin)
    assert raw.startswith("ghk_") and len(raw) > 40
    stored = ApiToken.objects.get(pk=token.pk)
    assert stored.token_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw.startswith(stored.prefix) and len(stored.prefix) < 12
    assert raw not in str(list(ApiToken.objects.values()))


def test_token_is_shown_once_in_the_api(api, make_unit, make_user):
    unit = make_unit()
    owner = make_user(unit=unit, roles=[Role.SYSTEM_OWNER])
    api.force_login(owner)
    created = api.post(
        "/api/v1/accounts/api-clients/",
        {"name": "不动产接口", "system_name": "不动产登记系统", "scopes": ["catalog.read"]},
        format="json",
    )
    assert created.status_code == 201
    cid = created.json()["id"]
    issued = api.post(f"/api/v1/accounts/api-clients/{cid}/tokens/", {"name": "生产"}, format="json")
    assert issued.status_code == 201 and issued.json()["token"].startswith("ghk_")
    listed = api.get(f"/api/v1/accounts/api-clients/{cid}/tokens/").json()["results"]
    assert "token" not in listed[0] and "token_hash" not in listed[0]


def test_bearer_token_authenticates_as_the_clients_service_user(api, make_unit):
    unit = make_unit()
    client, admin = make_api_client(unit, scopes=["catalog.read"])
    _token, raw = issue_token(client, admin)
    resp = _bearer(api, raw).get(ME, REMOTE_ADDR="10.2.0.7")
    assert resp.status_code == 200
    body = resp.json()
    assert body["username"] == f"api-{client.pk}" and body["unit"] == unit.pk
    assert body["roles"] == [Role.UNIT_USER]
    token = ApiToken.objects.get(client=client)
    assert token.last_used_at is not None and token.last_used_ip == "10.2.0.7"


def test_service_user_cannot_sign_in_with_a_password(make_unit):
    client, _admin = make_api_client(make_unit())
    user = client.service_user
    assert not user.has_usable_password() and user.is_service_account
    assert user.username == f"api-{client.pk}"


def test_push_scope_gives_the_service_user_the_data_officer_role(make_unit):
    client, _admin = make_api_client(make_unit(), scopes=["datastore.push"])
    assert client.service_user.has_role(Role.DATA_OFFICER, Role.UNIT_USER)


def test_audit_attributes_token_use_to_client_and_unit(make_unit):
    unit = make_unit()
    client, _admin = make_api_client(unit)
    event = audit.record(action="exchange.record.query", actor=client.service_user, api_client=client)
    assert event.api_client_id == client.pk and event.unit_id == unit.pk


def test_expired_token_gets_401_in_the_one_error_shape(api, make_unit):
    client, admin = make_api_client(make_unit())
    with time_machine.travel(T0, tick=False):
        _token, raw = issue_token(client, admin, expires_at=T0 + dt.timedelta(days=1))
        assert _bearer(api, raw).get(ME).status_code == 200
    with time_machine.travel(T0 + dt.timedelta(days=1, seconds=1), tick=False):
        resp = _bearer(api, raw).get(ME)
    assert resp.status_code == 401
    assert resp.json()["error"]["code"] == "not_authenticated"
    assert "令牌" in resp.json()["error"]["message"]


def test_revoked_token_gets_401_at_once(api, make_unit):
    client, admin = make_api_client(make_unit())
    token, raw = issue_token(client, admin)
    services.api_token_revoke(token=token, by=admin)
    resp = _bearer(api, raw).get(ME)
    assert resp.status_code == 401 and set(resp.json()["error"]) == {"code", "message", "details"}
    assert AuditEvent.objects.filter(action="accounts.api_token.revoke", api_client_id=client.pk).exists()


def test_deactivated_client_stops_all_its_tokens(api, make_unit):
    client, admin = make_api_client(make_unit())
    _token, raw = issue_token(client, admin)
    services.api_client_update(client=client, by=admin, is_active=False)
    assert _bearer(api, raw).get(ME).status_code == 401


@pytest.mark.parametrize("header", ["Bearer", "Bearer a b", "Bearer ghk_unknown"])
def test_malformed_or_unknown_bearer_gets_401(api, header):
    api.credentials(HTTP_AUTHORIZATION=header)
    resp = api.get(ME)
    assert resp.status_code == 401 and resp.json()["error"]["code"] == "not_authenticated"


def test_token_scopes_cannot_exceed_the_clients(make_unit):
    client, admin = make_api_client(make_unit(), scopes=["catalog.read"])
    with pytest.raises(Invalid):
        issue_token(client, admin, scopes=["exchange.download"])
    with pytest.raises(Invalid):
        issue_token(client, admin, expires_at=dt.datetime(2099, 1, 1, tzinfo=SH))
    assert not ApiToken.objects.exists()


def test_unit_a_cannot_see_or_revoke_unit_b_tokens(api, make_unit, make_user):
    unit_a, unit_b = make_unit(), make_unit()
    client_b, admin_b = make_api_client(unit_b)
    token_b, _raw = issue_token(client_b, admin_b)
    admin_a = make_user(unit=unit_a, roles=[Role.UNIT_ADMIN])
    api.force_login(admin_a)
    assert api.get("/api/v1/accounts/api-clients/").json()["count"] == 0
    assert api.get(f"/api/v1/accounts/api-clients/{client_b.pk}/").status_code == 404
    assert api.get(f"/api/v1/accounts/api-clients/{client_b.pk}/tokens/").status_code == 404
    assert api.post(f"/api/v1/accounts/tokens/{token_b.pk}/revoke/").status_code == 404
    with pytest.raises(PermissionDenied):
        services.api_token_revoke(token=token_b, by=admin_a)
    token_b.refresh_from_db()
    assert token_b.revoked_at is None


def test_security_admin_may_revoke_any_token(make_unit, center, make_user):
    client, admin = make_api_client(make_unit())
    token, _raw = issue_token(client, admin)
    sec = make_user(unit=center, roles=[Role.SEC_ADMIN])
    services.api_token_revoke(token=token, by=sec)
    token.refresh_from_db()
    assert token.revoked_by == sec


def test_require_scope_refuses_a_token_without_the_scope_but_not_a_browser(make_unit, make_user):
    from types import SimpleNamespace

    from accounts.authentication import require_scope

    client, admin = make_api_client(make_unit(), scopes=["catalog.read"])
    token, _raw = issue_token(client, admin)
    machine = SimpleNamespace(auth=token)
    require_scope(machine, "catalog.read")
    with pytest.raises(PermissionDenied) as exc:
        require_scope(machine, "exchange.download")
    assert exc.value.code == "accounts.token_scope_missing" and "批量下载" in exc.value.message
    require_scope(SimpleNamespace(auth=None), "exchange.download")  # session: roles decide
