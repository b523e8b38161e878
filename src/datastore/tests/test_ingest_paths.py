"""The fast ingestion paths (issue 6) give the same rows as the careful ones, on SQLite and
PostgreSQL: the columnar CSV reader, the staging CSV sent to ``COPY``, the write-once first load
(next version swapped in by the merge transaction) and the streaming XLSX reader."""

from __future__ import annotations

import datetime as dt
import io
import random
import zipfile
from decimal import Decimal

import openpyxl
import pytest
from django.db import connection

from datastore import services, sources, tables
from datastore.models import ChangeLogEntry, DataTable, LoadStatus

from .factories import csv_text, make_id_card, make_uscc, person_resource

pytestmark = pytest.mark.django_db

RNG = random.Random(606)
IDS = [make_id_card(RNG) for _ in range(8)]
CO = make_uscc(RNG)
HEADER = ["id_card", "name", "birth_date", "employer", "income", "employed", "children"]


def names(resource) -> dict[str, str | None]:
    return {r["id_card"]: r["name"] for r in tables.select_rows(resource, ["id_card", "name"])}


# --- staging CSV: every value comes back exactly -----------------------------------------------

AWKWARD = [
    'say "hi"',  # quotes
    "第一行\n第二行",  # a line break inside a value
    "a,b;c|d",  # separators
    "C:\\temp\\new",  # backslashes (COPY text format would eat them; CSV keeps them)
    "\\N",  # what COPY text format reads as NULL
    "长沙市芙蓉区 五一大道 1号",  # Chinese text with spaces
    "'单引号' & <尖括号>",
]


def quoted_csv(values: list[str], ids: list[str]) -> str:
    def cell(v: str) -> str:
        return '"' + v.replace('"', '""') + '"'

    lines = [",".join(HEADER)]
    for i, (v, key) in enumerate(zip(values, ids, strict=True)):
        lines.append(",".join([key, cell(v), "1990-01-02", CO, "", "是", str(i)]))
    return "\n".join(lines) + "\n"


def test_awkward_text_survives_the_first_load_and_an_upsert_exactly(resource, officer, upload, run_load):
    ids = IDS[: len(AWKWARD)]
    first = run_load(resource=resource, by=officer, upload=upload(quoted_csv(AWKWARD, ids)), mode="upsert")
    assert first.status == LoadStatus.SUCCEEDED, first.error_message
    assert names(resource) == dict(zip(ids, AWKWARD, strict=True))
    got = tables.select_rows(resource, ["id_card", "income", "birth_date"])
    assert all(r["income"] is None for r in got)  # an empty cell is NULL, not ""
    assert {r["birth_date"] for r in got} == {dt.date(1990, 1, 2)}

    changed = [v + "！" for v in AWKWARD]
    second = run_load(resource=resource, by=officer, upload=upload(quoted_csv(changed, ids)), mode="upsert")
    assert second.status == LoadStatus.SUCCEEDED, second.error_message
    assert second.rows_updated == len(AWKWARD)
    assert names(resource) == dict(zip(ids, changed, strict=True))


def test_staging_encode_quotes_what_csv_needs_and_writes_null_as_an_empty_field():
    import polars as pl

    col = tables.Column(1, "name", "姓名", "c_1", "string", 50, None, False, False, "")
    frame = pl.DataFrame(
        {"_gh_line": [2, 3, 4], "_gh_key_hash": ["k1", None, "k3"], "c_1": ['a"b', None, "x\ny"]}
    )
    names_, data = tables.staging_encode([col], frame, pg=True)
    assert names_ == ["_gh_line", "_gh_key_hash", "c_1"]
    assert data == b'2,k1,"a""b"\n3,,\n4,k3,"x\ny"\n'
    names_, data = tables.staging_encode([col], frame, pg=True, first_row_id=100)
    assert names_[0] == "_gh_row_id" and bytes(data).startswith(b"100,k1,")
    names_, (rows, system) = tables.staging_encode([col], frame, pg=False)
    assert list(rows.iter_rows()) == [(2, "k1", 'a"b'), (3, None, None), (4, "k3", "x\ny")] and not system
    names_, (rows, system) = tables.staging_encode(
        [col], frame, pg=False, first_row_id=7, system=(9, 2, "2026-11-26 05:00:00")
    )
    assert names_ == ["_gh_row_id", "_gh_key_hash", "c_1", "_gh_load_id", "_gh_version", "_gh_changed_at"]
    assert rows.row(0) == (7, "k1", 'a"b') and system == (9, 2, "2026-11-26 05:00:00")


