"""Catalog REST API (/api/v1/catalog/): thin — HTTP ↔ services and selectors only."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.pagination import StandardPagination
from core.errors import Invalid, NotFound

from .. import excel, selectors, services
from ..errors import CatalogError
from ..filters import DemandFilterSet, ResourceFilterSet
from ..models import (
    CampaignEntry,
    PlannedResource,
    ReviewCampaign,
    SharingType,
    SingleSourceClaim,
)
from . import serializers as s


def _valid(serializer_class, data, **kwargs):
    ser = serializer_class(data=data, **kwargs)
    ser.is_valid(raise_exception=True)
    return ser


def _paginate(view: APIView, request, queryset, serializer_class, extra: dict | None = None) -> Response:
    paginator = StandardPagination()
    page = paginator.paginate_queryset(queryset, request, view=view)
    response = paginator.get_paginated_response(serializer_class(page, many=True).data)
    if extra:
        response.data.update(extra)
    return response


def _filtered(request, queryset):
    fs = ResourceFilterSet(request.query_params, queryset=queryset)
    if not fs.is_valid():
        raise Invalid(CatalogError.INVALID, _("筛选条件无效。"), {"fields": fs.errors})
    return fs.qs


class ResourceListApi(APIView):
    """GET: resources I may see (filters, ``q``, ``sort``); POST: register a draft."""

    @extend_schema(
        operation_id="catalog_resource_list",
        responses=s.CatalogResourceSerializer(many=True),
        parameters=[OpenApiParameter("q", str), OpenApiParameter("sort", str, enum=["relevance", "updated"])],
    )
    def get(self, request):
        qs = _filtered(request, selectors.resource_list(user=request.user))
        qs = selectors.resource_search(
            user=request.user,
            query=request.query_params.get("q", ""),
            queryset=qs,
            sort=request.query_params.get("sort", "relevance"),
        )
        return _paginate(self, request, qs, s.CatalogResourceSerializer)

    @extend_schema(
        operation_id="catalog_resource_create",
        request=s.ResourceInputSerializer,
        responses={201: s.CatalogResourceDetailSerializer},
    )
    def post(self, request):
        fields, items, _reason = _valid(s.ResourceInputSerializer, request.data).split()
        resource = services.resource_create(by=request.user, fields=fields, items=items or [])
        overlaps = services.single_source_overlaps(provider=resource.provider, items=items or [])
        data = s.CatalogResourceDetailSerializer(resource).data
        data["warnings"] = [
            {
                "code": CatalogError.SINGLE_SOURCE_JUSTIFICATION_REQUIRED.value,
                "concept": c.name,
                "unit": c.unit.name,
            }
            for c in overlaps
        ]
        return Response(data, status=201)


class ResourceDetailApi(APIView):
    @extend_schema(operation_id="catalog_resource_retrieve", responses=s.CatalogResourceDetailSerializer)
    def get(self, request, pk):
        resource = selectors.resource_get(user=request.user, pk=pk)
        return Response(s.CatalogResourceDetailSerializer(resource).data)

    @extend_schema(
        operation_id="catalog_resource_update",
        request=s.ResourceInputSerializer,
        responses=s.CatalogResourceDetailSerializer,
    )
    def patch(self, request, pk):
        resource = selectors.resource_get(user=request.user, pk=pk)
        fields, items, _reason = _valid(s.ResourceInputSerializer, request.data).split()
        resource = services.resource_update(resource=resource, by=request.user, fields=fields, items=items)
        return Response(s.CatalogResourceDetailSerializer(resource).data)

    @extend_schema(operation_id="catalog_resource_delete", responses={204: None})
    def delete(self, request, pk):
        resource = selectors.resource_get(user=request.user, pk=pk)
        services.resource_delete(resource=resource, by=request.user)
        return Response(status=204)


class ResourceActionApi(APIView):
    """POST /resources/<pk>/<action>/ — one workflow transition."""

    @extend_schema(
        operation_id="catalog_resource_action",
        request=s.CatalogActionInputSerializer,
        responses=s.CatalogResourceDetailSerializer,
        parameters=[
            OpenApiParameter(
                "action",
                str,
                OpenApiParameter.PATH,
                enum=["submit", "secrecy-confirm", "secrecy-reject", "approve", "return", "withdraw"],
            )
        ],
    )
    def post(self, request, pk, action):
        resource = selectors.resource_get(user=request.user, pk=pk)
        by = request.user
        if action == "submit":
            d = _valid(s.SubmitSerializer, request.data).validated_data
            resource = services.resource_submit(resource=resource, by=by, justification=d["justification"])
        elif action == "secrecy-confirm":
            d = _valid(s.SecrecySerializer, request.data).validated_data
            resource = services.resource_secrecy_confirm(
                resource=resource, by=by, no_state_secrets=d["no_state_secrets"], note=d["note"]
            )
        elif action == "secrecy-reject":
            d = _valid(s.ReasonSerializer, request.data).validated_data
            resource = services.resource_secrecy_reject(resource=resource, by=by, reason=d["reason"])
        elif action == "approve":
            d = _valid(s.ApproveSerializer, request.data).validated_data
            resource = services.resource_approve(
                resource=resource, by=by, confirm_legal_basis=d["confirm_legal_basis"], note=d["note"]
            )
        elif action == "return":
            d = _valid(s.ReasonSerializer, request.data).validated_data
            resource = services.resource_return(resource=resource, by=by, reason=d["reason"])
        elif action == "withdraw":
            d = _valid(s.ReasonSerializer, request.data).validated_data
            resource = services.resource_withdraw(resource=resource, by=by, reason=d["reason"])
        else:
            raise NotFound(CatalogError.NOT_FOUND)
        return Response(s.CatalogResourceDetailSerializer(resource).data)


class ResourceChangeListApi(APIView):
    """GET: versions and open change; POST: propose a change to a published resource."""

    @extend_schema(
        operation_id="catalog_resource_change_list", responses=s.ResourceVersionSerializer(many=True)
    )
    def get(self, request, pk):
        resource = selectors.resource_get(user=request.user, pk=pk)
        changes = selectors.change_list(user=request.user, resource=resource)
        return Response(s.ResourceVersionSerializer(changes, many=True).data)

    @extend_schema(
        operation_id="catalog_resource_change_propose",
        request=s.ResourceInputSerializer,
        responses={201: s.ResourceVersionSerializer},
    )
    def post(self, request, pk):
        resource = selectors.resource_get(user=request.user, pk=pk)
        fields, items, reason = _valid(s.ResourceInputSerializer, request.data).split()
        change = services.resource_change_propose(
            resource=resource, by=request.user, fields=fields, items=items, reason=reason
        )
        return Response(s.ResourceVersionSerializer(change).data, status=201)


class ResourceChangeActionApi(APIView):
    @extend_schema(
        operation_id="catalog_change_action",
        request=s.CatalogActionInputSerializer,
        responses=s.ResourceVersionSerializer,
        parameters=[
            OpenApiParameter(
                "action",
                str,
                OpenApiParameter.PATH,
                enum=["submit", "secrecy-confirm", "approve", "return", "cancel"],
            )
        ],
    )
    def post(self, request, pk, action):
        change = selectors.change_get(user=request.user, pk=pk)
        by = request.user
        if action == "submit":
            d = _valid(s.SubmitSerializer, request.data).validated_data
            change = services.resource_change_submit(change=change, by=by, justification=d["justification"])
        elif action == "secrecy-confirm":
            d = _valid(s.SecrecySerializer, request.data).validated_data
            change = services.resource_change_secrecy_confirm(
                change=change, by=by, no_state_secrets=d["no_state_secrets"]
            )
        elif action == "approve":
            d = _valid(s.ApproveSerializer, request.data).validated_data
            change = services.resource_change_approve(
                change=change, by=by, confirm_legal_basis=d["confirm_legal_basis"], note=d["note"]
            )
        elif action == "return":
            d = _valid(s.ReasonSerializer, request.data).validated_data
            change = services.resource_change_return(change=change, by=by, reason=d["reason"])
        elif action == "cancel":
            change = services.resource_change_cancel(change=change, by=by)
        else:
            raise NotFound(CatalogError.NOT_FOUND)
        return Response(s.ResourceVersionSerializer(change).data)


class ResourceSearchApi(APIView):
    """GET ?q=人口&sharing_type=...&sort=relevance|updated&page=&page_size= — results plus facet counts."""

    @extend_schema(
        operation_id="catalog_search",
        responses=s.SearchResultSerializer,
        parameters=[
            OpenApiParameter("q", str),
            OpenApiParameter("sort", str, enum=["relevance", "updated"]),
            OpenApiParameter("page", int),
            OpenApiParameter("page_size", int),
        ],
    )
    def get(self, request):
        base = selectors.resource_list(user=request.user).filter(status="published")
        try:
            page_size = max(1, min(int(request.query_params.get("page_size", 20)), 100))
        except ValueError:
            raise Invalid(CatalogError.INVALID, _("每页条数须为整数。"))
        result = selectors.resource_search_page(
            user=request.user,
            query=request.query_params.get("q", ""),
            queryset=_filtered(request, base),
            sort=request.query_params.get("sort", "relevance"),
            page=request.query_params.get("page", 1),
            page_size=page_size,
        )
        page = result.page
        return Response(
            {
                "count": page.paginator.count,
                "page": page.number,
                "pages": page.paginator.num_pages,
                "results": s.CatalogResourceSerializer(page.object_list, many=True).data,
                "facets": result.facets,
            }
        )


def _sharing_type(value: str) -> str:
    value = value.replace("-", "_")
    if value not in SharingType.values:
        raise NotFound(CatalogError.NOT_FOUND, _("没有这个目录。"))
    return value


class CatalogListApi(APIView):
    """One of the three published catalogs (S§14)."""

    @extend_schema(
        operation_id="catalog_catalog_list",
        responses=s.CatalogResourceSerializer(many=True),
        parameters=[
            OpenApiParameter(
                "sharing_type",
                str,
                OpenApiParameter.PATH,
                enum=["unconditional", "conditional", "not-shared"],
            )
        ],
    )
    def get(self, request, sharing_type):
        qs = selectors.catalog_list(user=request.user, sharing_type=_sharing_type(sharing_type))
        return _paginate(self, request, _filtered(request, qs), s.CatalogResourceSerializer)


class CatalogExportApi(APIView):
    """Export one catalog as XLSX or CSV (UTF-8 with BOM)."""

    @extend_schema(
        operation_id="catalog_catalog_export",
        responses={
            (200, "text/csv"): OpenApiTypes.BINARY,
            (200, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"): OpenApiTypes.BINARY,
        },
        parameters=[
            OpenApiParameter(
                "sharing_type",
                str,
                OpenApiParameter.PATH,
                enum=["unconditional", "conditional", "not-shared"],
            ),
            OpenApiParameter("fmt", str, OpenApiParameter.PATH, enum=["csv", "xlsx"]),
        ],
    )
    def get(self, request, sharing_type, fmt):
        st = _sharing_type(sharing_type)
        if fmt not in ("csv", "xlsx"):
            raise NotFound(CatalogError.NOT_FOUND)
        qs = _filtered(request, selectors.catalog_list(user=request.user, sharing_type=st))
        return _export(qs, fmt, f"catalog-{st}", str(SharingType(st).label))


def _export(qs, fmt: str, name: str, title: str) -> HttpResponse:
    if fmt == "csv":
        resp = HttpResponse(excel.export_csv(qs), content_type="text/csv; charset=utf-8")
    else:
        resp = HttpResponse(
            excel.export_xlsx(qs, title=title),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    resp["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return resp


class ResourceExportApi(APIView):
    """Export any list view (filters, ``q``, ``sort``) of the resources I may see, XLSX or CSV."""

    @extend_schema(
        operation_id="catalog_resource_export",
        responses={
            (200, "text/csv"): OpenApiTypes.BINARY,
            (200, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"): OpenApiTypes.BINARY,
        },
        parameters=[
            OpenApiParameter("fmt", str, OpenApiParameter.PATH, enum=["csv", "xlsx"]),
            OpenApiParameter("q", str),
        ],
    )
    def get(self, request, fmt):
        if fmt not in ("csv", "xlsx"):
            raise NotFound(CatalogError.NOT_FOUND)
        qs = selectors.resource_search(
            user=request.user,
            query=request.query_params.get("q", ""),
            queryset=_filtered(request, selectors.resource_list(user=request.user)),
            sort=request.query_params.get("sort", "relevance"),
        )
        return _export(qs[: excel.MAX_EXPORT_ROWS], fmt, "catalog-resources", str(_("信息资源")))


class TemplateApi(APIView):
    @extend_schema(
        operation_id="catalog_template",
        responses={
            (200, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"): OpenApiTypes.BINARY
        },
    )
    def get(self, request):
        resp = HttpResponse(
            excel.template_workbook(),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        resp["Content-Disposition"] = 'attachment; filename="catalog-template.xlsx"'
        return resp


class ImportApi(APIView):
    """POST multipart ``file``: register many resources at once, all or nothing."""

    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        operation_id="catalog_import",
        request={"multipart/form-data": s.CatalogImportInputSerializer},
        responses={201: s.CatalogImportResultSerializer},
    )
    def post(self, request):
        upload = request.FILES.get("file")
        created = excel.resource_import(by=request.user, upload=upload)
        return Response({"created": [{"id": r.pk, "name": r.name} for r in created]}, status=201)


class ConceptListApi(APIView):
    parser_classes = [JSONParser]

    @extend_schema(operation_id="catalog_concept_list", responses=s.ConceptSerializer(many=True))
    def get(self, request):
        rows = selectors.concept_overview(user=request.user)
        return Response(
            [
                {
                    **s.ConceptSerializer(r["concept"]).data,
                    "holders": [
                        {
                            "unit": h["unit"].pk,
                            "unit_name": h["unit"].name,
                            "resources": [x.pk for x in h["resources"]],
                        }
                        for h in r["holders"]
                    ],
                }
                for r in rows
            ]
        )

    @extend_schema(
        operation_id="catalog_concept_create",
        request=s.ConceptSerializer,
        responses={201: s.ConceptSerializer},
    )
    def post(self, request):
        d = _valid(s.ConceptSerializer, request.data).validated_data
        concept = services.concept_create(
            by=request.user,
            name=d["name"],
            unit=d["unit"],
            identifier_kind=d.get("identifier_kind", ""),
            item_names=d.get("item_names", []),
            description=d.get("description", ""),
        )
        return Response(s.ConceptSerializer(concept).data, status=201)


class ClaimDecideApi(APIView):
    @extend_schema(
        operation_id="catalog_claim_decide", request=s.ClaimDecideSerializer, responses=s.ClaimSerializer
    )
    def post(self, request, pk):
        claim = get_object_or_404(SingleSourceClaim, pk=pk)
        d = _valid(s.ClaimDecideSerializer, request.data).validated_data
        claim = services.single_source_claim_decide(
            claim=claim, by=request.user, accept=d["accept"], note=d["note"]
        )
        return Response(s.ClaimSerializer(claim).data)


class ResourceClaimsApi(APIView):
    @extend_schema(operation_id="catalog_resource_claims", responses=s.ClaimSerializer(many=True))
    def get(self, request, pk):
        resource = selectors.resource_get(user=request.user, pk=pk)
        return Response(
            s.ClaimSerializer(selectors.claim_list(user=request.user, resource=resource), many=True).data
        )


class DemandListApi(APIView):
    @extend_schema(operation_id="catalog_demand_list", responses=s.DemandSerializer(many=True))
    def get(self, request):
        fs = DemandFilterSet(request.query_params, queryset=selectors.demand_list(user=request.user))
        if not fs.is_valid():
            raise Invalid(CatalogError.INVALID, _("筛选条件无效。"), {"fields": fs.errors})
        return _paginate(self, request, fs.qs, s.DemandSerializer)

    @extend_schema(
        operation_id="catalog_demand_create", request=s.DemandSerializer, responses={201: s.DemandSerializer}
    )
    def post(self, request):
        d = _valid(s.DemandSerializer, request.data).validated_data
        demand = services.demand_create(
            by=request.user,
            target=d["target"],
            title=d["title"],
            purpose=d["purpose"],
            description=d.get("description", ""),
        )
        return Response(s.DemandSerializer(demand).data, status=201)


class DemandActionApi(APIView):
    @extend_schema(
        operation_id="catalog_demand_action",
        request=s.DemandAnswerSerializer,
        responses=s.DemandSerializer,
        parameters=[OpenApiParameter("action", str, OpenApiParameter.PATH, enum=["answer", "refuse"])],
    )
    def post(self, request, pk, action):
        demand = selectors.demand_get(user=request.user, pk=pk)
        d = _valid(s.DemandAnswerSerializer, request.data).validated_data
        if action == "answer":
            resource = None
            if d.get("resource"):
                resource = selectors.resource_get(user=request.user, pk=d["resource"])
            demand = services.demand_answer(
                demand=demand, by=request.user, resource=resource, answer=d["answer"]
            )
        elif action == "refuse":
            demand = services.demand_refuse(demand=demand, by=request.user, reason=d["answer"])
        else:
            raise NotFound(CatalogError.NOT_FOUND)
        return Response(s.DemandSerializer(demand).data)


class CampaignListApi(APIView):
    @extend_schema(operation_id="catalog_campaign_list", responses=s.CampaignSerializer(many=True))
    def get(self, request):
        return Response(s.CampaignSerializer(ReviewCampaign.objects.all(), many=True).data)

    @extend_schema(
        operation_id="catalog_campaign_open",
        request=s.CampaignSerializer,
        responses={201: s.CampaignSerializer},
    )
    def post(self, request):
        d = _valid(s.CampaignSerializer, request.data).validated_data
        campaign = services.review_campaign_open(by=request.user, year=d["year"], due_date=d["due_date"])
        return Response(s.CampaignSerializer(campaign).data, status=201)


class CampaignDetailApi(APIView):
    """A campaign with per-unit progress (center: all units; a unit: its own entries)."""

    @extend_schema(operation_id="catalog_campaign_retrieve", responses=OpenApiTypes.OBJECT)
    def get(self, request, pk):
        campaign = get_object_or_404(ReviewCampaign, pk=pk)
        entries = selectors.campaign_entries(user=request.user, campaign=campaign)
        progress = selectors.campaign_progress(campaign=campaign)
        if not services.permissions.is_center_staff(request.user):
            progress = [p for p in progress if p["unit"].pk == request.user.unit_id]
        return Response(
            {
                **s.CampaignSerializer(campaign).data,
                "progress": [
                    {
                        "unit": p["unit"].pk,
                        "unit_name": p["unit"].name,
                        "total": p["total"],
                        "done": p["done"],
                        "percent": p["percent"],
                    }
                    for p in progress
                ],
                "entries": s.CampaignEntrySerializer(entries, many=True).data,
            }
        )


class CampaignRemindApi(APIView):
    @extend_schema(operation_id="catalog_campaign_remind", request=None, responses=s.RemindResultSerializer)
    def post(self, request, pk):
        campaign = get_object_or_404(ReviewCampaign, pk=pk)
        return Response(
            {"reminded_units": services.review_campaign_remind(campaign=campaign, by=request.user)}
        )


class CampaignEntryConfirmApi(APIView):
    @extend_schema(
        operation_id="catalog_campaign_entry_confirm", request=None, responses=s.CampaignEntrySerializer
    )
    def post(self, request, pk):
        entry = CampaignEntry.objects.filter(pk=pk).first()
        if entry is None or not (
            services.permissions.is_center_staff(request.user) or entry.unit_id == request.user.unit_id
        ):
            raise NotFound(CatalogError.NOT_FOUND)
        entry = services.review_entry_confirm(entry=entry, by=request.user)
        return Response(s.CampaignEntrySerializer(entry).data)


class ProjectListApi(APIView):
    @extend_schema(operation_id="catalog_project_list", responses=s.ProjectSerializer(many=True))
    def get(self, request):
        return _paginate(self, request, selectors.project_list(user=request.user), s.ProjectSerializer)

    @extend_schema(
        operation_id="catalog_project_create",
        request=s.ProjectSerializer,
        responses={201: s.ProjectSerializer},
    )
    def post(self, request):
        d = _valid(s.ProjectSerializer, request.data).validated_data
        planned = _valid(
            s.PlannedResourceSerializer, request.data.get("planned", []), many=True
        ).validated_data
        project = services.project_catalog_create(
            by=request.user,
            name=d["name"],
            project_code=d.get("project_code", ""),
            app_system_name=d.get("app_system_name", ""),
            planned=[dict(p) for p in planned],
        )
        return Response(s.ProjectSerializer(project).data, status=201)


class PlannedLinkApi(APIView):
    @extend_schema(
        operation_id="catalog_planned_link",
        request=s.LinkInputSerializer,
        responses=s.PlannedResourceSerializer,
    )
    def post(self, request, pk):
        planned = get_object_or_404(PlannedResource.objects.select_related("project"), pk=pk)
        if planned.project not in selectors.project_list(user=request.user):
            raise NotFound(CatalogError.NOT_FOUND)
        resource = selectors.resource_get(user=request.user, pk=request.data.get("resource"))
        planned = services.planned_resource_link(planned=planned, by=request.user, resource=resource)
        return Response(s.PlannedResourceSerializer(planned).data)
