"""The exchange gateway: the online query's hot path (联机查询, S§31), served in front of Django's
request stack for callers with an API token.

Integrator systems call ``GET /api/v1/exchange/<code>/records`` hundreds of times a second. The
answer is exactly the one ``exchange.api.views.RecordQueryApi`` gives — the same checks
(``selectors.access_check``'s rules), the same filter parsing and paging (``reading.plan_query``),
the same masking and the same audit event (``accounting.read_details``) — but without the
fourteen middleware classes, DRF's request wrapping and a dozen ORM round trips:

1. one statement counts the call against the client's rate limit and reads the token, client,
   unit, service user's consumer role, the published resource with its items and table, and the
   unit's live grants for it (nothing cached across requests, so a revoked token or grant takes
   effect on the very next call);
2. one ``SELECT`` of the granted columns (``datastore.tables.select_rows``);
3. one statement appends the audit event and the record-access hashes (one transaction, durable
   before the answer leaves);
4. the daily usage counter is added up in the process and written once a second
   (``accounting.UsageBuffer``): every call of a client would otherwise update the same row, and
   those updates queue behind each other's commits. A crash may lose the last second of
   statistics, never an audit event (the statistics can be recounted from the audit trail).

Anything else — no or a bad token, a refusal, a bad filter, the rate limit, a browser session —
is handed to Django unchanged, which answers it with the usual error shape. The gateway only
ever serves the successful case, so the two paths cannot disagree about who may read what.
``GOVHUB_EXCHANGE_GATEWAY=0`` turns it off (every call then goes through Django).
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import re
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qsl

import orjson
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, close_old_connections, connection, connections, transaction
from django.utils import timezone

from core import audit, ratelimit
from core.errors import DomainError

logger = logging.getLogger(__name__)

#: Set in the WSGI environ when the gateway counted the call, so Django's throttle does not count it again.
COUNTED_ENV = "govhub.exchange.rate_counted"
PATH = re.compile(r"/api/v1/exchange/([A-Za-z0-9_.\-]{1,40})/records\Z")  # as the URLconf: no slash
CHANNEL = "online_query"
ACTION = "exchange.read.query"
SCOPE = "exchange.query"
#: Parsed catalog rows (items JSON text → DataItems and Columns); bounded, exact (keyed by content).
_SHAPES: dict[tuple[str, str, str], tuple[list, list]] = {}
_SHAPES_MAX = 512


def rate_key(client_id: int) -> str:
    return f"c{int(client_id)}"


def _rate() -> ratelimit.Rate:
    return _parsed_rate(getattr(settings, "GOVHUB_EXCHANGE_RATE", "1200/min"))


@functools.lru_cache(maxsize=8)
def _parsed_rate(text: str) -> ratelimit.Rate:
    return ratelimit.parse_rate(text)


def _today(now: dt.datetime) -> dt.date:
    """``timezone.localdate`` in the site's time zone (the gateway never activates another one),
    without the per-call lookup of the active time zone."""
    return timezone.localtime(now, timezone.get_default_timezone()).date()


class Gateway:
    """WSGI middleware: serve the online query's successful calls, hand everything else to Django."""

    def __init__(self, app: Callable):
        self.app = app

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        match = (
            PATH.fullmatch(environ.get("PATH_INFO", ""))
            if environ.get("REQUEST_METHOD") == "GET" and getattr(settings, "GOVHUB_EXCHANGE_GATEWAY", True)
            else None
        )
        if match is None or "HTTP_AUTHORIZATION" not in environ:
            return self.app(environ, start_response)
        try:
            answer = serve(environ, match.group(1))
        except Exception:  # never a 500 from here: Django answers (and logs) the same request
            logger.exception("exchange gateway: handing over to Django")
            answer = None
            _reset_connection()
        finally:
            _end_request()
        if answer is None:
            return self.app(environ, start_response)
        body, request_id = answer
        start_response(
            "200 OK",
            [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(body))),
                ("X-Request-ID", request_id),
                ("X-Content-Type-Options", "nosniff"),
                ("X-Frame-Options", "DENY"),
                ("Referrer-Policy", "same-origin"),
                ("Cross-Origin-Opener-Policy", "same-origin"),
                ("Vary", "Accept, Authorization"),
                ("Cache-Control", "no-store"),
                ("X-GovHub-Served-By", "exchange-gateway"),
            ],
        )
        return [body]