# --- the write-once first load ------------------------------------------------------------------


def rows(n: int, name: str = "张") -> list[list[str]]:
    return [[IDS[i], f"{name}{i}", "1990-01-01", CO, "10.5", "否", str(i)] for i in range(n)]


def logged(resource, load) -> list:
    """The change-log entries of one load as the feed reads them: one per row."""
    return [e for e in tables.changes_since(resource, 0, 10_000) if e.load_id == load.pk]


def test_row_ids_continue_after_a_first_load_and_the_change_log_hands_out_every_row(
    resource, officer, upload, run_load
):
    first = run_load(resource=resource, by=officer, upload=upload(csv_text(rows(3))), mode="upsert")
    assert first.status == LoadStatus.SUCCEEDED and first.rows_inserted == 3
    ids_first = [r["_gh_row_id"] for r in tables.select_rows(resource, ["id_card"])]
    # one stored entry for the whole first load (decision 0011), handed out one per row
    assert ChangeLogEntry.objects.filter(load_id=first.pk).count() == 1
    entries = logged(resource, first)
    assert [(e.row_id, e.op) for e in entries] == [(rid, "insert") for rid in ids_first]
    cursors = [e.pk for e in entries]
    assert cursors == list(range(cursors[0], cursors[0] + 3))
    second = run_load(resource=resource, by=officer, upload=upload(csv_text(rows(5))), mode="upsert")
    assert (second.rows_inserted, second.rows_unchanged) == (2, 3)
    ids_all = [r["_gh_row_id"] for r in tables.select_rows(resource, ["id_card"])]
    assert ids_all[:3] == ids_first and min(ids_all[3:]) > max(ids_first)
    assert DataTable.objects.get(resource=resource).row_count == 5
    later = logged(resource, second)
    assert len(later) == 2 and min(e.pk for e in later) > max(cursors)


def test_duplicate_keys_of_a_first_load_are_rejected_with_both_lines_when_the_threshold_allows(
    resource, officer, upload, run_load
):
    data = rows(4) + [rows(2, name="重复")[1]]  # line 6 repeats the key of line 3
    load = run_load(
        resource=resource, by=officer, upload=upload(csv_text(data)), mode="upsert", reject_threshold="0.5"
    )
    assert load.status == LoadStatus.SUCCEEDED, load.error_message
    assert (load.rows_read, load.rows_accepted, load.rows_rejected, load.rows_inserted) == (5, 4, 1, 4)
    reject = load.rejects.get()
    assert reject.line == 6 and "与第 3 行重复" in reject.reason
    assert names(resource)[IDS[1]] == "张1"
    assert len(logged(resource, load)) == 4


def test_crash_while_swapping_in_the_first_version_leaves_the_empty_table_and_is_retryable(
    resource, officer, upload, run_load, monkeypatch, django_capture_on_commit_callbacks
):
    real_swap = tables.staging_swap
    real_merge = tables.merge

    def crash(**kw):
        (real_swap if "nv" in kw else real_merge)(**kw)
        raise RuntimeError("power loss")

    monkeypatch.setattr(tables, "staging_swap", crash)
    monkeypatch.setattr(tables, "merge", crash)
    load = run_load(resource=resource, by=officer, upload=upload(csv_text(rows(3))), mode="upsert")
    assert load.status == LoadStatus.FAILED and load.error_code == "datastore.internal"
    assert tables.select_rows(resource) == []
    assert not DataTable.objects.get(resource=resource).version
    assert not ChangeLogEntry.objects.filter(load_id=load.pk).exists()
    assert not tables.table_exists(tables.staging_name(load.pk))

    monkeypatch.setattr(tables, "staging_swap", real_swap)
    monkeypatch.setattr(tables, "merge", real_merge)
    with django_capture_on_commit_callbacks(execute=True):
        services.load_retry(load=load, by=officer)
    load.refresh_from_db()
    assert load.status == LoadStatus.SUCCEEDED and load.rows_inserted == 3
    assert len(names(resource)) == 3


