"""部门批量下载 as CSV (issue 7): on PostgreSQL one ``COPY`` of a SELECT masked in SQL, elsewhere rows
masked in Python — the same bytes either way, the grant's rows, items and limit, every row sent
audited, filter values bound, never run."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.roles import Role
from catalog.models import DataItem, DataType, IdentifierKind, Sensitivity
from core.models import AuditEvent
from datastore import tables
from exchange import copyout, reading, selectors
from exchange.masking import mask_generic, mask_id_card, mask_name, mask_phone, sql_mask
from exchange.models import Grant

from .factories import published_resource
from .test_reading import PEOPLE, _get

pytestmark = pytest.mark.django_db
only_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the COPY path exists on PostgreSQL only"
)

S, INT, D, DT, DTM, B = (DataType.STRING, DataType.INTEGER, DataType.DECIMAL, DataType.DATE, DataType.DATETIME,
                       DataType.BOOLEAN)  # fmt: skip
NONE, ID = IdentifierKind.NONE, IdentifierKind.ID_CARD
OPEN, SECRET, PERSONAL = Sensitivity.INTERNAL, Sensitivity.SENSITIVE, Sensitivity.PERSONAL

TEXTS = [None, "", "plain", "a,b", 'say "hi"', "line1\nline2", "cr\rhere", "crlf\r\nx", "=SUM(A1:A2)",
         "+cmd|' /C calc'!A0", "-1+1", "@x", "  spaced  ", "中文，逗号、“引号”", "\\.", "😀 emoji", "tab\tx",
         "C:\\path\\", "'quoted'", "%s %(x)s", "O'Brien'); DROP TABLE x; --"]  # fmt: skip
#: code, name, type, identifier, sensitivity, key; values (row i takes values[i % len])
TYPED = [
    (("bh", "编号", S, NONE, OPEN, True), None),
    (("sfzh", "身份证号", S, ID, PERSONAL, False),
     [None, "", "430102199001011234", "12345", "43010219900101123X", "430102900101123", "一二三四五六七八九十一",
      "430102 19900101 1234", "1234567890"]),
    (("xm", "姓名", S, NONE, PERSONAL, False), [None, "", "张三", "欧阳娜娜", "A", "王", " 李四 ", "a,b", "司马相如之"]),
    (("sjhm", "手机号码", S, NONE, PERSONAL, False),
     [None, "", " 13800001234 ", "1380", "\u3000138000012345\u3000", "   ", "+86 138-0000-1234", "138\t",
      "1234567"]),
    (("bz", "备注", S, NONE, OPEN, False), TEXTS),
    (("bzm", "保密备注", S, NONE, SECRET, False), TEXTS),
    (("n", "数量", INT, NONE, OPEN, False), [None, 0, -1, 12345678, 2**62, -(2**63)]),
    (("nm", "保密数量", INT, NONE, SECRET, False), [None, 0, -1, 12345678, 2**62, -(2**63)]),
    (("amt", "金额", D, NONE, OPEN, False),
     [None, Decimal("0"), Decimal("1.5"), Decimal("-0.0000001"), Decimal("123456.0000000001")]),
    (("amtm", "保密金额", D, NONE, SECRET, False),
     [None, Decimal("0.00000012"), Decimal("-0.000000120"), Decimal("123.4500"), Decimal("1E+5"),
      Decimal("NaN"), Decimal("0.000"), Decimal("1E-20"), Decimal("0.0000000")]),
    (("rq", "日期", DT, NONE, OPEN, False), [None, date(2024, 2, 29), date(1, 1, 1), date(999, 12, 31)]),
    (("rqm", "保密日期", DT, NONE, SECRET, False), [None, date(9999, 12, 31), date(2024, 2, 29)]),
    (("sj", "时间", DTM, NONE, OPEN, False),
     [None, datetime(2024, 1, 2, 3, 4, 5), datetime(2024, 1, 2, 3, 4, 5, 120), datetime(1, 1, 1)]),
    (("sjm", "保密时间", DTM, NONE, SECRET, False),
     [None, datetime(2024, 12, 31, 23, 59, 59, 999999), datetime(2024, 1, 2, 3, 4, 5)]),
    (("flag", "标志", B, NONE, OPEN, False), [None, True, False]),
    (("flagm", "保密标志", B, NONE, SECRET, False), [None, True, False]),
]  # fmt: skip
ROWS = 24


def _db(value):
    """A Python value as the data store keeps it on SQLite (dates, decimals as text; booleans 0/1)."""
    if connection.vendor == "postgresql" or value is None:
        return value
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date | Decimal):
        return str(value)
    return value


def insert_rows(resource, rows: list[dict]) -> None:
    """Rows straight into the resource's table (values a load would refuse or change included)."""
    table = tables.table_ensure(resource)
    cols = {c.code: c.column for c in tables.columns_of(resource)}
    codes = list(rows[0])
    names = ["_gh_key_hash", "_gh_load_id", "_gh_version", "_gh_changed_at"] + [cols[c] for c in codes]
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {tables.q(table.table_name)} ({', '.join(tables.q(n) for n in names)}) "
            f"VALUES ({', '.join(['%s'] * len(names))})",
            [[f"{i:032x}", 1, 1, now] + [_db(r[c]) for c in codes] for i, r in enumerate(rows)],
        )


