"""The change feed over a first load (decision 0011, S§31 系统对接): the load stores one change-log
entry for all its rows, and the feed hands it out exactly as if every row had its own entry —
one change per row, consecutive cursors, pages that start and stop inside the load, later changes
after it, another resource's entries never mixed in."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from datastore import tables
from datastore.models import ChangeLogEntry
from exchange.models import Grant

from .factories import published_resource
from .test_reading import PEOPLE, _get, _load

pytestmark = pytest.mark.django_db


def _feed(api, user, res, since, limit=100) -> dict:
    resp = _get(
        api,
        user,
        f"/api/v1/exchange/{res.code}/changes?since={since}&limit={limit}",
        HTTP_X_PURPOSE="data_check",
    )
    assert resp.status_code == 200, resp.json()
    return resp.json()


def _grant(res, consumer) -> Grant:
    today = timezone.localdate()
    return Grant.objects.create(
        resource=res, consumer=consumer.unit, items=["sfzh", "xm", "jd"], purpose_category="data_check",
        purpose="核对", channels=["system_feed"], valid_from=today, valid_to=today + timedelta(days=5),
    )  # fmt: skip


def test_a_first_load_is_one_stored_entry_handed_out_as_one_change_per_row(api, world):
    res, user = world["resource"], world["consumer"]
    assert ChangeLogEntry.objects.filter(resource_id=res.pk).count() == 1
    body = _feed(api, user, res, 0)
    changes = body["changes"]
    assert [c["op"] for c in changes] == ["insert"] * len(PEOPLE)
    assert [c["data"]["xm"][0] for c in changes] == [p["xm"][0] for p in PEOPLE]
    cursors = [c["cursor"] for c in changes]
    assert cursors == list(range(cursors[0], cursors[0] + len(PEOPLE)))
    assert body["next"] == cursors[-1] and body["more"] is False


def test_pages_start_and_stop_inside_a_first_load_and_later_changes_follow_it(api, world):
    res, user = world["resource"], world["consumer"]
    whole = _feed(api, user, res, 0)["changes"]
    got, since = [], 0
    while True:
        page = _feed(api, user, res, since, limit=2)
        got += page["changes"]
        since = page["next"]
        if not page["more"]:
            break
    assert got == whole
    # an upsert after the first load: its entries come after the cursor the first load ended on
    _load(res, world["officer"], [dict(PEOPLE[1], jd="定王台街道")])
    after = _feed(api, user, res, since)["changes"]
    assert [c["op"] for c in after] == ["update"] and after[0]["cursor"] > whole[-1]["cursor"]
    # reading again from inside the first load gives its rest, then the update
    again = _feed(api, user, res, whole[1]["cursor"])["changes"]
    assert again == whole[2:] + after


def test_another_resources_changes_never_appear_inside_a_first_loads_range(api, world):
    """An id inside the reserved range taken by another resource's log (another session's
    load) stays that resource's: neither feed sees the other's change."""
    res, user, officer = world["resource"], world["consumer"], world["officer"]
    entry = ChangeLogEntry.objects.get(resource_id=res.pk)
    other = published_resource(provider=world["provider"], code="OTHER0001")
    _load(other, officer, PEOPLE[:1])
    _grant(other, user)
    theirs = ChangeLogEntry.objects.get(resource_id=other.pk)
    ChangeLogEntry.objects.filter(pk=theirs.pk).update(id=entry.id + 2)  # as if taken mid-reservation
    mine = _feed(api, user, res, 0)["changes"]
    assert [c["cursor"] for c in mine] == list(range(entry.id, entry.id + len(PEOPLE)))
    assert [c["data"]["xm"] for c in mine] == [p["xm"][0] + "*" for p in PEOPLE]
    other_feed = _feed(api, user, other, 0)["changes"]
    assert [(c["cursor"], c["data"]["xm"]) for c in other_feed] == [(entry.id + 2, PEOPLE[0]["xm"][0] + "*")]
    assert _feed(api, user, other, entry.id + 2)["changes"] == []


def test_a_cursor_past_the_end_gives_nothing_and_stays(api, world):
    res, user = world["resource"], world["consumer"]
    last = _feed(api, user, res, 0)["next"]
    body = _feed(api, user, res, last)
    assert body["changes"] == [] and body["next"] == last and body["more"] is False


def test_changes_since_splits_a_large_first_load_into_pages_without_reading_rows(world):
    """The store side: ``limit`` entries from any cursor, the range clipped at both ends."""
    res = world["resource"]
    entry = ChangeLogEntry.objects.get(resource_id=res.pk)
    assert entry.span == len(PEOPLE)
    page = tables.changes_since(res, after=entry.id, limit=2)
    assert [e.pk for e in page] == [entry.id + 1, entry.id + 2]
    assert [e.row_id for e in page] == [entry.row_id + 1, entry.row_id + 2]
    assert tables.changes_since(res, after=entry.id + entry.span - 1) == []
    assert tables.changes_since(res, after=0, limit=0) == []


@pytest.mark.parametrize("one_by_one", [10_000, 1])
def test_the_ids_a_first_load_stands_for_are_never_given_to_a_later_entry(
    monkeypatch, make_unit, make_user, one_by_one
):
    """Reserved one id at a time (small loads) or in one step (large ones, here forced): every
    entry written afterwards, of any resource, gets an id past the range."""
    from accounts.roles import Role

    monkeypatch.setattr(tables, "_RESERVE_ONE_BY_ONE", one_by_one)
    provider = make_unit()
    officer = make_user(unit=provider, roles=[Role.DATA_OFFICER])
    res = published_resource(provider=provider, code="RANGE0001")
    _load(res, officer, PEOPLE)
    entry = ChangeLogEntry.objects.get(resource_id=res.pk)
    assert entry.span == len(PEOPLE)
    other = published_resource(provider=provider, code="RANGE0002")
    _load(other, officer, PEOPLE[:1])
    _load(res, officer, [dict(PEOPLE[0], jd="火星街道")])
    later = ChangeLogEntry.objects.exclude(pk=entry.pk)
    assert later.count() == 2 and all(e.id > entry.id + entry.span - 1 for e in later)


def test_a_row_filtered_grant_reads_only_its_rows_of_a_first_load(api, world):
    """The entry standing for all the rows never opens rows outside the grant's filter (S§29)."""
    res, user, grant = world["resource"], world["consumer"], world["grant"]
    grant.row_filter = {"jd": ["火星街道"]}
    grant.save()
    changes = _feed(api, user, res, 0)["changes"]
    inside = [p for p in PEOPLE if p["jd"] == "火星街道"]
    assert len(changes) == len(inside) and {c["data"]["jd"] for c in changes} == {"火星街道"}


