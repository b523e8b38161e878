"""The read channels (S§31): online query, batch download and the change feed.

Every function here starts from an ``AccessContext`` (``selectors.access_check``) — DESIGN rule 2
— reads only granted items through ``datastore.tables``, applies the grant's row filter, masks,
and records the read (``accounting.record_read``) in the same transaction.
"""

from __future__ import annotations

import contextlib
import json
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.models import DataType
from core.errors import Invalid, PermissionDenied, RateLimited
from datastore import tables

from . import copyout
from .accounting import identifier_columns, record_download_end, record_read
from .errors import ExchangeError
from .masking import mask_row
from .models import Grant, UsageDaily
from .selectors import AccessContext

MAX_PAGE = 500
DOWNLOAD_CHUNK = 5000
MAX_FEED_PAGE = 1000
RESERVED_PARAMS = {"purpose", "purpose_detail", "after", "limit", "format", "since", "page_size"}
#: Integers the databases can compare (bigint); decimal exponents PostgreSQL's numeric accepts.
INT64 = 2**63
MAX_DECIMAL_EXPONENT = 1000


def _jsonable(v: Any) -> Any:
    if isinstance(v, datetime):
        return v.isoformat()
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, Decimal):
        return str(v)
    return v


def check_filter_value(item, value: str) -> str:
    """Refuse what the databases cannot compare (NUL bytes; integers beyond bigint; decimals beyond
    numeric) with a clear 400 instead of a database error (DESIGN rule 5)."""
    if "\x00" in value:
        raise Invalid(ExchangeError.BAD_FILTER, _("查询值不能包含空字符（NUL）。"))
    text = value.strip()
    try:
        if item.data_type == DataType.INTEGER:
            if not -INT64 <= int(text) < INT64:
                raise Invalid(ExchangeError.BAD_FILTER, _("查询值超出整数范围：%(k)s") % {"k": item.code})
        elif item.data_type == DataType.DECIMAL:
            number = Decimal(text)
            if number.is_finite() and abs(number.adjusted()) > MAX_DECIMAL_EXPONENT:
                raise Invalid(ExchangeError.BAD_FILTER, _("查询值超出数值范围：%(k)s") % {"k": item.code})
    except (ValueError, InvalidOperation):
        pass  # not a number at all: the data store's reading of the value says so clearly
    return value


def parse_filters(ctx: AccessContext, params: dict[str, str]) -> dict[str, Any]:
    """``item=v``, ``item__in=a,b``, ``item__gte=`` / ``item__lte=`` (dates and numbers) on granted
    items only. Anything else is refused before any data is read."""
    granted = {i.code: i for i in ctx.items}
    filters: dict[str, Any] = {}
    for key, raw in params.items():
        if key in RESERVED_PARAMS:
            continue
        code, _sep, op = key.partition("__")
        item = granted.get(code)
        if item is None:
            raise Invalid(ExchangeError.BAD_FILTER, _("只能按已授权的信息项查询：%(k)s") % {"k": key})
        raw = str(raw)[:2000]
        if op == "":
            filters[code] = check_filter_value(item, raw)
        elif op == "in":
            values = [check_filter_value(item, v) for v in raw.split(",") if v != ""]
            if not values or len(values) > 100:
                raise Invalid(ExchangeError.BAD_FILTER, _("in 条件须有 1 到 100 个取值。"))
            filters[code] = values
        elif op in ("gte", "lte"):
            if item.data_type not in (DataType.DATE, DataType.DATETIME, DataType.INTEGER, DataType.DECIMAL):
                raise Invalid(
                    ExchangeError.BAD_FILTER, _("范围条件只能用于日期或数值信息项：%(k)s") % {"k": code}
                )
            if code in ctx.maskers:  # a range would find the masked value back in a few calls
                raise Invalid(
                    ExchangeError.BAD_FILTER,
                    _("脱敏信息项不能使用范围条件（可按完整取值查询）：%(k)s") % {"k": code},
                )
            check_filter_value(item, raw)
            rng = filters.setdefault(code, {})
            if not isinstance(rng, dict):
                raise Invalid(ExchangeError.BAD_FILTER, _("同一信息项不能同时使用等值和范围条件。"))
            rng[op] = raw
        else:
            raise Invalid(ExchangeError.BAD_FILTER, _("不支持的查询条件：%(k)s") % {"k": key})
    return filters


