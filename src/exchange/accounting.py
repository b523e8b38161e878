"""Recording every read of shared data (S§34-35; DESIGN rule 2): one audit event per call with
actor, API client, unit, grant, purpose, resource, items returned, row count and filter; hashed
record keys for "who accessed this record"; daily usage counters."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

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


def _hmac_key() -> bytes:
    return hashlib.sha256(("govhub-record-access:" + settings.SECRET_KEY).encode()).digest()


def record_key_hash(value: str) -> str:
    """Keyed hash of an identifier value (normalised: stripped, upper-case), so the access log can
    answer "who saw 430102…" without storing the identifier."""
    norm = str(value).strip().upper().encode()
    return hmac.new(
        _hmac_key(), norm, "sm3" if "sm3" in hashlib.algorithms_available else "sha256"
    ).hexdigest()


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
    _count_usage(ctx, user.unit_id, channel, row_count, timezone.localdate())
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


def _count_usage(ctx: AccessContext, unit_id: int, channel: str, rows: int, day) -> None:
    key = dict(
        day=day,
        resource_id=ctx.resource.pk,
        consumer_id=unit_id,
        purpose_category=ctx.purpose_category,
        channel=channel,
    )
    if UsageDaily.objects.filter(**key).update(calls=F("calls") + 1, rows=F("rows") + rows):
        return
    try:
        with transaction.atomic():
            UsageDaily.objects.create(calls=1, rows=rows, **key)
    except IntegrityError:  # created concurrently
        UsageDaily.objects.filter(**key).update(calls=F("calls") + 1, rows=F("rows") + rows)


def who_accessed(*, identifier: str, limit: int = 500) -> list[AuditEvent]:
    """Every audited read that returned the record with this identifier (newest first)."""
    ids = RecordAccess.objects.filter(key_hash=record_key_hash(identifier)).values_list(
        "audit_event_id", flat=True
    )
    return list(AuditEvent.objects.filter(pk__in=list(ids[:limit])).order_by("-occurred_at"))