def grant_for(resource, consumer, items, **kw) -> Grant:
    today = timezone.localdate()
    return Grant.objects.create(
        resource=resource, consumer=consumer.unit, items=items, purpose_category="data_check",
        purpose="核对数据", channels=["online_query", "batch_download"], valid_from=today,
        valid_to=today + timedelta(days=3), **kw,
    )  # fmt: skip


@pytest.fixture
def typed(make_unit, make_user):
    """A resource with every data type, masked and plain, holding awkward values."""
    provider = make_unit()
    res = published_resource(provider=provider, items=[spec for spec, _values in TYPED])
    DataItem.objects.filter(resource=res, code="amt").update(length=30, precision=10)
    DataItem.objects.filter(resource=res, code="amtm").update(length=None)
    DataItem.objects.filter(resource=res, code="sfzh").update(length=40)
    rows = [
        {spec[0]: (f"R{i:02d}" if values is None else values[i % len(values)]) for spec, values in TYPED}
        for i in range(ROWS)
    ]
    insert_rows(res, rows)
    consumer = make_user(unit=make_unit(), roles=[Role.UNIT_USER])
    grant = grant_for(res, consumer, [spec[0] for spec, _values in TYPED])
    return res, consumer, grant


def _download(user, resource, params=None, fmt="csv") -> tuple[str, bytes]:
    ctx = selectors.access_check(user=user, resource=resource, channel="batch_download", purpose="data_check")
    download_id, stream = reading.start_download(ctx=ctx, user=user, params=params or {}, fmt=fmt)
    return download_id, b"".join(stream)


def _csv_rows(body: bytes) -> list[list[str]]:
    assert body.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))


def _end_event(download_id: str) -> AuditEvent:
    return AuditEvent.objects.get(action="exchange.read.download.end", details__download_id=download_id)


# --- the masks and the value text in SQL are the Python ones --------------------------------------

MASKERS = [mask_id_card, mask_name, mask_phone, mask_generic]
TEXT = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=40)
SPACEY = st.text(st.sampled_from(" \t\n\u3000\u00a0\u2028\x1c0123456789X张-"), max_size=24)


@only_postgresql
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=st.one_of(TEXT, SPACEY))
def test_sql_masks_give_exactly_what_the_python_maskers_give_for_any_text(value):
    """Code points, not bytes: multi-byte Chinese, emoji, short strings, Unicode white space."""
    inner = ", ".join(f"{sql_mask(fn)[0]('t.x')} AS v{i}" for i, fn in enumerate(MASKERS))
    outer = ", ".join(f"{sql_mask(fn)[1](f's.v{i}', f'char_length(s.v{i})')}" for i, fn in enumerate(MASKERS))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {outer} FROM (SELECT {inner} FROM (SELECT CAST(%s AS text) AS x) AS t) AS s", [value]
        )
        got = list(cursor.fetchone())
    assert got == [fn(value) or None for fn in MASKERS]  # '' is written like NULL: nothing


def _rendered(data_type: str, sql_type: str, value):
    col = tables.Column(1, "v", "v", "v", data_type, None, None, False, False, "")
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT s.v, {copyout.render_text(col, 's.v')} FROM (SELECT CAST(%s AS {sql_type}) AS v) AS s",
            [value],
        )
        raw, text = cursor.fetchone()
    shown = reading._jsonable(tables._to_python(col, raw))  # what the Python path writes, as text
    return text, None if shown is None else str(shown)