def _with_row_filter(ctx: AccessContext, filters: dict[str, Any]) -> dict[str, Any] | None:
    """AND the grant's row filter (``{item: [allowed values]}``) into the caller's filters.
    Returns None when the two cannot both hold (the answer is empty)."""
    merged = dict(filters)
    for code, allowed in (ctx.grant.row_filter or {}).items():
        allowed = [str(v) for v in allowed]
        mine = merged.get(code)
        if mine is None:
            merged[code] = allowed
        elif isinstance(mine, list):
            both = [v for v in mine if v in allowed]
            if not both:
                return None
            merged[code] = both
        elif isinstance(mine, str):
            if mine not in allowed:
                return None
        else:  # a range on a row-filtered item: keep both conditions
            merged[code] = {**mine, "in": allowed}
    return merged


def _present(ctx: AccessContext, rows: list[dict]) -> list[dict]:
    codes = [i.code for i in ctx.items]
    out = []
    for r in rows:
        rec = {c: _jsonable(r.get(c)) for c in codes}
        out.append(mask_row(rec, ctx.maskers))
    return out


def _keys(ctx: AccessContext, rows: list[dict]) -> list[str]:
    cols = identifier_columns(ctx)
    return [str(r[c]) for r in rows for c in cols if r.get(c) not in (None, "")]


@dataclass
class QueryPlan:
    """One online query, checked: the caller's filters, the same ANDed with the grant's row filter
    (None when nothing can match), the page size and the keyset cursor."""

    filters: dict[str, Any]
    merged: dict[str, Any] | None
    limit: int
    after: int | None
    codes: list[str]


def plan_query(ctx: AccessContext, params: dict[str, str]) -> QueryPlan:
    """Refuse bad filters and paging values before any data is read."""
    filters = parse_filters(ctx, params)
    try:
        limit = max(1, min(int(params.get("limit") or 50), MAX_PAGE))
        after = int(params["after"]) if params.get("after") else None
    except ValueError:
        raise Invalid(ExchangeError.BAD_FILTER, _("after 和 limit 须为整数。"))
    if after is not None and not -INT64 <= after < INT64:
        raise Invalid(ExchangeError.BAD_FILTER, _("after 超出范围。"))
    return QueryPlan(filters, _with_row_filter(ctx, filters), limit, after, [i.code for i in ctx.items])


def query_answer(
    ctx: AccessContext, plan: QueryPlan, raw: list[dict], record: Callable[[int, list[str]], int]
) -> dict[str, Any]:
    """The page for ``raw`` (up to ``plan.limit + 1`` rows): masked, and recorded by ``record(rows,
    keys) -> audit event id`` before anything is returned."""
    more = len(raw) > plan.limit
    raw = raw[: plan.limit]
    results = _present(ctx, raw)
    audit_id = record(len(results), _keys(ctx, raw))
    return {
        "results": results,
        "next": str(raw[-1]["_gh_row_id"]) if more else None,
        "returned": len(results),
        "audit_id": audit_id,
    }


@transaction.atomic
def online_query(
    *, ctx: AccessContext, user, params: dict[str, str], api_client=None, request=None
) -> dict[str, Any]:
    """联机查询: one page of records, keyset-paginated by an opaque cursor. (The exchange gateway,
    ``exchange.gateway``, serves the same answer for API tokens without Django's request stack.)"""
    plan = plan_query(ctx, params)
    raw = (
        []
        if plan.merged is None
        else tables.select_rows(ctx.resource, plan.codes, plan.merged, plan.after, plan.limit + 1)
    )

    def record(rows: int, keys: list[str]) -> int:
        return record_read(
            ctx=ctx,
            user=user,
            channel="online_query",
            action="exchange.read.query",
            row_count=rows,
            keys=keys,
            filters=plan.filters,
            api_client=api_client,
            request=request,
        ).pk

    return query_answer(ctx, plan, raw, record)


def _check_download_limits(ctx: AccessContext, user) -> None:
    today = timezone.localdate()
    used = UsageDaily.objects.filter(
        day=today, resource=ctx.resource, consumer_id=user.unit_id, channel="batch_download"
    ).values_list("calls", flat=True)
    if sum(used) >= ctx.grant.downloads_per_day:
        raise RateLimited(
            ExchangeError.BAD_STATE,
            _("今日下载次数已达上限（%(n)d 次），请明天再试。") % {"n": ctx.grant.downloads_per_day},
        )


