"""Cloud operations API (/api/v1/cloud/ops/…): metrics push and CSV upload, pool dashboard,
capacity alerts, efficiency flags, project plans, resource demands, settlements. Thin: HTTP ↔
``cloud.ops_services`` / ``cloud.ops_selectors`` only."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.urls import path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.models import ProjectCatalog, Resource
from cloud import ops_selectors as sel
from cloud import ops_services as svc
from cloud.models import CapacityAlert, EfficiencyFlag, ProjectPlan, ResourceDemand, Settlement
from core.api.pagination import StandardPagination
from core.errors import Invalid

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_CSV_BYTES = 50 * 1024 * 1024


def _paged(view: APIView, request, queryset, serializer_class) -> Response:
    paginator = StandardPagination()
    page = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(serializer_class(page, many=True).data)


def _int(value: Any, name: str, default: int | None = None) -> int | None:
    if value in (None, ""):
        return default
    try:
        return int(str(value))
    except ValueError:
        raise Invalid(svc.OpsError.INVALID, _("参数 %(n)s 应为整数。") % {"n": name})


def _year(value: Any, default: int | None = None) -> int | None:
    year = _int(value, "year", default)
    if year is not None and not 2000 <= year <= 2100:
        raise Invalid(svc.OpsError.INVALID, _("年度应在 2000 到 2100 之间。"))
    return year


def _valid(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _file(content: bytes, filename: str, content_type: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# --- serializers ----------------------------------------------------------------------------------


class OpsMetricPushSerializer(serializers.Serializer):
    points = serializers.ListField(child=serializers.DictField(), allow_empty=False)


class OpsCapacityAlertSerializer(serializers.ModelSerializer):
    pool_name = serializers.CharField(source="pool.name", read_only=True)

    class Meta:
        model = CapacityAlert
        fields = [
            "id",
            "pool",
            "pool_name",
            "status",
            "opened_at",
            "ratio_at_open",
            "allocated_at_open",
            "total_at_open",
            "due_at",
            "closed_at",
            "total_at_close",
        ]


class OpsEfficiencyFlagSerializer(serializers.ModelSerializer):
    host_name = serializers.CharField(source="resource.host_name", read_only=True)
    system = serializers.CharField(source="application.system.name", read_only=True)

    class Meta:
        model = EfficiencyFlag
        fields = [
            "id",
            "unit",
            "application",
            "system",
            "resource",
            "host_name",
            "kind",
            "status",
            "measured",
            "suggestion",
            "suggestion_text",
            "detected_at",
            "decided_at",
            "decision_note",
            "change",
        ]


class OpsDismissSerializer(serializers.Serializer):
    reason = serializers.CharField(allow_blank=True, required=False, default="")


class OpsProjectPlanSerializer(serializers.ModelSerializer):
    unit_name = serializers.CharField(source="unit.name", read_only=True)

    class Meta:
        model = ProjectPlan
        fields = [
            "id",
            "unit",
            "unit_name",
            "year",
            "name",
            "construction_plan",
            "budget",
            "project_catalog",
            "resources",
            "status",
            "submitted_at",
            "reviewed_at",
            "review_note",
        ]


class OpsProjectPlanInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    construction_plan = serializers.CharField()
    budget = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0)
    project_catalog = serializers.PrimaryKeyRelatedField(
        queryset=ProjectCatalog.objects.all(), required=False, allow_null=True
    )
    resources = serializers.PrimaryKeyRelatedField(queryset=Resource.objects.all(), many=True, required=False)


class OpsPlanReviewSerializer(serializers.Serializer):
    approve = serializers.BooleanField()
    note = serializers.CharField(allow_blank=True, required=False, default="")


class OpsResourceDemandSerializer(serializers.ModelSerializer):
    class Meta:
        model = ResourceDemand
        fields = ["id", "unit", "year", "kind", "increment", "reason", "submitted_at"]


class OpsResourceDemandInputSerializer(serializers.Serializer):
    items = serializers.ListField(child=serializers.DictField(), allow_empty=False)


class OpsSettlementSerializer(serializers.ModelSerializer):
    unit_name = serializers.CharField(source="unit.name", read_only=True)

    class Meta:
        model = Settlement
        fields = ["id", "unit", "unit_name", "year", "amount", "status", "computed_at", "late", "reviewed_at"]


class OpsSettlementComputeSerializer(serializers.Serializer):
    year = serializers.IntegerField(min_value=2000, max_value=2100)


class OpsIngestResultSerializer(serializers.Serializer):
    points = serializers.IntegerField()
    series = serializers.IntegerField()
    to = serializers.DateTimeField(allow_null=True)


class OpsCsvUploadSerializer(serializers.Serializer):
    file = serializers.FileField()


BINARY = {(200, "application/octet-stream"): OpenApiTypes.BINARY}


# --- views ----------------------------------------------------------------------------------------


class MetricPushApi(APIView):
    """C§27 utilisation push (JSON, token auth): ``{"points": [{"allocation": id, "metric": "cpu",
    "at": "2026-05-01T08:00:00+08:00", "value": 37.5}, …]}`` — or ``"pool": id`` with ``used``."""

    serializer_class = OpsMetricPushSerializer

    @extend_schema(request=OpsMetricPushSerializer, responses={201: OpsIngestResultSerializer})
    def post(self, request):
        from accounts.authentication import require_scope

        require_scope(request, "cloud.metrics")  # machine pushes need the metrics scope
        data = _valid(OpsMetricPushSerializer, request.data)
        result = svc.metrics_push(by=request.user, points=data["points"], source="api")
        return Response(result.as_dict(), status=status.HTTP_201_CREATED)


class MetricCsvApi(APIView):
    """C§27 utilisation CSV upload (center): header ``allocation,pool,metric,at,value``."""

    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(request=OpsCsvUploadSerializer, responses={201: OpsIngestResultSerializer})
    def post(self, request):
        upload = request.FILES.get("file")
        if upload is None:
            raise Invalid(svc.OpsError.BAD_CSV, _("请上传 CSV 文件（字段名 file）。"))
        if upload.size > MAX_CSV_BYTES:
            raise Invalid(svc.OpsError.BAD_CSV, _("文件过大（上限 50 MB），请分批上传。"))
        result = svc.metrics_csv_upload(by=request.user, content=upload.read())
        return Response(result.as_dict(), status=status.HTTP_201_CREATED)


class PoolDashboardApi(APIView):
    """Pool dashboard data: daily used / allocated / total per kind and the 70 %/100 % forecast."""

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        days = _int(request.query_params.get("days"), "days", 365)
        kind = request.query_params.get("kind") or None
        return Response(sel.pool_dashboard(user=request.user, days=days, kind=kind))


class CapacityAlertListApi(APIView):
    serializer_class = OpsCapacityAlertSerializer

    def get(self, request):
        qs = sel.capacity_alert_list(user=request.user, status=request.query_params.get("status") or None)
        return _paged(self, request, qs, OpsCapacityAlertSerializer)


class EfficiencyFlagListApi(APIView):
    serializer_class = OpsEfficiencyFlagSerializer

    def get(self, request):
        qs = sel.efficiency_flag_list(user=request.user, status=request.query_params.get("status") or None)
        return _paged(self, request, qs, OpsEfficiencyFlagSerializer)


class EfficiencyFlagAcceptApi(APIView):
    """The unit accepts the right-sizing suggestion → a C§14 change request."""

    serializer_class = OpsEfficiencyFlagSerializer

    def post(self, request, pk: int):
        flag = sel.efficiency_flag_get(user=request.user, pk=pk)
        flag = svc.efficiency_flag_accept(flag=flag, by=request.user)
        return Response(OpsEfficiencyFlagSerializer(flag).data)


class EfficiencyFlagDismissApi(APIView):
    serializer_class = OpsDismissSerializer

    def post(self, request, pk: int):
        flag = sel.efficiency_flag_get(user=request.user, pk=pk)
        data = _valid(OpsDismissSerializer, request.data)
        flag = svc.efficiency_flag_dismiss(flag=flag, by=request.user, reason=data["reason"])
        return Response(OpsEfficiencyFlagSerializer(flag).data)


class ProjectPlanListApi(APIView):
    """C§16 project plans: list (scoped) and declare (1 June – 31 August)."""

    serializer_class = OpsProjectPlanSerializer

    def get(self, request):
        qs = sel.project_plan_list(
            user=request.user,
            year=_year(request.query_params.get("year")),
            status=request.query_params.get("status") or None,
        )
        return _paged(self, request, qs, OpsProjectPlanSerializer)

    def post(self, request):
        svc.require_unit_actor(request.user)
        data = _valid(OpsProjectPlanInputSerializer, request.data)
        plan = svc.project_plan_submit(by=request.user, **data)
        return Response(OpsProjectPlanSerializer(plan).data, status=status.HTTP_201_CREATED)


class ProjectPlanReviewApi(APIView):
    serializer_class = OpsPlanReviewSerializer

    def post(self, request, pk: int):
        plan = sel.project_plan_get(user=request.user, pk=pk)
        data = _valid(OpsPlanReviewSerializer, request.data)
        plan = svc.project_plan_review(plan=plan, by=request.user, approve=data["approve"], note=data["note"])
        return Response(OpsProjectPlanSerializer(plan).data)


class ProjectPlanExportApi(APIView):
    """The approved list of a year as XLSX (center)."""

    @extend_schema(responses=BINARY)
    def get(self, request):
        year = _year(request.query_params.get("year"))
        if year is None:
            raise Invalid(svc.OpsError.INVALID, _("请指定年度 year。"))
        content = sel.project_plans_xlsx(user=request.user, year=year)
        return _file(content, f"project-plans-{year}.xlsx", XLSX)


class ResourceDemandListApi(APIView):
    """C§42 resource demand plans: list (scoped) and declare in October."""

    serializer_class = OpsResourceDemandSerializer

    def get(self, request):
        qs = sel.resource_demand_list(user=request.user, year=_year(request.query_params.get("year")))
        return _paged(self, request, qs, OpsResourceDemandSerializer)

    def post(self, request):
        svc.require_unit_actor(request.user)
        data = _valid(OpsResourceDemandInputSerializer, request.data)
        saved = svc.resource_demand_declare(by=request.user, items=data["items"])
        return Response(
            {"results": OpsResourceDemandSerializer(saved, many=True).data}, status=status.HTTP_201_CREATED
        )


class ResourceDemandSummaryApi(APIView):
    """C§42: declared increments against pool capacity, per kind (center)."""

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        from django.utils import timezone

        year = _year(request.query_params.get("year"), timezone.localdate().year + 1)
        return Response({"year": year, "results": sel.resource_demand_summary(user=request.user, year=year)})


class SettlementListApi(APIView):
    serializer_class = OpsSettlementSerializer

    def get(self, request):
        qs = sel.settlement_list(user=request.user, year=_year(request.query_params.get("year")))
        return _paged(self, request, qs, OpsSettlementSerializer)


class SettlementComputeApi(APIView):
    """C§42: compute every unit's settlement for a year (center)."""

    serializer_class = OpsSettlementComputeSerializer

    def post(self, request):
        svc.require_center(request.user)
        data = _valid(OpsSettlementComputeSerializer, request.data)
        results = svc.settlement_compute(by=request.user, year=data["year"])
        return Response(
            {"results": OpsSettlementSerializer(results, many=True).data}, status=status.HTTP_201_CREATED
        )


