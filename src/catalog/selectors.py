"""Every read of the catalog, scoped to what the acting user may see (S§14, S§37).

* center staff see everything;
* a unit's data officer / unit admin see all of their unit's entries (drafts included);
* everyone else sees published resources only — nobody else sees drafts.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import Case, F, IntegerField, Q, QuerySet, Value, When
from django.utils.translation import gettext as _

from accounts.models import Unit
from accounts.roles import Role
from core.errors import NotFound

from . import permissions, search
from .errors import CatalogError
from .models import (
    AuthoritativeConcept,
    CampaignEntry,
    ChangeStatus,
    Classification,
    Demand,
    OpenAttribute,
    ProjectCatalog,
    Resource,
    ResourceFormat,
    ResourceSearchDoc,
    ResourceStatus,
    ResourceVersion,
    SharingType,
    SingleSourceClaim,
    UpdateCycle,
)

FACETS = ("provider", "classification", "sharing_type", "open_attribute", "update_cycle", "format")
_FACET_CHOICES = {
    "classification": Classification,
    "sharing_type": SharingType,
    "open_attribute": OpenAttribute,
    "update_cycle": UpdateCycle,
    "format": ResourceFormat,
}


def resource_visible_q(user: Any) -> Q:
    """The filter of resources ``user`` may see."""
    if permissions.is_center_staff(user):
        return Q()
    published = Q(status=ResourceStatus.PUBLISHED)
    if user.has_role(Role.DATA_OFFICER, Role.UNIT_ADMIN):
        return published | Q(provider_id=user.unit_id)
    return published


def resource_list(*, user: Any) -> QuerySet[Resource]:
    """Resources the user may see, newest change first."""
    return Resource.objects.filter(resource_visible_q(user)).select_related("provider")


def resource_get(*, user: Any, pk: Any) -> Resource:
    """One resource the user may see; ``NotFound`` otherwise (existence does not leak)."""
    try:
        return resource_list(user=user).get(pk=pk)
    except (Resource.DoesNotExist, ValueError, TypeError):
        raise NotFound(CatalogError.NOT_FOUND, _("信息资源不存在或您无权查看。"))


def catalog_list(*, user: Any, sharing_type: str) -> QuerySet[Resource]:
    """One of the three published catalogs (S§14), published to all units."""
    return (
        Resource.objects.filter(status=ResourceStatus.PUBLISHED, sharing_type=sharing_type)
        .select_related("provider")
        .order_by("code")
    )


SCORE_NAME, SCORE_KEYWORDS, SCORE_ITEMS, SCORE_OTHER = 10, 5, 3, 1
FACET_COLUMNS = (
    "pk",
    "provider_id",
    "classification",
    "sharing_type",
    "open_attribute",
    "update_cycle",
    "format",
)


def _relevance(words: list[str], prefix: str = "search_doc__"):
    """Name > keywords > data items > other text, summed over the terms (computed in SQL)."""
    score = Value(0, output_field=IntegerField())
    for term in words:
        score = score + Case(
            When(**{f"{prefix}name__contains": term}, then=Value(SCORE_NAME)),
            When(**{f"{prefix}keywords__contains": term}, then=Value(SCORE_KEYWORDS)),
            When(**{f"{prefix}items__contains": term}, then=Value(SCORE_ITEMS)),
            default=Value(SCORE_OTHER),
            output_field=IntegerField(),
        )
    return score


def resource_search(
    *, user: Any, query: str = "", queryset: QuerySet[Resource] | None = None, sort: str = "relevance"
) -> QuerySet[Resource]:
    """Search visible resources for Chinese substrings in name, keywords, summary, provider and
    data item names; ``sort`` = ``relevance`` (name > keywords > data items > other) or ``updated``."""
    qs = queryset if queryset is not None else resource_list(user=user)
    words = search.terms(query)
    for term in words:
        qs = qs.filter(search.match_q(term))
    if words and sort != "updated":
        return qs.annotate(relevance=_relevance(words)).order_by("-relevance", "-updated_at", "-pk")
    return qs.order_by("-updated_at", "-pk")


@dataclass
class SearchResult:
    """One search: the ordered ids of every match, their facet counts, and a page of resources."""

    ids: list[int]
    facets: dict[str, list[dict]]
    page: Any


def resource_search_page(
    *,
    user: Any,
    query: str = "",
    queryset: QuerySet[Resource] | None = None,
    sort: str = "relevance",
    page: Any = 1,
    page_size: int = 20,
) -> SearchResult:
    """Search with facets in one pass: the database matches, ranks and orders; the facet columns
    of all matches are read once and counted here; then only the page's resources are loaded.

    On SQLite a query starts from the search documents, so that match and ranking read each
    document once and resources are joined by their integer primary key (the document table's
    key is not SQLite's rowid); PostgreSQL hash-joins the two tables either way."""
    base = queryset if queryset is not None else resource_list(user=user)
    words = search.terms(query)
    if words and connections[base.db].vendor == "sqlite":
        qs = ResourceSearchDoc.objects.filter(resource__in=base.order_by().values("pk"))
        for term in words:
            qs = qs.filter(search.doc_match_q(term))
        if sort != "updated":
            qs = qs.annotate(relevance=_relevance(words, prefix="")).order_by(
                "-relevance", "-resource__updated_at", "-resource_id"
            )
        else:
            qs = qs.order_by("-resource__updated_at", "-resource_id")
        qs = qs.values_list("resource_id", *(f"resource__{c}" for c in FACET_COLUMNS[1:]))
    else:
        qs = resource_search(user=user, query=query, queryset=base, sort=sort).values_list(*FACET_COLUMNS)
    # Ids and codes need no conversion: read them with the DB cursor, a third cheaper per row
    # than the ORM iterator when a broad query matches thousands of resources.
    try:
        sql, params = qs.query.sql_with_params()
    except EmptyResultSet:  # e.g. an empty queryset: nothing can match
        rows = []
    else:
        with connections[qs.db].cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
    ids = [r[0] for r in rows]
    facets = _facet_counts(rows)
    paginator = Paginator(ids, page_size)
    current = paginator.get_page(page)
    by_id = Resource.objects.select_related("provider").in_bulk(list(current.object_list))
    current.object_list = [by_id[i] for i in current.object_list if i in by_id]
    return SearchResult(ids=ids, facets=facets, page=current)


def _facet_counts(rows: list[tuple]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    providers = Counter(r[1] for r in rows)
    names = dict(Unit.objects.filter(pk__in=list(providers)).values_list("pk", "name"))
    out["provider"] = [
        {"value": str(pk), "label": names.get(pk, ""), "count": n} for pk, n in providers.most_common()
    ]
    for index, facet in enumerate(FACETS[1:], start=2):
        choices = _FACET_CHOICES[facet]
        out[facet] = [
            {"value": v, "label": str(choices(v).label) if v in choices.values else v, "count": n}
            for v, n in Counter(r[index] for r in rows).most_common()
        ]
    return out


def resource_facets(*, queryset: QuerySet[Resource]) -> dict[str, list[dict]]:
    """Counts per facet value over ``queryset`` (one query), labelled for display."""
    columns = (
        "pk",
        "provider_id",
        "classification",
        "sharing_type",
        "open_attribute",
        "update_cycle",
        "format",
    )
    rows = list(queryset.order_by().values_list(*columns))
    return _facet_counts(rows)


def change_list(*, user: Any, resource: Resource) -> QuerySet[ResourceVersion]:
    """Versions of a resource: published ones for all who see it; open changes only for those
    who may see unpublished content."""
    qs = resource.versions.all().order_by(F("number").desc(nulls_first=True), "-id")
    if not permissions.can_see_unpublished(user, resource.provider_id):
        qs = qs.filter(status=ChangeStatus.PUBLISHED)
    return qs


def change_get(*, user: Any, pk: Any) -> ResourceVersion:
    try:
        change = ResourceVersion.objects.select_related("resource__provider").get(pk=pk)
    except (ResourceVersion.DoesNotExist, ValueError, TypeError):
        raise NotFound(CatalogError.NOT_FOUND, _("变更不存在或您无权查看。"))
    if change.status != ChangeStatus.PUBLISHED and not permissions.can_see_unpublished(
        user, change.resource.provider_id
    ):
        raise NotFound(CatalogError.NOT_FOUND, _("变更不存在或您无权查看。"))
    resource_get(user=user, pk=change.resource_id)
    return change


def review_queue(*, user: Any) -> dict[str, list]:
    """What awaits ``user``'s review: center → submitted entries and changes; a unit's officers
    → their unit's secrecy reviews."""
    if permissions.is_center_staff(user):
        return {
            "resources": list(
                Resource.objects.filter(status=ResourceStatus.SUBMITTED).select_related("provider")
            ),
            "changes": list(
                ResourceVersion.objects.filter(status=ChangeStatus.SUBMITTED).select_related(
                    "resource__provider"
                )
            ),
            "claims": list(
                SingleSourceClaim.objects.filter(status="pending").select_related("resource", "concept__unit")
            ),
        }
    if user.has_role(Role.DATA_OFFICER, Role.UNIT_ADMIN):
        return {
            "resources": list(
                Resource.objects.filter(status=ResourceStatus.SECRECY_REVIEW, provider_id=user.unit_id)
            ),
            "changes": list(
                ResourceVersion.objects.filter(
                    status=ChangeStatus.SECRECY_REVIEW, resource__provider_id=user.unit_id
                ).select_related("resource")
            ),
            "claims": [],
        }
    return {"resources": [], "changes": [], "claims": []}


def claim_list(*, user: Any, resource: Resource) -> QuerySet[SingleSourceClaim]:
    if not permissions.can_see_unpublished(user, resource.provider_id):
        return SingleSourceClaim.objects.none()
    return resource.source_claims.select_related("concept__unit", "decided_by")


def concept_overview(*, user: Any) -> list[dict]:
    """Each authoritative concept, its source and the other units whose published resources also
    hold it (S§20) — for everyone signed in."""
    from .services import concept_held_by

    published = list(
        Resource.objects.filter(status=ResourceStatus.PUBLISHED)
        .select_related("provider")
        .prefetch_related("items")
    )
    out = []
    for concept in AuthoritativeConcept.objects.select_related("unit"):
        holders: dict[int, dict] = {}
        for r in published:
            if r.provider_id == concept.unit_id:
                continue
            items = [{"name": i.name, "identifier_kind": i.identifier_kind} for i in r.items.all()]
            if concept_held_by(concept, items):
                h = holders.setdefault(r.provider_id, {"unit": r.provider, "resources": []})
                h["resources"].append(r)
        out.append({"concept": concept, "holders": list(holders.values())})
    return out


def demand_list(*, user: Any) -> QuerySet[Demand]:
    """S§11 data needs: the requesting unit, the named unit and the center see them."""
    qs = Demand.objects.select_related("requester", "target", "resource")
    if permissions.is_center_staff(user):
        return qs
    return qs.filter(Q(requester_id=user.unit_id) | Q(target_id=user.unit_id))


def demand_get(*, user: Any, pk: Any) -> Demand:
    try:
        return demand_list(user=user).get(pk=pk)
    except (Demand.DoesNotExist, ValueError, TypeError):
        raise NotFound(CatalogError.NOT_FOUND, _("需求不存在或您无权查看。"))


def campaign_progress(*, campaign: Any) -> list[dict]:
    """Per-unit progress of a yearly review (S§16): total, done, pending."""
    rows: dict[int, dict] = {}
    for entry in CampaignEntry.objects.filter(campaign=campaign).select_related("unit"):
        row = rows.setdefault(entry.unit_id, {"unit": entry.unit, "total": 0, "done": 0})
        row["total"] += 1
        row["done"] += entry.status != "pending"
    for row in rows.values():
        row["pending"] = row["total"] - row["done"]
        row["percent"] = round(100 * row["done"] / row["total"]) if row["total"] else 100
    return sorted(rows.values(), key=lambda r: (r["percent"], r["unit"].code))


def campaign_entries(*, user: Any, campaign: Any) -> QuerySet[CampaignEntry]:
    qs = CampaignEntry.objects.filter(campaign=campaign).select_related("resource", "unit")
    if permissions.is_center_staff(user):
        return qs
    return qs.filter(unit_id=user.unit_id)


def project_list(*, user: Any) -> QuerySet[ProjectCatalog]:
    """S§42 project catalogs: the project's unit and the center see them."""
    qs = ProjectCatalog.objects.select_related("unit").prefetch_related("planned")
    if permissions.is_center_staff(user):
        return qs
    return qs.filter(unit_id=user.unit_id)


def planned_resource_get(*, user: Any, pk: Any) -> Any:
    """A planned resource of a project catalog the user may see (S§42); ``NotFound`` otherwise,
    also for an id that is not a number."""
    from .models import PlannedResource

    try:
        pk = int(pk)
    except (TypeError, ValueError):
        raise NotFound(CatalogError.NOT_FOUND, _("计划资源不存在或您无权查看。"))
    planned = PlannedResource.objects.select_related("project").filter(pk=pk).first()
    if planned is None or not project_list(user=user).filter(pk=planned.project_id).exists():
        raise NotFound(CatalogError.NOT_FOUND, _("计划资源不存在或您无权查看。"))
    return planned
