"""Reads of the data store, scoped to what the caller may see. Rows themselves are never read
here: every read of shared rows goes through the exchange (DESIGN rule 2)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from catalog.models import Resource
from core.errors import NotFound, PermissionDenied

from . import conf, tables
from .errors import DatastoreError as E
from .models import DataTable, Load, LoadReject
from .permissions import can_view_loads, can_view_quality, is_center_staff


def resource_get(*, user: Any, resource_id: int) -> Resource:
    resource = Resource.objects.select_related("provider").filter(pk=resource_id).first()
    if resource is None or not can_view_quality(user, resource):
        raise NotFound()
    return resource


def load_list(*, user: Any, resource: Resource | None = None) -> QuerySet[Load]:
    """Loads the user may see: their unit's (data officer, unit admin) or all (center staff)."""
    qs = Load.objects.select_related("resource", "created_by").order_by("-id")
    if resource is not None:
        if not can_view_loads(user, resource):
            raise PermissionDenied(E.NOT_ALLOWED, "您无权查看该资源的加载记录。")
        return qs.filter(resource=resource)
    if is_center_staff(user):
        return qs
    if user.has_role("data_officer", "unit_admin"):
        return qs.filter(resource__provider_id=user.unit_id)
    return qs.none()


def load_get(*, user: Any, load_id: int) -> Load:
    load = Load.objects.select_related("resource", "created_by").filter(pk=load_id).first()
    if load is None or not can_view_loads(user, load.resource):
        raise NotFound()
    return load


def load_rejects(*, user: Any, load: Load) -> QuerySet[LoadReject]:
    if not can_view_loads(user, load.resource):
        raise NotFound()
    return load.rejects.order_by("line", "id")


def quality_summary(*, user: Any, resource: Resource) -> dict:
    """Data quality per resource (S§24, S§38): rows, null ratio per item, identifier validity,
    last load and freshness against the update cycle."""
    if not can_view_quality(user, resource):
        raise NotFound()
    table = DataTable.objects.filter(resource=resource).select_related("last_load").first()
    cols = tables.columns_of(resource)
    items = []
    rows = 0
    nulls: dict[int, int] = {}
    if table is not None and tables.table_exists(table.table_name):
        live = {e["item"] for e in table.schema if not e.get("removed")}
        cols = [c for c in cols if c.item_id in live]
        rows = tables.count_rows(table)
        nulls = tables.null_counts(table, cols)
    last = table.last_load if table else None
    stats = (last.stats if last else None) or {}
    for c in cols:
        s = stats.get(str(c.item_id), {})
        checked = s.get("non_null", 0)
        invalid = s.get("invalid", 0)
        item = {
            "code": c.code,
            "name": c.name,
            "null_ratio": round(nulls.get(c.item_id, 0) / rows, 4) if rows else None,
            "identifier_kind": c.identifier_kind,
        }
        if c.identifier_kind:
            item["identifier_valid_ratio"] = round((checked - invalid) / checked, 4) if checked else None
            item["identifier_warnings"] = s.get("warnings", 0)
        items.append(item)
    last_at = table.last_loaded_at if table else None
    window = conf.UPDATE_CYCLE_WINDOW.get(resource.update_cycle)
    age = (timezone.now() - last_at) if last_at else None
    return {
        "resource": resource.pk,
        "row_count": rows,
        "version": table.version if table else 0,
        "last_load": last.pk if last else None,
        "last_loaded_at": last_at,
        "update_cycle": resource.update_cycle,
        "age_hours": round(age.total_seconds() / 3600, 1) if age is not None else None,
        "fresh": bool(age is not None and window is not None and age <= window),
        "overdue_since": table.overdue_since if table else None,
        "items": items,
    }


def resource_list(*, user: Any) -> QuerySet[Resource]:
    """Published table resources whose data the user looks after: the unit's own (data officer,
    unit admin) or all (center staff)."""
    from catalog.models import ResourceFormat, ResourceStatus

    qs = (
        Resource.objects.filter(status=ResourceStatus.PUBLISHED, format=ResourceFormat.TABLE)
        .select_related("provider", "data_table", "data_table__last_load")
        .order_by("provider__code", "name")
    )
    if is_center_staff(user):
        return qs
    if user.has_role("data_officer", "unit_admin"):
        return qs.filter(provider_id=user.unit_id)
    return qs.none()
