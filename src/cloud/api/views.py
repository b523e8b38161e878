"""Cloud REST API (/api/v1/cloud/): HTTP ↔ services and selectors, nothing else."""

from __future__ import annotations

from typing import Any

from django.http import FileResponse, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from cloud import filters, permissions, selectors, services
from cloud.agreement import build_docx
from cloud.api import serializers as s
from cloud.errors import CloudError
from cloud.models import ResourcePool
from core.api.pagination import StandardPagination
from core.errors import Invalid, PermissionDenied


def _paged(view: APIView, request, queryset, serializer_class) -> Response:
    paginator = StandardPagination()
    page = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(serializer_class(page, many=True).data)


def _valid(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _require_unit_actor(user) -> None:
    if not permissions.can_act_for_unit(user, user.unit_id):
        raise PermissionDenied(CloudError.NOT_ALLOWED, _("只有系统负责人或单位管理员可以办理。"))


def _text(data, key: str) -> str:
    """A text field of the body; numbers become text, lists and objects are a clear 400."""
    value = data.get(key, "")
    return s.serializers.CharField(allow_blank=True, trim_whitespace=False).run_validation(
        "" if value is None else value
    )


def _bool(value: Any) -> bool:
    return str(value).lower() in {"1", "true", "yes", "on"}


class ProductListApi(APIView):
    """云产品目录 (C§10): everyone reads; the center admin adds products."""

    serializer_class = s.ProductSerializer

    def get(self, request):
        return _paged(self, request, selectors.product_list(user=request.user), s.ProductSerializer)

    def post(self, request):
        if not permissions.can_review(request.user):
            raise PermissionDenied(CloudError.NOT_ALLOWED, _("只有数据资源中心管理员可以维护云产品。"))
        serializer = s.ProductSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        product = services.cloud_product_create(by=request.user, **serializer.validated_data)
        return Response(s.ProductSerializer(product).data, status=status.HTTP_201_CREATED)


class PoolListApi(APIView):
    """资源池容量: total / allocated / used (C§27) — center only."""

    serializer_class = s.PoolCapacitySerializer

    def get(self, request):
        pools = selectors.pool_capacity_list(user=request.user)
        return Response({"results": s.PoolCapacitySerializer(pools, many=True).data})


class PoolDetailApi(APIView):
    """Expand a pool (C§27) — center admin."""

    serializer_class = s.PoolCapacitySerializer

    def patch(self, request, pk: int):
        if not permissions.can_review(request.user):
            raise PermissionDenied(CloudError.NOT_ALLOWED, _("资源池容量仅对数据资源中心可见。"))
        pool = get_object_or_404(ResourcePool, pk=pk)
        total = s.serializers.IntegerField(min_value=1).run_validation(request.data.get("total"))
        pool = services.resource_pool_resize(
            pool=pool, by=request.user, total=total, note=_text(request.data, "note")
        )
        capacity = next(p for p in selectors.pool_capacity_list(user=request.user) if p.pool.pk == pool.pk)
        return Response(s.PoolCapacitySerializer(capacity).data)


class SystemListApi(APIView):
    """应用系统: list (scoped) and register (C§1-5)."""

    serializer_class = s.SystemSerializer

    def get(self, request):
        qs = filters.apply(filters.AppSystemFilterSet, request, selectors.app_system_list(user=request.user))
        return _paged(self, request, qs, s.SystemSerializer)

    def post(self, request):
        _require_unit_actor(request.user)
        data = _valid(s.SystemInputSerializer, request.data)
        system = services.app_system_register(by=request.user, **data)
        return Response(s.SystemSerializer(system).data, status=status.HTTP_201_CREATED)


class SystemDetailApi(APIView):
    serializer_class = s.SystemSerializer

    def get(self, request, pk: int):
        return Response(s.SystemSerializer(selectors.app_system_get(user=request.user, pk=pk)).data)

    def patch(self, request, pk: int):
        system = selectors.app_system_get(user=request.user, pk=pk)
        if not permissions.can_act_for_unit(request.user, system.owner_id):
            raise PermissionDenied(CloudError.NOT_ALLOWED, _("只有本单位的系统负责人或单位管理员可以修改。"))
        data = _valid(s.SystemUpdateSerializer, request.data)
        system = services.app_system_update(system=system, by=request.user, **data)
        return Response(s.SystemSerializer(system).data)


class ApplicationListApi(APIView):
    """政务云使用申请: list (scoped, ?status=) and apply (C§10)."""

    serializer_class = s.ApplicationListSerializer

    def get(self, request):
        qs = filters.apply(
            filters.CloudApplicationFilterSet, request, selectors.cloud_application_list(user=request.user)
        )
        return _paged(self, request, qs, s.ApplicationListSerializer)

    def post(self, request):
        _require_unit_actor(request.user)
        data = _valid(s.ApplicationInputSerializer, request.data)
        system = selectors.app_system_get(user=request.user, pk=data["system"])
        application = services.cloud_application_submit(
            by=request.user,
            system=system,
            construction_plan=data["construction_plan"],
            self_test_report=data["self_test_report"],
            lines=data["lines"],
        )
        return Response(s.ApplicationSerializer(application).data, status=status.HTTP_201_CREATED)


class ApplicationDetailApi(APIView):
    """One application with its timeline, deadlines, resources and the actions now possible."""

    serializer_class = s.ApplicationSerializer

    def get(self, request, pk: int):
        return Response(
            s.ApplicationSerializer(selectors.cloud_application_get(user=request.user, pk=pk)).data
        )


class ApplicationAttachApi(APIView):
    """Upload a material (PDF/DOCX/XLSX, checked by content)."""

    serializer_class = s.AttachmentSerializer

    parser_classes = [MultiPartParser, FormParser]

    def post(self, request, pk: int):
        application = selectors.cloud_application_get(user=request.user, pk=pk)
        upload = request.FILES.get("file")
        if upload is None:
            if not permissions.can_act_for_unit(request.user, application.unit_id):
                raise PermissionDenied(
                    CloudError.NOT_ALLOWED, _("只有本单位的系统负责人或单位管理员可以办理。")
                )
            raise Invalid(CloudError.BAD_ATTACHMENT, _("请选择要上传的文件。"))
        attachment = services.cloud_application_attach(
            application=application,
            by=request.user,
            upload=upload,
            filename=upload.name,
            kind=_text(request.data, "kind") or "other",
        )
        return Response(s.AttachmentSerializer(attachment).data, status=status.HTTP_201_CREATED)


CONTENT_TYPES = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def attachment_response(attachment) -> FileResponse:
    """Serve a stored material as a download (never inline), with its checked content type."""
    return FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=attachment.filename,
        content_type=CONTENT_TYPES[attachment.file_type],
    )