class SettlementReviewApi(APIView):
    serializer_class = OpsSettlementSerializer

    def post(self, request, pk: int):
        settlement = sel.settlement_get(user=request.user, pk=pk)
        settlement = svc.settlement_review(settlement=settlement, by=request.user)
        return Response(OpsSettlementSerializer(settlement).data)


class SettlementXlsxApi(APIView):
    """One unit's settlement as XLSX."""

    @extend_schema(responses=BINARY)
    def get(self, request, pk: int):
        settlement, content = sel.settlement_xlsx(user=request.user, pk=pk)
        return _file(content, f"settlement-{settlement.year}-{settlement.unit_id}.xlsx", XLSX)


class SettlementPdfApi(APIView):
    """One unit's settlement as PDF."""

    @extend_schema(responses=BINARY)
    def get(self, request, pk: int):
        settlement, content = sel.settlement_pdf(user=request.user, pk=pk)
        return _file(content, f"settlement-{settlement.year}-{settlement.unit_id}.pdf", "application/pdf")


urlpatterns = [
    path("ops/metrics/", MetricPushApi.as_view(), name="ops-metric-push"),
    path("ops/metrics/csv/", MetricCsvApi.as_view(), name="ops-metric-csv"),
    path("ops/pools/dashboard/", PoolDashboardApi.as_view(), name="ops-pool-dashboard"),
    path("ops/capacity-alerts/", CapacityAlertListApi.as_view(), name="ops-capacity-alert-list"),
    path("ops/efficiency/", EfficiencyFlagListApi.as_view(), name="ops-efficiency-list"),
    path("ops/efficiency/<int:pk>/accept/", EfficiencyFlagAcceptApi.as_view(), name="ops-efficiency-accept"),
    path(
        "ops/efficiency/<int:pk>/dismiss/", EfficiencyFlagDismissApi.as_view(), name="ops-efficiency-dismiss"
    ),
    path("ops/project-plans/", ProjectPlanListApi.as_view(), name="ops-project-plan-list"),
    path("ops/project-plans/export/", ProjectPlanExportApi.as_view(), name="ops-project-plan-export"),
    path(
        "ops/project-plans/<int:pk>/review/", ProjectPlanReviewApi.as_view(), name="ops-project-plan-review"
    ),
    path("ops/resource-demands/", ResourceDemandListApi.as_view(), name="ops-resource-demand-list"),
    path(
        "ops/resource-demands/summary/",
        ResourceDemandSummaryApi.as_view(),
        name="ops-resource-demand-summary",
    ),
    path("ops/settlements/", SettlementListApi.as_view(), name="ops-settlement-list"),
    path("ops/settlements/compute/", SettlementComputeApi.as_view(), name="ops-settlement-compute"),
    path("ops/settlements/<int:pk>/review/", SettlementReviewApi.as_view(), name="ops-settlement-review"),
    path("ops/settlements/<int:pk>/export.xlsx", SettlementXlsxApi.as_view(), name="ops-settlement-xlsx"),
    path("ops/settlements/<int:pk>/export.pdf", SettlementPdfApi.as_view(), name="ops-settlement-pdf"),
]
