"""Recording every read of shared data (S§34-35; DESIGN rule 2): one audit event per call with
actor, API client, unit, grant, purpose, resource, items returned, row count and filter; hashed
record keys for "who accessed this record"; daily usage counters."""

from __future__ import annotations

import atexit
import hashlib
import hmac
import logging
import os
import threading
import time
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from catalog.models import IdentifierKind
from core import audit
from core.models import AuditEvent

from .masking import mask_generic, mask_id_card, masker_for
from .models import RecordAccess, UsageDaily
from .selectors import AccessContext

logger = logging.getLogger(__name__)


def _hmac_key() -> bytes:
    return hashlib.sha256(("govhub-record-access:" + settings.SECRET_KEY).encode()).digest()


#: The keyed hash with its key already absorbed, per secret key (copied for each value).
_HMAC_BASE: dict[str, Any] = {}


def record_key_hash(value: str) -> str:
    """Keyed hash of an identifier value (normalised: stripped, upper-case), so the access log can
    answer "who saw 430102…" without storing the identifier."""
    base = _HMAC_BASE.get(settings.SECRET_KEY)
    if base is None:
        base = hmac.new(_hmac_key(), digestmod="sm3" if "sm3" in hashlib.algorithms_available else "sha256")
        _HMAC_BASE.clear()
        _HMAC_BASE[settings.SECRET_KEY] = base
    mac = base.copy()
    mac.update(str(value).strip().upper().encode())
    return mac.hexdigest()


def identifier_columns(ctx: AccessContext) -> list[str]:
    """Granted items whose values identify a record: key items and national identifiers."""
    return [i.code for i in ctx.items if i.is_key or i.identifier_kind]


def _filters_for_log(ctx: AccessContext, filters: dict | None) -> dict:
    """The caller's filters as the audit log keeps them: values typed for 身份证号 and for masked
    items are stored masked, never raw (issue 7: no raw identifiers in the log)."""
    hide = {}
    for i in ctx.items:
        if i.identifier_kind == IdentifierKind.ID_CARD:
            hide[i.code] = mask_id_card
        elif i.code in ctx.maskers:
            hide[i.code] = masker_for(i) or mask_generic

    def masked(code, value):
        if isinstance(value, list):
            return [masked(code, v) for v in value]
        if isinstance(value, dict):
            return {k: masked(code, v) for k, v in value.items()}
        return hide[code](str(value)) if code in hide and value not in (None, "") else value

    return {code: masked(code, value) for code, value in (filters or {}).items()}


def read_details(
    ctx: AccessContext, *, channel: str, row_count: int, filters: dict | None, extra: dict | None = None
) -> dict:
    """What the audit event of one read says (S§35): grant, resource, channel, items returned, row
    count, the filters (identifiers masked), the stated purpose detail and which items were masked."""
    details = {
        "grant": ctx.grant.pk,
        "resource": ctx.resource.code,
        "channel": channel,
        "items": [i.code for i in ctx.items],
        "rows": row_count,
        "filters": _filters_for_log(ctx, filters),
        "purpose_detail": ctx.purpose_detail,
        "masked": sorted(ctx.maskers),
    }
    details.update(extra or {})
    return details


def key_hashes(keys: Iterable[str]) -> set[str]:
    """The keyed hashes of the record keys one read returned (for "who accessed this record")."""
    return {record_key_hash(k) for k in keys if k not in (None, "")}


def record_read(
    *,
    ctx: AccessContext,
    user,
    channel: str,
    action: str,
    row_count: int,
    keys: Iterable[str] = (),
    filters: dict | None = None,
    api_client=None,
    request=None,
    extra: dict | None = None,
) -> AuditEvent:
    """Audit one read and account for it. Call inside the read's transaction."""
    details = read_details(ctx, channel=channel, row_count=row_count, filters=filters, extra=extra)
    event = audit.record(
        action=action,
        actor=user,
        api_client=api_client,
        unit=user.unit,
        target=ctx.resource,
        purpose=ctx.purpose_category,
        details=details,
        request=request,
    )
    now = timezone.now()
    hashes = key_hashes(keys)
    if hashes:
        RecordAccess.objects.bulk_create(
            [
                RecordAccess(
                    key_hash=h, audit_event_id=event.pk, resource_id=ctx.resource.pk, accessed_at=now
                )
                for h in hashes
            ]
        )
    count_usage(ctx, user.unit_id, channel, row_count, timezone.localdate())
    return event


