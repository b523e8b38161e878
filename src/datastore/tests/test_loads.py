"""Loads through the services: modes, atomicity, change log, history figures (S§23, S§25)."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import pytest

from core.models import AuditEvent
from datastore import services, tables
from datastore.models import ChangeLogEntry, DataTable, Load, LoadStatus

from .factories import csv_text, make_id_card, make_uscc

pytestmark = pytest.mark.django_db

RNG = random.Random(6)
IDS = [make_id_card(RNG) for _ in range(5)]
CO = make_uscc(RNG)


def rows(n=3, income="1000.50"):
    return [[IDS[i], f"张{i}", f"1990-01-0{i + 1}", CO, income, "是", str(i)] for i in range(n)]


def test_first_load_creates_table_ds_id_and_applies_all_rows_s23(resource, officer, upload, run_load):
    load = run_load(resource=resource, by=officer, upload=upload(csv_text(rows())), mode="upsert")
    assert load.status == LoadStatus.SUCCEEDED, load.error_message
    assert (load.rows_read, load.rows_accepted, load.rows_rejected, load.rows_inserted) == (3, 3, 0, 3)
    table = DataTable.objects.get(resource=resource)
    assert table.table_name == f"ds_{resource.pk}" and table.version == 1 and table.row_count == 3
    got = tables.select_rows(resource, ["id_card", "name", "birth_date", "income", "employed", "children"])
    assert got[0]["id_card"] == IDS[0]
    assert got[0]["birth_date"] == dt.date(1990, 1, 1)
    assert got[0]["income"] == Decimal("1000.50")
    assert got[0]["employed"] is True and got[2]["children"] == 2
    assert load.checksum and len(load.checksum) == 64 and load.duration_ms is not None
    assert [e.op for e in tables.changes_since(resource)] == ["insert"] * 3
    assert AuditEvent.objects.filter(action="datastore.load.apply", target_id=str(load.pk)).exists()


def test_upsert_updates_changed_rows_inserts_new_and_logs_each_change(resource, officer, upload, run_load):
    run_load(resource=resource, by=officer, upload=upload(csv_text(rows(3))), mode="upsert")
    second = rows(4)
    second[1][1] = "李一"  # changed
    load = run_load(resource=resource, by=officer, upload=upload(csv_text(second)), mode="upsert")
    assert load.status == LoadStatus.SUCCEEDED, load.error_message
    assert (load.rows_inserted, load.rows_updated, load.rows_unchanged, load.rows_deleted) == (1, 1, 2, 0)
    assert load.version == 2
    ops = list(ChangeLogEntry.objects.filter(load_id=load.pk).values_list("op", flat=True))
    assert sorted(ops) == ["insert", "update"]
    names = {r["id_card"]: r["name"] for r in tables.select_rows(resource, ["id_card", "name"])}
    assert names[IDS[1]] == "李一" and len(names) == 4


def test_full_replace_deletes_rows_missing_from_file_and_logs_deletes(resource, officer, upload, run_load):
    run_load(resource=resource, by=officer, upload=upload(csv_text(rows(4))), mode="upsert")
    load = run_load(resource=resource, by=officer, upload=upload(csv_text(rows(2))), mode="replace")
    assert load.status == LoadStatus.SUCCEEDED, load.error_message
    assert load.rows_deleted == 2
    assert ChangeLogEntry.objects.filter(load_id=load.pk, op="delete").count() == 2
    assert len(tables.select_rows(resource)) == 2


def test_append_rejects_rows_whose_key_already_exists(resource, officer, upload, run_load):
    run_load(resource=resource, by=officer, upload=upload(csv_text(rows(2))), mode="upsert")
    load = run_load(
        resource=resource, by=officer, upload=upload(csv_text(rows(3))), mode="append", reject_threshold="0.9"
    )
    assert load.status == LoadStatus.SUCCEEDED, load.error_message
    assert (load.rows_inserted, load.rows_rejected) == (1, 2)
    assert "主键已存在" in load.rejects.first().reason


def test_reject_threshold_exceeded_fails_whole_load_nothing_applied(resource, officer, upload, run_load):
    run_load(resource=resource, by=officer, upload=upload(csv_text(rows(2))), mode="upsert")
    bad = rows(4)
    bad[3][0] = bad[3][0][:-1] + ("0" if bad[3][0][-1] != "0" else "1")  # wrong check digit
    bad[0][1] = "王五"
    load = run_load(resource=resource, by=officer, upload=upload(csv_text(bad)), mode="upsert")
    assert load.status == LoadStatus.FAILED
    assert load.error_code == "datastore.reject_threshold"
    assert "未应用任何数据" in load.error_message
    assert (load.rows_read, load.rows_rejected) == (4, 1)
    reject = load.rejects.get()
    assert (reject.line, reject.reason) == (5, "身份证号校验位错误")
    # previous version untouched
    assert DataTable.objects.get(resource=resource).version == 1
    assert {r["name"] for r in tables.select_rows(resource, ["name"])} == {"张0", "张1"}
    assert not ChangeLogEntry.objects.filter(load_id=load.pk).exists()


def test_threshold_allows_a_few_rejects_and_keeps_them_for_download(resource, officer, upload, run_load):
    bad = rows(5)
    bad[2][2] = "2026-02-30"
    load = run_load(
        resource=resource, by=officer, upload=upload(csv_text(bad)), mode="upsert", reject_threshold="0.25"
    )
    assert load.status == LoadStatus.SUCCEEDED
    assert (load.rows_accepted, load.rows_rejected) == (4, 1)
    r = load.rejects.get()
    assert (r.line, r.column, r.value) == (4, "出生日期（birth_date）", "2026-02-30")


def test_duplicate_keys_in_upsert_are_rejected_with_the_first_line(resource, officer, upload, run_load):
    dup = rows(3) + [rows(1)[0]]
    load = run_load(resource=resource, by=officer, upload=upload(csv_text(dup)), mode="upsert")
    assert load.status == LoadStatus.FAILED and load.error_code == "datastore.reject_threshold"
    r = load.rejects.get()
    assert r.line == 5 and "与第 2 行重复" in r.reason
    assert not DataTable.objects.get(resource=resource).version


def test_crash_during_merge_leaves_previous_version_and_load_retryable(
    resource, officer, upload, run_load, monkeypatch, django_capture_on_commit_callbacks
):
    run_load(resource=resource, by=officer, upload=upload(csv_text(rows(2))), mode="upsert")
    real_merge = tables.merge

    def crash(**kw):
        real_merge(**kw)
        raise RuntimeError("power loss")

    monkeypatch.setattr(tables, "merge", crash)
    changed = rows(3)
    changed[0][1] = "改名"
    load = run_load(resource=resource, by=officer, upload=upload(csv_text(changed)), mode="upsert")
    assert load.status == LoadStatus.FAILED and load.error_code == "datastore.internal"
    assert {r["name"] for r in tables.select_rows(resource, ["name"])} == {"张0", "张1"}
    assert DataTable.objects.get(resource=resource).version == 1
    assert not ChangeLogEntry.objects.filter(load_id=load.pk).exists()
    assert not tables.table_exists(tables.staging_name(load.pk))

    monkeypatch.setattr(tables, "merge", real_merge)
    with django_capture_on_commit_callbacks(execute=True):
        services.load_retry(load=load, by=officer)
    load.refresh_from_db()
    assert load.status == LoadStatus.SUCCEEDED and load.attempts == 2
    assert "改名" in {r["name"] for r in tables.select_rows(resource, ["name"])}


def test_interrupted_running_load_is_marked_failed_and_retryable(resource, officer, upload):
    import time_machine

    load = services.load_create(resource=resource, by=officer, upload=upload(csv_text(rows(1))), run=False)
    Load.objects.filter(pk=load.pk).update(status=LoadStatus.RUNNING, heartbeat_at=load.created_at)
    with time_machine.travel(load.created_at + dt.timedelta(minutes=30)):
        assert services.load_fail_stale() == 1
    load.refresh_from_db()
    assert load.status == LoadStatus.FAILED and "可以重试" in load.error_message


def test_new_item_adds_a_column_without_losing_rows(resource, officer, upload, run_load):
    from catalog.models import DataItem

    run_load(resource=resource, by=officer, upload=upload(csv_text(rows(2))), mode="upsert")
    DataItem.objects.create(resource=resource, position=9, code="phone", name="电话", length=20)
    header = ["id_card", "name", "phone"]
    load = run_load(
        resource=resource,
        by=officer,
        upload=upload(csv_text([[IDS[0], "张0", "13800000000"]], header)),
        mode="upsert",
    )
    assert load.status == LoadStatus.SUCCEEDED, load.error_message
    got = {r["id_card"]: r for r in tables.select_rows(resource, ["id_card", "phone", "birth_date"])}
    assert got[IDS[0]]["phone"] == "13800000000"
    assert got[IDS[1]]["phone"] is None and got[IDS[1]]["birth_date"] == dt.date(1990, 1, 2)


def test_type_change_rebuilds_table_copies_rows_and_keeps_old_table(resource, officer, upload, run_load):
    from catalog.models import DataItem

    run_load(resource=resource, by=officer, upload=upload(csv_text(rows(2))), mode="upsert")
    DataItem.objects.filter(resource=resource, code="children").update(data_type="string", length=5)
    table = tables.table_ensure(resource)
    assert table.previous_table_name and tables.table_exists(table.previous_table_name)
    got = tables.select_rows(resource, ["children"])
    assert [r["children"] for r in got] == ["0", "1"]
    tables.table_drop_previous(table)
    assert not tables.table_exists(table.table_name + "_v1") and not table.previous_table_name


def test_type_change_that_cannot_cast_is_refused_and_table_unchanged(resource, officer, upload, run_load):
    from catalog.models import DataItem
    from core.errors import Conflict

    run_load(resource=resource, by=officer, upload=upload(csv_text(rows(2))), mode="upsert")
    DataItem.objects.filter(resource=resource, code="name").update(data_type="integer")
    with pytest.raises(Conflict):
        tables.table_ensure(resource)
    DataItem.objects.filter(resource=resource, code="name").update(data_type="string")
    assert [r["name"] for r in tables.select_rows(resource, ["name"])] == ["张0", "张1"]


def test_select_rows_filters_with_bound_values_and_pages_by_row_id(resource, officer, upload, run_load):
    run_load(resource=resource, by=officer, upload=upload(csv_text(rows(5))), mode="upsert")
    page1 = tables.select_rows(resource, ["id_card"], limit=2)
    page2 = tables.select_rows(resource, ["id_card"], after=page1[-1]["_gh_row_id"], limit=2)
    assert [r["id_card"] for r in page1 + page2] == IDS[:4]
    assert tables.select_rows(resource, ["name"], {"id_card": "x' OR '1'='1"}) == []
    assert tables.select_rows(resource, ["name"], {"birth_date": dt.date(1990, 1, 3)})[0]["name"] == "张2"


def test_select_rows_understands_the_exchange_filter_forms(resource, officer, upload, run_load):
    run_load(resource=resource, by=officer, upload=upload(csv_text(rows(5))), mode="upsert")
    by_list = tables.select_rows(resource, ["name"], {"id_card": [IDS[0], IDS[2]]})
    assert [r["name"] for r in by_list] == ["张0", "张2"]
    ranged = tables.select_rows(
        resource, ["name"], {"birth_date": {"gte": "1990-01-02", "lte": "1990年1月4日"}}
    )
    assert [r["name"] for r in ranged] == ["张1", "张2", "张3"]
    both = tables.select_rows(resource, ["name"], {"children": {"gte": "1", "in": ["1", "4"]}})
    assert [r["name"] for r in both] == ["张1", "张4"]
    first = tables.select_rows(resource, ["name"], limit=2)
    ids_ = [r["_gh_row_id"] for r in first]
    assert [r["name"] for r in tables.select_rows(resource, ["name"], {"_gh_row_id": ids_})] == ["张0", "张1"]
    assert tables.select_rows(resource, ["name"], {"id_card": IDS[0].lower()})[0]["name"] == "张0"
    assert tables.select_rows(resource, ["name"], {"employed": "是"}) != []
    from core.errors import Invalid

    with pytest.raises(Invalid):
        tables.select_rows(resource, ["name"], {"children": "many"})
    with pytest.raises(Invalid):
        tables.select_rows(resource, ["nope"])


def test_a_lone_text_key_is_found_through_the_unique_key_index_and_has_no_index_of_its_own(
    resource, officer, upload, run_load
):
    """The key hash of a lone text key is the key itself: one index serves loads and lookups."""
    from django.db import connection

    data = rows(3)
    run_load(resource=resource, by=officer, upload=upload(csv_text(data)), mode="upsert")
    name = tables.table_name(resource.pk)
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, name)
    key = constraints[f"{name}_key"]
    assert key["unique"] and key["columns"] == ["_gh_key_hash"]
    key_item = resource.items.get(is_key=True)
    assert f"{name}_c_{key_item.pk}" not in constraints
    sql, params, _cols = tables.select_sql(resource, ["name"], {key_item.code: data[1][0]})
    assert "_gh_key_hash IN (%s)" in sql and params[-1] == data[1][0]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("EXPLAIN " + sql, params)
            plan = " ".join(r[0] for r in cursor.fetchall())
        assert f"{name}_key" in plan
    # lower-case x, spaces: read like a loaded value, found by both conditions
    got = tables.select_rows(resource, ["name"], {key_item.code: [f" {data[2][0].lower()} ", data[0][0]]})
    assert sorted(r["name"] for r in got) == sorted([data[0][1], data[2][1]])
    assert tables.select_rows(
        resource, ["name"], {key_item.code: {"gte": data[0][0]}}
    )  # a range: column only


def test_decimal_filters_compare_numbers_on_both_databases(resource, officer, upload, run_load):
    data = rows(3)
    data[0][4], data[1][4], data[2][4] = "9.5", "10.25", "100"
    run_load(resource=resource, by=officer, upload=upload(csv_text(data)), mode="upsert")
    got = tables.select_rows(resource, ["name"], {"income": {"gte": "9.6", "lte": "100"}})
    assert [r["name"] for r in got] == ["张1", "张2"]
    assert [r["name"] for r in tables.select_rows(resource, ["name"], {"income": "10.250"})] == ["张1"]


@pytest.mark.parametrize("name", ["ds_12", "c_345", "_gh_key_hash", "ds_12_next_7", '"ds_9"'])
def test_q_quotes_identifiers_as_the_database_backend_does(name):
    """``tables.q`` skips the connection lookup but must quote exactly like Django's backend."""
    from django.db import connection

    assert tables.q(name) == connection.ops.quote_name(name)