@pytest.mark.django_db(transaction=True)
def test_first_load_outside_a_transaction_builds_indexes_alongside_the_change_log(
    resource, officer, upload, run_load
):
    """As the worker runs it: the next version is committed, so PostgreSQL builds its indexes on
    a second connection while the merge transaction writes the change log."""
    load = run_load(resource=resource, by=officer, upload=upload(csv_text(rows(6))), mode="upsert")
    assert load.status == LoadStatus.SUCCEEDED, load.error_message
    name = tables.table_name(resource.pk)
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, name)
    assert constraints[f"{name}_key"]["unique"]
    if connection.vendor == "postgresql":
        assert constraints[f"{name}_rid"]["columns"] == ["_gh_row_id"]
    assert len(names(resource)) == 6 and len(logged(resource, load)) == 6
    assert not tables.table_exists(tables.staging_name(load.pk))


@pytest.mark.django_db(transaction=True)
def test_duplicates_found_by_the_parallel_index_build_are_rejected_and_the_rest_applied(
    resource, officer, upload, run_load
):
    data = rows(4) + [rows(3, name="重复")[2]]  # line 6 repeats the key of line 4
    load = run_load(
        resource=resource, by=officer, upload=upload(csv_text(data)), mode="upsert", reject_threshold="0.5"
    )
    assert load.status == LoadStatus.SUCCEEDED, load.error_message
    assert (load.rows_read, load.rows_accepted, load.rows_rejected, load.rows_inserted) == (5, 4, 1, 4)
    reject = load.rejects.get()
    assert reject.line == 6 and "与第 4 行重复" in reject.reason
    assert names(resource)[IDS[2]] == "张2"
    assert len(logged(resource, load)) == 4
    other = person_resource(resource.provider, name="另一个资源")
    failing = run_load(resource=other, by=officer, upload=upload(csv_text(rows(2) + rows(2))), mode="upsert")
    assert failing.status == LoadStatus.FAILED and failing.error_code == "datastore.reject_threshold"
    assert [r.line for r in failing.rejects.order_by("line")] == [4, 5]
    assert tables.select_rows(other) == [] and not ChangeLogEntry.objects.filter(load_id=failing.pk).exists()


# --- the columnar CSV reader ------------------------------------------------------------------


def test_ragged_lines_in_a_plain_file_are_rejected_with_their_lines(resource, officer, upload, run_load):
    text = csv_text(rows(4)).replace(f"{IDS[2]},张2,", f"{IDS[2]},张2,多余,", 1)
    text = text.replace(",0\n", "\n", 1)  # line 2 loses its last field
    load = run_load(
        resource=resource, by=officer, upload=upload(text.replace("\n", "\r\n")), reject_threshold="0.6"
    )
    assert load.status == LoadStatus.SUCCEEDED, load.error_message
    assert [(r.line, "字段数" in r.reason) for r in load.rejects.order_by("line")] == [(2, True), (4, True)]
    assert set(names(resource)) == {IDS[1], IDS[3]}
    assert tables.select_rows(resource, ["children"], {"id_card": IDS[3]})[0]["children"] == 3