def _end_request() -> None:
    """Django's end-of-request upkeep of a persistent connection (``close_old_connections``),
    without its per-request health-check ping: close after a database error or past
    ``CONN_MAX_AGE``; the next request opens a fresh one."""
    db = connections[DEFAULT_DB_ALIAS]
    if db.in_atomic_block or db.connection is None:
        return
    if db.errors_occurred or (db.close_at is not None and time.monotonic() >= db.close_at):
        close_old_connections()


def _reset_connection() -> None:
    if connection.in_atomic_block:
        return
    try:
        if connection.connection is not None and not connection.get_autocommit():
            connection.rollback()
    except Exception:
        connection.close()


class _Caller:
    """What ``audit.build`` reads of a request: address headers and the request id."""

    def __init__(self, environ: dict, request_id: str):
        self.META = environ
        self.request_id = request_id


def _request_id(environ: dict) -> str:
    incoming = environ.get("HTTP_X_REQUEST_ID", "")
    if incoming and len(incoming) <= 64 and incoming.replace("-", "").isalnum():
        return incoming
    return uuid.uuid4().hex


def _bearer(environ: dict) -> str | None:
    """The token as ``ApiTokenAuthentication`` reads it: the header's bytes split on ASCII
    whitespace, ``Bearer`` and one ASCII token; None for anything else."""
    try:
        parts = environ.get("HTTP_AUTHORIZATION", "").encode("iso-8859-1").split()
    except UnicodeEncodeError:
        return None
    if len(parts) != 2 or parts[0].lower() != b"bearer":
        return None
    try:
        return parts[1].decode("ascii")
    except UnicodeDecodeError:
        return None


#: What Django checks before any view and the gateway must not skip.
_JSON_ACCEPT = frozenset({"", "*/*", "application/json"})


def _plain_call(environ: dict) -> bool:
    """A call Django's stack would let through to the view unchanged: an allowed host (ALLOWED_HOSTS,
    as ``CommonMiddleware``), no browser session (its middleware may refuse or log it out), and an
    answer in JSON (DRF's content negotiation would pick another renderer or answer 406)."""
    from django.http.request import split_domain_port, validate_host

    if environ.get("HTTP_ACCEPT", "").strip() not in _JSON_ACCEPT:
        return False
    if f"{settings.SESSION_COOKIE_NAME}=" in environ.get("HTTP_COOKIE", ""):
        return False
    if settings.USE_X_FORWARDED_HOST and environ.get("HTTP_X_FORWARDED_HOST"):
        host = environ["HTTP_X_FORWARDED_HOST"]
    else:
        host = (
            environ.get("HTTP_HOST") or f"{environ.get('SERVER_NAME', '')}:{environ.get('SERVER_PORT', '')}"
        )
    domain, _port = split_domain_port(host)
    allowed = settings.ALLOWED_HOSTS or ([".localhost", "127.0.0.1", "[::1]"] if settings.DEBUG else [])
    return bool(domain) and validate_host(domain, allowed)


def _params(environ: dict) -> dict[str, str] | None:
    """The query string as Django reads it (last value wins), or None for anything unusual."""
    raw = environ.get("QUERY_STRING", "")
    if not raw.isascii():
        return None
    try:
        pairs = parse_qsl(raw, keep_blank_values=True, encoding="utf-8", errors="strict", max_num_fields=200)
    except (UnicodeDecodeError, ValueError):
        return None
    params = dict(pairs)
    if any("\x00" in k or "\x00" in v for k, v in params.items()):
        return None
    return params


