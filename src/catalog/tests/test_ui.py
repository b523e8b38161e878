"""The catalog pages: every step in the browser UI (Chinese), object-level rules included."""

from __future__ import annotations

import io

import pytest

from catalog import excel, services
from catalog.models import Resource, ResourceStatus

from .factories import publish, register

pytestmark = pytest.mark.django_db


def _item_post(rows: list[dict]) -> dict:
    data = {
        "items-TOTAL_FORMS": str(len(rows)),
        "items-INITIAL_FORMS": "0",
        "items-MIN_NUM_FORMS": "0",
        "items-MAX_NUM_FORMS": "200",
    }
    for n, row in enumerate(rows):
        base = {"data_type": "string", "sensitivity": "internal", "identifier_kind": ""}
        for k, v in {**base, **row}.items():
            data[f"items-{n}-{k}"] = v
    return data


def _resource_post(**overrides) -> dict:
    data = {
        "name": "常住人口基本信息",
        "classification": "11",
        "format": "table",
        "sharing_type": "unconditional",
        "open_attribute": "not_open",
        "update_cycle": "daily",
        "channels": ["online_query"],
        "summary": "摘要",
    }
    data.update(overrides)
    return data


def test_every_catalog_page_renders_for_an_officer(client, officer_a, reviewer):
    resource = publish(officer_a, reviewer)
    client.force_login(officer_a)
    for url in (
        "/catalog/",
        "/catalog/?q=人口",
        "/catalog/unconditional/",
        "/catalog/conditional/",
        "/catalog/not-shared/",
        "/catalog/mine/",
        "/catalog/resources/new/",
        f"/catalog/resources/{resource.pk}/",
        f"/catalog/resources/{resource.pk}/edit/",
        "/catalog/review/",
        "/catalog/import/",
        "/catalog/concepts/",
        "/catalog/demands/",
        "/catalog/campaigns/",
        "/catalog/projects/",
        "/catalog/resources/item-row/?index=3",
    ):
        resp = client.get(url)
        assert resp.status_code == 200, url
    page = client.get("/catalog/").content.decode()
    assert "目录检索" in page and "常住人口基本信息" in page


def test_register_through_the_form_then_submit_and_review(client, officer_a, reviewer, unit_a):
    client.force_login(officer_a)
    post = {
        **_resource_post(),
        **_item_post(
            [
                {
                    "code": "sfzh",
                    "name": "身份证号",
                    "identifier_kind": "id_card",
                    "is_key": "on",
                    "length": "18",
                },
                {"code": "xm", "name": "姓名"},
                {"code": "", "name": ""},
            ]
        ),
    }
    resp = client.post("/catalog/resources/new/", post)
    assert resp.status_code == 302, resp.content.decode()[:2000]
    resource = Resource.objects.get()
    assert [i.code for i in resource.items.all()] == ["sfzh", "xm"]
    client.post(f"/catalog/resources/{resource.pk}/", {"action": "submit"})
    client.post(f"/catalog/resources/{resource.pk}/", {"action": "secrecy_confirm", "no_state_secrets": "1"})
    client.force_login(reviewer)
    assert resource.name in client.get("/catalog/review/").content.decode()
    client.post(f"/catalog/resources/{resource.pk}/", {"action": "approve"})
    resource.refresh_from_db()
    assert resource.status == ResourceStatus.PUBLISHED
    assert resource.name in client.get("/catalog/unconditional/").content.decode()


def test_form_errors_are_shown_in_chinese_and_nothing_saved(client, officer_a):
    client.force_login(officer_a)
    post = {**_resource_post(), **_item_post([{"code": "xm", "name": "姓名"}])}
    resp = client.post("/catalog/resources/new/", post)
    assert resp.status_code == 400
    assert "身份证号" in resp.content.decode()  # S§21 identifier missing
    post = {**_resource_post(classification="31"), **_item_post([{"code": "Select", "name": "x"}])}
    assert "信息项代码" in client.post("/catalog/resources/new/", post).content.decode()
    assert not Resource.objects.exists()


def test_service_refusal_shows_a_banner(client, officer_a):
    resource = register(officer_a)
    services.resource_submit(resource=resource, by=officer_a)
    client.force_login(officer_a)
    resp = client.post(f"/catalog/resources/{resource.pk}/", {"action": "secrecy_confirm"}, follow=True)
    assert "不涉及国家秘密" in resp.content.decode()
    resource.refresh_from_db()
    assert resource.status == ResourceStatus.SECRECY_REVIEW


def test_other_units_cannot_open_drafts_or_edit_pages(client, officer_a, officer_b, user_a):
    draft = register(officer_a)
    for who in (officer_b, user_a):
        client.force_login(who)
        assert client.get(f"/catalog/resources/{draft.pk}/").status_code == 404
        assert client.get(f"/catalog/resources/{draft.pk}/edit/").status_code == 404
        assert client.post(f"/catalog/resources/{draft.pk}/", {"action": "submit"}).status_code == 404
    client.force_login(user_a)
    assert client.get("/catalog/resources/new/").status_code == 403
    assert client.get("/catalog/import/").status_code == 403


