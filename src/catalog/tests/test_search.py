"""Chinese search with facets (S§12-14): the same tests pass on SQLite (FTS5 trigram) and
PostgreSQL (pg_trgm)."""

from __future__ import annotations

import pytest
import time_machine

from catalog import services

from .factories import business_items, person_items, publish, register

pytestmark = pytest.mark.django_db

API = "/api/v1/catalog/search/"


@pytest.fixture
def corpus(officer_a, officer_b, reviewer):
    with time_machine.travel("2026-03-02 09:00 +0800", tick=False):
        resident = publish(officer_a, reviewer, name="常住人口基本信息", keywords="")
    with time_machine.travel("2026-03-03 09:00 +0800", tick=False):
        household = publish(officer_a, reviewer, name="户籍人口信息", keywords="", update_cycle="monthly")
    with time_machine.travel("2026-03-04 09:00 +0800", tick=False):
        items = business_items() + [
            {"code": "fddbrxm", "name": "法定代表人口述记录编号", "data_type": "string"}
        ]
        market = publish(
            officer_b,
            reviewer,
            name="市场主体登记信息",
            classification="31",
            items=items,
            keywords="企业",
            summary="市场主体登记",
            sharing_type="conditional",
            sharing_conditions="审批核验",
        )
    with time_machine.travel("2026-03-05 09:00 +0800", tick=False):
        housing = publish(
            officer_b,
            reviewer,
            name="房屋基本信息",
            classification="16",
            keywords="不动产",
            summary="房屋",
            items=[
                {"code": "bdcdyh", "name": "不动产单元号", "identifier_kind": "property_unit", "is_key": True}
            ],
        )
    draft = register(officer_a, name="流动人口草稿")
    return {
        "resident": resident,
        "household": household,
        "market": market,
        "housing": housing,
        "draft": draft,
    }


def _search(api, user, **params):
    api.force_authenticate(user)
    resp = api.get(API, params)
    assert resp.status_code == 200, resp.content
    return resp.json()


def test_two_character_query_finds_names_and_data_items_like_fallback(api, user_b, corpus):
    body = _search(api, user_b, q="人口")
    names = [r["name"] for r in body["results"]]
    assert set(names) == {"常住人口基本信息", "户籍人口信息", "市场主体登记信息"}
    # name matches rank above a data-item match
    assert names[-1] == "市场主体登记信息"


def test_three_character_query_uses_trigram_index(api, user_b, corpus):
    names = [r["name"] for r in _search(api, user_b, q="人口基本")["results"]]
    assert names == ["常住人口基本信息"]
    names = [r["name"] for r in _search(api, user_b, q="不动产单元")["results"]]
    assert names == ["房屋基本信息"]


def test_one_character_query(api, user_b, corpus):
    names = {r["name"] for r in _search(api, user_b, q="屋")["results"]}
    assert names == {"房屋基本信息"}


def test_data_item_names_are_searched(api, user_b, corpus):
    names = [r["name"] for r in _search(api, user_b, q="身份证号")["results"]]
    assert set(names) == {"常住人口基本信息", "户籍人口信息"}


def test_several_terms_must_all_match(api, user_b, corpus):
    names = [r["name"] for r in _search(api, user_b, q="人口 户籍")["results"]]
    assert "户籍人口信息" in names and "市场主体登记信息" not in names


def test_search_never_shows_drafts_or_other_units_unpublished(api, user_b, officer_a, corpus):
    assert "流动人口草稿" not in [r["name"] for r in _search(api, user_b, q="流动")["results"]]
    assert _search(api, officer_a, q="流动")["count"] == 0


def test_facets_with_counts(api, user_b, corpus, unit_a, unit_b):
    facets = _search(api, user_b, q="人口")["facets"]
    assert {f["value"]: f["count"] for f in facets["provider"]} == {str(unit_a.pk): 2, str(unit_b.pk): 1}
    assert {f["value"]: f["count"] for f in facets["sharing_type"]} == {"unconditional": 2, "conditional": 1}
    assert {f["label"] for f in facets["classification"]} == {"基础库·人口", "业务库"}
    assert {f["value"]: f["count"] for f in facets["update_cycle"]} == {"daily": 2, "monthly": 1}
    assert set(facets) == {
        "provider",
        "classification",
        "sharing_type",
        "open_attribute",
        "update_cycle",
        "format",
    }


def test_facet_filter_narrows_results(api, user_b, corpus):
    body = _search(api, user_b, q="人口", sharing_type="conditional")
    assert [r["name"] for r in body["results"]] == ["市场主体登记信息"]


def test_sort_by_update_time(api, user_b, corpus):
    names = [r["name"] for r in _search(api, user_b, q="信息", sort="updated")["results"]]
    assert names == ["房屋基本信息", "市场主体登记信息", "户籍人口信息", "常住人口基本信息"]


def test_special_characters_are_plain_text(api, user_b, corpus):
    for q in ['"', '人口" OR "', "%", "_", "a*b", "NEAR(", "'; DROP TABLE x; --"]:
        body = _search(api, user_b, q=q)
        assert isinstance(body["results"], list)


def test_index_follows_changes_by_services(api, user_b, officer_a, reviewer, corpus):
    change = services.resource_change_propose(
        resource=corpus["resident"], by=officer_a, fields={"name": "常住居民名册"}, items=person_items()
    )
    services.resource_change_submit(change=change, by=officer_a)
    services.resource_change_secrecy_confirm(change=change, by=officer_a, no_state_secrets=True)
    services.resource_change_approve(change=change, by=reviewer)
    assert [r["name"] for r in _search(api, user_b, q="居民名册")["results"]] == ["常住居民名册"]
    assert "常住居民名册" not in [r["name"] for r in _search(api, user_b, q="人口基本")["results"]]


def test_bulk_reindex_gives_the_same_results(api, user_b, corpus):
    from catalog import search

    before = [r["name"] for r in _search(api, user_b, q="人口基本")["results"]]
    assert search.reindex_all() == 5
    assert [r["name"] for r in _search(api, user_b, q="人口基本")["results"]] == before
    assert {r["name"] for r in _search(api, user_b, q="人口")["results"]} == {
        "常住人口基本信息",
        "户籍人口信息",
        "市场主体登记信息",
    }


def test_search_works_without_the_fts_table_substring_scan(api, user_b, corpus, monkeypatch):
    from catalog import search

    monkeypatch.setattr(search, "fts_available", lambda: False)
    assert [r["name"] for r in _search(api, user_b, q="人口基本")["results"]] == ["常住人口基本信息"]


def test_invalid_filter_value_is_a_clear_error_not_a_crash(api, client, user_b, corpus):
    api.force_authenticate(user_b)
    resp = api.get(API, {"q": "人口", "sharing_type": "secret"})
    assert resp.status_code == 400
    client.force_login(user_b)
    assert client.get("/catalog/", {"q": "人口", "sharing_type": "secret"}).status_code == 200
    assert client.get("/catalog/", {"sharing_type": "secret"}).status_code == 200
