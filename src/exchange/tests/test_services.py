"""Grants and conditional access requests (S§28-31)."""

from __future__ import annotations

from datetime import date

import pytest
import time_machine

from accounts.roles import Role
from catalog.models import SharingType
from core.errors import Conflict, Invalid, NotFound, PermissionDenied
from core.models import AuditEvent
from exchange import selectors, services
from exchange.models import AccessRequestStatus, Grant, GrantStatus

from .factories import published_resource

pytestmark = pytest.mark.django_db


@pytest.fixture
def provider(make_unit):
    return make_unit(name="芙蓉公安分局")


@pytest.fixture
def consumer_unit(make_unit):
    return make_unit(name="芙蓉区民政局")


@pytest.fixture
def consumer(make_user, consumer_unit):
    return make_user(unit=consumer_unit, roles=[Role.UNIT_USER])


@pytest.fixture
def provider_officer(make_user, provider):
    return make_user(unit=provider, roles=[Role.DATA_OFFICER])


@pytest.fixture
def reviewer(make_user, center):
    return make_user(unit=center, roles=[Role.CENTER_REVIEWER])


def _obtain(resource, by, **kw):
    args = dict(
        resource=resource,
        by=by,
        items=["sfzh", "xm"],
        purpose_category="data_check",
        purpose="低保资格核对",
        channels=["online_query"],
    )
    args.update(kw)
    return services.grant_obtain_unconditional(**args)


def _submit(resource, by, **kw):
    args = dict(
        resource=resource,
        by=by,
        purpose_category="administrative_basis",
        purpose="社会救助家庭经济状况核对",
        basis="《社会救助暂行办法》第十一条",
        items=["sfzh", "xm", "jd"],
        channels=["online_query", "batch_download"],
        valid_from=date(2026, 12, 1),
        valid_to=date(2027, 11, 30),
    )
    args.update(kw)
    return services.access_request_submit(**args)


def test_unconditional_grant_is_issued_at_once_and_audited_s29(provider, consumer):
    res = published_resource(provider=provider)
    grant = _obtain(res, consumer)
    assert grant.status == GrantStatus.ACTIVE and grant.consumer == consumer.unit
    assert grant.items == ["sfzh", "xm"]
    ev = AuditEvent.objects.get(action="exchange.grant.obtain")
    assert ev.purpose == "低保资格核对" and ev.target_id == str(grant.pk)


def test_unconditional_grant_refused_for_conditional_resource(provider, consumer):
    res = published_resource(provider=provider, sharing_type=SharingType.CONDITIONAL)
    with pytest.raises(Conflict):
        _obtain(res, consumer)
    assert not Grant.objects.exists()


def test_not_shared_resource_cannot_be_requested_and_shows_legal_basis_s29(provider, consumer):
    res = published_resource(provider=provider, sharing_type=SharingType.NOT_SHARED)
    with pytest.raises(Conflict) as exc:
        _submit(res, consumer)
    assert "个人信息保护法" in exc.value.message
    with pytest.raises(Conflict):
        _obtain(res, consumer)
    assert not AuditEvent.objects.filter(action__startswith="exchange.").exists()


@pytest.mark.parametrize(
    "kw,field",
    [
        ({"items": []}, "items"),
        ({"items": ["nope"]}, "items"),
        ({"channels": ["carrier_pigeon"]}, "channels"),
        ({"purpose_category": "curiosity"}, "purpose"),
        ({"purpose": "看看"}, "purpose"),
    ],
)
def test_bad_request_input_is_refused_with_clear_error(provider, consumer, kw, field):
    res = published_resource(provider=provider)
    with pytest.raises(Invalid) as exc:
        _obtain(res, consumer, **kw)
    assert exc.value.message
    assert not Grant.objects.exists()


def test_center_staff_and_oversight_cannot_obtain_grants(provider, reviewer, make_user, make_unit):
    res = published_resource(provider=provider)
    with pytest.raises(PermissionDenied):
        _obtain(res, reviewer)
    sysadmin = make_user(unit=reviewer.unit, roles=[Role.SYS_ADMIN])
    with pytest.raises(PermissionDenied):
        _obtain(res, sysadmin)


def test_own_resource_needs_no_grant(provider, provider_officer):
    res = published_resource(provider=provider)
    with pytest.raises(Invalid):
        _obtain(res, provider_officer)


