"""Audit trail API (S§35): read-only, for auditors and the audit admin only.

``/api/v1/core/audit-events/`` lists with filters and keyset pagination; ``…/<id>/`` shows one
event; ``…/export.csv`` and ``…/export.xlsx`` stream the filtered trail; ``audit-chain/`` shows the
chain head, the unchained window and the last verification. There are no write endpoints: POST,
PUT, PATCH and DELETE answer 405 to readers and 403 to everyone else. Every read is audited.
"""

from __future__ import annotations

import csv
import json
import os
import tempfile
from collections.abc import Iterator
from typing import Any

import django_filters
from django.db.models import QuerySet
from django.http import FileResponse, HttpResponse, StreamingHttpResponse
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, permissions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core import audit
from core.api.pagination import CreatedCursorPagination
from core.errors import Invalid
from core.models import AuditEvent
from core.models.audit import AuditError

#: The largest sheet Excel opens is 1,048,576 rows; CSV has no limit.
XLSX_MAX_ROWS = 1_000_000
#: Up to this many rows an export is built in memory and sent with a Content-Length; larger ones stream.
EXPORT_IN_MEMORY_ROWS = 5_000


class AuditEventFilterSet(django_filters.FilterSet):
    """One filter set for the auditor's page and the API."""

    actor = django_filters.NumberFilter(field_name="actor_id", label=_("操作者（用户编号）"))
    actor_name = django_filters.CharFilter(
        field_name="actor_label", lookup_expr="icontains", label=_("操作者")
    )
    unit = django_filters.NumberFilter(field_name="unit_id", label=_("单位编号"))
    unit_name = django_filters.CharFilter(field_name="unit_label", lookup_expr="icontains", label=_("单位"))
    api_client = django_filters.NumberFilter(field_name="api_client_id", label=_("接口客户端编号"))
    action = django_filters.CharFilter(field_name="action", lookup_expr="startswith", label=_("动作（前缀）"))
    target_type = django_filters.CharFilter(field_name="target_type", label=_("对象类型"))
    target_id = django_filters.CharFilter(field_name="target_id", label=_("对象编号"))
    target = django_filters.CharFilter(
        field_name="target_label", lookup_expr="icontains", label=_("对象名称")
    )
    purpose = django_filters.CharFilter(field_name="purpose", lookup_expr="icontains", label=_("用途"))
    request_id = django_filters.CharFilter(field_name="request_id", label=_("请求编号"))
    since = django_filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="gte", label=_("起始时间"))
    until = django_filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="lt", label=_("截止时间"))

    class Meta:
        model = AuditEvent
        fields: list[str] = []


def filter_events(qs: QuerySet, params: Any) -> tuple[QuerySet, dict]:
    """Apply the filters; bad input raises ``Invalid`` with the field errors (never a 500)."""
    fs = AuditEventFilterSet(params, queryset=qs)
    if not fs.is_valid():
        errors = {field: [str(m) for m in msgs] for field, msgs in fs.errors.items()}
        raise Invalid(AuditError.BAD_FILTER, _("筛选条件有误，请检查。"), {"fields": errors})
    used = {k: v for k, v in fs.form.cleaned_data.items() if v not in (None, "")}
    return fs.qs, {k: str(v) for k, v in used.items()}


#: The filters, documented in the OpenAPI schema of the list and export endpoints.
FILTER_PARAMETERS = [
    OpenApiParameter(name, str, description=str(f.label))
    for name, f in AuditEventFilterSet.base_filters.items()
]


class CanReadAudit(permissions.BasePermission):
    """AUDITOR and AUDIT_ADMIN only (accounts.permissions.can_read_audit); never SYS_ADMIN."""

    message = _("只有审计员和审计管理员可以查看审计记录。")

    def has_permission(self, request, view) -> bool:
        return audit.can_read_audit(request.user)


class AuditEventSerializer(serializers.ModelSerializer):
    chained = serializers.BooleanField(source="is_chained", read_only=True)

    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "seq",
            "chained",
            "occurred_at",
            "actor",
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
            "hash",
        ]
        read_only_fields = fields


class AuditEventListApi(generics.ListAPIView):
    """审计记录：按操作者、单位、动作、对象、用途、时间筛选；游标分页（按编号倒序）。"""

    serializer_class = AuditEventSerializer
    permission_classes = [permissions.IsAuthenticated, CanReadAudit]
    pagination_class = CreatedCursorPagination
    filter_backends: list = []

    @extend_schema(parameters=FILTER_PARAMETERS)
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def list(self, request, *args, **kwargs):
        qs, used = filter_events(audit.audit_event_list(user=request.user), request.query_params)
        page = self.paginate_queryset(qs)
        data = self.get_serializer(page, many=True).data
        audit.record_read(
            user=request.user,
            request=request,
            action="core.audit.read",
            details={
                "filters": used,
                "returned": len(page),
                "cursor": bool(request.query_params.get("cursor")),
            },
        )
        return self.get_paginated_response(data)


class AuditEventDetailApi(APIView):
    """一条审计事件。"""

    permission_classes = [permissions.IsAuthenticated, CanReadAudit]

    @extend_schema(responses=AuditEventSerializer)
    def get(self, request, pk: int):
        event = audit.audit_event_get(user=request.user, event_id=pk)
        audit.record_read(user=request.user, request=request, action="core.audit.read", target=event)
        return Response(AuditEventSerializer(event).data)