def test_a_plain_file_with_only_a_short_line_rejects_that_line(resource, officer, upload, run_load):
    text = csv_text(rows(5)).replace(",3\n", "\n", 1)  # line 5 has 6 fields; polars would pad it
    load = run_load(resource=resource, by=officer, upload=upload(text), reject_threshold="0.5")
    assert load.status == LoadStatus.SUCCEEDED, load.error_message
    assert [(r.line, "字段数为 6" in r.reason) for r in load.rejects.all()] == [(5, True)]
    assert set(names(resource)) == {IDS[0], IDS[1], IDS[2], IDS[4]}


#: Values a simple file (no quotes, one record per line) can hold beside its delimiter.
PLAIN = [
    "C:\\temp\\new",
    "\\N",
    "a;b|c",
    "长沙市芙蓉区 五一大道 1号",
    "'单引号' & <尖括号>",
    "tab\there",
    "\\.",
]


def plain_rows(values: list[str], sep: str) -> str:
    lines = [sep.join(HEADER)]
    for i, v in enumerate(values):
        lines.append(sep.join([IDS[i], v, "1990-01-02", CO, "12.50", "是", str(i)]))
    return "\n".join(lines) + "\n"


def test_staging_encode_writes_a_plain_batch_without_quoting():
    import polars as pl

    col = tables.Column(1, "name", "姓名", "c_1", "string", 50, None, False, False, "")
    frame = pl.DataFrame({"_gh_line": [2, 3], "_gh_key_hash": ["k1", None], "c_1": ["C:\\x y", None]})
    assert tables.staging_encode([col], frame, pg=True, plain=True)[1] == b"2,k1,C:\\x y\n3,,\n"
    quoted = pl.DataFrame({"_gh_line": [2], "_gh_key_hash": ["k1"], "c_1": ['a,"b"']})
    assert tables.staging_encode([col], quoted, pg=True)[1] == b'2,k1,"a,""b"""\n'


def test_a_simple_comma_file_is_read_as_plain_and_every_value_comes_back_exactly(
    resource, officer, upload, run_load, tmp_path
):
    text = plain_rows(PLAIN, ",")
    path = tmp_path / "plain.csv"
    path.write_text(text, encoding="utf-8")
    reader = sources.open_source(source="csv", path=path, cols=cols_of(resource), mode="upsert", fast=True)
    assert all(b.plain for b in reader.batches())  # the fast path, written unquoted
    load = run_load(resource=resource, by=officer, upload=upload(text), mode="upsert")
    assert load.status == LoadStatus.SUCCEEDED, load.error_message
    assert names(resource) == dict(zip(IDS, PLAIN, strict=False))
    assert {r["income"] for r in tables.select_rows(resource, ["income"])} == {Decimal("12.50")}


def test_a_tab_separated_simple_file_with_commas_in_values_is_quoted_and_comes_back_exactly(
    resource, officer, upload, run_load, tmp_path
):
    values = ["a,b", "长沙市,芙蓉区", ",", "x,,y"]
    text = plain_rows(values, "\t")
    path = tmp_path / "tabs.csv"
    path.write_text(text, encoding="utf-8")
    reader = sources.open_source(source="csv", path=path, cols=cols_of(resource), mode="upsert", fast=True)
    assert not any(b.plain for b in reader.batches())  # a comma may be inside a value: quoted
    load = run_load(resource=resource, by=officer, upload=upload(text), mode="upsert")
    assert load.status == LoadStatus.SUCCEEDED, load.error_message
    assert names(resource) == dict(zip(IDS, values, strict=False))


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (quoted_csv(["甲", "乙"], IDS[:2]).encode(), "quotes: a value may hold a comma"),
        (plain_rows(["芙蓉区", "天心区"], ",").encode("gb18030"), "not UTF-8: the careful reader"),
        (plain_rows(["芙蓉区", "天心区"], ",").replace("\n", "\r", 2).encode(), "a bare CR"),
        (plain_rows(["芙蓉区", "天心区"], "|").encode(), "another delimiter"),
    ],
)
def test_only_a_simple_utf8_comma_file_is_written_unquoted(content, why, resource, tmp_path):
    path = tmp_path / "data.csv"
    path.write_bytes(content)
    reader = sources.open_source(source="csv", path=path, cols=cols_of(resource), mode="upsert", fast=True)
    batches = list(reader.batches())
    assert batches and not any(b.plain for b in batches), why


