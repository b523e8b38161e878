"""The cloud API with the real permission stack: the journey, object-level scoping, error shapes."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from accounts.roles import Role
from accounts.tests.factories import UnitFactory, UserFactory
from cloud.models import ApplicationStatus, CloudApplication, CloudAttachment
from cloud.tests.factories import minimal_pdf, owner, reviewer, standard_catalog

BASE = "/api/v1/cloud"


@pytest.fixture
def catalog(db):
    return standard_catalog()


def client_for(api, user):
    api.force_login(user)
    return api


def _apply(api, user, catalog, **quantities):
    client_for(api, user)
    system = api.post(f"{BASE}/systems/", {"name": "网格化管理系统", "protection_level": 3}, format="json")
    assert system.status_code == 201, system.content
    resp = api.post(
        f"{BASE}/applications/",
        {
            "system": system.json()["id"],
            "construction_plan": "建设方案",
            "self_test_report": "自测报告",
            "lines": [
                {"product": catalog[k].pk, "quantity": q} for k, q in (quantities or {"host": 2}).items()
            ],
        },
        format="json",
    )
    assert resp.status_code == 201, resp.content
    return resp.json()


@pytest.mark.django_db
def test_journey_through_the_api_apply_to_reclaim_c9_c15(api, catalog):
    unit_user, center_user = owner(), reviewer()
    app = _apply(api, unit_user, catalog, host=2, disk=1)
    pk = app["id"]
    assert app["status"] == "submitted" and app["due_at"] and app["waiting_on"] == "center"
    pdf = SimpleUploadedFile("方案.pdf", minimal_pdf(), content_type="application/pdf")
    assert (
        api.post(
            f"{BASE}/applications/{pk}/attachments/",
            {"file": pdf, "kind": "construction_plan"},
            format="multipart",
        ).status_code
        == 201
    )

    client_for(api, center_user)
    queue = api.get(f"{BASE}/queue/").json()["results"]
    assert [a["id"] for a in queue] == [pk]
    assert api.post(f"{BASE}/applications/{pk}/accept/", {}, format="json").json()["status"] == "accepted"
    line = api.get(f"{BASE}/applications/{pk}/").json()["lines"][0]
    body = api.post(
        f"{BASE}/applications/{pk}/approve/",
        {"approved": {str(line["id"]): 1}, "reasons": "1 台足够"},
        format="json",
    ).json()
    assert body["status"] == "testing"
    assert len(body["resources"]) == 2  # 1 host + 1 disk as provisioned
    body = api.post(
        f"{BASE}/applications/{pk}/test/",
        {"passed": True, "performance": "合格", "security": "合格"},
        format="json",
    ).json()
    assert body["status"] == "trial" and body["trial_earliest_end"]
    early = api.post(
        f"{BASE}/applications/{pk}/agreement/",
        {"file": SimpleUploadedFile("协议.pdf", minimal_pdf())},
        format="multipart",
    )
    assert early.status_code == 409 and early.json()["error"]["code"] == "cloud.trial_too_short"
    docx = api.get(f"{BASE}/applications/{pk}/agreement/")
    assert docx.status_code == 200 and docx.content.startswith(b"PK")
    CloudApplication.objects.filter(pk=pk).update(trial_started_at=timezone.now() - timedelta(days=30))
    signed = api.post(
        f"{BASE}/applications/{pk}/agreement/",
        {"file": SimpleUploadedFile("协议.pdf", minimal_pdf())},
        format="multipart",
    )
    assert signed.status_code == 200 and signed.json()["agreement_no"]
    assert api.post(f"{BASE}/applications/{pk}/go-live/", {}, format="json").json()["status"] == "production"

    client_for(api, unit_user)
    resources = api.get(f"{BASE}/resources/").json()["results"]
    assert {r["product_code"] for r in resources} == {"ecs-4c8g", "ebs-500"}
    change = api.post(
        f"{BASE}/applications/{pk}/change/",
        {
            "lines": [
                {"product": catalog["host"].pk, "quantity": 1},
                {"product": catalog["disk"].pk, "quantity": 1},
                {"product": catalog["bw"].pk, "quantity": 1},
            ],
            "reason": "加带宽",
            "construction_plan": "方案",
            "self_test_report": "报告",
        },
        format="json",
    ).json()
    assert change["status"] == "change_pending" and change["changes"][0]["is_major"]

    client_for(api, center_user)
    assert (
        api.post(f"{BASE}/applications/{pk}/change-approve/", {}, format="json").json()["status"]
        == "change_testing"
    )
    body = api.post(
        f"{BASE}/applications/{pk}/test/",
        {"passed": True, "performance": "合格", "security": "合格"},
        format="json",
    ).json()
    assert body["status"] == "production"

    client_for(api, unit_user)
    refused = api.post(f"{BASE}/applications/{pk}/terminate/", {"offboarding_confirmed": True}, format="json")
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "cloud.confirmation_missing"
    ok = api.post(
        f"{BASE}/applications/{pk}/terminate/",
        {"offboarding_confirmed": True, "backup_confirmed": True},
        format="json",
    )
    assert ok.json()["status"] == "termination_pending"

    client_for(api, center_user)
    assert (
        api.post(f"{BASE}/applications/{pk}/terminate-approve/", {}, format="json").json()["status"]
        == "reclaiming"
    )
    done = api.post(f"{BASE}/applications/{pk}/reclaim/", {}, format="json").json()
    assert done["status"] == "terminated" and done["resources"] == []
    pools = api.get(f"{BASE}/pools/").json()["results"]
    assert all(p["allocated"] == 0 for p in pools)
    steps = [s["action"] for s in done["timeline"]]
    assert steps == [
        "submit",
        "accept",
        "approve",
        "test_pass",
        "sign_agreement",
        "go_live",
        "request_change",
        "approve_major_change",
        "test_pass",
        "request_termination",
        "approve_termination",
        "reclaim",
    ]


@pytest.mark.django_db
def test_other_units_see_nothing_of_an_application(api, catalog):
    app = _apply(api, owner(), catalog)
    stranger = UserFactory(roles=[Role.UNIT_ADMIN], unit=UnitFactory())
    client_for(api, stranger)
    for path in ["", "agreement/"]:
        assert api.get(f"{BASE}/applications/{app['id']}/{path}").status_code == 404
    assert api.post(f"{BASE}/applications/{app['id']}/resubmit/", {}, format="json").status_code == 404
    assert api.get(f"{BASE}/applications/").json()["results"] == []
    assert api.get(f"{BASE}/systems/").json()["results"] == []
    assert api.get(f"{BASE}/systems/{app['system']}/").status_code == 404


@pytest.mark.django_db
def test_bad_input_gets_the_one_error_shape_never_a_500(api, catalog):
    unit_user = owner()
    client_for(api, unit_user)
    bad = [
        api.post(f"{BASE}/systems/", {"name": "x", "protection_level": "高"}, format="json"),
        api.post(f"{BASE}/systems/", {"name": "x", "protection_level": 9}, format="json"),
        api.post(
            f"{BASE}/systems/", {"name": "涉密", "protection_level": 3, "is_classified": True}, format="json"
        ),
        api.post(f"{BASE}/applications/", {"system": "abc"}, format="json"),
        api.post(
            f"{BASE}/applications/",
            {"system": 99999, "construction_plan": "a", "self_test_report": "b", "lines": []},
            format="json",
        ),
        api.post(
            f"{BASE}/migrations/",
            {"system": 1, "target_date": "2026-13-45", "backup_plan": "x"},
            format="json",
        ),
    ]
    for resp in bad:
        assert resp.status_code in (400, 404), resp.content
        assert set(resp.json()["error"]) == {"code", "message", "details"}
    app = _apply(api, unit_user, catalog)
    exe = SimpleUploadedFile("方案.pdf", b"MZ\x90\x00binary", content_type="application/pdf")
    resp = api.post(f"{BASE}/applications/{app['id']}/attachments/", {"file": exe}, format="multipart")
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "cloud.bad_attachment"
    assert not CloudAttachment.objects.exists()
    client_for(api, reviewer())
    resp = api.post(f"{BASE}/applications/{app['id']}/go-live/", {}, format="json")
    assert resp.status_code == 409 and resp.json()["error"]["code"] == "cloud.illegal_transition"
    assert "待受理" in resp.json()["error"]["message"]


@pytest.mark.django_db
def test_capacity_error_is_clear_through_the_api_c27(api):
    catalog = standard_catalog(storage=600)
    app = _apply(api, owner(), catalog, disk=2)
    client_for(api, reviewer())
    api.post(f"{BASE}/applications/{app['id']}/accept/", {}, format="json")
    resp = api.post(f"{BASE}/applications/{app['id']}/approve/", {}, format="json")
    assert resp.status_code == 409
    err = resp.json()["error"]
    assert err["code"] == "cloud.capacity_exceeded" and "存储" in err["message"]
    assert err["details"]["short"]["storage"] == {"need": 1000, "free": 600}
    assert CloudApplication.objects.get(pk=app["id"]).status == ApplicationStatus.ACCEPTED


@pytest.mark.django_db
def test_overdue_list_shows_late_applications_to_the_center(api, catalog):
    app = _apply(api, owner(), catalog)
    CloudApplication.objects.filter(pk=app["id"]).update(due_at=timezone.now() - timedelta(hours=1))
    client_for(api, reviewer())
    body = api.get(f"{BASE}/overdue/").json()
    assert [a["id"] for a in body["applications"]] == [app["id"]]


@pytest.mark.django_db
def test_agreement_docx_is_generated_for_the_unit_too(api, catalog):
    unit_user = owner()
    app = _apply(api, unit_user, catalog)
    resp = api.get(f"{BASE}/applications/{app['id']}/agreement/")
    assert resp.status_code == 200
    from docx import Document

    text = "\n".join(p.text for p in Document(io.BytesIO(resp.content)).paragraphs)
    assert "数据资源服务托管协议" in text


@pytest.mark.django_db
def test_center_admin_expands_a_pool_never_below_allocated_c27(api, catalog):
    from cloud.models import ResourcePool
    from cloud.tests.factories import advance

    unit_user, center_user = owner(), reviewer()
    from cloud.tests.factories import submit

    advance(
        submit(unit_user, catalog, host=2),
        ApplicationStatus.TESTING,
        center_user=center_user,
        unit_user=unit_user,
    )
    compute = ResourcePool.objects.get(kind="compute")
    client_for(api, center_user)  # a reviewer may not
    assert api.patch(f"{BASE}/pools/{compute.pk}/", {"total": 128}, format="json").status_code == 403
    admin = UserFactory(roles=[Role.CENTER_ADMIN], unit=center_user.unit)
    client_for(api, admin)
    resp = api.patch(f"{BASE}/pools/{compute.pk}/", {"total": 4}, format="json")
    assert resp.status_code == 409 and "已分配量 8" in resp.json()["error"]["message"]
    resp = api.patch(f"{BASE}/pools/{compute.pk}/", {"total": 128}, format="json")
    assert resp.status_code == 200 and resp.json()["total"] == 128 and resp.json()["allocated"] == 8
    assert api.patch(f"{BASE}/pools/{compute.pk}/", {"total": "很多"}, format="json").status_code == 400


@pytest.mark.django_db
def test_center_admin_adds_a_product(api, catalog):
    admin = UserFactory(roles=[Role.CENTER_ADMIN], unit=reviewer().unit)
    client_for(api, admin)
    body = {
        "code": "ecs-16c32g",
        "name": "云主机 16核32G",
        "kind": "host",
        "vcpu": 16,
        "memory_gb": 32,
        "unit_price_month": "1300.00",
    }
    assert api.post(f"{BASE}/products/", body, format="json").status_code == 201
    dup = api.post(f"{BASE}/products/", body, format="json")
    assert dup.status_code == 400
    client_for(api, owner())
    assert api.post(f"{BASE}/products/", {**body, "code": "x"}, format="json").status_code == 403


@pytest.mark.django_db
def test_materials_download_for_the_unit_and_the_center_not_for_others(api, catalog):
    unit_user = owner()
    app = _apply(api, unit_user, catalog)
    pdf = SimpleUploadedFile("建设方案.pdf", minimal_pdf(), content_type="application/pdf")
    att = api.post(f"{BASE}/applications/{app['id']}/attachments/", {"file": pdf}, format="multipart").json()
    url = f"{BASE}/applications/{app['id']}/attachments/{att['id']}/"
    resp = api.get(url)
    assert resp.status_code == 200 and b"".join(resp.streaming_content).startswith(b"%PDF-")
    assert resp["Content-Type"] == "application/pdf" and "attachment" in resp["Content-Disposition"]
    client_for(api, reviewer())
    assert api.get(url).status_code == 200
    client_for(api, owner())
    assert api.get(url).status_code == 404


@pytest.mark.django_db
def test_list_filters_narrow_within_what_the_caller_may_see(api, catalog):
    mine = _apply(api, owner(), catalog)
    other = owner()
    theirs = _apply(api, other, catalog)
    client_for(api, other)
    assert [a["id"] for a in api.get(f"{BASE}/applications/?status=submitted").json()["results"]] == [
        theirs["id"]
    ]
    # filtering by another unit never widens the scope
    assert api.get(f"{BASE}/applications/?unit={mine['unit']}").json()["results"] == []
    bad = api.get(f"{BASE}/applications/?status=nonsense")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "cloud.invalid_filter"
    client_for(api, reviewer())
    assert [a["id"] for a in api.get(f"{BASE}/applications/?unit={mine['unit']}").json()["results"]] == [
        mine["id"]
    ]


@pytest.mark.django_db
def test_malformed_approval_is_a_clear_400(api, catalog):
    app = _apply(api, owner(), catalog)
    line = app["lines"][0]["id"]
    client_for(api, reviewer())
    api.post(f"{BASE}/applications/{app['id']}/accept/", {}, format="json")
    for body in [{"approved": {"abc": 1}}, {"approved": {str(line): "很多"}}, {"approved": ["x"]}]:
        resp = api.post(f"{BASE}/applications/{app['id']}/approve/", body, format="json")
        assert resp.status_code == 400, resp.content
        assert resp.json()["error"]["code"] == "cloud.invalid_lines"
    assert CloudApplication.objects.get(pk=app["id"]).status == ApplicationStatus.ACCEPTED


@pytest.mark.django_db
def test_wrongly_typed_bodies_are_400_never_500(api, catalog):
    unit_user = owner()
    app = _apply(api, unit_user, catalog)
    client_for(api, reviewer())
    resp = api.post(f"{BASE}/applications/{app['id']}/return/", {"reasons": ["列表"]}, format="json")
    assert resp.status_code == 400
    resp = api.post(f"{BASE}/applications/{app['id']}/return/", {"reasons": 12345}, format="json")
    assert resp.status_code == 200 and resp.json()["review_reasons"] == "12345"
    client_for(api, unit_user)
    for body in [
        {"construction_plan": {"a": 1}},
        {"lines": "host"},
        {"lines": [{"product": "x", "quantity": 1}]},
    ]:
        resp = api.post(f"{BASE}/applications/{app['id']}/resubmit/", body, format="json")
        assert resp.status_code == 400, resp.content
    resp = api.post(
        f"{BASE}/applications/{app['id']}/terminate/", {"backup_confirmed": "也许"}, format="json"
    )
    assert resp.status_code == 400
