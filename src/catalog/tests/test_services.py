"""Catalog workflow through the services (S§14, S§15, S§16, S§20, S§21, S§28-30, S§37)."""

from __future__ import annotations

import threading
from unittest import mock

import pytest
from django.db import connection

from catalog import services
from catalog.errors import CatalogError
from catalog.models import (
    AuthoritativeConcept,
    ChangeStatus,
    DataItem,
    Resource,
    ResourceStatus,
    ResourceVersion,
    SingleSourceClaim,
)
from core.errors import Conflict, Invalid, PermissionDenied
from core.models import AuditEvent
from core.rules import Rule

from .factories import business_items, person_items, publish, register, resource_fields

pytestmark = pytest.mark.django_db


def _actions():
    return list(AuditEvent.objects.order_by("id").values_list("action", flat=True))


# --- registration and validation ------------------------------------------------------------


def test_data_officer_registers_draft_with_items_and_audit_s15(officer_a):
    resource = register(officer_a)
    assert resource.status == ResourceStatus.DRAFT
    assert resource.code is None
    assert [i.code for i in resource.items.all()] == ["sfzh", "xm", "hjdz"]
    assert _actions() == ["catalog.resource.create"]


@pytest.mark.parametrize("code", ["Sfzh", "1abc", "身份证", "a-b", "a" * 41, ""])
def test_item_code_must_be_a_plain_identifier(officer_a, code):
    items = person_items()
    items[1]["code"] = code
    with pytest.raises(Invalid) as exc:
        register(officer_a, items=items)
    assert exc.value.code in (CatalogError.ITEM_CODE_INVALID.value, CatalogError.INVALID.value)
    assert exc.value.details["errors"][0]["item"] == 1
    assert not Resource.objects.exists() and not AuditEvent.objects.exists()


@pytest.mark.parametrize("code", ["select", "order", "user", "gh_row", "ds_x", "pg_x"])
def test_item_code_may_not_be_sql_reserved_or_system_prefix(officer_a, code):
    items = person_items()
    items[2]["code"] = code
    with pytest.raises(Invalid) as exc:
        register(officer_a, items=items)
    assert exc.value.code == CatalogError.ITEM_CODE_RESERVED.value
    assert not Resource.objects.exists()


def test_duplicate_item_codes_refused(officer_a):
    items = person_items()
    items[2]["code"] = "xm"
    with pytest.raises(Invalid) as exc:
        register(officer_a, items=items)
    assert exc.value.code == CatalogError.ITEM_CODE_DUPLICATE.value


@pytest.mark.parametrize(
    ("classification", "kind"),
    [("11", "身份证号"), ("12", "统一社会信用代码"), ("16", "不动产单元号"), ("15", "城市部件代码")],
)
def test_base_table_must_declare_its_identifier_item_s21(officer_a, classification, kind):
    with pytest.raises(Invalid) as exc:
        register(officer_a, items=business_items(), classification=classification)
    assert exc.value.code == CatalogError.IDENTIFIER_REQUIRED.value
    assert kind in exc.value.message
    assert not Resource.objects.exists()


def test_business_table_needs_no_identifier_s21(officer_a):
    assert register(officer_a, items=business_items(), classification="31").pk


def test_not_shared_without_legal_basis_refused_s14(officer_a):
    for basis in ("", "   ", "我们不想共享"):
        with pytest.raises(Invalid) as exc:
            register(officer_a, sharing_type="not_shared", not_shared_basis=basis)
        assert exc.value.code == CatalogError.NOT_SHARED_BASIS_REQUIRED.value
    assert not Resource.objects.exists()


def test_conditional_needs_conditions_s28(officer_a):
    with pytest.raises(Invalid) as exc:
        register(officer_a, sharing_type="conditional", sharing_conditions="")
    assert exc.value.code == CatalogError.CONDITIONS_REQUIRED.value


def test_classified_resource_can_never_be_registered_s37(officer_a):
    with pytest.raises(Invalid) as exc:
        register(officer_a, is_classified=True)
    assert exc.value.code == CatalogError.CLASSIFIED.value
    assert not Resource.objects.exists()


def test_bad_choice_values_are_clear_errors(officer_a):
    with pytest.raises(Invalid):
        register(officer_a, classification="99")
    with pytest.raises(Invalid):
        register(officer_a, channels=["carrier_pigeon"])