def test_rejects_after_blank_lines_before_the_header_keep_their_physical_lines(
    resource, officer, upload, run_load
):
    bad = rows(3)
    bad[1][0] = IDS[1][:-1] + ("0" if IDS[1][-1] != "0" else "1")  # wrong check digit
    load = run_load(
        resource=resource, by=officer, upload=upload("  \n\n" + csv_text(bad)), reject_threshold="0.5"
    )
    assert load.status == LoadStatus.SUCCEEDED, load.error_message
    assert [(r.line, "校验位" in r.reason) for r in load.rejects.all()] == [(5, True)]  # header on line 3
    assert set(names(resource)) == {IDS[0], IDS[2]}


@pytest.mark.parametrize("before", ["  \n", "\ufeff\n", "\n\t\n"])
def test_blank_lines_before_the_header_are_skipped_and_the_header_is_not_loaded_as_a_row(
    before, resource, officer, upload, run_load
):
    """The fast reader skips one line for the header: a file with blank lines first is read by the
    careful one, which skips them, and the header never becomes a data row."""
    text = before + csv_text(rows(3))
    load = run_load(resource=resource, by=officer, upload=upload(text), reject_threshold="0")
    assert load.status == LoadStatus.SUCCEEDED, load.error_message
    assert load.rows_read == 3 and load.rows_rejected == 0
    assert set(names(resource)) == set(IDS[:3])


def test_a_city_component_code_repeated_in_a_large_batch_is_checked_once_like_row_by_row():
    """城市部件代码 has no compaction: the once-per-distinct-value path must not need one."""
    import polars as pl

    from datastore import validation

    col = tables.Column(1, "bjdm", "部件代码", "c_1", "string", 20, None, False, False, "city_component")
    n = 1200
    for column in ([None] * n, [f"43010210{i % 5:02d}" for i in range(n)]):
        whole = validation.validate_batch(list(range(2, n + 2)), {"c_1": column}, [col])
        parts = [
            validation.validate_batch(list(range(2 + i, 2 + i + 100)), {"c_1": column[i : i + 100]}, [col])
            for i in range(0, n, 100)
        ]
        assert whole.frame.height == n and whole.frame.equals(pl.concat([p.frame for p in parts]))
        assert whole.stats == {
            k: {f: sum(p.stats[k][f] for p in parts) for f in v} for k, v in whole.stats.items()
        }


# --- the streaming XLSX reader -----------------------------------------------------------------


def cols_of(resource):
    return tables.columns_of(resource)


def read_xlsx(resource, data: bytes, tmp_path, sheet: str = "") -> list[tuple[int, dict]]:
    path = tmp_path / "t.xlsx"
    path.write_bytes(data)
    out = []
    for batch in sources.XlsxSource(path, cols_of(resource), mode="upsert", sheet=sheet).batches():
        lines = list(batch.lines)
        values = {k: list(v) for k, v in batch.values.items()}
        for i, line in enumerate(lines):
            out.append((int(line), {k: v[i] for k, v in values.items()}))
    return out


def by_code(resource, row: dict) -> dict:
    return {c.code: row.get(c.column) for c in cols_of(resource)}