def test_no_feed_of_a_first_load_without_the_feed_channel_or_for_another_unit(
    api, world, make_user, make_unit
):
    from accounts.roles import Role

    res, user, grant = world["resource"], world["consumer"], world["grant"]
    grant.channels = ["online_query"]
    grant.save()
    resp = _get(api, user, f"/api/v1/exchange/{res.code}/changes?since=0", HTTP_X_PURPOSE="data_check")
    assert resp.status_code == 403 and "changes" not in resp.json()
    stranger = make_user(unit=make_unit(), roles=[Role.UNIT_USER])
    resp = _get(api, stranger, f"/api/v1/exchange/{res.code}/changes?since=0", HTTP_X_PURPOSE="data_check")
    assert resp.status_code == 403 and "changes" not in resp.json()


@pytest.mark.parametrize(
    "since, status", [("abc", 400), ("1e3", 400), ("99999999999999999999", 400), ("-5", 400), ("9" * 18, 200)]
)
def test_a_bad_cursor_is_a_clear_400_and_one_outside_the_log_reads_what_it_should(api, world, since, status):
    res, user = world["resource"], world["consumer"]
    resp = _get(api, user, f"/api/v1/exchange/{res.code}/changes?since={since}", HTTP_X_PURPOSE="data_check")
    assert resp.status_code == status, resp.content
    body = resp.json()
    if status == 400:
        assert body["error"]["code"] and "changes" not in body
    else:
        assert body["changes"] == [] and body["more"] is False