def test_only_own_units_data_officer_registers(officer_a, user_a, reviewer, unit_b):
    for who in (user_a, reviewer):
        with pytest.raises(PermissionDenied):
            register(who)
    with pytest.raises(PermissionDenied):
        services.resource_create(
            by=officer_a, fields=resource_fields(), items=person_items(), provider=unit_b
        )
    assert not Resource.objects.exists()


def test_other_unit_officer_cannot_edit_draft(officer_a, officer_b):
    resource = register(officer_a)
    with pytest.raises(PermissionDenied):
        services.resource_update(resource=resource, by=officer_b, fields={"name": "改"})
    resource.refresh_from_db()
    assert resource.name == "常住人口基本信息"


# --- workflow -------------------------------------------------------------------------------


def test_full_workflow_publishes_with_code_version_and_review_clock_s15(officer_a, reviewer, unit_a):
    resource = register(officer_a)
    with mock.patch("catalog.services.deadlines") as clocks:
        services.resource_submit(resource=resource, by=officer_a)
        services.resource_secrecy_confirm(resource=resource, by=officer_a, no_state_secrets=True)
        clocks.start.assert_called_once()
        assert clocks.start.call_args.kwargs["rule"] == Rule.CATALOG_REVIEW
        resource = services.resource_approve(resource=resource, by=reviewer)
        clocks.meet.assert_called_once()
    assert resource.status == ResourceStatus.PUBLISHED
    assert resource.code == f"11{unit_a.code}00001"
    assert resource.version == 1
    assert resource.first_published_at is not None
    v = resource.versions.get()
    assert v.number == 1 and v.status == ChangeStatus.PUBLISHED
    assert v.snapshot["name"] == "常住人口基本信息" and len(v.snapshot["items"]) == 3
    assert _actions() == [
        "catalog.resource.create",
        "catalog.resource.submit",
        "catalog.resource.secrecy_confirm",
        "catalog.resource.publish",
    ]


def test_resource_codes_are_sequential_per_classification_and_unit(officer_a, reviewer, unit_a):
    codes = [publish(officer_a, reviewer, name=f"资源{i}").code for i in range(3)]
    biz = publish(officer_a, reviewer, items=business_items(), classification="31").code
    assert codes == [f"11{unit_a.code}{n:05d}" for n in (1, 2, 3)]
    assert biz == f"31{unit_a.code}00001"


def test_code_assignment_skips_codes_already_taken(officer_a, reviewer, unit_a):
    other = register(officer_a, name="旧资源")
    Resource.objects.filter(pk=other.pk).update(code=f"11{unit_a.code}00001")
    assert publish(officer_a, reviewer).code == f"11{unit_a.code}00002"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need a real server")
@pytest.mark.django_db(transaction=True)
def test_concurrent_publications_get_distinct_codes(officer_a, reviewer):
    resources = []
    for i in range(4):
        r = register(officer_a, name=f"并发{i}")
        services.resource_submit(resource=r, by=officer_a)
        services.resource_secrecy_confirm(resource=r, by=officer_a, no_state_secrets=True)
        resources.append(r)
    errors = []

    def approve(r):
        from django.db import connection as conn

        try:
            services.resource_approve(resource=r, by=reviewer)
        except Exception as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)
        finally:
            conn.close()

    threads = [threading.Thread(target=approve, args=(r,)) for r in resources]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    codes = list(Resource.objects.values_list("code", flat=True))
    assert len(set(codes)) == 4


def test_secrecy_review_must_confirm_no_state_secrets_s37(officer_a):
    resource = register(officer_a)
    services.resource_submit(resource=resource, by=officer_a)
    with pytest.raises(Invalid) as exc:
        services.resource_secrecy_confirm(resource=resource, by=officer_a, no_state_secrets=False)
    assert exc.value.code == CatalogError.SECRECY_NOT_CONFIRMED.value
    resource.refresh_from_db()
    assert resource.status == ResourceStatus.SECRECY_REVIEW


def test_secrecy_review_is_the_providers_own(officer_a, officer_b, reviewer):
    resource = register(officer_a)
    services.resource_submit(resource=resource, by=officer_a)
    for who in (officer_b, reviewer):
        with pytest.raises(PermissionDenied):
            services.resource_secrecy_confirm(resource=resource, by=who, no_state_secrets=True)


def test_classified_flag_set_behind_the_services_back_is_refused_at_review_s37(officer_a, reviewer):
    resource = register(officer_a)
    services.resource_submit(resource=resource, by=officer_a)
    Resource.objects.filter(pk=resource.pk).update(is_classified=True)
    with pytest.raises(Invalid) as exc:
        services.resource_secrecy_confirm(resource=resource, by=officer_a, no_state_secrets=True)
    assert exc.value.code == CatalogError.CLASSIFIED.value