def start_download(
    *, ctx: AccessContext, user, params: dict[str, str], fmt: str, api_client=None, request=None
) -> tuple[str, Iterator[bytes]]:
    """部门批量下载: records the download (audit event with its id) and returns the id and a
    generator that streams the granted slice in constant memory.

    CSV on PostgreSQL is one ``COPY`` of a masked ``SELECT`` (``copyout``); elsewhere, and for
    JSONL and XLSX, the rows are read in pages and masked here. Both write the same bytes."""
    if fmt not in ("csv", "jsonl", "xlsx"):
        raise Invalid(ExchangeError.BAD_FILTER, _("格式须为 csv、jsonl 或 xlsx。"))
    filters = parse_filters(ctx, params)
    merged = _with_row_filter(ctx, filters)
    limit_rows = ctx.grant.download_limit_rows
    codes = [i.code for i in ctx.items]
    copy = None
    if merged is not None:
        # Reads the filter values now, so a bad one is a clear 400 before anything is recorded.
        tables.select_sql(ctx.resource, codes, merged, None, limit_rows)
        if fmt == "csv":
            copy = copyout.csv_copy_sql(ctx, merged, limit_rows)
    download_id = uuid.uuid4().hex
    with transaction.atomic():
        # one download decision at a time per grant: simultaneous calls cannot all pass the limit
        Grant.objects.select_for_update().filter(pk=ctx.grant.pk).first()
        _check_download_limits(ctx, user)
        record_read(
            ctx=ctx,
            user=user,
            channel="batch_download",
            action="exchange.read.download",
            row_count=0,
            filters=filters,
            api_client=api_client,
            request=request,
            extra={"download_id": download_id, "format": fmt, "limit_rows": limit_rows},
        )

    def end(sent: int, complete: bool) -> None:
        # the rows actually sent are known only now: audit them (S§35)
        record_download_end(
            ctx=ctx, user=user, download_id=download_id, rows=sent, complete=complete,
            api_client=api_client, request=request,
        )  # fmt: skip

    header = _csv_line([f"{i.name}({i.code})" for i in ctx.items])
    if copy is not None:
        return download_id, _stream_csv_copy(header, *copy, end)

    def chunks() -> Iterator[list[dict]]:
        after, sent, complete = None, 0, False
        try:
            while merged is not None and sent < limit_rows:
                rows = tables.select_rows(
                    ctx.resource, codes, merged, after, min(DOWNLOAD_CHUNK, limit_rows - sent)
                )
                if not rows:
                    break
                after = rows[-1]["_gh_row_id"]
                yield _present(ctx, rows)
                sent += len(rows)  # counted once the consumer asks for more: these were sent
            complete = True
        finally:
            end(sent, complete)

    if fmt == "csv":
        return download_id, _stream_csv(header, codes, chunks())
    if fmt == "jsonl":
        return download_id, _stream_jsonl(download_id, ctx, chunks())
    labels = [i.name for i in ctx.items]
    return download_id, _stream_xlsx(download_id, codes, labels, chunks())


_CSV_QUOTE = re.compile(r'[,"\r\n]')