class ApplicationAttachmentApi(APIView):
    """Download one material of an application the caller may see."""

    serializer_class = s.AttachmentSerializer

    @extend_schema(responses={(200, "application/octet-stream"): bytes})
    def get(self, request, pk: int, attachment_pk: int):
        return attachment_response(
            selectors.cloud_attachment_get(user=request.user, application_pk=pk, pk=attachment_pk)
        )


class _ApplicationActionApi(APIView):
    """POST /applications/<pk>/<action>/ → one service; answers with the application."""

    serializer_class = s.ApplicationSerializer

    parser_classes = [JSONParser, FormParser, MultiPartParser]

    def perform(self, application, user, data, request) -> None:
        raise NotImplementedError

    @extend_schema(request=s.ActionInputSerializer, responses=s.ApplicationSerializer)
    def post(self, request, pk: int):
        application = selectors.cloud_application_get(user=request.user, pk=pk)
        self.perform(application, request.user, _valid(s.ActionInputSerializer, request.data), request)
        application.refresh_from_db()
        return Response(s.ApplicationSerializer(application).data)


class ApplicationAcceptApi(_ApplicationActionApi):
    def perform(self, application, user, data, request):
        services.cloud_application_accept(application=application, by=user, note=data.get("note", ""))


class ApplicationReturnApi(_ApplicationActionApi):
    def perform(self, application, user, data, request):
        services.cloud_application_return(application=application, by=user, reasons=data.get("reasons", ""))


class ApplicationResubmitApi(_ApplicationActionApi):
    def perform(self, application, user, data, request):
        lines = data.get("lines")
        if lines is not None and not isinstance(lines, list):
            raise Invalid(CloudError.INVALID_LINES, _("资源需求应为 [{product, quantity}] 列表。"))
        services.cloud_application_resubmit(
            application=application,
            by=user,
            construction_plan=data.get("construction_plan"),
            self_test_report=data.get("self_test_report"),
            lines=lines,
            note=data.get("note", ""),
        )