def serve(environ: dict, code: str) -> tuple[bytes, str] | None:
    """The body of a successful online query, or None to let Django answer."""
    token = _bearer(environ)
    if token is None or not _plain_call(environ):
        return None
    params = _params(environ)
    if params is None or "format" in params:  # DRF's format suffixes and parameter: Django answers
        return None
    purpose = (environ.get("HTTP_X_PURPOSE") or params.get("purpose") or "").strip()
    detail = (environ.get("HTTP_X_PURPOSE_DETAIL") or params.get("purpose_detail") or "").strip()
    if "\x00" in purpose or "\x00" in detail:
        return None
    from accounts.services import hash_token

    token_hash = hash_token(token)
    rate = _rate()
    db = connections[DEFAULT_DB_ALIAS]  # once: each use of the ``connection`` proxy costs a lookup
    row = _lookup(db, token_hash, code, rate, environ)
    if row is None:
        return None
    ctx, who = _access(row, purpose, detail)
    if ctx is None:
        return None
    from . import reading

    try:
        plan = reading.plan_query(ctx, params)
    except DomainError:
        return None
    from datastore import tables

    table, columns = who["table"], who["columns"]
    raw = (
        []
        if plan.merged is None
        else tables.select_rows(
            ctx.resource,
            plan.codes,
            plan.merged,
            plan.after,
            plan.limit + 1,
            table=table,
            all_columns=columns,
            run=(lambda sql, p: _prepared(db, sql, p).fetchall()) if db.vendor == "postgresql" else None,
        )
    )
    request_id = _request_id(environ)
    caller = _Caller(environ, request_id)
    answer = reading.query_answer(
        ctx, plan, raw, lambda rows, keys: _record(db, ctx, who, plan, rows, keys, caller)
    )
    # The read is audited: from here on nothing may hand the call to Django (it would be read twice).
    try:
        _touch_token(who, environ)
    except Exception:
        logger.exception("exchange gateway: last-use time of the token not updated")
    return orjson.dumps(answer, default=str), request_id


def _prepared(db, sql: str, params: list):
    """PostgreSQL: run ``sql`` as a prepared statement of this connection (psycopg's server-side
    binding; Django's own cursors bind on the client and re-plan every time). Planning the lookup
    costs more than running it."""
    import psycopg

    db.ensure_connection()
    raw = db.connection
    kept = getattr(db, "_govhub_cursor", None)  # one server-side cursor per connection, reused
    if kept is None or kept[0] is not raw:
        kept = (raw, psycopg.Cursor(raw))
        db._govhub_cursor = kept
    with db.wrap_database_errors:
        return kept[1].execute(sql, params, prepare=True)


# --- 1. the one lookup ------------------------------------------------------------------------


#: ApiTokenAuthentication's checks in SQL (``%s``: now): a live token of an active client of an active
#: unit, with an active service user.
AUTHENTICATES = (
    "{t}.revoked_at IS NULL AND {t}.expires_at > %s AND {c}.is_active AND {u}.is_active "
    "AND {su}.id IS NOT NULL AND {su}.is_active"
)