def _csv_field(value: Any) -> str:
    """PostgreSQL's CSV rules (``COPY … (FORMAT csv)``), so both paths write the same bytes: quoted
    only when holding a comma, a quote or a line break; empty and NULL both as nothing."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    if _CSV_QUOTE.search(text):
        return '"' + text.replace('"', '""') + '"'
    return text


def _csv_line(values: list) -> str:
    if len(values) == 1 and values[0] == "\\.":
        return '"\\."\n'  # alone on a line it would read as PostgreSQL's end-of-data marker
    return ",".join(map(_csv_field, values)) + "\n"


def _stream_csv(header: str, codes: list[str], chunks) -> Iterator[bytes]:
    """UTF-8 with a byte-order mark (Excel then reads the Chinese right), LF line ends."""
    yield ("\ufeff" + header).encode("utf-8")
    with contextlib.closing(chunks):  # its audit of the rows sent runs now, not when collected
        for rows in chunks:
            yield "".join(_csv_line([r[c] for c in codes]) for r in rows).encode("utf-8")


def _stream_csv_copy(header: str, sql: str, params: list, end) -> Iterator[bytes]:
    """The same file as ``_stream_csv``, its rows written by PostgreSQL (``copyout``)."""
    sent, complete = 0, False
    try:
        yield ("\ufeff" + header).encode("utf-8")
        with contextlib.closing(copyout.copy_blocks(sql, params)) as blocks:
            for block, rows in blocks:
                yield block
                sent += rows  # counted once the server asks for more: these were sent
        complete = True
    finally:  # after the COPY is closed: its connection is free again
        end(sent, complete)


def _stream_jsonl(download_id, ctx, chunks) -> Iterator[bytes]:
    meta = {"_govhub": {"download_id": download_id, "resource": ctx.resource.code, "grant": ctx.grant.pk}}
    yield (json.dumps(meta, ensure_ascii=False) + "\n").encode()
    with contextlib.closing(chunks):
        for rows in chunks:
            yield "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode()


def _stream_xlsx(download_id, header, labels, chunks) -> Iterator[bytes]:
    """openpyxl's write-only workbook keeps rows on disk, not in memory; the finished file is
    streamed from a temporary file."""
    import tempfile

    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    wb = Workbook(write_only=True)
    wb.properties.identifier = download_id
    wb.properties.title = f"GovHub download {download_id}"
    ws = wb.create_sheet("data")

    def cell(value):
        """Text stays text: a value starting with ``=`` is not a formula in the consumer's Excel,
        and control characters a worksheet cannot hold are dropped instead of breaking the file."""
        if not isinstance(value, str):
            return value
        c = WriteOnlyCell(ws, value=ILLEGAL_CHARACTERS_RE.sub("", value))
        c.data_type = "s"
        return c

    ws.append([f"{lab}({code})" for lab, code in zip(labels, header, strict=True)])
    with contextlib.closing(chunks):
        for rows in chunks:
            for r in rows:
                ws.append([cell(r[c]) for c in header])
    with tempfile.TemporaryFile() as tmp:
        wb.save(tmp)
        tmp.seek(0)
        while block := tmp.read(1 << 16):
            yield block


@transaction.atomic
def change_feed(
    *, ctx: AccessContext, user, since: int, limit: int, channel: str, api_client=None, request=None
) -> dict[str, Any]:
    """系统对接 / 前置机: changes after ``since`` with the current values of granted items.

    A row-filtered grant never learns about rows outside its filter through the log: changes of
    such rows, and deletions (whose values are gone), are left out for it."""
    limit = max(1, min(limit, MAX_FEED_PAGE))
    entries = tables.changes_since(ctx.resource, after=since, limit=limit)
    live_ids = [e.row_id for e in entries if e.op != "delete"]
    codes = [i.code for i in ctx.items]
    rows_by_id: dict[int, dict] = {}
    merged = _with_row_filter(ctx, {})
    if live_ids and merged is not None:
        for r in tables.select_rows(
            ctx.resource, codes, {**merged, "_gh_row_id": live_ids}, None, len(live_ids)
        ):
            rows_by_id[r["_gh_row_id"]] = r
    out, raw = [], []
    for e in entries:
        if e.op != "delete" and e.row_id not in rows_by_id:
            continue  # outside the grant's rows, or changed again since (a later entry carries it)
        if e.op == "delete" and ctx.grant.row_filter:
            continue  # the deleted row's values are gone: cannot prove it was inside the filter
        item = {
            "cursor": e.pk,
            "op": e.op,
            "row": e.row_id,
            "version": e.version,
            "changed_at": e.changed_at.isoformat(),
        }
        if e.op != "delete":
            r = rows_by_id[e.row_id]
            raw.append(r)
            item["data"] = _present(ctx, [r])[0]
        out.append(item)
    next_cursor = entries[-1].pk if entries else since
    record_read(
        ctx=ctx,
        user=user,
        channel=channel,
        action="exchange.read.feed",
        row_count=len(out),
        keys=_keys(ctx, raw),
        filters={"since": since},
        api_client=api_client,
        request=request,
    )
    return {"changes": out, "next": next_cursor, "more": len(entries) >= limit}


def require_channel(ctx: AccessContext, channel: str) -> None:
    if not ctx.grant.allows_channel(channel):
        raise PermissionDenied(ExchangeError.NO_GRANT)
