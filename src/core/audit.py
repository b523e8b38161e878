"""Write to the audit trail. Call ``record`` inside the transaction of the change it records.

    audit.record(actor=by, action="catalog.resource.publish", target=resource, details={...})

For reads of shared data (exchange), pass ``purpose`` and the ``api_client``.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils import timezone

from core.models import AuditEvent


def _label(obj: Any) -> str:
    return str(obj)[:300] if obj is not None else ""


def record(
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
    """Append one event. ``actor`` is a User (or None for the system); ``unit`` defaults to the actor's."""
    from core.middleware import client_ip

    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    if unit is None and actor is not None:
        unit = getattr(actor, "unit", None)
    if unit is None and api_client is not None:
        unit = getattr(api_client, "unit", None)
    if target is not None:
        target_type = target_type or f"{target._meta.app_label}.{target._meta.model_name}"
        target_id = target_id or target.pk
        target_label = target_label or _label(target)
    details = dict(details or {})
    if note:
        details["note"] = note
    return AuditEvent.objects.create(
        occurred_at=timezone.now(),
        actor=actor,
        actor_label=(actor.get_username() if actor is not None else ("system" if api_client is None else "")),
        api_client_id=getattr(api_client, "pk", None),
        api_client_label=_label(api_client),
        unit_id=getattr(unit, "pk", None),
        unit_label=_label(unit),
        ip=client_ip(request) if request is not None else None,
        request_id=getattr(request, "request_id", "") if request is not None else "",
        action=action,
        target_type=target_type,
        target_id=str(target_id) if target_id != "" else "",
        target_label=target_label,
        purpose=purpose[:300],
        details=details,
    )