class ApplicationApproveApi(_ApplicationActionApi):
    def perform(self, application, user, data, request):
        approved = data.get("approved") or {}
        if not isinstance(approved, dict):
            raise Invalid(CloudError.INVALID_LINES, _("核定数量应为 {申请项编号: 数量}。"))
        services.cloud_application_approve(
            application=application, by=user, approved=approved, reasons=data.get("reasons", "")
        )


class ApplicationRejectApi(_ApplicationActionApi):
    def perform(self, application, user, data, request):
        services.cloud_application_reject(application=application, by=user, reasons=data.get("reasons", ""))


class ApplicationTestApi(_ApplicationActionApi):
    def perform(self, application, user, data, request):
        services.cloud_application_test_record(
            application=application,
            by=user,
            passed=_bool(data.get("passed")),
            performance=data.get("performance", ""),
            security=data.get("security", ""),
        )


class ApplicationRetestApi(_ApplicationActionApi):
    def perform(self, application, user, data, request):
        services.cloud_application_retest(application=application, by=user, note=data.get("note", ""))


class ApplicationAgreementApi(_ApplicationActionApi):
    """GET: the generated 《数据资源服务托管协议》 (DOCX). POST: upload the signed copy (C§13)."""

    @extend_schema(
        responses={(200, "application/vnd.openxmlformats-officedocument.wordprocessingml.document"): bytes}
    )
    def get(self, request, pk: int):
        application = selectors.cloud_application_get(user=request.user, pk=pk)
        response = HttpResponse(
            build_docx(application),
            content_type="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        )
        response["Content-Disposition"] = (
            f'attachment; filename="hosting-agreement-YS{application.pk:06d}.docx"'
        )
        return response

    def perform(self, application, user, data, request):
        upload = request.FILES.get("file")
        if upload is None:
            if not permissions.can_review(user):
                raise PermissionDenied(CloudError.NOT_ALLOWED, _("只有数据资源中心审核员或管理员可以办理。"))
            raise Invalid(CloudError.AGREEMENT_MISSING, _("请上传双方已签字盖章的托管协议。"))
        services.cloud_application_agreement_sign(
            application=application, by=user, upload=upload, filename=upload.name
        )


class ApplicationGoLiveApi(_ApplicationActionApi):
    def perform(self, application, user, data, request):
        services.cloud_application_go_live(application=application, by=user)


class ApplicationChangeApi(_ApplicationActionApi):
    def perform(self, application, user, data, request):
        lines = data.get("lines")
        services.cloud_change_request(
            application=application,
            by=user,
            lines=lines if isinstance(lines, list) else [],
            reason=data.get("reason", ""),
            construction_plan=data.get("construction_plan", ""),
            self_test_report=data.get("self_test_report", ""),
        )


class ApplicationChangeApproveApi(_ApplicationActionApi):
    def perform(self, application, user, data, request):
        services.cloud_change_approve(application=application, by=user, note=data.get("note", ""))


class ApplicationChangeRefuseApi(_ApplicationActionApi):
    def perform(self, application, user, data, request):
        services.cloud_change_refuse(application=application, by=user, reasons=data.get("reasons", ""))


class ApplicationTerminateApi(_ApplicationActionApi):
    def perform(self, application, user, data, request):
        services.cloud_termination_request(
            application=application,
            by=user,
            offboarding_confirmed=_bool(data.get("offboarding_confirmed")),
            backup_confirmed=_bool(data.get("backup_confirmed")),
            note=data.get("note", ""),
        )


class ApplicationTerminateApproveApi(_ApplicationActionApi):
    def perform(self, application, user, data, request):
        services.cloud_termination_approve(application=application, by=user, note=data.get("note", ""))


class ApplicationTerminateRefuseApi(_ApplicationActionApi):
    def perform(self, application, user, data, request):
        services.cloud_termination_refuse(application=application, by=user, reasons=data.get("reasons", ""))


class ApplicationReclaimApi(_ApplicationActionApi):
    def perform(self, application, user, data, request):
        services.cloud_application_reclaim(application=application, by=user)


class ResourceListApi(APIView):
    """My provisioned resources (host names, IPs, sizes as the platform reported them)."""

    serializer_class = s.ResourceSerializer

    def get(self, request):
        qs = filters.apply(
            filters.ProvisionedResourceFilterSet,
            request,
            selectors.provisioned_resource_list(user=request.user),
        )
        return _paged(self, request, qs, s.ResourceSerializer)


class QueueApi(APIView):
    """Center queue, nearest deadline first."""

    serializer_class = s.ApplicationListSerializer

    def get(self, request):
        return _paged(self, request, selectors.center_queue(user=request.user), s.ApplicationListSerializer)


class OverdueApi(APIView):
    """Overdue applications and migration plans needing attention (center staff see all units)."""

    serializer_class = s.ApplicationListSerializer

    def get(self, request):
        if not permissions.can_review(request.user):
            raise PermissionDenied(CloudError.NOT_ALLOWED, _("仅数据资源中心可查看逾期清单。"))
        apps = selectors.overdue_applications(user=request.user)
        plans = selectors.migration_attention(user=request.user)
        return Response(
            {
                "applications": s.ApplicationListSerializer(apps, many=True).data,
                "migrations": s.MigrationSerializer(plans, many=True).data,
            }
        )


class ExemptionListApi(APIView):
    """不上云例外 (C§3-4): list (scoped) and request."""

    serializer_class = s.ExemptionSerializer

    def get(self, request):
        qs = filters.apply(filters.ExemptionFilterSet, request, selectors.exemption_list(user=request.user))
        return _paged(self, request, qs, s.ExemptionSerializer)

    def post(self, request):
        _require_unit_actor(request.user)
        data = _valid(s.ExemptionInputSerializer, request.data)
        system = selectors.app_system_get(user=request.user, pk=data.pop("system"))
        exemption = services.exemption_request(system=system, by=request.user, **data)
        return Response(s.ExemptionSerializer(exemption).data, status=status.HTTP_201_CREATED)


class ExemptionDecideApi(APIView):
    serializer_class = s.ExemptionSerializer

    def post(self, request, pk: int):
        exemption = selectors.exemption_get(user=request.user, pk=pk)
        exemption = services.exemption_decide(
            exemption=exemption,
            by=request.user,
            approve=_bool(request.data.get("approve")),
            note=_text(request.data, "note"),
        )
        return Response(s.ExemptionSerializer(exemption).data)


class MigrationListApi(APIView):
    """迁移计划 (C§4, C§20): list (scoped, with reminder flags) and create."""

    serializer_class = s.MigrationSerializer

    def get(self, request):
        qs = filters.apply(
            filters.MigrationPlanFilterSet, request, selectors.migration_list(user=request.user)
        )
        return _paged(self, request, qs, s.MigrationSerializer)

    def post(self, request):
        _require_unit_actor(request.user)
        data = _valid(s.MigrationInputSerializer, request.data)
        system = selectors.app_system_get(user=request.user, pk=data.pop("system"))
        plan = services.migration_plan_create(system=system, by=request.user, **data)
        return Response(s.MigrationSerializer(plan).data, status=status.HTTP_201_CREATED)


class MigrationLiveApi(APIView):
    serializer_class = s.MigrationSerializer

    def post(self, request, pk: int):
        plan = selectors.migration_get(user=request.user, pk=pk)
        if not permissions.can_act_for_unit(request.user, plan.system.owner_id):
            raise PermissionDenied(CloudError.NOT_ALLOWED, _("只有本单位的系统负责人或单位管理员可以办理。"))
        field = s.serializers.DateField()
        went_live_on = field.run_validation(request.data.get("went_live_on"))
        plan = services.migration_mark_live(plan=plan, by=request.user, went_live_on=went_live_on)
        return Response(s.MigrationSerializer(plan).data)


class MigrationRetiredListApi(APIView):
    serializer_class = s.MigrationSerializer

    def post(self, request, pk: int):
        plan = selectors.migration_get(user=request.user, pk=pk)
        plan = services.migration_submit_retired_list(
            plan=plan, by=request.user, resource_list=_text(request.data, "resource_list")
        )
        return Response(s.MigrationSerializer(plan).data)