def test_only_center_staff_approve(officer_a, officer_b, center_nobody):
    resource = register(officer_a)
    services.resource_submit(resource=resource, by=officer_a)
    services.resource_secrecy_confirm(resource=resource, by=officer_a, no_state_secrets=True)
    for who in (officer_a, officer_b, center_nobody):
        with pytest.raises(PermissionDenied):
            services.resource_approve(resource=resource, by=who)
    resource.refresh_from_db()
    assert resource.status == ResourceStatus.SUBMITTED and resource.code is None


def test_illegal_transitions_conflict(officer_a, reviewer):
    resource = register(officer_a)
    with pytest.raises(Conflict):
        services.resource_approve(resource=resource, by=reviewer)
    with pytest.raises(Conflict):
        services.resource_secrecy_confirm(resource=resource, by=officer_a, no_state_secrets=True)
    with pytest.raises(Conflict):
        services.resource_withdraw(resource=resource, by=officer_a, reason="x")
    assert _actions() == ["catalog.resource.create"]


def test_center_returns_with_reasons_then_resubmission(officer_a, reviewer):
    resource = register(officer_a)
    services.resource_submit(resource=resource, by=officer_a)
    services.resource_secrecy_confirm(resource=resource, by=officer_a, no_state_secrets=True)
    with pytest.raises(Invalid) as exc:
        services.resource_return(resource=resource, by=reviewer, reason=" ")
    assert exc.value.code == CatalogError.REASON_REQUIRED.value
    resource = services.resource_return(resource=resource, by=reviewer, reason="信息项说明不完整")
    assert resource.status == ResourceStatus.RETURNED and resource.return_reason == "信息项说明不完整"
    services.resource_update(resource=resource, by=officer_a, fields={"summary": "补充说明"})
    resource = services.resource_submit(resource=resource, by=officer_a)
    assert resource.status == ResourceStatus.SECRECY_REVIEW and resource.return_reason == ""


def test_not_shared_needs_centers_explicit_legal_basis_confirmation_s14(officer_a, reviewer):
    resource = register(
        officer_a, sharing_type="not_shared", not_shared_basis="《中华人民共和国居民身份证法》第十三条"
    )
    services.resource_submit(resource=resource, by=officer_a)
    services.resource_secrecy_confirm(resource=resource, by=officer_a, no_state_secrets=True)
    with pytest.raises(Invalid) as exc:
        services.resource_approve(resource=resource, by=reviewer)
    assert exc.value.code == CatalogError.LEGAL_BASIS_NOT_CONFIRMED.value
    resource.refresh_from_db()
    assert resource.status == ResourceStatus.SUBMITTED
    resource = services.resource_approve(resource=resource, by=reviewer, confirm_legal_basis=True)
    assert resource.status == ResourceStatus.PUBLISHED
    assert resource.basis_confirmed_by == reviewer and resource.basis_confirmed_at


def test_withdrawal_needs_a_reason(officer_a, reviewer):
    resource = publish(officer_a, reviewer)
    with pytest.raises(Invalid):
        services.resource_withdraw(resource=resource, by=officer_a, reason="")
    resource = services.resource_withdraw(resource=resource, by=officer_a, reason="系统停用")
    assert resource.status == ResourceStatus.WITHDRAWN and resource.withdrawn_reason == "系统停用"


def test_published_resource_cannot_be_edited_directly(officer_a, reviewer):
    resource = publish(officer_a, reviewer)
    with pytest.raises(Conflict):
        services.resource_update(resource=resource, by=officer_a, fields={"name": "新名称"})


# --- versions -------------------------------------------------------------------------------


def _through_review(change, officer, reviewer, **approve):
    services.resource_change_submit(change=change, by=officer)
    services.resource_change_secrecy_confirm(change=change, by=officer, no_state_secrets=True)
    return services.resource_change_approve(change=change, by=reviewer, **approve)