@functools.cache
def _lookup_sql(vendor: str) -> str:
    """The lookup (built once per process). PostgreSQL: prefixed by the rate count (``%s``: the
    key suffix, the window, the token hash)."""
    from accounts.models import ApiClient, ApiToken, RoleAssignment, Unit, User
    from catalog.models import DataItem, Resource
    from core.models import RateWindow
    from datastore.models import DataTable

    from .models import Grant
    from .permissions import CONSUMER_ROLES

    pg = vendor == "postgresql"
    scope = "t.scopes ? %s" if pg else "EXISTS (SELECT 1 FROM json_each(t.scopes) AS sc WHERE sc.value = %s)"
    other_ip = "t.last_used_ip IS DISTINCT FROM CAST(%s AS inet)" if pg else "t.last_used_ip IS NOT %s"
    qn = connection.ops.quote_name
    t = {m: qn(m._meta.db_table) for m in (ApiToken, ApiClient, Unit, User, RoleAssignment, Resource, DataItem, DataTable, Grant)}  # fmt: skip
    item_fields = "i.id, i.code, i.name, i.data_type, i.length, i.precision, i.required, i.is_key, i.identifier_kind, i.sensitivity, i.position"  # fmt: skip
    grant_fields = "g.id, g.items, g.row_filter, g.channels, g.api_client_ids, g.purpose_category, g.allow_plain, g.download_limit_rows, g.downloads_per_day"  # fmt: skip
    roles = ", ".join(["%s"] * len(CONSUMER_ROLES))
    if pg:
        items_sql = (
            f"(SELECT json_agg(json_build_array({item_fields}) ORDER BY i.position, i.id)::text "
            f"FROM {t[DataItem]} i WHERE i.resource_id = r.id)"
        )
        grants_sql = (
            f"(SELECT json_agg(json_build_array({grant_fields}) ORDER BY g.id DESC)::text FROM {t[Grant]} g "
            "WHERE g.resource_id = r.id AND g.consumer_id = u.id AND g.status = %s "
            "AND g.valid_from <= %s AND g.valid_to >= %s)"
        )
        schema = "dt.schema::text"
    else:
        items_sql = (
            f"(SELECT json_group_array(json_array({item_fields.replace('i.', '')})) FROM "
            f"(SELECT * FROM {t[DataItem]} i WHERE i.resource_id = r.id ORDER BY i.position, i.id))"
        )
        gf = ", ".join(
            f"json({f})" if f in ("g.items", "g.row_filter", "g.channels", "g.api_client_ids") else f
            for f in grant_fields.split(", ")
        )
        grants_sql = (
            f"(SELECT json_group_array(json_array({gf.replace('g.', '')})) FROM (SELECT * FROM {t[Grant]} g "
            "WHERE g.resource_id = r.id AND g.consumer_id = u.id AND g.status = %s "
            "AND g.valid_from <= %s AND g.valid_to >= %s ORDER BY g.id DESC))"
        )
        schema = "dt.schema"
    sql = (
        f"SELECT {'(SELECT hits FROM rl)' if pg else 'NULL'}, t.id, "
        # the token authenticates (ApiTokenAuthentication's checks); it has the channel's scope
        f"({AUTHENTICATES.format(t='t', c='c', u='u', su='su')}), ({scope}), "
        # "last used" is a minute old or from another address (accounts.services.api_token_touch)
        f"(t.last_used_at IS NULL OR t.last_used_at < %s OR {other_ip}), "
        "c.id, c.name, c.system_name, u.id, u.name, su.id, su.username, "
        f"EXISTS (SELECT 1 FROM {t[RoleAssignment]} ra WHERE ra.user_id = su.id AND ra.role IN ({roles})), "
        f"r.id, r.code, r.name, r.sharing_type, dt.id, dt.table_name, {schema}, {items_sql}, {grants_sql} "
        f"FROM {t[ApiToken]} t JOIN {t[ApiClient]} c ON c.id = t.client_id JOIN {t[Unit]} u ON u.id = c.unit_id "
        f"LEFT JOIN {t[User]} su ON su.id = c.service_user_id "
        f"LEFT JOIN {t[Resource]} r ON r.code = %s AND r.status = %s "
        f"LEFT JOIN {t[DataTable]} dt ON dt.resource_id = r.id "
        "WHERE t.token_hash = %s"
    )
    if not pg:
        return sql
    rw = qn(RateWindow._meta.db_table)
    return (
        f"WITH rl AS (INSERT INTO {rw} ({qn('key')}, {qn('window')}, hits) "
        # only a call that authenticates is counted, as DRF throttles after authentication
        f"SELECT 'c' || t0.client_id || %s, %s, 1 FROM {t[ApiToken]} t0 "
        f"JOIN {t[ApiClient]} c0 ON c0.id = t0.client_id JOIN {t[Unit]} u0 ON u0.id = c0.unit_id "
        f"JOIN {t[User]} s0 ON s0.id = c0.service_user_id WHERE t0.token_hash = %s "
        f"AND {AUTHENTICATES.format(t='t0', c='c0', u='u0', su='s0')} "
        f"ON CONFLICT ({qn('key')}, {qn('window')}) DO UPDATE SET hits = {rw}.hits + 1 "
        "RETURNING hits) " + sql
    )