class AuditChainStatusSerializer(serializers.Serializer):
    last_seq = serializers.IntegerField()
    last_hash = serializers.CharField()
    chained_at = serializers.DateTimeField(allow_null=True)
    pending = serializers.IntegerField()
    oldest_pending_at = serializers.DateTimeField(allow_null=True)
    pending_age_seconds = serializers.FloatField(allow_null=True)
    gaps = serializers.IntegerField()
    verified_at = serializers.DateTimeField(allow_null=True)
    verified_ok = serializers.BooleanField(allow_null=True)
    verified_count = serializers.IntegerField()
    verified_message = serializers.CharField(allow_blank=True)


class AuditChainStatusApi(APIView):
    """链头、待链接事件数与最早时间、最近一次校验结果。"""

    permission_classes = [permissions.IsAuthenticated, CanReadAudit]

    @extend_schema(responses=AuditChainStatusSerializer)
    def get(self, request):
        audit.audit_event_list(user=request.user)  # the same permission check as every read
        return Response(AuditChainStatusSerializer(audit.chain_status()).data)


# --- export ---------------------------------------------------------------------------------

EXPORT_COLUMNS: list[tuple[str, Any]] = [
    ("seq", _("链序号")),
    ("id", _("事件编号")),
    ("occurred_at", _("时间")),
    ("actor_label", _("操作者")),
    ("api_client_label", _("接口客户端")),
    ("unit_label", _("单位")),
    ("ip", _("IP 地址")),
    ("request_id", _("请求编号")),
    ("action", _("动作")),
    ("target_type", _("对象类型")),
    ("target_id", _("对象编号")),
    ("target_label", _("对象")),
    ("purpose", _("用途")),
    ("details", _("详情")),
    ("hash", _("哈希")),
]
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    """Text a spreadsheet shows as text: times in Asia/Shanghai, JSON for details, and no formulas
    (a leading = + - @ is escaped, OWASP CSV injection)."""
    if value is None:
        return ""
    if hasattr(value, "tzinfo"):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _export_rows(qs: QuerySet) -> Iterator[list]:
    names = [name for name, _label in EXPORT_COLUMNS]
    for row in qs.order_by("id").values_list(*names).iterator(chunk_size=2000):
        yield [_cell(v) for v in row]


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_stream(qs: QuerySet) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield "\ufeff"  # UTF-8 BOM: Excel opens Chinese text correctly
    yield writer.writerow([str(label) for _name, label in EXPORT_COLUMNS])
    for row in _export_rows(qs):
        yield writer.writerow(row)


def _xlsx_file(qs: QuerySet):
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title=str(_("审计记录")))
    ws.append([str(label) for _name, label in EXPORT_COLUMNS])
    for row in _export_rows(qs):
        ws.append(row)
    handle = tempfile.NamedTemporaryFile(prefix="govhub-audit-", suffix=".xlsx", delete=False)  # noqa: SIM115
    try:
        wb.save(handle)
        handle.seek(0)
    finally:
        os.unlink(handle.name)  # the open handle keeps the data until the response is sent
    return handle


class AuditEventExportApi(APIView):
    """导出筛选后的审计记录：CSV（UTF-8 带 BOM，流式）或 XLSX（openpyxl 只写模式）。"""

    permission_classes = [permissions.IsAuthenticated, CanReadAudit]
    kind = "csv"

    @extend_schema(parameters=FILTER_PARAMETERS, responses={(200, "application/octet-stream"): bytes})
    def get(self, request, *args, **kwargs):
        qs, used = filter_events(audit.audit_event_list(user=request.user), request.query_params)
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
        count = qs.count()
        if self.kind == "xlsx" and count > XLSX_MAX_ROWS:
            raise Invalid(
                AuditError.EXPORT_TOO_LARGE,
                _("Excel 最多导出 %(max)s 行，本次 %(n)s 行：请缩小时间范围，或导出 CSV。")
                % {"max": XLSX_MAX_ROWS, "n": count},
            )
        audit.record_read(
            user=request.user,
            request=request,
            action="core.audit.export",
            details={"filters": used, "format": self.kind},
        )
        small = count <= EXPORT_IN_MEMORY_ROWS
        if self.kind == "xlsx":
            content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            handle = _xlsx_file(qs)
            if small:
                with handle:
                    response = HttpResponse(handle.read(), content_type=content_type)
            else:
                response = FileResponse(handle, content_type=content_type)
        else:
            content_type = "text/csv; charset=utf-8"
            if small:
                response = HttpResponse("".join(_csv_stream(qs)).encode(), content_type=content_type)
            else:
                response = StreamingHttpResponse(_csv_stream(qs), content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.{self.kind}"'
        return response


urlpatterns = [
    path("audit-events/", AuditEventListApi.as_view(), name="audit-event-list"),
    path("audit-events/export.csv", AuditEventExportApi.as_view(kind="csv"), name="audit-event-export-csv"),
    path(
        "audit-events/export.xlsx", AuditEventExportApi.as_view(kind="xlsx"), name="audit-event-export-xlsx"
    ),
    path("audit-events/<int:pk>/", AuditEventDetailApi.as_view(), name="audit-event-detail"),
    path("audit-chain/", AuditChainStatusApi.as_view(), name="audit-chain"),
]