def test_change_to_published_resource_is_a_new_version_with_diff_s16(officer_a, reviewer):
    resource = publish(officer_a, reviewer)
    item_ids = set(resource.items.values_list("pk", flat=True))
    items = person_items()[:2] + [{"code": "csrq", "name": "出生日期", "data_type": "date"}]
    change = services.resource_change_propose(
        resource=resource,
        by=officer_a,
        fields={"update_cycle": "realtime"},
        items=items,
        reason="新增出生日期",
    )
    resource.refresh_from_db()
    assert resource.update_cycle == "daily"  # the published entry stays until approved
    with (
        mock.patch("catalog.services.resource_consumers", return_value=["consumer"]),
        mock.patch("catalog.services.notify") as notify,
    ):
        version = _through_review(change, officer_a, reviewer)
    assert version.number == 2 and version.status == ChangeStatus.PUBLISHED
    assert version.diff["fields"] == {"update_cycle": ["daily", "realtime"]}
    assert version.diff["items"] == {"added": ["csrq"], "removed": ["hjdz"], "changed": []}
    resource.refresh_from_db()
    assert resource.version == 2 and resource.update_cycle == "realtime"
    assert sorted(resource.items.values_list("code", flat=True)) == ["csrq", "sfzh", "xm"]
    # unchanged items keep their rows (the datastore refers to them)
    assert item_ids & set(resource.items.values_list("pk", flat=True)) == set(
        DataItem.objects.filter(resource=resource, code__in=["sfzh", "xm"]).values_list("pk", flat=True)
    )
    events = [c.kwargs["event"] for c in notify.call_args_list]
    assert "catalog.resource.items_changed" in events
    consumer_call = next(
        c for c in notify.call_args_list if c.kwargs["event"] == "catalog.resource.items_changed"
    )
    assert consumer_call.kwargs["users"] == ["consumer"]


def test_change_without_item_changes_does_not_notify_consumers(officer_a, reviewer):
    resource = publish(officer_a, reviewer)
    change = services.resource_change_propose(resource=resource, by=officer_a, fields={"summary": "新摘要"})
    with mock.patch("catalog.services.notify") as notify:
        _through_review(change, officer_a, reviewer)
    assert "catalog.resource.items_changed" not in [c.kwargs["event"] for c in notify.call_args_list]


def test_only_one_open_change_at_a_time(officer_a, reviewer):
    resource = publish(officer_a, reviewer)
    change = services.resource_change_propose(resource=resource, by=officer_a, fields={"summary": "一"})
    again = services.resource_change_propose(resource=resource, by=officer_a, fields={"keywords": "二"})
    assert again.pk == change.pk and again.snapshot["summary"] == "一" and again.snapshot["keywords"] == "二"
    services.resource_change_submit(change=change, by=officer_a)
    with pytest.raises(Conflict) as exc:
        services.resource_change_propose(resource=resource, by=officer_a, fields={"summary": "三"})
    assert exc.value.code == CatalogError.CHANGE_OPEN.value


def test_returned_change_leaves_published_entry_untouched(officer_a, reviewer):
    resource = publish(officer_a, reviewer)
    change = services.resource_change_propose(resource=resource, by=officer_a, fields={"name": "改名"})
    services.resource_change_submit(change=change, by=officer_a)
    services.resource_change_secrecy_confirm(change=change, by=officer_a, no_state_secrets=True)
    change = services.resource_change_return(change=change, by=reviewer, reason="名称不规范")
    assert change.status == ChangeStatus.RETURNED
    resource.refresh_from_db()
    assert resource.name == "常住人口基本信息" and resource.version == 1


def test_not_shared_to_shared_through_the_same_review_s30(officer_a, reviewer):
    resource = publish(
        officer_a, reviewer, sharing_type="not_shared", not_shared_basis="依据《某某条例》第五条"
    )
    change = services.resource_change_propose(
        resource=resource,
        by=officer_a,
        fields={"sharing_type": "unconditional", "not_shared_basis": ""},
        reason="法规修订，改为无条件共享",
    )
    version = _through_review(change, officer_a, reviewer)
    resource.refresh_from_db()
    assert resource.sharing_type == "unconditional" and version.number == 2
    assert resource.basis_confirmed_at is None


def test_change_to_not_shared_needs_legal_basis_confirmation_s14(officer_a, reviewer):
    resource = publish(officer_a, reviewer)
    change = services.resource_change_propose(
        resource=resource,
        by=officer_a,
        fields={"sharing_type": "not_shared", "not_shared_basis": "《保守国家秘密法》"},
    )
    services.resource_change_submit(change=change, by=officer_a)
    services.resource_change_secrecy_confirm(change=change, by=officer_a, no_state_secrets=True)
    with pytest.raises(Invalid):
        services.resource_change_approve(change=change, by=reviewer)
    version = services.resource_change_approve(change=change, by=reviewer, confirm_legal_basis=True)
    assert version.status == ChangeStatus.PUBLISHED