def _lookup(db, token_hash: str, code: str, rate: ratelimit.Rate, environ: dict) -> dict | None:
    from catalog.models import ResourceStatus
    from core.middleware import client_ip

    from .models import GrantStatus
    from .permissions import CONSUMER_ROLES

    now = timezone.now()
    today = _today(now)
    # placeholders in order: the role check, the grants' (status, from, to), the resource, the token
    stamp = db.ops.adapt_datetimefield_value  # SQLite compares the text Django stores
    params = [
        stamp(now), SCOPE, stamp(now - dt.timedelta(minutes=1)), client_ip(_Caller(environ, "")),
        *CONSUMER_ROLES, GrantStatus.ACTIVE, today, today, code, ResourceStatus.PUBLISHED, token_hash,
    ]  # fmt: skip
    sql = _lookup_sql(db.vendor)
    if db.vendor == "postgresql":
        window, _left = ratelimit.window_of(rate)
        row = _prepared(db, sql, [f"/{rate.seconds}", window, token_hash, stamp(now), *params]).fetchone()
    else:
        with db.cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
        if row is not None and row[_AUTHENTICATES]:
            verdict = ratelimit.hit(rate_key(row[_CLIENT]), rate)
            row = (verdict.hits, *row[1:])
    if row is None or row[0] is None:
        return None  # unknown or dead token (not counted): Django says 401
    environ[COUNTED_ENV] = rate_key(row[_CLIENT])
    if row[0] > rate.limit:
        return None  # Django says 429 (without counting the call again)
    return dict(zip(LOOKUP_COLUMNS, row, strict=True))


LOOKUP_COLUMNS = (
    "hits", "token_id", "authenticates", "has_scope", "touch", "client_id", "client_name", "system_name", "unit_id", "unit_name",
    "user_id", "username", "can_read", "resource_id", "resource_code", "resource_name", "sharing_type",
    "table_id", "table_name", "schema", "items", "grants",
)  # fmt: skip


_CLIENT = LOOKUP_COLUMNS.index("client_id")
_AUTHENTICATES = LOOKUP_COLUMNS.index("authenticates")


# --- 2. the access decision (selectors.access_check's rules) ----------------------------------


def _loads(value: Any) -> Any:
    if value is None:
        return None
    return orjson.loads(value) if isinstance(value, str | bytes) else value


def _shape(row: dict) -> tuple[list, list]:
    """DataItems (unsaved, with ids) and table Columns of the resource, parsed once per content."""
    key = (
        row["items"] or "[]",
        row["table_name"] or "",
        row["schema"] if isinstance(row["schema"], str) else "",
    )
    hit = _SHAPES.get(key)
    if hit is not None and key[2]:
        return hit
    from catalog.models import DataItem
    from datastore import tables

    items = []
    for f in _loads(row["items"]) or []:
        items.append(
            DataItem(
                id=f[0],
                resource_id=row["resource_id"],
                code=f[1],
                name=f[2],
                data_type=f[3],
                length=f[4],
                precision=f[5],
                required=bool(f[6]),
                is_key=bool(f[7]),
                identifier_kind=f[8] or "",
                sensitivity=f[9],
                position=f[10],
            )  # fmt: skip
        )
    columns = [tables.column_of(i) for i in items]
    if key[2]:
        if len(_SHAPES) >= _SHAPES_MAX:
            _SHAPES.clear()
        _SHAPES[key] = (items, columns)
    return items, columns