def record_download_end(
    *, ctx: AccessContext, user, download_id: str, rows: int, complete: bool, api_client=None, request=None
) -> AuditEvent:
    """The end of a batch download: how many rows it actually sent (the start event, written
    before streaming, cannot know). Counted in the day's rows, not as another call."""
    with transaction.atomic():
        event = audit.record(
            action="exchange.read.download.end",
            actor=user,
            api_client=api_client,
            unit=user.unit,
            target=ctx.resource,
            purpose=ctx.purpose_category,
            details={
                "grant": ctx.grant.pk,
                "resource": ctx.resource.code,
                "channel": "batch_download",
                "items": [i.code for i in ctx.items],
                "rows": rows,
                "complete": complete,
                "download_id": download_id,
                "purpose_detail": ctx.purpose_detail,
                "masked": sorted(ctx.maskers),
            },
            request=request,
        )
        UsageDaily.objects.filter(
            day=timezone.localdate(),
            resource_id=ctx.resource.pk,
            consumer_id=user.unit_id,
            purpose_category=ctx.purpose_category,
            channel="batch_download",
        ).update(rows=F("rows") + rows)
    return event


def count_usage(ctx: AccessContext, unit_id: int, channel: str, rows: int, day) -> None:
    """One call of ``channel`` with ``rows`` rows in the day's usage counter (S§38 statistics)."""
    key = dict(
        day=day,
        resource_id=ctx.resource.pk,
        consumer_id=unit_id,
        purpose_category=ctx.purpose_category,
        channel=channel,
    )
    _add_usage(key, 1, rows)


def _add_usage(key: dict, calls: int, rows: int) -> None:
    if UsageDaily.objects.filter(**key).update(calls=F("calls") + calls, rows=F("rows") + rows):
        return
    try:
        with transaction.atomic():
            UsageDaily.objects.create(calls=calls, rows=rows, **key)
    except IntegrityError:  # created concurrently
        UsageDaily.objects.filter(**key).update(calls=F("calls") + calls, rows=F("rows") + rows)


class UsageBuffer:
    """Daily usage counts of the exchange gateway, added up in this process and written by a
    background thread once a second in one statement (its own database connection). A process
    that exits normally writes what is left (``atexit``); one killed loses at most its last second
    of counts — statistics, not the audit trail, which has every call."""

    def __init__(self, every: float = 1.0):
        self.every = every
        self._lock = threading.Lock()
        self._pending: dict[tuple, list[int]] = {}
        self._pid: int | None = None

    def add(self, key: tuple, rows: int) -> None:
        """``key`` = (day, resource id, consumer unit id, purpose category, channel)."""
        with self._lock:
            counts = self._pending.setdefault(key, [0, 0])
            counts[0] += 1
            counts[1] += rows
            if self._pid != os.getpid():  # first use in this (forked) process
                self._pid = os.getpid()
                threading.Thread(target=self._run, name="govhub-usage", daemon=True).start()
                atexit.register(self.flush)

    def _run(self) -> None:
        while True:
            time.sleep(self.every)
            self.flush()

    def flush(self) -> int:
        """Write what is pending; on failure keep it for the next try. Returns the keys written."""
        with self._lock:
            pending, self._pending = self._pending, {}
        if not pending:
            return 0
        from django.db import connection

        try:
            with transaction.atomic():
                for (day, resource_id, unit_id, purpose, channel), (calls, rows) in sorted(pending.items()):
                    key = dict(day=day, resource_id=resource_id, consumer_id=unit_id,
                               purpose_category=purpose, channel=channel)  # fmt: skip
                    _add_usage(key, calls, rows)
        except Exception:
            logger.exception("usage counts not written; kept for the next try")
            with self._lock:
                for key, (calls, rows) in pending.items():
                    counts = self._pending.setdefault(key, [0, 0])
                    counts[0] += calls
                    counts[1] += rows
            if not connection.in_atomic_block:
                connection.close()
            return 0
        return len(pending)


usage_buffer = UsageBuffer()


def who_accessed(*, identifier: str, limit: int = 500) -> list[AuditEvent]:
    """Every audited read that returned the record with this identifier (newest first)."""
    ids = RecordAccess.objects.filter(key_hash=record_key_hash(identifier)).values_list(
        "audit_event_id", flat=True
    )
    return list(AuditEvent.objects.filter(pk__in=list(ids[:limit])).order_by("-occurred_at"))
