"""Security review of the read channels (issue 7): API-client restrictions, token scopes,
masking oracles, bad input and audit of every read."""

from __future__ import annotations

import pytest

from accounts import services as accounts
from accounts.roles import Role

from .test_reading import PEOPLE, _get

pytestmark = pytest.mark.django_db

EXCHANGE_SCOPES = ["exchange.query", "exchange.download", "exchange.feed"]


def _token(unit, make_user, *, scopes, name="核对系统"):
    admin = make_user(unit=unit, roles=[Role.UNIT_ADMIN])
    client = accounts.api_client_create(
        by=admin, unit=unit, name=name, system_name="低保核对", scopes=EXCHANGE_SCOPES + ["catalog.read"]
    )
    _tok, raw = accounts.api_token_issue(client=client, by=admin, scopes=scopes)
    return client, raw


def _bearer(api, raw, path):
    api.force_authenticate(None)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return api.get(path, HTTP_X_PURPOSE="data_check")


@pytest.mark.parametrize(
    ("endpoint", "scope"),
    [("records", "exchange.query"), ("download", "exchange.download"), ("changes", "exchange.feed")],
)
def test_a_token_without_the_exchange_scope_reads_nothing(api, world, make_user, endpoint, scope):
    """docs/api-guide.md: "An endpoint refuses a token without its scope (403)"."""
    res = world["resource"]
    _client, raw = _token(world["consumer"].unit, make_user, scopes=["catalog.read"])
    resp = _bearer(api, raw, f"/api/v1/exchange/{res.code}/{endpoint}")
    assert resp.status_code == 403
    assert "results" not in resp.content.decode() and "changes" not in resp.content.decode()
    _client2, raw2 = _token(world["consumer"].unit, make_user, scopes=[scope], name="另一系统")
    resp = _bearer(api, raw2, f"/api/v1/exchange/{res.code}/{endpoint}")
    assert resp.status_code == 200


def test_a_grant_for_named_systems_is_not_readable_through_a_browser_session(api, world, make_user):
    """A grant limited to named API clients (S§29 "the systems that will use it") opens the data
    to those systems only — not to every user of the unit through a session."""
    res, grant = world["resource"], world["grant"]
    client, raw = _token(world["consumer"].unit, make_user, scopes=EXCHANGE_SCOPES)
    grant.api_client_ids = [client.pk]
    grant.save()
    resp = _get(api, world["consumer"], f"/api/v1/exchange/{res.code}/records", HTTP_X_PURPOSE="data_check")
    assert resp.status_code == 403 and "results" not in resp.content.decode()
    resp = _bearer(api, raw, f"/api/v1/exchange/{res.code}/records")
    assert resp.status_code == 200 and resp.json()["returned"] == len(PEOPLE)
    _other, raw_other = _token(world["consumer"].unit, make_user, scopes=EXCHANGE_SCOPES, name="别的系统")
    assert _bearer(api, raw_other, f"/api/v1/exchange/{res.code}/records").status_code == 403


def test_a_resource_that_became_not_shared_is_not_readable_through_old_grants(api, world):
    res = world["resource"]
    res.sharing_type = "not_shared"
    res.not_shared_basis = "《中华人民共和国个人信息保护法》第十三条"
    res.save()
    for endpoint in ("records", "download", "changes"):
        resp = _get(
            api, world["consumer"], f"/api/v1/exchange/{res.code}/{endpoint}", HTTP_X_PURPOSE="data_check"
        )
        assert resp.status_code == 403, endpoint


def test_a_suspended_grant_is_not_bypassed_by_obtaining_a_new_one(world, center, make_user):
    """Suspension (e.g. suspected misuse, S§34) takes effect at once — the unit cannot simply
    obtain a fresh unconditional grant on the same resource while it lasts."""
    from core.errors import Conflict
    from exchange import services

    reviewer = make_user(unit=center, roles=[Role.CENTER_REVIEWER])
    services.grant_suspend(grant=world["grant"], by=reviewer, reason="疑似超范围使用")
    with pytest.raises(Conflict):
        services.grant_obtain_unconditional(
            resource=world["resource"], by=world["consumer"], items=["jd"], purpose_category="data_check",
            purpose="低保资格核对", channels=["online_query"],
        )  # fmt: skip