def _access(row: dict, purpose: str, detail: str) -> tuple[Any, dict]:
    """The AccessContext ``selectors.access_check`` would give, or (None, {}) for any refusal.
    Every check runs on every call, on the row just read; only the objects built from the same
    values are reused."""
    from catalog.models import SharingType

    from .models import PurposeCategory

    if not (row["authenticates"] and row["has_scope"] and row["can_read"]) or row["resource_id"] is None:
        return None, {}
    if purpose not in _purposes(PurposeCategory) or row["sharing_type"] == SharingType.NOT_SHARED:
        return None, {}
    grants = [g for g in (_loads(row["grants"]) or []) if CHANNEL in (g[3] or [])]
    grants = [g for g in grants if not g[4] or row["client_id"] in g[4]]
    grants = [g for g in grants if g[5] == purpose]
    if not grants or row["table_id"] is None:  # no table yet: Django answers the empty page
        return None, {}
    g = grants[0]
    key = (purpose, orjson.dumps(g), *(row[c] for c in _SHAPE_COLUMNS))
    built = _BUILT.get(key)
    if built is None:
        built = _build(row, g, purpose)
        if len(_BUILT) >= _SHAPES_MAX:
            _BUILT.clear()
        _BUILT[key] = built
    ctx, who = built
    return replace(ctx, purpose_detail=detail[:200]), {**who, "row": row}


@functools.cache
def _purposes(choices) -> frozenset[str]:
    """The purpose codes (``PurposeCategory.values`` builds a new list at every use)."""
    return frozenset(choices.values)


#: What the objects built for one call depend on (everything but counters and "last used").
_SHAPE_COLUMNS = (
    "client_id", "client_name", "system_name", "unit_id", "unit_name", "user_id", "username",
    "resource_id", "resource_code", "resource_name", "sharing_type", "table_id", "table_name", "schema", "items",
)  # fmt: skip
_BUILT: dict[tuple, tuple[Any, dict]] = {}


def _build(row: dict, g: list, purpose: str) -> tuple[Any, dict]:
    """The AccessContext and the caller's objects for one grant (unsaved model instances carrying
    the ids and labels the audit event needs)."""
    from accounts.models import ApiClient, Unit, User
    from catalog.models import Resource
    from datastore.models import DataTable

    from .masking import masker_for
    from .models import Grant
    from .selectors import AccessContext

    unit = Unit(id=row["unit_id"], name=row["unit_name"])
    resource = Resource(
        id=row["resource_id"], code=row["resource_code"], name=row["resource_name"],
        sharing_type=row["sharing_type"],
    )  # fmt: skip
    grant = Grant(
        id=g[0], resource_id=resource.pk, consumer_id=unit.pk, items=g[1] or [], row_filter=g[2] or {},
        channels=g[3] or [], api_client_ids=g[4] or [], purpose_category=g[5], allow_plain=bool(g[6]),
        download_limit_rows=g[7], downloads_per_day=g[8],
    )  # fmt: skip
    all_items, columns = _shape(row)
    granted = set(grant.items)
    items = [i for i in all_items if i.code in granted]
    maskers = {} if grant.allow_plain else {i.code: masker_for(i) for i in items if masker_for(i)}
    ctx = AccessContext(
        grant=grant, resource=resource, items=items, maskers=maskers, purpose_category=purpose
    )
    who = {
        "user": User(id=row["user_id"], username=row["username"], unit_id=unit.pk),
        "unit": unit,
        "client": ApiClient(
            id=row["client_id"], name=row["client_name"], system_name=row["system_name"], unit_id=unit.pk
        ),
        "table": DataTable(
            id=row["table_id"],
            resource_id=resource.pk,
            table_name=row["table_name"],
            schema=_loads(row["schema"]) or [],
        ),  # fmt: skip
        "columns": columns,
    }
    if connection.vendor == "postgresql":
        # what every event of this caller, grant and purpose has in common, built by ``audit.build``
        # once; ``_record`` adds the time, the address, the request id and the details
        base = audit.build(
            action=ACTION,
            actor=who["user"],
            api_client=who["client"],
            unit=unit,
            target=resource,
            purpose=purpose,
        )
        who["audit"] = {a: getattr(base, a) for a in _insert_sql()[1]}
    return ctx, who