def test_plain_user_cannot_act_on_a_published_resource(client, officer_a, reviewer, user_b):
    resource = publish(officer_a, reviewer)
    client.force_login(user_b)
    assert (
        client.post(f"/catalog/resources/{resource.pk}/", {"action": "withdraw", "reason": "x"}).status_code
        == 403
    )
    assert client.get(f"/catalog/resources/{resource.pk}/edit/").status_code == 403
    resource.refresh_from_db()
    assert resource.status == ResourceStatus.PUBLISHED


def test_import_page_lists_row_errors(client, officer_a):
    client.force_login(officer_a)
    upload = io.BytesIO(b"not an excel file")
    upload.name = "x.xlsx"
    resp = client.post("/catalog/import/", {"file": upload})
    assert resp.status_code == 400 and "xlsx" in resp.content.decode()
    upload = io.BytesIO(excel.template_workbook())
    upload.name = "catalog.xlsx"
    resp = client.post("/catalog/import/", {"file": upload})
    assert resp.status_code == 302
    assert Resource.objects.count() == 1


def test_search_page_htmx_returns_only_results(client, officer_a, reviewer):
    publish(officer_a, reviewer)
    client.force_login(officer_a)
    resp = client.get("/catalog/?q=人口", HTTP_HX_REQUEST="true")
    body = resp.content.decode()
    assert "常住人口基本信息" in body and "<html" not in body


def test_change_of_published_resource_through_the_form(client, officer_a, reviewer):
    resource = publish(officer_a, reviewer)
    client.force_login(officer_a)
    post = {
        **_resource_post(update_cycle="monthly", reason="周期调整"),
        **_item_post(
            [
                {"code": "sfzh", "name": "身份证号", "identifier_kind": "id_card"},
                {"code": "xm", "name": "姓名"},
            ]
        ),
    }
    assert client.post(f"/catalog/resources/{resource.pk}/edit/", post).status_code == 302
    change = resource.versions.get(status="draft")
    client.post(f"/catalog/resources/{resource.pk}/", {"action": "change_submit", "change": change.pk})
    client.post(
        f"/catalog/resources/{resource.pk}/",
        {"action": "change_secrecy_confirm", "change": change.pk, "no_state_secrets": "1"},
    )
    client.force_login(reviewer)
    client.post(f"/catalog/resources/{resource.pk}/", {"action": "change_approve", "change": change.pk})
    resource.refresh_from_db()
    assert resource.update_cycle == "monthly" and resource.version == 2


def test_resource_page_shows_how_to_get_access_s29(client, officer_a, reviewer, user_b):
    resource = publish(officer_a, reviewer, sharing_type="conditional", sharing_conditions="仅限核验")
    client.force_login(user_b)
    page = client.get(f"/catalog/resources/{resource.pk}/").content.decode()
    assert "有条件共享" in page and "仅限核验" in page
    assert f"/exchange/apply/{resource.code}/" in page


def test_submitted_resource_page_shows_the_review_deadline_s15(client, officer_a, reviewer):
    resource = register(officer_a)
    services.resource_submit(resource=resource, by=officer_a)
    services.resource_secrecy_confirm(resource=resource, by=officer_a, no_state_secrets=True)
    client.force_login(reviewer)
    assert "中心审核时限" in client.get(f"/catalog/resources/{resource.pk}/").content.decode()


def test_demand_page_shows_answer_deadline_and_answer_form_s11(client, officer_a, officer_b):
    demand = services.demand_create(
        by=officer_b, target=officer_a.unit, title="需要人口信息", purpose="reference"
    )
    client.force_login(officer_a)
    page = client.get(f"/catalog/demands/{demand.pk}/").content.decode()
    assert "答复时限" in page and "不予满足" in page
    client.post(f"/catalog/demands/{demand.pk}/", {"action": "refuse", "answer": "不属于本单位职责"})
    demand.refresh_from_db()
    assert demand.status == "refused"


def test_project_page_refuses_another_units_planned_resource_and_a_bad_id_s42(
    client, officer_a, officer_b, reviewer
):
    project = services.project_catalog_create(
        by=officer_a,
        name="智慧社区",
        planned=[{"name": "社区人口", "classification": "11", "sharing_type": "conditional"}],
    )
    resource = publish(officer_a, reviewer)
    planned = project.planned.get()
    client.force_login(officer_b)  # another unit: the planned resource looks absent
    assert (
        client.post(
            "/catalog/projects/", {"action": "link", "planned": planned.pk, "resource": resource.pk}
        ).status_code
        == 404
    )
    client.force_login(officer_a)
    for bad in ("abc", "", "99999999"):
        assert (
            client.post(
                "/catalog/projects/", {"action": "link", "planned": bad, "resource": resource.pk}
            ).status_code
            == 404
        )
    planned.refresh_from_db()
    assert planned.resource is None


def test_project_page_links_a_planned_resource_s42(client, officer_a, reviewer):
    project = services.project_catalog_create(
        by=officer_a,
        name="智慧社区",
        planned=[{"name": "社区人口", "classification": "11", "sharing_type": "conditional"}],
    )
    resource = publish(officer_a, reviewer)
    client.force_login(officer_a)
    assert "关联" in client.get("/catalog/projects/").content.decode()
    planned = project.planned.get()
    client.post("/catalog/projects/", {"action": "link", "planned": planned.pk, "resource": resource.pk})
    planned.refresh_from_db()
    assert planned.resource == resource
    assert "目录已完成" in client.get("/catalog/projects/").content.decode()
