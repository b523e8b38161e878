"""Masked text kept by the table (decision 0010, issue 7): on PostgreSQL each masked item's table
has a stored generated column with its masked text, which a CSV download reads instead of
masking every value again. It must never show what the masker would not show: the table's
column is used only while it was computed by the item's current masker; otherwise the value is
masked in the query, as before."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog.models import DataItem, DataType, Sensitivity
from datastore import tables
from datastore.models import DataTable
from exchange import copyout, selectors
from exchange.masking import mask_generic, mask_id_card, mask_name, mask_phone

from .test_download_copy import _csv_rows, _download, typed  # noqa: F401 — the fixture
from .test_reading import PEOPLE, _load

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="stored generated columns: PostgreSQL only"),
]


def _kept_columns(table: DataTable) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = CAST(%s AS regclass) AND attgenerated = 's' "
            "AND NOT attisdropped",
            [tables.q(table.table_name)],
        )
        return {r[0] for r in cursor.fetchall()}


def _items(resource) -> dict[str, DataItem]:
    return {i.code: i for i in resource.items.all()}


def _copy_sql(user, resource) -> str:
    ctx = selectors.access_check(user=user, resource=resource, channel="batch_download", purpose="data_check")
    sql, _params = copyout.csv_copy_sql(ctx, {}, 1000)
    return sql


def test_a_first_load_gives_each_masked_item_a_column_of_its_masked_text(world):
    res = world["resource"]
    table = DataTable.objects.get(resource=res)
    items = _items(res)
    masked = {"sfzh", "xm", "lxdh", "csrq"}  # jd is internal: shown plain, nothing kept
    assert _kept_columns(table) == {tables.derived_name(items[c].pk) for c in masked}
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(tables.derived_name(items[c].pk) for c in sorted(masked))} "
            f"FROM {tables.q(table.table_name)} ORDER BY _gh_row_id"
        )
        got = cursor.fetchall()
    want = [
        (mask_generic(p["csrq"]), mask_phone(p["lxdh"]), mask_id_card(p["sfzh"]), mask_name(p["xm"]))
        for p in PEOPLE
    ]
    assert got == want


def test_a_download_of_masked_items_reads_the_kept_text_and_writes_the_python_paths_bytes(world, monkeypatch):
    res, user = world["resource"], world["consumer"]
    sql = _copy_sql(user, res)
    assert "overlay" not in sql and "d_" in sql  # nothing masked in the query
    _id, by_copy = _download(user, res)
    monkeypatch.setattr(copyout, "csv_copy_sql", lambda *args, **kw: None)
    _id, by_python = _download(user, res)
    assert by_copy == by_python
    assert _csv_rows(by_copy)[1][:2] == [mask_id_card(PEOPLE[0]["sfzh"]), "张*"]


def test_a_grant_with_plain_values_reads_the_values_not_the_kept_text(world):
    res, user, grant = world["resource"], world["consumer"], world["grant"]
    grant.allow_plain = True
    grant.save()
    _id, body = _download(user, res)
    assert _csv_rows(body)[1][:2] == [PEOPLE[0]["sfzh"], PEOPLE[0]["xm"]]


def test_an_item_made_personal_is_masked_at_once_before_its_table_catches_up(world):
    """The catalog changed, the table has no column for the item yet: the query masks it."""
    res, user, grant = world["resource"], world["consumer"], world["grant"]
    DataItem.objects.filter(resource=res, code="jd").update(sensitivity=Sensitivity.PERSONAL)
    sql = _copy_sql(user, res)
    assert "overlay" in sql
    _id, body = _download(user, res)
    rows = _csv_rows(body)
    jd = rows[0].index("jd") if "jd" in rows[0] else grant.items.index("jd")
    assert [r[jd] for r in rows[1:]] == [mask_generic(p["jd"]) for p in PEOPLE]
    # the next load brings the table in line: the column is added, computed for every row, and read
    table = tables.table_ensure(res)
    assert tables.derived_name(_items(res)["jd"].pk) in _kept_columns(table)
    assert "overlay" not in _copy_sql(user, res)
    _id, again = _download(user, res)
    assert again == body


def test_an_item_no_longer_masked_loses_its_column_and_is_shown_plain(world):
    res, user = world["resource"], world["consumer"]
    DataItem.objects.filter(resource=res, code="xm").update(sensitivity=Sensitivity.INTERNAL)
    _id, before = _download(user, res)  # the schema still lists a kept column: not used, not masked
    table = tables.table_ensure(res)
    assert tables.derived_name(_items(res)["xm"].pk) not in _kept_columns(table)
    _id, after = _download(user, res)
    assert before == after
    assert [r[1] for r in _csv_rows(after)[1:]] == [p["xm"] for p in PEOPLE]


def test_a_masked_item_whose_masker_changes_gets_its_column_computed_again(world):
    """An item renamed to 电话 is masked as a phone number, not by the generic rule."""
    res, user = world["resource"], world["consumer"]
    item = _items(res)["jd"]
    item.sensitivity, item.name = Sensitivity.PERSONAL, "联系电话2"
    item.save()
    tables.table_ensure(res)
    item.name = "所属街道"  # back to the generic rule: the kept text no longer fits
    item.save()
    sql = _copy_sql(user, res)
    assert "overlay" in sql  # masked in the query until the table catches up
    tables.table_ensure(res)
    assert "overlay" not in _copy_sql(user, res)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {tables.derived_name(item.pk)} FROM {tables.q(tables.table_name(res.pk))} ORDER BY _gh_row_id"
        )
        assert [r[0] for r in cursor.fetchall()] == [mask_generic(p["jd"]) for p in PEOPLE]


def test_an_upsert_rewrites_the_kept_text_of_the_rows_it_changes(world):
    res, user = world["resource"], world["consumer"]
    changed = [dict(PEOPLE[0], xm="欧阳娜娜"), *PEOPLE[1:]]
    _load(res, world["officer"], changed)
    _id, body = _download(user, res)
    assert [r[1] for r in _csv_rows(body)[1:]] == [mask_name(p["xm"]) for p in changed]


def test_a_rebuilt_table_keeps_its_masked_columns(world):
    """A type change builds a new table: its masked columns are computed for the copied rows."""
    res, user = world["resource"], world["consumer"]
    DataItem.objects.filter(resource=res, code="lxdh").update(length=40)
    table = tables.table_ensure(res)
    assert table.previous_table_name
    assert len(_kept_columns(table)) == 4
    _id, body = _download(user, res)
    assert [r[1] for r in _csv_rows(body)[1:]] == [mask_name(p["xm"]) for p in PEOPLE]


def test_every_typed_value_masked_by_the_table_is_what_python_writes(typed, monkeypatch):  # noqa: F811
    """Strings, integers, decimals, dates and booleans have kept text; date-times (their text
    follows the session's time zone) are masked in the query — in one file, the same bytes."""
    res, user, _grant = typed
    kept = _kept_columns(DataTable.objects.get(resource=res))
    items = _items(res)
    assert tables.derived_name(items["rqm"].pk) in kept and tables.derived_name(items["sjm"].pk) not in kept
    _id, by_copy = _download(user, res)
    monkeypatch.setattr(copyout, "csv_copy_sql", lambda *args, **kw: None)
    _id, by_python = _download(user, res)
    assert by_copy == by_python


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)))
def test_a_dates_text_built_from_its_parts_is_its_iso_text_and_masks_as_python_masks_it(value):
    col = tables.Column(1, "v", "v", "v", DataType.DATE, None, None, False, False, "")
    exprs = [copyout.masked_expression(fn, col) for fn in (mask_generic, mask_phone, mask_name)]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {copyout.immutable_text(col, 'v')}, {', '.join(exprs)} FROM (SELECT CAST(%s AS date) AS v) AS s",
            [value],
        )
        text, *masked = cursor.fetchone()
    assert text == value.isoformat()
    assert masked == [fn(value.isoformat()) for fn in (mask_generic, mask_phone, mask_name)]


def test_the_kept_text_of_an_item_outside_the_grant_is_never_read(world):
    """lxdh is masked and has a kept column, but this grant does not hold it: not in the file."""
    res, user = world["resource"], world["consumer"]
    lxdh = _items(res)["lxdh"]
    assert tables.derived_name(lxdh.pk) in _kept_columns(DataTable.objects.get(resource=res))
    assert tables.derived_name(lxdh.pk) not in _copy_sql(user, res)
    _id, body = _download(user, res)
    assert all(mask_phone(p["lxdh"]) not in body.decode() for p in PEOPLE)
    assert [h.rsplit("(", 1)[1].rstrip(")") for h in _csv_rows(body)[0]] == ["sfzh", "xm", "jd", "csrq"]