def test_change_validated_like_a_new_resource(officer_a, reviewer):
    resource = publish(officer_a, reviewer)
    with pytest.raises(Invalid) as exc:
        services.resource_change_propose(resource=resource, by=officer_a, fields={}, items=business_items())
    assert exc.value.code == CatalogError.IDENTIFIER_REQUIRED.value
    assert not ResourceVersion.objects.exclude(status=ChangeStatus.PUBLISHED).exists()


# --- single source (S§20, S§26) -------------------------------------------------------------


@pytest.fixture
def population_concept(reviewer, unit_a):
    return services.concept_create(
        by=reviewer, name="人口.身份证号+姓名", unit=unit_a, identifier_kind="id_card", item_names=["姓名"]
    )


def test_only_center_designates_authoritative_sources_s20(officer_a, unit_a):
    with pytest.raises(PermissionDenied):
        services.concept_create(by=officer_a, name="x", unit=unit_a, identifier_kind="id_card")
    assert not AuthoritativeConcept.objects.exists()


def test_duplicating_another_units_concept_requires_justification_s20(officer_b, population_concept):
    resource = register(officer_b, name="个体户经营者信息")
    with pytest.raises(Invalid) as exc:
        services.resource_submit(resource=resource, by=officer_b)
    assert exc.value.code == CatalogError.SINGLE_SOURCE_JUSTIFICATION_REQUIRED.value
    assert exc.value.details["concepts"][0]["name"] == "人口.身份证号+姓名"
    resource.refresh_from_db()
    assert resource.status == ResourceStatus.DRAFT and not SingleSourceClaim.objects.exists()


def test_center_decides_the_justification_before_publication_s26(officer_b, reviewer, population_concept):
    resource = register(officer_b, name="个体户经营者信息")
    services.resource_submit(resource=resource, by=officer_b, justification="登记业务需现场核验经营者身份")
    services.resource_secrecy_confirm(resource=resource, by=officer_b, no_state_secrets=True)
    with pytest.raises(Conflict) as exc:
        services.resource_approve(resource=resource, by=reviewer)
    assert exc.value.code == CatalogError.SINGLE_SOURCE_UNDECIDED.value
    claim = SingleSourceClaim.objects.get()
    with pytest.raises(PermissionDenied):
        services.single_source_claim_decide(claim=claim, by=officer_b, accept=True)
    services.single_source_claim_decide(claim=claim, by=reviewer, accept=True, note="同意")
    resource = services.resource_approve(resource=resource, by=reviewer)
    assert resource.status == ResourceStatus.PUBLISHED
    assert "catalog.single_source_claim.decide" in _actions()


def test_rejected_justification_blocks_publication_s26(officer_b, reviewer, population_concept):
    resource = register(officer_b, name="个体户经营者信息")
    services.resource_submit(resource=resource, by=officer_b, justification="方便")
    services.resource_secrecy_confirm(resource=resource, by=officer_b, no_state_secrets=True)
    claim = SingleSourceClaim.objects.get()
    with pytest.raises(Invalid):
        services.single_source_claim_decide(claim=claim, by=reviewer, accept=False, note="")
    services.single_source_claim_decide(claim=claim, by=reviewer, accept=False, note="请使用公安分局的人口库")
    with pytest.raises(Conflict) as exc:
        services.resource_approve(resource=resource, by=reviewer)
    assert exc.value.code == CatalogError.SINGLE_SOURCE_REJECTED.value


def test_authoritative_unit_itself_needs_no_justification(officer_a, population_concept):
    resource = register(officer_a)
    assert services.resource_submit(resource=resource, by=officer_a).status == ResourceStatus.SECRECY_REVIEW


def test_consumers_registered_by_other_apps_hear_of_item_changes_s25(officer_a, reviewer, user_b):
    resource = publish(officer_a, reviewer)

    def grant_holders(r):
        return [user_b] if r.pk == resource.pk else []

    services.register_consumer_provider(grant_holders)
    try:
        assert services.resource_consumers(resource) == [user_b]
        change = services.resource_change_propose(
            resource=resource, by=officer_a, fields={}, items=person_items()[:2]
        )
        with mock.patch("catalog.services.notify") as notify:
            _through_review(change, officer_a, reviewer)
        call = next(c for c in notify.call_args_list if c.kwargs["event"] == "catalog.resource.items_changed")
        assert call.kwargs["users"] == [user_b]
    finally:
        services._consumer_providers.remove(grant_holders)
    assert services.resource_consumers(resource) == []