def test_conditional_request_full_flow_provider_opinion_then_center_approves_narrower(
    provider, consumer, provider_officer, reviewer
):
    res = published_resource(provider=provider, sharing_type=SharingType.CONDITIONAL)
    with time_machine.travel("2026-11-26 10:00 +0800", tick=False):
        req = _submit(res, consumer)
        assert req.status == AccessRequestStatus.PROVIDER_OPINION
        req = services.access_request_provider_opinion(
            access_request=req, by=provider_officer, agrees=True, opinion="同意，仅限户籍在本区人员"
        )
        assert req.status == AccessRequestStatus.CENTER_DECISION
        with pytest.raises(Invalid):  # narrower without reason
            services.access_request_decide(
                access_request=req, by=reviewer, approve=True, items=["sfzh", "xm"]
            )
        with pytest.raises(Invalid):  # wider than asked
            services.access_request_decide(
                access_request=req, by=reviewer, approve=True, items=["sfzh", "lxdh"], reason="需要电话"
            )
        req = services.access_request_decide(
            access_request=req,
            by=reviewer,
            approve=True,
            items=["sfzh", "xm"],
            reason="所属街道非必要",
            row_filter={"xm": ["张三"]},
        )
    grant = Grant.objects.get(request=req)
    assert req.status == AccessRequestStatus.APPROVED
    assert grant.items == ["sfzh", "xm"] and grant.row_filter == {"xm": ["张三"]}
    assert grant.valid_to == date(2027, 11, 30)
    with pytest.raises(Conflict):  # decided once only
        services.access_request_decide(access_request=req, by=reviewer, approve=False, reason="重复")


def test_only_the_provider_unit_gives_the_opinion_and_only_the_center_decides(
    provider, consumer, provider_officer, reviewer, make_user, make_unit
):
    res = published_resource(provider=provider, sharing_type=SharingType.CONDITIONAL)
    req = _submit(res, consumer)
    other_officer = make_user(unit=make_unit(), roles=[Role.DATA_OFFICER])
    for who in (consumer, other_officer, reviewer):
        with pytest.raises(PermissionDenied):
            services.access_request_provider_opinion(access_request=req, by=who, agrees=True, opinion="ok")
    for who in (consumer, provider_officer):
        with pytest.raises(PermissionDenied):
            services.access_request_decide(access_request=req, by=who, approve=True)
    req.refresh_from_db()
    assert req.status == AccessRequestStatus.PROVIDER_OPINION


def test_refusal_needs_reasons_and_creates_no_grant(provider, consumer, reviewer):
    res = published_resource(provider=provider, sharing_type=SharingType.CONDITIONAL)
    req = _submit(res, consumer)
    with pytest.raises(Invalid):
        services.access_request_decide(access_request=req, by=reviewer, approve=False)
    req = services.access_request_decide(
        access_request=req, by=reviewer, approve=False, reason="用途与职责无关"
    )
    assert req.status == AccessRequestStatus.REFUSED and not Grant.objects.exists()


def test_suspend_resume_revoke_with_reason_and_immediate_effect(provider, consumer, reviewer):
    res = published_resource(provider=provider)
    grant = _obtain(res, consumer)
    with pytest.raises(PermissionDenied):
        services.grant_suspend(grant=grant, by=consumer, reason="自己暂停")
    with pytest.raises(Invalid):
        services.grant_suspend(grant=grant, by=reviewer, reason="")
    grant = services.grant_suspend(grant=grant, by=reviewer, reason="疑似超范围使用")
    with pytest.raises(PermissionDenied):
        selectors.access_check(user=consumer, resource=res, channel="online_query", purpose="data_check")
    grant = services.grant_resume(grant=grant, by=reviewer, reason="核查无误")
    assert selectors.access_check(user=consumer, resource=res, channel="online_query", purpose="data_check")
    grant = services.grant_revoke(grant=grant, by=reviewer, reason="职责调整")
    with pytest.raises(Conflict):
        services.grant_resume(grant=grant, by=reviewer, reason="恢复")
    with pytest.raises(PermissionDenied):
        selectors.access_check(user=consumer, resource=res, channel="online_query", purpose="data_check")


def test_narrow_never_widens(provider, consumer, reviewer):
    res = published_resource(provider=provider)
    grant = _obtain(res, consumer)
    with pytest.raises(Invalid):
        services.grant_narrow(grant=grant, by=reviewer, reason="扩大", items=["sfzh", "xm", "jd"])
    grant = services.grant_narrow(grant=grant, by=reviewer, reason="最小必要", items=["sfzh"])
    assert grant.items == ["sfzh"]