@only_postgresql
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    value=st.one_of(
        st.decimals(allow_nan=False, allow_infinity=False, min_value=-(10**20), max_value=10**20),
        st.decimals(allow_nan=False, allow_infinity=False, places=12, min_value=-1, max_value=1),
        st.sampled_from([Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity"), Decimal("0E-20")]),
    )
)
def test_decimals_are_written_as_python_writes_them_exponent_notation_included(value):
    text, python = _rendered(DataType.DECIMAL, "numeric", value)
    assert text == python


@only_postgresql
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59, 999999)))
def test_dates_datetimes_and_booleans_are_written_as_python_writes_them(value):
    text, python = _rendered(DataType.DATETIME, "timestamp", value)
    assert text == python
    text, python = _rendered(DataType.DATE, "date", value.date())
    assert text == python
    for flag in (True, False, None):
        text, python = _rendered(DataType.BOOLEAN, "boolean", flag)
        assert text == python


# --- the file -----------------------------------------------------------------------------------


@only_postgresql
def test_csv_by_copy_is_byte_for_byte_the_csv_the_python_path_writes(typed, monkeypatch):
    res, user, grant = typed
    ctx = selectors.access_check(user=user, resource=res, channel="batch_download", purpose="data_check")
    assert copyout.csv_copy_sql(ctx, {}, grant.download_limit_rows) is not None  # the COPY path is taken
    _id, by_copy = _download(user, res)
    monkeypatch.setattr(copyout, "csv_copy_sql", lambda *args, **kw: None)
    _id, by_python = _download(user, res)
    assert by_copy == by_python
    assert len(_csv_rows(by_copy)) == 1 + ROWS


@only_postgresql
def test_a_one_column_csv_is_the_same_by_copy_too_where_a_lone_backslash_dot_is_quoted(typed, monkeypatch):
    """Alone on a line, ``\\.`` would read as the end of COPY data: both paths quote it; NULL and ''
    are empty lines."""
    res, user, grant = typed
    grant.items = ["bz"]
    grant.save()
    _id, by_copy = _download(user, res)
    monkeypatch.setattr(copyout, "csv_copy_sql", lambda *args, **kw: None)
    _id, by_python = _download(user, res)
    assert by_copy == by_python and b'\n"\\."\n' in by_copy and b"\n\n" in by_copy


def test_every_csv_value_is_the_value_the_jsonl_download_shows(typed):
    """Masked, formatted, quoted where it must be (commas, quotes, line breaks); NULL and '' empty;
    a leading ``=`` is written as it is, as it always was (the XLSX keeps it as text)."""
    res, user, _grant = typed
    _id, body = _download(user, res)
    rows = _csv_rows(body)
    _id, jsonl = _download(user, res, fmt="jsonl")
    records = [json.loads(line) for line in jsonl.decode().splitlines()[1:]]
    codes = [spec[0] for spec, _values in TYPED]
    assert rows[0] == [f"{spec[1]}({spec[0]})" for spec, _values in TYPED]
    assert rows[1:] == [["" if r[c] is None else str(r[c]) for c in codes] for r in records]
    by_key = {r[0]: dict(zip(codes, r, strict=True)) for r in rows[1:]}
    assert by_key["R02"]["sfzh"] == "430102********1234" and by_key["R02"]["xm"] == "张*"
    assert by_key["R08"]["bz"] == "=SUM(A1:A2)" and by_key["R05"]["bz"] == "line1\nline2"
    assert by_key["R06"]["bz"] == "cr\rhere" and by_key["R00"]["amt"] == ""
    if connection.vendor == "postgresql":  # numeric(30, 10): 0 is read back as Decimal("0E-10")
        assert by_key["R01"]["amt"] == "0E-10"
    assert by_key["R02"]["sj"] == "2024-01-02T03:04:05.000120" and by_key["R01"]["flag"] == "True"
    assert b"\r\n" not in body.replace(b"crlf\r\nx", b"")  # LF line ends, as COPY writes them


