"""Exchange pages through the real stack (session, CSRF-exempt test client)."""

from __future__ import annotations

import pytest
from django.utils import timezone

from accounts.roles import Role
from catalog.models import SharingType
from exchange.models import AccessRequest, Grant

from .factories import published_resource

pytestmark = pytest.mark.django_db


@pytest.fixture
def provider(make_unit):
    return make_unit(name="芙蓉公安分局")


@pytest.fixture
def consumer(make_user, make_unit):
    return make_user(unit=make_unit(name="芙蓉区民政局"), roles=[Role.UNIT_USER])


def test_unconditional_apply_page_issues_grant_and_shows_it(client, provider, consumer):
    res = published_resource(provider=provider)
    client.force_login(consumer)
    page = client.get(f"/exchange/apply/{res.code}/")
    assert page.status_code == 200 and "获取无条件共享" in page.content.decode()
    resp = client.post(
        f"/exchange/apply/{res.code}/",
        {
            "items": ["sfzh"],
            "purpose_category": "data_check",
            "purpose": "低保资格核对",
            "channels": ["online_query"],
        },
    )
    grant = Grant.objects.get()
    assert resp.status_code == 302 and resp["Location"] == f"/exchange/grants/{grant.pk}/"
    assert res.name in client.get("/exchange/grants/").content.decode()


def test_apply_form_errors_are_shown_beside_fields_and_nothing_is_stored(client, provider, consumer):
    res = published_resource(provider=provider, sharing_type=SharingType.CONDITIONAL)
    client.force_login(consumer)
    resp = client.post(f"/exchange/apply/{res.code}/", {"purpose_category": "data_check", "purpose": "核对"})
    assert resp.status_code == 400
    body = resp.content.decode()
    assert "invalid-feedback" in body
    assert not AccessRequest.objects.exists()


def test_not_shared_page_shows_the_legal_basis(client, provider, consumer):
    res = published_resource(provider=provider, sharing_type=SharingType.NOT_SHARED)
    client.force_login(consumer)
    resp = client.get(f"/exchange/apply/{res.code}/")
    assert resp.status_code == 409
    assert "个人信息保护法" in resp.content.decode()


def test_other_units_cannot_open_a_grant_page(client, provider, consumer, make_user, make_unit):
    res = published_resource(provider=provider)
    client.force_login(consumer)
    client.post(
        f"/exchange/apply/{res.code}/",
        {
            "items": ["sfzh"],
            "purpose_category": "data_check",
            "purpose": "低保资格核对",
            "channels": ["online_query"],
        },
    )
    grant = Grant.objects.get()
    stranger = make_user(unit=make_unit(), roles=[Role.DATA_OFFICER])
    client.force_login(stranger)
    assert client.get(f"/exchange/grants/{grant.pk}/").status_code == 404


def test_usage_page_draws_from_daily_counters_and_is_not_for_plain_users(
    client, provider, consumer, make_user, center
):
    from exchange.models import UsageDaily

    res = published_resource(provider=provider)
    UsageDaily.objects.create(
        day=timezone.localdate(),
        resource=res,
        consumer=consumer.unit,
        purpose_category="data_check",
        channel="online_query",
        calls=7,
        rows=9,
    )
    reviewer = make_user(unit=center, roles=[Role.CENTER_REVIEWER])
    client.force_login(reviewer)
    page = client.get("/exchange/usage/").content.decode()
    assert res.name in page and "echarts.min.js" in page
    client.force_login(consumer)
    assert client.get("/exchange/usage/").status_code == 403


def test_who_accessed_page_is_for_auditors_only(client, consumer, make_user, make_unit):
    auditor = make_user(unit=make_unit(kind="oversight"), roles=[Role.AUDITOR])
    client.force_login(auditor)
    resp = client.get("/exchange/record-access/?identifier=430102199001011234")
    assert resp.status_code == 200 and "没有单位取得过该记录" in resp.content.decode()
    client.force_login(consumer)
    assert client.get("/exchange/record-access/?identifier=430102199001011234").status_code == 403


def test_after_a_revocation_the_apply_page_of_an_unconditional_resource_is_a_request_for_review(
    client, provider, consumer, make_user, center
):
    from exchange import services

    res = published_resource(provider=provider)
    grant = services.grant_obtain_unconditional(
        resource=res, by=consumer, items=["sfzh"], purpose_category="data_check", purpose="低保资格核对",
        channels=["online_query"],
    )  # fmt: skip
    services.grant_revoke(
        grant=grant, by=make_user(unit=center, roles=[Role.CENTER_REVIEWER]), reason="超范围使用"
    )
    client.force_login(consumer)
    page = client.get(f"/exchange/apply/{res.code}/").content.decode()
    assert "授权已被撤销" in page and "提交申请" in page and 'name="basis"' in page
    resp = client.post(
        f"/exchange/apply/{res.code}/",
        {
            "items": ["sfzh"],
            "purpose_category": "data_check",
            "purpose": "低保资格复核",
            "basis": "《社会救助暂行办法》第十一条",
            "channels": ["online_query"],
        },
    )
    req = AccessRequest.objects.get()
    assert resp.status_code == 302 and resp["Location"] == f"/exchange/requests/{req.pk}/"
    assert Grant.objects.filter(resource=res).count() == 1  # the revoked one; nothing obtained


def test_the_api_refuses_to_obtain_again_after_a_revocation_409_and_keeps_nothing(
    api, provider, consumer, make_user, center
):
    from exchange import services

    res = published_resource(provider=provider)
    body = {"resource": res.code, "items": ["sfzh"], "purpose_category": "data_check", "purpose": "低保资格核对",
            "channels": ["online_query"]}  # fmt: skip
    api.force_authenticate(consumer)
    first = api.post("/api/v1/exchange/grants/obtain/", body, format="json")
    assert first.status_code == 201, first.json()
    services.grant_revoke(
        grant=Grant.objects.get(pk=first.json()["id"]),
        by=make_user(unit=center, roles=[Role.CENTER_REVIEWER]),
        reason="超范围使用",
    )
    again = api.post("/api/v1/exchange/grants/obtain/", body, format="json")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "exchange.revoked_needs_review"
    assert Grant.objects.filter(resource=res).count() == 1