def test_expiry_sweep_expires_and_gives_notice_once(provider, consumer):
    res = published_resource(provider=provider)
    with time_machine.travel("2026-01-05 09:00 +0800", tick=False):
        old = _obtain(res, consumer, valid_to=date(2026, 1, 31))
        soon = _obtain(res, consumer, valid_to=date(2026, 2, 10))
    result = services.grant_expiry_sweep(today=date(2026, 2, 1))
    assert result == {"expired": 1, "noticed": 1}
    assert services.grant_expiry_sweep(today=date(2026, 2, 1)) == {"expired": 0, "noticed": 0}
    old.refresh_from_db()
    soon.refresh_from_db()
    assert old.status == GrantStatus.EXPIRED and soon.status == GrantStatus.ACTIVE


def test_access_check_requires_matching_purpose_channel_and_unit(provider, consumer, make_user, make_unit):
    res = published_resource(provider=provider)
    _obtain(res, consumer)
    ctx = selectors.access_check(user=consumer, resource=res, channel="online_query", purpose="data_check")
    assert [i.code for i in ctx.items] == ["sfzh", "xm"]
    assert set(ctx.maskers) == {"sfzh", "xm"}
    with pytest.raises(PermissionDenied):  # wrong purpose
        selectors.access_check(user=consumer, resource=res, channel="online_query", purpose="work_reference")
    with pytest.raises(PermissionDenied):  # no purpose
        selectors.access_check(user=consumer, resource=res, channel="online_query", purpose="")
    with pytest.raises(PermissionDenied):  # channel not granted
        selectors.access_check(user=consumer, resource=res, channel="batch_download", purpose="data_check")
    stranger = make_user(unit=make_unit(), roles=[Role.UNIT_USER])
    with pytest.raises(PermissionDenied):  # another unit's grant does not count
        selectors.access_check(user=stranger, resource=res, channel="online_query", purpose="data_check")


def test_unpublished_or_unknown_code_is_404(provider):
    with pytest.raises(NotFound):
        selectors.published_resource_by_code("nope")


def test_grant_lists_are_scoped(provider, consumer, provider_officer, reviewer, make_user, make_unit):
    res = published_resource(provider=provider)
    grant = _obtain(res, consumer)
    stranger = make_user(unit=make_unit(), roles=[Role.DATA_OFFICER])
    assert list(selectors.grant_list(user=consumer)) == [grant]
    assert list(selectors.grant_list(user=provider_officer)) == [grant]
    assert list(selectors.grant_list(user=reviewer)) == [grant]
    assert list(selectors.grant_list(user=stranger)) == []
    with pytest.raises(NotFound):
        selectors.grant_get(user=stranger, pk=grant.pk)


def test_provider_may_suspend_but_only_the_center_lifts_a_suspension(
    provider, consumer, provider_officer, reviewer
):
    res = published_resource(provider=provider)
    grant = _obtain(res, consumer)
    grant = services.grant_suspend(grant=grant, by=provider_officer, reason="疑似超范围使用")
    with pytest.raises(PermissionDenied):
        services.grant_resume(grant=grant, by=provider_officer, reason="自行恢复")
    grant = services.grant_resume(grant=grant, by=reviewer, reason="核查无误")
    assert grant.status == GrantStatus.ACTIVE


def test_catalog_learns_the_consumers_of_a_resource_from_live_grants_s25(
    provider, consumer, make_user, make_unit
):
    from catalog.services import resource_consumers

    res = published_resource(provider=provider)
    officer = make_user(unit=consumer.unit, roles=[Role.DATA_OFFICER])
    make_user(unit=make_unit(), roles=[Role.DATA_OFFICER])  # no grant: not told
    assert resource_consumers(res) == []
    grant = _obtain(res, consumer)
    assert resource_consumers(res) == [officer]
    grant.status = GrantStatus.REVOKED
    grant.save()
    assert resource_consumers(res) == []


def test_usage_is_scoped_providers_see_only_their_own_resources_s38(
    provider, consumer, provider_officer, reviewer, make_unit
):
    from django.utils import timezone

    from exchange.models import UsageDaily

    mine = published_resource(provider=provider)
    other = published_resource(provider=make_unit())
    for res in (mine, other):
        UsageDaily.objects.create(
            day=timezone.localdate(), resource=res, consumer=consumer.unit, purpose_category="data_check",
            channel="online_query", calls=3, rows=3,
        )  # fmt: skip
    assert {u.resource for u in selectors.usage_daily(user=provider_officer)} == {mine}
    assert {u.resource for u in selectors.usage_daily(user=reviewer)} == {mine, other}
    with pytest.raises(PermissionDenied):
        selectors.usage_daily(user=provider_officer, resource=other)
    with pytest.raises(PermissionDenied):
        selectors.usage_daily(user=consumer)