def test_download_keeps_the_row_filter_the_callers_filters_and_only_the_granted_items(world):
    res, user, grant = world["resource"], world["consumer"], world["grant"]
    grant.row_filter = {"jd": ["火星街道"]}
    grant.items = ["xm", "jd"]
    grant.save()
    _id, body = _download(user, res)
    rows = _csv_rows(body)
    assert rows == [["姓名(xm)", "所属街道(jd)"], ["李*", "火星街道"], ["赵*", "火星街道"]]
    for person in PEOPLE:  # nothing of the items outside the grant, nor of the rows outside it
        assert person["sfzh"].encode() not in body and person["lxdh"].encode() not in body
    _id, body = _download(user, res, {"xm": "赵六"})
    assert _csv_rows(body)[1:] == [["赵*", "火星街道"]]
    _id, body = _download(user, res, {"jd": "定王台街道"})  # outside the row filter: nothing
    assert _csv_rows(body) == [["姓名(xm)", "所属街道(jd)"]]
    assert _end_event(_id).details["rows"] == 0


def test_download_stops_at_the_grants_row_limit_and_audits_the_rows_sent(world):
    res, user, grant = world["resource"], world["consumer"], world["grant"]
    grant.download_limit_rows = 2
    grant.save()
    download_id, body = _download(user, res)
    assert len(_csv_rows(body)) == 1 + 2
    end = _end_event(download_id)
    assert end.details["rows"] == 2 and end.details["complete"] is True
    start = AuditEvent.objects.get(action="exchange.read.download", details__download_id=download_id)
    assert start.pk < end.pk


def test_a_whole_download_is_audited_with_every_row_it_sent(api, world):
    res, user = world["resource"], world["consumer"]
    resp = _get(api, user, f"/api/v1/exchange/{res.code}/download?format=csv", HTTP_X_PURPOSE="data_check")
    body = b"".join(resp.streaming_content)
    end = _end_event(resp["X-GovHub-Download-Id"])
    assert end.details["rows"] == len(PEOPLE) == len(_csv_rows(body)) - 1 and end.details["complete"] is True


def test_a_download_cut_off_midway_is_audited_incomplete_with_the_rows_sent(world):
    """The client went away after the first blocks: the rows it received are audited, the database
    connection is fine for what comes next."""
    res, user = world["resource"], world["consumer"]
    people = [{"sfzh": f"4301021990{i:08d}", "xm": "钱八", "lxdh": "", "jd": "火星街道", "csrq": None}
              for i in range(12_000)]  # fmt: skip
    insert_rows(res, people)
    ctx = selectors.access_check(user=user, resource=res, channel="batch_download", purpose="data_check")
    download_id, stream = reading.start_download(ctx=ctx, user=user, params={}, fmt="csv")
    header, first, second = next(stream), next(stream), next(stream)
    assert header.decode("utf-8-sig").startswith("身份证号(sfzh)") and first and second
    stream.close()  # what the server does when writing ``second`` fails
    end = _end_event(download_id)
    assert end.details["complete"] is False
    assert end.details["rows"] == first.count(b"\n") > 0  # ``second`` never arrived
    assert Grant.objects.filter(pk=world["grant"].pk).exists()


@pytest.mark.parametrize(
    "value",
    [
        "x' OR '1'='1",
        "火星街道' OR 1=1 --",
        "'); DROP TABLE exchange_grant; --",
        "\\'; SELECT 1; --",
        "%s",
        "%%",
    ],
)
def test_filter_values_are_bound_never_run(world, value):
    res, user = world["resource"], world["consumer"]
    _id, body = _download(user, res, {"jd": value})
    assert len(_csv_rows(body)) == 1  # the header: no street has that name
    _id, body = _download(user, res, {"jd__in": f"火星街道,{value}"})
    assert len(_csv_rows(body)) == 1 + 2
    assert Grant.objects.filter(pk=world["grant"].pk).exists()


def test_a_quote_in_a_filter_value_finds_the_row_that_holds_it(typed):
    res, user, _grant = typed
    _id, body = _download(user, res, {"bz": "O'Brien'); DROP TABLE x; --"})
    rows = _csv_rows(body)
    assert [r[4] for r in rows[1:]] == ["O'Brien'); DROP TABLE x; --"]
    _id, body = _download(user, res, {"bz__in": "'quoted',%s %(x)s"})
    assert sorted(r[4] for r in _csv_rows(body)[1:]) == ["%s %(x)s", "'quoted'"]


def test_a_bad_filter_value_is_refused_before_anything_is_recorded(api, typed):
    res, user, _grant = typed
    before = AuditEvent.objects.count()
    resp = _get(api, user, f"/api/v1/exchange/{res.code}/download?rq=not-a-date", HTTP_X_PURPOSE="data_check")
    assert resp.status_code == 400 and resp.json()["error"]["code"]
    assert AuditEvent.objects.count() == before