# --- 3. the audit event and the record-access hashes ----------------------------------------


def _record(db, ctx, who: dict, plan, rows: int, keys: list[str], caller: _Caller) -> int:
    from .accounting import count_usage, key_hashes, read_details, usage_buffer
    from .models import RecordAccess

    hashes = sorted(key_hashes(keys))
    now = timezone.now()
    if db.vendor == "postgresql":
        details = read_details(ctx, channel=CHANNEL, row_count=rows, filters=plan.filters)
        event_id = _insert_pg(db, who["audit"], caller, details, hashes, ctx.resource.pk, now)
        if db.in_atomic_block:  # inside a caller's transaction (tests): count in it
            count_usage(ctx, who["unit"].pk, CHANNEL, rows, _today(now))
        else:
            usage_buffer.add(
                (_today(now), ctx.resource.pk, who["unit"].pk, ctx.purpose_category, CHANNEL), rows
            )
        return event_id
    event = audit.build(
        action=ACTION,
        actor=who["user"],
        api_client=who["client"],
        unit=who["unit"],
        target=ctx.resource,
        purpose=ctx.purpose_category,
        details=read_details(ctx, channel=CHANNEL, row_count=rows, filters=plan.filters),
        request=caller,
    )
    with transaction.atomic():
        event.save()
        audit.after_insert()
        RecordAccess.objects.bulk_create(
            [
                RecordAccess(
                    key_hash=h, audit_event_id=event.pk, resource_id=ctx.resource.pk, accessed_at=now
                )
                for h in hashes
            ]  # fmt: skip
        )
        count_usage(ctx, who["unit"].pk, CHANNEL, rows, _today(now))
    return event.pk


@functools.cache
def _insert_sql() -> tuple[str, tuple[str, ...]]:
    from core.models import AuditEvent

    from .models import RecordAccess

    qn = connection.ops.quote_name
    fields = [f for f in AuditEvent._meta.concrete_fields if not f.primary_key]
    sql = (
        f"WITH ev AS (INSERT INTO {qn(AuditEvent._meta.db_table)} ({', '.join(qn(f.column) for f in fields)}) "
        f"VALUES ({', '.join(['%s'] * len(fields))}) RETURNING id), "
        f"ra AS (INSERT INTO {qn(RecordAccess._meta.db_table)} (key_hash, audit_event_id, resource_id, accessed_at) "
        "SELECT h, ev.id, %s, %s FROM ev, unnest(%s::text[]) AS h) "
        "SELECT id FROM ev"
    )
    return sql, tuple(f.attname for f in fields)


def _insert_pg(
    db, base: dict, caller: _Caller, details: dict, hashes: list[str], resource_id: int, now
) -> int:
    """One statement, one transaction: the event and its record-access rows. The event is
    ``audit.build``'s for this caller (``base``, built once per caller, grant and purpose) with this
    call's time, address, request id (checked by ``_request_id``: at most 64 characters, letters,
    digits and hyphens) and details;
    values are text, numbers and times (the address as text cast by the column), ``details`` is
    jsonb."""
    from psycopg.types.json import Jsonb

    from core.middleware import client_ip

    sql, attnames = _insert_sql()
    event = {
        **base,
        "occurred_at": now,
        "ip": client_ip(caller),
        "request_id": caller.request_id,
        "details": Jsonb(audit.clean_details(details), dumps=orjson.dumps),
    }
    event_id = _prepared(db, sql, [*(event[a] for a in attnames), resource_id, now, hashes]).fetchone()[0]
    audit.after_insert()
    return event_id


def _touch_token(who: dict, environ: dict) -> None:
    """``accounts.services.api_token_touch``'s rule ("last used" at most once a minute per address),
    decided by the lookup (``touch``)."""
    from accounts.models import ApiToken
    from core.middleware import client_ip

    if who["row"]["touch"]:
        ApiToken.objects.filter(pk=who["row"]["token_id"]).update(
            last_used_at=timezone.now(), last_used_ip=client_ip(_Caller(environ, ""))
        )