def test_record_access_lookup_is_for_auditors_checks_input_and_is_audited_s35(consumer, make_user, make_unit):
    auditor = make_user(unit=make_unit(kind="oversight"), roles=[Role.AUDITOR])
    with pytest.raises(PermissionDenied):
        services.record_access_lookup(user=consumer, identifier="430102199001011234")
    with pytest.raises(Invalid):
        services.record_access_lookup(user=auditor, identifier="4" * 65)
    with pytest.raises(Invalid):
        services.record_access_lookup(user=auditor, identifier="   ")
    assert not AuditEvent.objects.filter(action="exchange.who_accessed").exists()
    assert services.record_access_lookup(user=auditor, identifier="430102199001011234") == []
    assert AuditEvent.objects.filter(action="exchange.who_accessed", actor=auditor).count() == 1


def test_a_revoked_unconditional_grant_is_not_obtained_again_at_once_but_through_review(
    provider, consumer, reviewer, make_unit, make_user
):
    """A revocation (the center's or the provider's act) would be undone if the unit could obtain
    the unconditional resource again at once: after it, the unit applies and the request is
    reviewed (provider opinion, center decision). Other units, and an expired grant, are not
    affected."""
    from exchange.errors import ExchangeError

    res = published_resource(provider=provider)  # unconditional
    grant = _obtain(res, consumer)
    with pytest.raises(Conflict) as refused:
        _submit(res, consumer)  # no request for an unconditional resource while nothing was revoked
    assert refused.value.code == ExchangeError.WRONG_SHARING_TYPE.value

    services.grant_revoke(grant=grant, by=reviewer, reason="超范围使用")
    with pytest.raises(Conflict) as refused:
        _obtain(res, consumer)
    assert refused.value.code == ExchangeError.REVOKED_NEEDS_REVIEW.value
    assert "提交共享申请" in refused.value.message
    assert Grant.objects.filter(resource=res, consumer=consumer.unit).count() == 1  # nothing new
    assert selectors.access_needs_review(resource=res, unit_id=consumer.unit_id)

    req = _submit(res, consumer)
    assert req.status == AccessRequestStatus.PROVIDER_OPINION

    other = make_user(unit=make_unit(name="芙蓉区人社局"), roles=[Role.UNIT_USER])
    assert _obtain(res, other).status == GrantStatus.ACTIVE

    # a grant that ran out (not revoked) is obtained again directly
    third = make_user(unit=make_unit(name="芙蓉区卫健局"), roles=[Role.UNIT_USER])
    Grant.objects.filter(pk=_obtain(res, third).pk).update(status=GrantStatus.EXPIRED)
    assert _obtain(res, third).status == GrantStatus.ACTIVE


def test_after_a_revocation_only_the_units_consumers_may_apply_and_nobody_obtains_it_directly(
    provider, consumer, reviewer, provider_officer, make_user
):
    """The review path opened by a revocation keeps every refusal of the request path: a user
    without a consumer role, and the provider itself, are refused; a colleague of the revoked
    unit cannot obtain the resource directly either (the revocation is the unit's)."""
    from exchange.errors import ExchangeError

    res = published_resource(provider=provider)
    services.grant_revoke(grant=_obtain(res, consumer), by=reviewer, reason="超范围使用")

    auditor = make_user(unit=consumer.unit, roles=[Role.AUDITOR])
    with pytest.raises(PermissionDenied):
        _submit(res, auditor)
    with pytest.raises(Invalid) as own:
        _submit(res, provider_officer)
    assert own.value.code == ExchangeError.OWN_RESOURCE.value
    colleague = make_user(unit=consumer.unit, roles=[Role.DATA_OFFICER])
    with pytest.raises(Conflict) as refused:
        _obtain(res, colleague)
    assert refused.value.code == ExchangeError.REVOKED_NEEDS_REVIEW.value


def test_a_request_after_revocation_approved_by_review_gives_a_live_grant_again(
    provider, consumer, reviewer, provider_officer
):
    res = published_resource(provider=provider)
    services.grant_revoke(grant=_obtain(res, consumer), by=reviewer, reason="超范围使用")
    req = _submit(res, consumer)
    req = services.access_request_provider_opinion(
        access_request=req, by=provider_officer, agrees=True, opinion="同意，限核对用途"
    )
    req = services.access_request_decide(access_request=req, by=reviewer, approve=True)
    assert req.status == AccessRequestStatus.APPROVED
    live = Grant.objects.filter(resource=res, consumer=consumer.unit, status=GrantStatus.ACTIVE)
    assert live.count() == 1
    assert not selectors.access_needs_review(resource=res, unit_id=consumer.unit_id)