def test_xlsx_inline_strings_of_a_streaming_writer_and_shared_strings_read_the_same(resource, tmp_path):
    body = [
        [IDS[0], "张三 & <李四>", dt.date(1990, 1, 2), CO, 12.5, True, 2],
        [IDS[1], "第一行\n第二行", 32875, CO, 3, False, None],
    ]
    results = []
    for write_only in (True, False):
        wb = openpyxl.Workbook(write_only=write_only)
        ws = wb.create_sheet("数据") if write_only else wb.active
        ws.append(HEADER)
        for r in body:
            ws.append(r)
        buf = io.BytesIO()
        wb.save(buf)
        results.append(read_xlsx(resource, buf.getvalue(), tmp_path))
    assert results[0] == results[1]
    (line2, first), (line3, second) = results[0]
    assert (line2, line3) == (2, 3)
    assert by_code(resource, first) == {
        "id_card": IDS[0],
        "name": "张三 & <李四>",
        "birth_date": "1990-01-02",
        "employer": CO,
        "income": "12.5",
        "employed": "true",
        "children": "2",
    }
    assert by_code(resource, second)["name"] == "第一行\n第二行"
    assert by_code(resource, second)["birth_date"] == "1990-01-02"  # serial 32875
    assert by_code(resource, second)["children"] is None


def handmade_xlsx(sheet_xml: str, shared_xml: str = "", prefix: str = "") -> bytes:
    """A minimal workbook written by hand, for shapes openpyxl never writes."""
    p = f"{prefix}:" if prefix else ""
    ns = f' xmlns{":" + prefix if prefix else ""}="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    rels_ns = 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr(
            "xl/workbook.xml",
            f'<{p}workbook{ns} {rels_ns}><{p}sheets><{p}sheet name="表" sheetId="1" r:id="rId1"/>'
            f"</{p}sheets></{p}workbook>",
        )
        rels = (
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
            'relationships/worksheet" Target="worksheets/sheet1.xml"/>'
        )
        if shared_xml:
            rels += (
                '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                'relationships/sharedStrings" Target="sharedStrings.xml"/>'
            )
            z.writestr("xl/sharedStrings.xml", f"<{p}sst{ns}>{shared_xml}</{p}sst>")
        z.writestr("xl/_rels/workbook.xml.rels", rels + "</Relationships>")
        z.writestr(
            "xl/worksheets/sheet1.xml",
            f"<{p}worksheet{ns}><{p}sheetData>{sheet_xml}</{p}sheetData></{p}worksheet>",
        )
    return buf.getvalue()


def test_xlsx_rich_text_phonetic_runs_entities_empty_cells_and_rows_without_numbers(resource, tmp_path):
    shared = (
        "<si><t>id_card</t></si><si><t>name</t></si><si><t>children</t></si>"
        '<si><r><rPr><b/></rPr><t>张</t></r><r><t xml:space="preserve"> 三</t></r><rPh sb="0" eb="1"><t>zhang</t></rPh></si>'
        "<si><t>&#x674E;&#22235;&amp;&#60;</t></si>"
    )
    sheet = (
        '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>2</v></c></row>'
        f'<row r="3"><c r="A3" t="inlineStr"><is><t>{IDS[0]}</t></is></c><c r="B3" t="s"><v>3</v></c>'
        '<c r="C3" s="1"/></row>'
        f'<row><c t="inlineStr"><is><t>{IDS[1]}</t></is></c><c t="s"><v>4</v></c><c><v>7</v></c></row>'
        '<row r="9"><c r="A9" s="2"/></row>'
    )
    got = read_xlsx(resource, handmade_xlsx(sheet, shared), tmp_path)
    assert [line for line, _ in got] == [3, 4]
    assert by_code(resource, got[0][1])["name"] == "张 三"
    assert by_code(resource, got[0][1])["children"] is None
    assert by_code(resource, got[1][1])["name"] == "李四&<"
    assert by_code(resource, got[1][1])["children"] == "7"


