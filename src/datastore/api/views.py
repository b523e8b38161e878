"""Datastore REST API (/api/v1/datastore/): thin — HTTP ↔ services and selectors only.

There is deliberately no endpoint that returns rows: every read of shared data goes through the
exchange (DESIGN rule 2).
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.pagination import StandardPagination
from core.errors import PermissionDenied

from .. import exports, selectors, services
from ..errors import DatastoreError
from ..permissions import can_load
from . import serializers as s


def _valid(serializer_class, data):
    ser = serializer_class(data=data)
    ser.is_valid(raise_exception=True)
    return ser.validated_data


PUSH_SCOPE = "datastore.push"


def _check_can_load(request, resource) -> None:
    """Refuse before reading the body, so a stranger gets 403 whatever they send."""
    if not can_load(request.user, resource):
        raise PermissionDenied(
            DatastoreError.NOT_ALLOWED, "只有提供单位的数据专员或中心管理员可以加载该资源的数据。"
        )


def _paginate(view, request, queryset, serializer_class) -> Response:
    paginator = StandardPagination()
    page = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(serializer_class(page, many=True).data)


class LoadListApi(APIView):
    """GET: every load the caller may see (own unit's, or all for center staff)."""

    @extend_schema(operation_id="datastore_load_list", responses=s.LoadSerializer(many=True))
    def get(self, request):
        return _paginate(self, request, selectors.load_list(user=request.user), s.LoadSerializer)


class ResourceLoadListApi(APIView):
    """GET: load history of a resource; POST (multipart): upload a CSV/XLSX/JSONL file to load."""

    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(operation_id="datastore_resource_load_list", responses=s.LoadSerializer(many=True))
    def get(self, request, pk):
        resource = selectors.resource_get(user=request.user, resource_id=pk)
        return _paginate(
            self, request, selectors.load_list(user=request.user, resource=resource), s.LoadSerializer
        )

    @extend_schema(
        operation_id="datastore_resource_load_create",
        request=s.LoadUploadSerializer,
        responses={202: s.LoadSerializer},
    )
    def post(self, request, pk):
        resource = selectors.resource_get(user=request.user, resource_id=pk)
        _check_can_load(request, resource)
        data = _valid(s.LoadUploadSerializer, request.data)
        load = services.load_create(
            resource=resource,
            by=request.user,
            upload=data["file"],
            file_name=data["file"].name,
            mode=data["mode"],
            sheet=data.get("sheet", ""),
            reject_threshold=data.get("reject_threshold"),
        )
        load.refresh_from_db()  # the run may already have finished (immediate backend)
        return Response(s.LoadSerializer(load).data, status=202)


class ResourcePushApi(APIView):
    """POST (JSON): push a batch of rows (API client token with the datastore push scope)."""

    parser_classes = [JSONParser]

    @extend_schema(
        operation_id="datastore_resource_push", request=s.PushSerializer, responses={202: s.LoadSerializer}
    )
    def post(self, request, pk):
        resource = selectors.resource_get(user=request.user, resource_id=pk)
        _check_can_load(request, resource)
        token_scopes = getattr(request.auth, "scopes", None)
        if token_scopes is not None and PUSH_SCOPE not in token_scopes:
            raise PermissionDenied(DatastoreError.NOT_ALLOWED, "该访问令牌没有“数据归集推送”授权范围。")
        data = _valid(s.PushSerializer, request.data)
        load = services.load_push(resource=resource, by=request.user, rows=data["rows"], mode=data["mode"])
        load.refresh_from_db()  # the run may already have finished (immediate backend)
        return Response(s.LoadSerializer(load).data, status=202)


class ResourceQualityApi(APIView):
    """GET: data quality summary (row count, null ratios, identifier validity, freshness)."""

    @extend_schema(operation_id="datastore_resource_quality", responses=OpenApiTypes.OBJECT)
    def get(self, request, pk):
        resource = selectors.resource_get(user=request.user, resource_id=pk)
        return Response(selectors.quality_summary(user=request.user, resource=resource))


class ResourceSourceChangeApi(APIView):
    """POST: record that the source data changed (S§25: update within 2 working days)."""

    parser_classes = [JSONParser, FormParser]

    @extend_schema(
        operation_id="datastore_resource_source_change",
        request=s.SourceChangeInputSerializer,
        responses={201: s.SourceChangeSerializer},
    )
    def post(self, request, pk):
        resource = selectors.resource_get(user=request.user, resource_id=pk)
        data = _valid(s.SourceChangeInputSerializer, request.data)
        change = services.source_change_report(resource=resource, by=request.user, note=data.get("note", ""))
        return Response(s.SourceChangeSerializer(change).data, status=201)


class LoadDetailApi(APIView):
    """GET: one load with its progress and figures (poll while it runs)."""

    @extend_schema(operation_id="datastore_load_retrieve", responses=s.LoadSerializer)
    def get(self, request, pk):
        return Response(s.LoadSerializer(selectors.load_get(user=request.user, load_id=pk)).data)


class LoadRetryApi(APIView):
    """POST: run a failed load again from its stored file."""

    @extend_schema(operation_id="datastore_load_retry", request=None, responses={202: s.LoadSerializer})
    def post(self, request, pk):
        load = selectors.load_get(user=request.user, load_id=pk)
        load = services.load_retry(load=load, by=request.user)
        load.refresh_from_db()  # the run may already have finished (immediate backend)
        return Response(s.LoadSerializer(load).data, status=202)


class LoadRejectListApi(APIView):
    """GET: rejected values of a load (line, column, reason, value)."""

    @extend_schema(operation_id="datastore_load_rejects", responses=s.RejectSerializer(many=True))
    def get(self, request, pk):
        load = selectors.load_get(user=request.user, load_id=pk)
        return _paginate(
            self, request, selectors.load_rejects(user=request.user, load=load), s.RejectSerializer
        )


class LoadRejectDownloadApi(APIView):
    """GET: rejected values as CSV or XLSX."""

    @extend_schema(
        operation_id="datastore_load_rejects_download", responses={(200, "text/csv"): OpenApiTypes.BINARY}
    )
    def get(self, request, pk, fmt):
        load = selectors.load_get(user=request.user, load_id=pk)
        return exports.rejects_response(load, selectors.load_rejects(user=request.user, load=load), fmt)
