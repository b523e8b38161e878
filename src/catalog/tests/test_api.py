"""The catalog through the HTTP API with the real permission stack (S§14, S§15, S§37)."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from catalog.models import Resource, ResourceStatus
from core.models import AuditEvent

from .factories import business_items, person_items, publish, register, resource_fields

pytestmark = pytest.mark.django_db

API = "/api/v1/catalog"


def _client(api, user):
    api.force_authenticate(user)
    return api


def test_register_submit_review_publish_over_http_s15(api, officer_a, reviewer, unit_a):
    c = _client(api, officer_a)
    resp = c.post(f"{API}/resources/", {**resource_fields(), "items": person_items()}, format="json")
    assert resp.status_code == 201, resp.content
    pk = resp.json()["id"]
    assert resp.json()["status"] == "draft" and len(resp.json()["items"]) == 3
    assert c.post(f"{API}/resources/{pk}/submit/", {}, format="json").status_code == 200
    resp = c.post(f"{API}/resources/{pk}/secrecy-confirm/", {"no_state_secrets": True}, format="json")
    assert resp.json()["status"] == "submitted"
    c = _client(api, reviewer)
    resp = c.post(f"{API}/resources/{pk}/approve/", {}, format="json")
    assert resp.status_code == 200, resp.content
    assert resp.json()["status"] == "published"
    assert resp.json()["code"] == f"11{unit_a.code}00001"


def test_bad_input_is_a_clear_400_never_a_500(api, officer_a):
    c = _client(api, officer_a)
    items = person_items()
    items[0]["code"] = "Select"
    resp = c.post(f"{API}/resources/", {**resource_fields(), "items": items}, format="json")
    assert resp.status_code == 400
    body = resp.json()["error"]
    assert body["code"] == "catalog.item_code_invalid"
    assert "信息项代码" in body["message"]
    resp = c.post(
        f"{API}/resources/",
        {**resource_fields(sharing_type="not_shared"), "items": person_items()},
        format="json",
    )
    assert resp.json()["error"]["code"] == "catalog.not_shared_basis_required"
    resp = c.post(f"{API}/resources/", {"items": "nonsense"}, format="json")
    assert resp.status_code == 400
    resp = c.post(
        f"{API}/resources/",
        {**resource_fields(), "items": [{"code": "a", "name": "b", "length": "x"}]},
        format="json",
    )
    assert resp.status_code == 400
    assert not Resource.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="catalog.").exists()


def test_drafts_visible_only_to_own_unit_officers_and_center_s37(
    api, officer_a, officer_b, user_a, user_b, reviewer
):
    draft = register(officer_a)
    for who, sees in (
        (officer_a, True),
        (reviewer, True),
        (officer_b, False),
        (user_a, False),
        (user_b, False),
    ):
        c = _client(api, who)
        assert (c.get(f"{API}/resources/{draft.pk}/").status_code == 200) is sees, who
        ids = [r["id"] for r in c.get(f"{API}/resources/").json()["results"]]
        assert (draft.pk in ids) is sees, who


def test_other_units_see_published_resources(api, officer_a, reviewer, user_b):
    resource = publish(officer_a, reviewer)
    c = _client(api, user_b)
    assert c.get(f"{API}/resources/{resource.pk}/").json()["name"] == "常住人口基本信息"


def test_other_unit_officer_cannot_edit_or_submit_or_delete_a_draft(api, officer_a, officer_b):
    draft = register(officer_a)
    c = _client(api, officer_b)
    assert c.patch(f"{API}/resources/{draft.pk}/", {"name": "乙改"}, format="json").status_code == 404
    assert c.post(f"{API}/resources/{draft.pk}/submit/", {}, format="json").status_code == 404
    assert c.delete(f"{API}/resources/{draft.pk}/").status_code == 404
    draft.refresh_from_db()
    assert draft.name == "常住人口基本信息" and draft.status == ResourceStatus.DRAFT


def test_other_unit_officer_cannot_withdraw_or_change_a_published_resource(
    api, officer_a, officer_b, reviewer
):
    resource = publish(officer_a, reviewer)
    c = _client(api, officer_b)
    assert (
        c.post(f"{API}/resources/{resource.pk}/withdraw/", {"reason": "x"}, format="json").status_code == 403
    )
    assert (
        c.post(f"{API}/resources/{resource.pk}/changes/", {"summary": "x"}, format="json").status_code == 403
    )
    resource.refresh_from_db()
    assert resource.status == ResourceStatus.PUBLISHED


def test_open_changes_hidden_from_other_units(api, officer_a, officer_b, reviewer):
    resource = publish(officer_a, reviewer)
    c = _client(api, officer_a)
    resp = c.post(
        f"{API}/resources/{resource.pk}/changes/", {"summary": "新摘要", "reason": "更新"}, format="json"
    )
    assert resp.status_code == 201
    change_id = resp.json()["id"]
    statuses = [v["status"] for v in c.get(f"{API}/resources/{resource.pk}/changes/").json()]
    assert statuses == ["draft", "published"]
    c = _client(api, officer_b)
    assert [v["status"] for v in c.get(f"{API}/resources/{resource.pk}/changes/").json()] == ["published"]
    assert c.post(f"{API}/changes/{change_id}/submit/", {}, format="json").status_code == 404


def test_unknown_action_is_404(api, officer_a):
    draft = register(officer_a)
    c = _client(api, officer_a)
    assert c.post(f"{API}/resources/{draft.pk}/explode/", {}, format="json").status_code == 404


def test_illegal_transition_is_409(api, officer_a, reviewer):
    draft = register(officer_a)
    c = _client(api, reviewer)
    resp = c.post(f"{API}/resources/{draft.pk}/approve/", {}, format="json")
    assert resp.status_code == 409 and resp.json()["error"]["code"] == "catalog.illegal_transition"


# --- the three catalogs (S§14) --------------------------------------------------------------


@pytest.fixture
def three_catalogs(officer_a, officer_b, reviewer):
    return {
        "unconditional": publish(officer_a, reviewer, name="常住人口基本信息"),
        "conditional": publish(
            officer_b,
            reviewer,
            name="市场主体登记信息",
            classification="31",
            items=business_items(),
            sharing_type="conditional",
            sharing_conditions="仅限行政审批核验",
        ),
        "not_shared": publish(
            officer_a,
            reviewer,
            name="在逃人员信息",
            sharing_type="not_shared",
            not_shared_basis="《中华人民共和国人民警察法》及公安部相关规定",
        ),
        "draft": register(officer_a, name="草稿资源"),
    }


@pytest.mark.parametrize("kind", ["unconditional", "conditional", "not_shared"])
def test_three_published_catalogs_s14(api, user_b, three_catalogs, kind):
    c = _client(api, user_b)
    names = [r["name"] for r in c.get(f"{API}/catalogs/{kind}/").json()["results"]]
    assert names == [three_catalogs[kind].name]


def test_not_shared_catalog_shows_legal_basis_s14(api, user_b, three_catalogs):
    row = _client(api, user_b).get(f"{API}/catalogs/not-shared/").json()["results"][0]
    assert "人民警察法" in row["not_shared_basis"]


def test_unknown_catalog_is_404(api, user_b):
    assert _client(api, user_b).get(f"{API}/catalogs/secret/").status_code == 404


def test_catalog_csv_export_is_utf8_with_bom(api, user_b, three_catalogs):
    resp = _client(api, user_b).get(f"{API}/catalogs/conditional/export.csv")
    assert resp.status_code == 200
    assert resp.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(resp.content.decode("utf-8-sig"))))
    assert rows[0][0] == "信息资源代码"
    assert rows[1][1] == "市场主体登记信息" and rows[1][6] == "仅限行政审批核验"
    assert len(rows) == 2


def test_catalog_xlsx_export(api, user_b, three_catalogs):
    resp = _client(api, user_b).get(f"{API}/catalogs/unconditional/export.xlsx")
    assert resp.status_code == 200
    ws = load_workbook(io.BytesIO(resp.content)).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][1] == "资源名称" and rows[1][1] == "常住人口基本信息"
    assert "身份证号" in rows[1][11]


def test_dashboard_panel_lists_items_awaiting_my_review(client, officer_a, reviewer, officer_b):
    resource = register(officer_a)
    from catalog import services

    services.resource_submit(resource=resource, by=officer_a)
    client.force_login(officer_a)
    assert "常住人口基本信息" in client.get("/").content.decode()
    client.force_login(reviewer)
    assert "常住人口基本信息" not in client.get("/").content.decode()
    services.resource_secrecy_confirm(resource=resource, by=officer_a, no_state_secrets=True)
    assert "常住人口基本信息" in client.get("/").content.decode()
    client.force_login(officer_b)
    assert "常住人口基本信息" not in client.get("/").content.decode()


def test_any_list_view_exports_only_what_i_may_see(api, officer_a, officer_b, reviewer):
    publish(officer_a, reviewer, name="常住人口基本信息")
    register(officer_a, name="户籍人口草稿")
    register(officer_b, name="乙单位人口草稿", classification="31", items=business_items())
    c = _client(api, officer_a)
    resp = c.get(f"{API}/resources/export.csv", {"q": "人口"})
    assert resp.status_code == 200 and resp.content.startswith(b"\xef\xbb\xbf")
    names = {row[1] for row in csv.reader(io.StringIO(resp.content.decode("utf-8-sig")))}
    assert names == {"资源名称", "常住人口基本信息", "户籍人口草稿"}
    resp = c.get(f"{API}/resources/export.xlsx", {"status": "draft"})
    rows = list(load_workbook(io.BytesIO(resp.content)).active.iter_rows(values_only=True))
    assert [r[1] for r in rows[1:]] == ["户籍人口草稿"]
    assert c.get(f"{API}/resources/export.pdf").status_code == 404