def test_xlsx_with_a_namespace_prefix_and_a_formula_deep_in_the_sheet(resource, tmp_path):
    head = '<x:row r="1"><x:c r="A1" t="inlineStr"><x:is><x:t>id_card</x:t></x:is></x:c><x:c r="B1" t="inlineStr"><x:is><x:t>name</x:t></x:is></x:c></x:row>'
    row = '<x:row r="2"><x:c r="A2" t="inlineStr"><x:is><x:t>{}</x:t></x:is></x:c><x:c r="B2" t="inlineStr"><x:is><x:t>王五</x:t></x:is></x:c></x:row>'
    got = read_xlsx(resource, handmade_xlsx(head + row.format(IDS[2]), prefix="x"), tmp_path)
    assert [(line, by_code(resource, r)["name"]) for line, r in got] == [(2, "王五")]
    formula = '<x:row r="3"><x:c r="A3"><x:f>1+1</x:f><x:v>2</x:v></x:c></x:row>'
    from core.errors import Invalid

    with pytest.raises(Invalid) as e:
        read_xlsx(resource, handmade_xlsx(head + row.format(IDS[2]) + formula, prefix="x"), tmp_path)
    assert e.value.code == "datastore.xlsx_formula" and "A3" in e.value.message


def test_xlsx_cells_right_of_the_header_reject_their_row(resource, officer, run_load):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(HEADER)
    ws.append([IDS[0], "张三", None, CO, 1, True, 0])
    ws.append([IDS[1], "李四", None, CO, 1, True, 0, None, "多余"])
    buf = io.BytesIO()
    wb.save(buf)
    buf.seek(0)
    buf.name, buf.size = "data.xlsx", len(buf.getvalue())
    load = run_load(resource=resource, by=officer, upload=buf, reject_threshold="0.5")
    assert load.status == LoadStatus.SUCCEEDED, load.error_message
    reject = load.rejects.get()
    assert reject.line == 3 and "表头之外" in reject.reason
    assert set(names(resource)) == {IDS[0]}
    assert tables.select_rows(resource, ["income"])[0]["income"] == Decimal("1")


# --- validation: repeated identifiers checked once per distinct value ---------------------------


def test_repeated_identifiers_checked_once_give_the_same_result_as_row_by_row(resource):
    import polars as pl

    from datastore import validation

    cols = cols_of(resource)
    bad_uscc = CO[:-1] + ("0" if CO[-1] != "0" else "1")
    employers = [CO, make_uscc(RNG), bad_uscc, "", None, CO.lower(), "91430102-X"]
    n = 1400
    values = {c.column: [None] * n for c in cols}
    by = {c.code: c.column for c in cols}
    values[by["id_card"]] = [IDS[i % len(IDS)] for i in range(n)]
    values[by["name"]] = [f"张{i}" for i in range(n)]
    values[by["employer"]] = [employers[i % len(employers)] for i in range(n)]
    lines = list(range(2, n + 2))
    whole = validation.validate_batch(lines, values, cols)
    parts = [
        validation.validate_batch(lines[i : i + 100], {k: v[i : i + 100] for k, v in values.items()}, cols)
        for i in range(0, n, 100)
    ]
    assert whole.frame.equals(pl.concat([p.frame for p in parts]))
    assert whole.rejects == sorted((r for p in parts for r in p.rejects), key=lambda r: r[0])
    assert whole.rejected_rows == sum(p.rejected_rows for p in parts) == 2 * n // len(employers)
    for item, figures in whole.stats.items():
        assert figures == {k: sum(p.stats[item][k] for p in parts) for k in figures}


def test_xlsx_row_larger_than_the_piece_limit_is_refused_not_read_into_memory(
    resource, tmp_path, monkeypatch
):
    from core.errors import Invalid

    monkeypatch.setattr(sources, "_XLSX_MAX_PIECE", 4096)
    monkeypatch.setattr(sources, "_XLSX_CHUNK", 1024)
    head = (
        '<row r="1"><c r="A1" t="inlineStr"><is><t>id_card</t></is></c>'
        '<c r="B1" t="inlineStr"><is><t>name</t></is></c></row>'
    )
    huge = f'<row r="2"><c r="A2" t="inlineStr"><is><t>{"x" * 100_000}</t></is></c></row>'
    with pytest.raises(Invalid) as e:
        read_xlsx(resource, handmade_xlsx(head + huge), tmp_path)
    assert e.value.code == "datastore.line_too_long"
