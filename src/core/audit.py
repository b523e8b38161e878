"""The tamper-evident audit trail (S§35; 等保 level 3; DESIGN.md rules 1 and 10).

Write — call ``record`` inside the transaction of the change it records::

    audit.record(actor=by, action="catalog.resource.publish", target=resource, details={...})

For reads of shared data (exchange), pass ``purpose`` and the ``api_client``.

How the chain works (docs/decisions/0004-audit-chain.md):

1. ``record`` inserts the event with ``seq`` NULL and empty hashes. No global lock: concurrent
   requests never wait for each other to audit.
2. ``chain_pending`` (a periodic job every few seconds, or ``manage.py audit_chain``) takes the
   chain lock, reads committed unchained events in id order and links them: ``seq`` = previous
   + 1, ``prev_hash`` = the previous event's ``hash``, ``hash`` = SM3(canonical event + prev_hash).
   An id that is missing (its transaction is still running, or rolled back) stops the chainer for
   ``GOVHUB_AUDIT_GAP_GRACE_SECONDS``; after that it is recorded as an ``AuditChainGap``.
3. ``verify_chain`` recomputes every hash in ``seq`` order and reports the first broken or
   missing link; on failure the security admins are notified.

The window in which an event is not yet chained is the chainer's interval plus, at worst, the gap
grace period; ``chain_status`` reports it and the auditor's page shows it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import multiprocessing
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, connections, models, router, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import PermissionDenied
from core.models import AuditEvent
from core.models.audit import GENESIS_HASH, AuditChainGap, AuditChainState, AuditError

logger = logging.getLogger(__name__)

__all__ = [
    "GENESIS_HASH",
    "ChainRun",
    "ChainStatus",
    "VerifyResult",
    "audit_event_get",
    "audit_event_list",
    "can_read_audit",
    "chain_pending",
    "chain_status",
    "event_hash",
    "record",
    "verify_chain",
]

#: Columns that enter the hash, in the order the chainer and the verifier read them.
HASH_COLUMNS: tuple[str, ...] = (
    "id",
    "seq",
    "occurred_at",
    "actor_id",
    "actor_label",
    "api_client_id",
    "api_client_label",
    "unit_id",
    "unit_label",
    "ip",
    "request_id",
    "action",
    "target_type",
    "target_id",
    "target_label",
    "purpose",
    "details",
    "prev_hash",
)
_COL = {name: i for i, name in enumerate(HASH_COLUMNS)}
_I_DETAILS = _COL["details"]


def _setting(name: str, default: Any) -> Any:
    return getattr(settings, name, default)


def gap_grace() -> timedelta:
    """How long a missing id may hold the chainer back before it counts as rolled back."""
    return timedelta(seconds=float(_setting("GOVHUB_AUDIT_GAP_GRACE_SECONDS", 10)))


# --- hashing --------------------------------------------------------------------------------


def _sm3_factory():
    """``hashlib.new("sm3")`` where OpenSSL provides it, else the pure-Python ``gmssl``."""
    try:
        hashlib.new("sm3", b"")
        return lambda data: hashlib.new("sm3", data).hexdigest()
    except ValueError:  # OpenSSL without SM3
        from gmssl import func, sm3

        return lambda data: sm3.sm3_hash(func.bytes_to_list(data))


sm3_hex = _sm3_factory()


def _canonical_time(value: Any) -> str:
    """UTC, microseconds, ``Z`` (``2026-10-09T01:30:00.000000Z``) whatever form the value has."""
    if isinstance(value, str):
        if value.endswith("Z"):  # already canonical (produced by the SELECT, see _time_sql)
            return value
        value = datetime.fromisoformat(value)  # SQLite text "YYYY-MM-DD HH:MM:SS[.ffffff]", UTC
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _canonical_details(value: Any) -> Any:
    if isinstance(value, str | bytes):  # raw rows carry the JSON text
        return orjson.loads(value) if value else {}
    return value if value is not None else {}


def _dumps(doc: dict) -> bytes:
    """Sorted-key compact JSON, UTF-8, non-ASCII kept: byte-for-byte what
    ``json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`` gives for the
    values ``record`` stores (floats in exponent form and integers past 64 bits are stored as text,
    see ``clean_details``), computed by orjson because verification must be fast."""
    return orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)


def canonical_bytes(row: Sequence[Any]) -> bytes:
    """The hash input: sorted-key compact JSON of one event row (``HASH_COLUMNS``), incl. prev_hash."""
    doc = dict(zip(HASH_COLUMNS, row, strict=True))
    doc["occurred_at"] = _canonical_time(doc["occurred_at"])
    doc["details"] = _canonical_details(doc["details"])
    ip = doc["ip"]
    doc["ip"] = str(ip) if ip is not None else None
    return _dumps(doc)


def event_hash(row: Sequence[Any]) -> str:
    """SM3 hex digest of ``canonical_bytes(row)``."""
    return sm3_hex(canonical_bytes(row))


def _row_of(event: AuditEvent) -> tuple:
    return tuple(getattr(event, name) for name in HASH_COLUMNS)


# --- writing --------------------------------------------------------------------------------


def _label(obj: Any, limit: int = 300) -> str:
    return _clean_text(str(obj))[:limit] if obj is not None else ""


def _clean_text(text: str) -> str:
    """NUL cannot be stored by PostgreSQL; drop it rather than lose the whole event."""
    return text.replace("\x00", "") if "\x00" in text else text


_INT64 = 2**63


class _NotPlain(TypeError):
    pass


def _clean_details(value: Any, *, plain_only: bool = False) -> Any:
    """Keep only values every JSON encoder and both databases write the same way. With
    ``plain_only``, anything but JSON's own types (str, int, float, bool, None, list, dict with
    text keys) raises ``_NotPlain``."""
    # the common exact types first (an audited read's details are little else); subclasses (enum
    # members), floats and everything else take the general way below
    kind = type(value)
    if kind is str:
        return value.replace("\x00", "") if "\x00" in value else value
    if kind is int:
        return value if -_INT64 <= value < _INT64 else str(value)
    if value is None or kind is bool:
        return value
    if kind is dict and all(type(k) is str for k in value):
        return {_clean_text(k): _clean_details(v, plain_only=plain_only) for k, v in value.items()}
    if kind is list:
        return [_clean_details(v, plain_only=plain_only) for v in value]
    if isinstance(value, str):
        return _clean_text(value if type(value) is str else str.__str__(value))  # enum members: their text
    if isinstance(value, dict):
        if plain_only and not all(isinstance(k, str) for k in value):
            raise _NotPlain
        return {_clean_text(str(k)): _clean_details(v, plain_only=plain_only) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean_details(v, plain_only=plain_only) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int) and not -_INT64 <= value < _INT64:
        return str(value)  # past 64 bits: PostgreSQL jsonb and orjson disagree with Python
    if isinstance(value, float) and (not math.isfinite(value) or "e" in repr(value)):
        return repr(value)  # NaN/Infinity are not JSON; 1e+16 vs 1e16 differ between encoders
    if plain_only and type(value) not in (int, float):
        raise _NotPlain
    return value


def clean_details(details: dict) -> dict:
    """Plain JSON (dates, decimals, UUIDs become strings) that both databases store identically.
    Details that are plain JSON already (most of them) skip the encode/decode round trip."""
    try:
        return _clean_details(details, plain_only=True)
    except _NotPlain:
        return _clean_details(json.loads(json.dumps(details, cls=DjangoJSONEncoder)))


def build(
    *,
    action: str,
    actor: Any = None,
    target: models.Model | None = None,
    target_type: str = "",
    target_id: str | int = "",
    target_label: str = "",
    unit: Any = None,
    api_client: Any = None,
    purpose: str = "",
    details: dict | None = None,
    request: Any = None,
    note: str = "",
) -> AuditEvent:
    """The event ``record`` appends, not yet saved: labels, cleaned details, caller address."""
    from core.middleware import client_ip

    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    if api_client is None and request is not None:
        api_client = getattr(request, "api_client", None)
    if unit is None and actor is not None:
        unit = getattr(actor, "unit", None)
    if unit is None and api_client is not None:
        unit = getattr(api_client, "unit", None)
    if target is not None:
        target_type = target_type or f"{target._meta.app_label}.{target._meta.model_name}"
        target_id = target_id if target_id != "" else target.pk
        target_label = target_label or _label(target)
    details = clean_details(dict(details or {}))
    if note:
        details["note"] = _clean_text(str(note))
    actor_label = "system" if actor is None and api_client is None else ""
    if actor is not None:
        actor_label = actor.get_username()
    return AuditEvent(
        occurred_at=timezone.now(),
        actor=actor,
        actor_label=_clean_text(actor_label)[:150],
        api_client_id=getattr(api_client, "pk", None),
        api_client_label=_label(api_client, 150),
        unit_id=getattr(unit, "pk", None),
        unit_label=_label(unit, 200),
        ip=client_ip(request) if request is not None else None,
        request_id=_clean_text(getattr(request, "request_id", "") or "")[:64] if request is not None else "",
        action=_clean_text(action)[:100],
        target_type=_clean_text(str(target_type))[:100],
        target_id=_clean_text(str(target_id))[:64] if target_id not in ("", None) else "",
        target_label=_clean_text(str(target_label))[:300],
        purpose=_clean_text(str(purpose or ""))[:300],
        details=details,
    )


def record(**fields: Any) -> AuditEvent:
    """Append one event (unchained; ``chain_pending`` links it moments later). The arguments are
    ``build``'s: ``action``, ``actor`` (a User, or None for the system), ``target``, ``unit``
    (default: the actor's, then the API client's), ``api_client``, ``purpose`` (required by the
    exchange for every read of shared data, S§31, S§35), ``details``, ``request``, ``note``.

    Call it inside the transaction of the change, so a rolled-back change leaves no event.
    """
    event = build(**fields)
    event.save()
    after_insert()
    return event


def after_insert() -> None:
    """What follows the insert of an event written by ``record`` or by a caller that inserts the
    ``build`` result itself (the exchange gateway)."""
    if _setting("GOVHUB_AUDIT_CHAIN_ON_COMMIT", False):
        transaction.on_commit(_chain_quietly, robust=True)


def _chain_quietly() -> None:
    try:
        chain_pending(max_batches=1)
    except Exception:  # the periodic chainer will catch up; never fail the caller
        logger.exception("audit chaining after commit failed")


# --- chaining -------------------------------------------------------------------------------


@dataclass
class ChainRun:
    """What one ``chain_pending`` call did."""

    chained: int = 0
    gaps: list[tuple[int, int]] = field(default_factory=list)
    late: list[int] = field(default_factory=list)
    waiting_for_id: int | None = None  # a young gap the chainer stopped at


def _db_alias() -> str:
    return router.db_for_write(AuditEvent)


def _ensure_state(using: str) -> None:
    if AuditChainState.objects.using(using).filter(pk=1).exists():
        return
    try:
        with transaction.atomic(using=using):
            AuditChainState.objects.using(using).get_or_create(pk=1)
    except IntegrityError:  # another chainer created it at the same moment
        pass


def _lock_state(using: str) -> AuditChainState:
    """Take the chain lock: the state row FOR UPDATE (on SQLite the IMMEDIATE write lock)."""
    return AuditChainState.objects.using(using).select_for_update().get(pk=1)


def _time_sql(connection) -> str:
    """``occurred_at`` as canonical text computed by the database (no datetime objects in Python)."""
    col = connection.ops.quote_name("occurred_at")
    if connection.vendor == "postgresql":
        return f"""to_char({col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""
    # SQLite keeps UTC text "YYYY-MM-DD HH:MM:SS[.ffffff]" (no fraction when it is zero).
    return (
        f"substr({col}, 1, 10) || 'T' || substr({col}, 12, 8) || '.' "
        f"|| substr(substr({col}, 21) || '000000', 1, 6) || 'Z'"
    )


#: Raw row layout of ``_select_sql``: what the chainer and verifier need, then the other hashed
#: columns (``ARRAY_COLUMNS``): on SQLite as one JSON array text (one string per row is the cheapest
#: to fetch there), on PostgreSQL as plain columns (its JSON builders cost more than psycopg's parsing).
R_ID, R_SEQ, R_PREV, R_HASH, R_DETAILS, R_VALUES = range(6)
ARRAY_COLUMNS: tuple[str, ...] = tuple(
    c for c in HASH_COLUMNS if c not in {"id", "seq", "details", "prev_hash"}
)
_I_TIME_VALUE = ARRAY_COLUMNS.index("occurred_at")


def _values_sql(connection) -> list[str]:
    """``ARRAY_COLUMNS`` as SQL (time already canonical text, ip as plain address text)."""
    qn = connection.ops.quote_name
    pg = connection.vendor == "postgresql"
    items = []
    for column in ARRAY_COLUMNS:
        if column == "occurred_at":
            items.append(_time_sql(connection))
        elif column == "ip" and pg:
            items.append(f"host({qn(column)})")
        else:
            items.append(qn(column))
    return items if pg else [f"json_array({', '.join(items)})"]


def _values_of(connection):
    """How to get ``ARRAY_COLUMNS`` values back from a raw row."""
    if connection.vendor == "postgresql":
        return lambda row: row[R_VALUES:]
    loads = orjson.loads
    return lambda row: loads(row[R_VALUES])


def _select_sql(connection, where: str, order: str) -> str:
    """Raw SELECT in the ``R_*`` layout; identifiers from the model, values bound by the caller."""
    qn = connection.ops.quote_name
    cols = [qn("id"), qn("seq"), qn("prev_hash"), qn("hash"), qn("details"), *_values_sql(connection)]
    return f"SELECT {', '.join(cols)} FROM {qn(AuditEvent._meta.db_table)} WHERE {where} ORDER BY {qn(order)}"


def _fast_canonical(values: Sequence[Any], row: Sequence[Any], seq: int, prev: str) -> bytes:
    """``canonical_bytes`` from a raw ``_select_sql`` row, given the event's seq and prev_hash."""
    doc = dict(zip(ARRAY_COLUMNS, values, strict=True))
    details = row[R_DETAILS]
    doc["details"] = orjson.loads(details) if details else {}
    doc["id"], doc["seq"], doc["prev_hash"] = row[R_ID], seq, prev
    return orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)


def _parse_time(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def chain_pending(
    *, batch_size: int = 2000, max_batches: int | None = None, now: datetime | None = None
) -> ChainRun:
    """Link committed, unchained events to the chain, in id order, in batches.

    Only one chainer works at a time (the ``AuditChainState`` row lock). Ids may commit out of
    order under concurrency: a missing id younger than the grace period stops this run (its
    transaction may still commit); an older one is recorded as an ``AuditChainGap``. An event
    whose id was already passed (a late commit) is chained at the end of the chain.
    """
    using = _db_alias()
    connection = connections[using]
    _ensure_state(using)
    run = ChainRun()
    grace = gap_grace()
    values_of = _values_of(connection)
    batches = 0
    while max_batches is None or batches < max_batches:
        batches += 1
        with transaction.atomic(using=using):
            state = _lock_state(using)
            now_ = now or timezone.now()
            with connection.cursor() as cursor:
                sql = _select_sql(connection, f"{connection.ops.quote_name('seq')} IS NULL", "id")
                cursor.execute(sql + " LIMIT %s", [batch_size])
                rows = cursor.fetchall()
            if not rows:
                return run
            # A fresh chain starts at the first committed event: ids below it belong to nobody.
            expected = state.last_id + 1 if state.last_id else rows[0][R_ID]
            chain: list[tuple] = []
            stopped = False
            for row in rows:
                rid = row[R_ID]
                if rid < expected:
                    run.late.append(rid)
                    _mark_late(using, rid)
                elif rid > expected:
                    if now_ - _parse_time(values_of(row)[_I_TIME_VALUE]) < grace:
                        run.waiting_for_id = expected
                        stopped = True
                        break
                    AuditChainGap.objects.using(using).create(
                        first_id=expected,
                        last_id=rid - 1,
                        after_seq=state.last_seq + len(chain),
                        detected_at=now_,
                    )
                    run.gaps.append((expected, rid - 1))
                    expected = rid + 1
                else:
                    expected = rid + 1
                chain.append(row)
            if chain:
                _link(connection, state, chain)
                state.last_id = max(state.last_id, expected - 1)
                state.chained_at = now_
                state.save(update_fields=["last_seq", "last_hash", "last_id", "chained_at"])
                run.chained += len(chain)
        if stopped or len(rows) < batch_size:
            break
    return run


def _link(connection, state: AuditChainState, rows: list[tuple]) -> None:
    """Compute seq/prev_hash/hash for ``rows`` and fill them in: one UPDATE per event, once."""
    seq, prev = state.last_seq, state.last_hash
    values_of = _values_of(connection)
    params = []
    for row in rows:
        seq += 1
        digest = sm3_hex(_fast_canonical(values_of(row), row, seq, prev))
        params.append((seq, prev, digest, row[R_ID]))
        prev = digest
    qn = connection.ops.quote_name
    # By primary key only: "AND seq IS NULL" would let PostgreSQL's planner walk the seq index over
    # every pending row for each UPDATE (its statistics say NULL seq is rare). The chain lock makes
    # this chainer the only writer, and the append-only trigger refuses to re-chain a chained row.
    sql = (
        f"UPDATE {qn(AuditEvent._meta.db_table)} SET {qn('seq')} = %s, {qn('prev_hash')} = %s, "
        f"{qn('hash')} = %s WHERE {qn('id')} = %s"
    )
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)
        if cursor.rowcount not in (-1, len(params)):  # someone else chained them: never link twice
            raise RuntimeError(f"audit chainer lost its lock: {cursor.rowcount} of {len(params)} rows linked")
    state.last_seq, state.last_hash = seq, prev


def _mark_late(using: str, event_id: int) -> None:
    gap = (
        AuditChainGap.objects.using(using)
        .select_for_update()
        .filter(first_id__lte=event_id, last_id__gte=event_id)
        .first()
    )
    if gap is not None and event_id not in gap.late_ids:
        gap.late_ids = [*gap.late_ids, event_id]
        gap.save(update_fields=["late_ids"])


@dataclass
class ChainStatus:
    """How far the chain is: for the auditor's page and the API."""

    last_seq: int
    last_hash: str
    chained_at: datetime | None
    pending: int
    oldest_pending_at: datetime | None
    gaps: int
    verified_at: datetime | None
    verified_ok: bool | None
    verified_count: int
    verified_message: str

    @property
    def pending_age_seconds(self) -> float | None:
        if self.oldest_pending_at is None:
            return None
        return max(0.0, (timezone.now() - self.oldest_pending_at).total_seconds())


def chain_status() -> ChainStatus:
    """The chain head, how many events are not yet chained and since when, the last verification."""
    state = AuditChainState.objects.filter(pk=1).first() or AuditChainState()
    pending = AuditEvent.objects.pending()
    oldest = pending.order_by("occurred_at").values_list("occurred_at", flat=True).first()
    return ChainStatus(
        last_seq=state.last_seq,
        last_hash=state.last_hash,
        chained_at=state.chained_at,
        pending=pending.count(),
        oldest_pending_at=oldest,
        gaps=AuditChainGap.objects.count(),
        verified_at=state.verified_at,
        verified_ok=state.verified_ok,
        verified_count=state.verified_count,
        verified_message=state.verified_message,
    )


# --- verification ---------------------------------------------------------------------------


@dataclass
class VerifyProblem:
    """One broken or missing link."""

    kind: str  # missing | altered | relinked | truncated | head_mismatch | half_chained
    seq: int | None
    event_id: int | None
    message: str


@dataclass
class VerifyResult:
    """The outcome of ``verify_chain``; ``ok`` is False when any link is broken or missing."""

    checked: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS_HASH
    pending: int = 0
    seconds: float = 0.0
    problems: list[VerifyProblem] = field(default_factory=list)
    problem_count: int = 0

    @property
    def ok(self) -> bool:
        return self.problem_count == 0

    @property
    def first_problem(self) -> VerifyProblem | None:
        return self.problems[0] if self.problems else None

    @property
    def message(self) -> str:
        if self.ok:
            return _("审计链完整：已校验 %(n)s 条事件，链头序号 %(seq)s。") % {
                "n": self.checked,
                "seq": self.head_seq,
            }
        first = self.first_problem
        return _("审计链校验失败：共 %(count)s 处问题，第一处：%(first)s") % {
            "count": self.problem_count,
            "first": first.message if first else "",
        }


_MAX_PROBLEMS_KEPT = 100
#: From this many chained events on, verification runs in parallel worker processes.
PARALLEL_FROM = 200_000


def _missing(a: int, b: int) -> VerifyProblem:
    return VerifyProblem(
        "missing", a, None, _("链序号 %(a)s 至 %(b)s 的事件缺失（被删除）。") % {"a": a, "b": b}
    )


def _relinked(seq: int, event_id: int | None) -> VerifyProblem:
    return VerifyProblem(
        "relinked",
        seq,
        event_id,
        _("链序号 %(seq)s（事件 #%(id)s）的前一哈希与上一事件不符。") % {"seq": seq, "id": event_id},
    )


def _verify_range(using: str, lo: int, hi: int, prev: str | None, chunk: int) -> dict:
    """Check chained events with ``lo <= seq <= hi``: each hash, each link inside the range, and
    every missing seq. ``prev`` is the hash before ``lo`` (None: the caller checks that link).

    The hot loop: raw rows (time already canonical text), orjson, OpenSSL SM3 — no ORM objects.
    """
    connection = connections[using]
    qn = connection.ops.quote_name
    sql = _select_sql(connection, f"{qn('seq')} > %s AND {qn('seq')} <= %s", "seq") + " LIMIT %s"
    problems: list[VerifyProblem] = []
    count = 0
    expected, first_prev, first_seq = lo, None, None
    loads, dumps, sort_keys, digest = orjson.loads, orjson.dumps, orjson.OPT_SORT_KEYS, sm3_hex
    keys, as_json = ARRAY_COLUMNS, connection.vendor != "postgresql"
    last = lo - 1
    with connection.cursor() as cursor:
        while True:
            cursor.execute(sql, [last, hi, chunk])
            rows = cursor.fetchall()
            if not rows:
                break
            for row in rows:
                rid, seq, row_prev, stored, details = row[:5]
                if first_seq is None:
                    first_seq, first_prev = seq, row_prev
                if seq != expected:
                    problems.append(_missing(expected, seq - 1))
                    prev = None  # the link across a hole cannot be checked
                if prev is not None and row_prev != prev:
                    problems.append(_relinked(seq, rid))
                doc = dict(zip(keys, loads(row[5]) if as_json else row[5:], strict=True))
                doc["details"] = loads(details) if details else {}
                doc["id"], doc["seq"], doc["prev_hash"] = rid, seq, row_prev
                if digest(dumps(doc, option=sort_keys)) != stored:
                    problems.append(
                        VerifyProblem(
                            "altered",
                            seq,
                            rid,
                            _("链序号 %(seq)s（事件 #%(id)s）的内容与哈希不符（被修改）。")
                            % {"seq": seq, "id": rid},
                        )
                    )
                prev, expected = stored, seq + 1
                count += 1
            last = rows[-1][R_SEQ]
            del problems[_MAX_PROBLEMS_KEPT:]
    if expected <= hi:
        problems.append(_missing(expected, hi))
    return {
        "lo": lo,
        "hi": hi,
        "checked": count,
        "first_seq": first_seq,
        "first_prev": first_prev,
        "last_seq": expected - 1,
        "last_hash": prev,
        "problems": problems,
    }


def _verify_range_in_child(args: tuple) -> dict:
    """Worker-process entry: a fresh database connection per process."""
    connections.close_all()
    try:
        return _verify_range(*args)
    finally:
        connections.close_all()


def _can_fork(using: str) -> bool:
    connection = connections[using]
    if connection.in_atomic_block:  # e.g. inside a test transaction: children could not see the rows
        return False
    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        return False
    return "fork" in multiprocessing.get_all_start_methods()


def verify_chain(
    *, notify_on_failure: bool = True, record_run: bool = True, chunk: int = 20000, workers: int | None = None
) -> VerifyResult:
    """Recompute every hash in seq order; report the first broken or missing link (S§35).

    Detects: an edited event (hash differs), a deleted event (seq gap), a re-linked chain
    (``prev_hash`` differs from the previous event's hash), events cut off the end (the chain
    head recorded by the chainer is missing or differs), and half-written chain columns.
    Large chains are split by seq range over worker processes (one per CPU, at most 4); the
    links between ranges are checked here. On failure the security admins (SEC_ADMIN) are
    notified. Reusable by the daily job.
    """
    started = time.perf_counter()
    using = _db_alias()
    state = AuditChainState.objects.using(using).filter(pk=1).first()
    events = AuditEvent.objects.using(using)
    top = events.aggregate(top=models.Max("seq"))["top"] or 0
    result = VerifyResult()

    if workers is None:
        workers = min(4, os.cpu_count() or 1) if top >= PARALLEL_FROM else 1
    if workers > 1 and not _can_fork(using):
        workers = 1
    step = max(1, math.ceil(top / workers)) if top else 1
    ranges = [(lo, min(top, lo + step - 1)) for lo in range(1, top + 1, step)] or [(1, 0)]
    parts: list[dict] = []
    if len(ranges) > 1:
        connections[using].close()  # children must not share the parent's socket
        try:
            with multiprocessing.get_context("fork").Pool(len(ranges)) as pool:
                parts = pool.map(_verify_range_in_child, [(using, lo, hi, None, chunk) for lo, hi in ranges])
        except (AssertionError, OSError):  # e.g. inside a daemonic process: verify in this one
            logger.warning("parallel audit verification unavailable; verifying in one process", exc_info=True)
            parts = []
    if not parts:
        parts = [_verify_range(using, lo, hi, None, chunk) for lo, hi in ranges]

    problems: list[VerifyProblem] = []
    prev_hash, prev_last = GENESIS_HASH, 0
    for part in parts:
        # The link into this range: its first event must point at the previous range's last hash.
        first = part["first_seq"]
        if first is not None and first == prev_last + 1 and prev_hash not in (None, part["first_prev"]):
            problems.append(_relinked(first, None))
        problems.extend(part["problems"])
        result.checked += part["checked"]
        if part["first_seq"] is not None:
            prev_hash, prev_last = part["last_hash"], part["last_seq"]
    result.head_seq, result.head_hash = top, (prev_hash or "")

    if state is not None and state.last_seq > 0:
        if top < state.last_seq:
            problems.append(
                VerifyProblem(
                    "truncated",
                    top + 1,
                    None,
                    _("链尾缺失：链头应为序号 %(want)s，实际只到 %(have)s（末尾事件被删除）。")
                    % {"want": state.last_seq, "have": top},
                )
            )
        else:
            at_state = events.filter(seq=state.last_seq).values_list("hash", flat=True).first()
            if at_state is not None and at_state != state.last_hash:
                problems.append(
                    VerifyProblem(
                        "head_mismatch",
                        state.last_seq,
                        None,
                        _("链序号 %(seq)s 的哈希与链头记录不符（链被重算）。") % {"seq": state.last_seq},
                    )
                )
    half = events.pending().exclude(hash="", prev_hash="")
    for event_id in half.values_list("id", flat=True)[:10]:
        problems.append(
            VerifyProblem(
                "half_chained", None, event_id, _("事件 #%(id)s 有哈希却没有链序号。") % {"id": event_id}
            )
        )
    result.problem_count = len(problems)
    result.problems = problems[:_MAX_PROBLEMS_KEPT]
    result.pending = events.pending().count()
    result.seconds = time.perf_counter() - started
    logger.info(
        "audit chain verified: ok=%s checked=%s head_seq=%s head_hash=%s seconds=%.2f",
        result.ok,
        result.checked,
        result.head_seq,
        result.head_hash,
        result.seconds,
    )
    if record_run:
        _record_verification(using, result)
    if not result.ok and notify_on_failure:
        _alert_security_admins(result)
    return result


def _record_verification(using: str, result: VerifyResult) -> None:
    _ensure_state(using)
    with transaction.atomic(using=using):
        state = _lock_state(using)
        state.verified_at = timezone.now()
        state.verified_ok = result.ok
        state.verified_count = result.checked
        state.verified_message = result.message
        state.save(update_fields=["verified_at", "verified_ok", "verified_count", "verified_message"])
        first = result.first_problem
        record(
            action="core.audit.verify",
            details={
                "ok": result.ok,
                "checked": result.checked,
                "head_seq": result.head_seq,
                "head_hash": result.head_hash,
                "problems": result.problem_count,
                "first_problem": first.message if first else "",
                "seconds": round(result.seconds, 3),
            },
        )


def _alert_security_admins(result: VerifyResult) -> None:
    from accounts.roles import Role
    from core.notify import notify

    try:
        notify(
            event="audit.chain_broken",
            title=_("审计链校验失败"),
            body=result.message,
            url="/audit/",
            roles=[Role.SEC_ADMIN],
        )
    except Exception:  # the alert must not hide the result; it is logged loudly instead
        logger.exception("could not notify security admins about a broken audit chain")
    logger.error("audit chain verification failed: %s", result.message)


# --- reading (selectors) --------------------------------------------------------------------


def can_read_audit(user: Any) -> bool:
    """Only AUDITOR and AUDIT_ADMIN read the trail; the system admin and everyone else may not."""
    try:
        from accounts.permissions import can_read_audit as accounts_can_read_audit
    except ImportError:  # pragma: no cover - accounts.permissions always exists once merged
        from accounts.roles import Role

        return bool(user and user.is_authenticated and user.has_role(Role.AUDITOR, Role.AUDIT_ADMIN))
    return accounts_can_read_audit(user)


def _require_reader(user: Any) -> None:
    if not can_read_audit(user):
        raise PermissionDenied(AuditError.NOT_ALLOWED, _("只有审计员和审计管理员可以查看审计记录。"))


def audit_event_list(*, user: Any) -> models.QuerySet[AuditEvent]:
    """Every event, newest first — for auditors and the audit admin only (S§35)."""
    _require_reader(user)
    return AuditEvent.objects.all().order_by("-id")


def audit_event_get(*, user: Any, event_id: int) -> AuditEvent:
    from core.errors import NotFound

    _require_reader(user)
    event = AuditEvent.objects.filter(pk=event_id).first()
    if event is None:
        raise NotFound(AuditError.NOT_FOUND, _("未找到该审计事件。"))
    return event


def record_read(
    *, user: Any, request: Any, action: str, details: dict | None = None, target: Any = None
) -> None:
    """Reading the trail is itself audited (``core.audit.read`` / ``core.audit.export``)."""
    with transaction.atomic():
        record(action=action, actor=user, request=request, target=target, details=details or {})
