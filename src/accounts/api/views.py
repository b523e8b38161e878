"""Accounts API (thin: HTTP ↔ services/selectors). Under /api/v1/accounts/."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import update_session_auth_hash
from django.http import HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import importing, permissions, selectors, services
from accounts.errors import AccountsError
from accounts.models import Unit
from core.api.pagination import StandardPagination
from core.errors import Invalid, PermissionDenied

from . import serializers as s


def _valid(serializer_class: type, data: Any, partial: bool = False) -> dict:
    serializer = serializer_class(data=data, partial=partial)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _flag(value: str | None) -> bool | None:
    if value in ("true", "1", "yes"):
        return True
    if value in ("false", "0", "no"):
        return False
    return None


class AccountsApi(APIView):
    """Common helpers: pagination and the request for audit."""

    def paginate(self, queryset, serializer_class: type) -> Response:
        paginator = StandardPagination()
        page = paginator.paginate_queryset(queryset, self.request, view=self)
        return paginator.get_paginated_response(serializer_class(page, many=True).data)


def _unit_or_invalid(pk: Any) -> Unit:
    try:
        return Unit.objects.get(pk=int(pk))
    except (Unit.DoesNotExist, TypeError, ValueError):
        message = _("所选单位不存在。")
        raise Invalid(AccountsError.USER_INVALID, message, {"fields": {"unit": [message]}})


# --- Units ------------------------------------------------------------------------------------


class UnitListApi(AccountsApi):
    @extend_schema(responses=s.UnitSerializer(many=True))
    def get(self, request):
        p = request.query_params
        qs = selectors.unit_list(
            by=request.user, kind=p.get("kind", ""), q=p.get("q", ""), active=_flag(p.get("active"))
        )
        return self.paginate(qs, s.UnitSerializer)

    @extend_schema(request=s.UnitWriteSerializer, responses=s.UnitSerializer)
    def post(self, request):
        if not permissions.can_manage_units(request.user):
            raise PermissionDenied(AccountsError.NOT_ALLOWED)
        data = _valid(s.UnitWriteSerializer, request.data)
        data.pop("data_officer", None)
        unit = services.unit_create(by=request.user, request=request, **data)
        return Response(s.UnitSerializer(unit).data, status=status.HTTP_201_CREATED)


class UnitDetailApi(AccountsApi):
    @extend_schema(responses=s.UnitSerializer)
    def get(self, request, pk: int):
        return Response(s.UnitSerializer(selectors.unit_get(by=request.user, pk=pk)).data)

    @extend_schema(request=s.UnitWriteSerializer, responses=s.UnitSerializer)
    def patch(self, request, pk: int):
        unit = selectors.unit_get(by=request.user, pk=pk)
        if not permissions.can_manage_units(request.user):
            raise PermissionDenied(AccountsError.NOT_ALLOWED)
        data = _valid(s.UnitWriteSerializer, request.data, partial=True)
        unit = services.unit_update(unit=unit, by=request.user, request=request, **data)
        return Response(s.UnitSerializer(unit).data)


# --- Users ------------------------------------------------------------------------------------


class UserListApi(AccountsApi):
    @extend_schema(responses=s.UserSerializer(many=True))
    def get(self, request):
        p = request.query_params
        qs = selectors.user_list(
            by=request.user,
            unit=p.get("unit") or None,
            role=p.get("role", ""),
            q=p.get("q", ""),
            active=_flag(p.get("active")),
        )
        return self.paginate(qs, s.UserSerializer)

    @extend_schema(request=s.UserCreateSerializer, responses=s.UserSerializer)
    def post(self, request):
        """Open an account; the response carries the initial password once."""
        if not permissions.can_manage_users(request.user):
            raise PermissionDenied(AccountsError.NOT_ALLOWED)
        data = _valid(s.UserCreateSerializer, request.data)
        data["unit"] = _unit_or_invalid(data["unit"])
        user, initial = services.user_create(by=request.user, request=request, **data)
        body = s.UserSerializer(user).data
        body["initial_password"] = initial
        return Response(body, status=status.HTTP_201_CREATED)


class UserDetailApi(AccountsApi):
    @extend_schema(responses=s.UserSerializer)
    def get(self, request, pk: int):
        return Response(s.UserSerializer(selectors.user_get(by=request.user, pk=pk)).data)

    @extend_schema(request=s.UserUpdateSerializer, responses=s.UserSerializer)
    def patch(self, request, pk: int):
        user = selectors.user_get(by=request.user, pk=pk)
        if not permissions.can_manage_users(request.user, user.unit):
            raise PermissionDenied(AccountsError.NOT_ALLOWED)
        data = _valid(s.UserUpdateSerializer, request.data, partial=True)
        user = services.user_update(user=user, by=request.user, request=request, **data)
        return Response(s.UserSerializer(user).data)


class UserResetPasswordApi(AccountsApi):
    @extend_schema(request=None, responses={200: dict})
    def post(self, request, pk: int):
        """New temporary password (shown once); the person must change it at next sign-in."""
        user = selectors.user_get(by=request.user, pk=pk)
        if user.pk == request.user.pk or not permissions.can_manage_users(request.user, user.unit):
            raise PermissionDenied(AccountsError.NOT_ALLOWED)
        initial = services.user_reset_password(user=user, by=request.user, request=request)
        return Response({"id": user.pk, "username": user.username, "initial_password": initial})


class UserImportTemplateApi(AccountsApi):
    @extend_schema(responses={(200, importing.XLSX_TYPE): bytes})
    def get(self, request):
        if not permissions.can_manage_users(request.user):
            raise PermissionDenied(AccountsError.NOT_ALLOWED)
        response = HttpResponse(importing.template_bytes(), content_type=importing.XLSX_TYPE)
        response["Content-Disposition"] = 'attachment; filename="user-import-template.xlsx"'
        return response


class UserImportApi(AccountsApi):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request={
            "multipart/form-data": {
                "type": "object",
                "properties": {"file": {"type": "string", "format": "binary"}},
            }
        },
        responses={201: dict},
    )
    def post(self, request):
        """Import users from the Excel template: all rows or none (row-level errors)."""
        if not permissions.can_manage_users(request.user):
            raise PermissionDenied(AccountsError.NOT_ALLOWED)
        upload = request.FILES.get("file")
        if upload is None:
            raise Invalid(AccountsError.IMPORT_FILE_INVALID, _("请选择要导入的 Excel 文件。"))
        created = importing.user_import(by=request.user, file=upload, request=request)
        return Response(
            {
                "created": len(created),
                "users": [{"id": u.pk, "username": u.username, "initial_password": pw} for u, pw in created],
            },
            status=status.HTTP_201_CREATED,
        )


class MeApi(AccountsApi):
    @extend_schema(responses=s.UserSerializer)
    def get(self, request):
        return Response(s.UserSerializer(selectors.user_get(by=request.user, pk=request.user.pk)).data)


class MePasswordApi(AccountsApi):
    @extend_schema(request=s.PasswordChangeSerializer, responses={204: None})
    def post(self, request):
        if request.user.is_service_account:
            raise PermissionDenied(AccountsError.NOT_ALLOWED)
        data = _valid(s.PasswordChangeSerializer, request.data)
        user = services.user_change_password(user=request.user, request=request, **data)
        if hasattr(request, "session"):
            update_session_auth_hash(request, user)  # keep this browser signed in
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Roles ------------------------------------------------------------------------------------


class RoleAssignmentListApi(AccountsApi):
    @extend_schema(responses=s.RoleAssignmentSerializer(many=True))
    def get(self, request):
        p = request.query_params
        qs = selectors.role_assignment_list(
            by=request.user, user=p.get("user") or None, role=p.get("role", "")
        )
        return self.paginate(qs, s.RoleAssignmentSerializer)

    @extend_schema(request=s.RoleAssignmentWriteSerializer, responses=s.RoleAssignmentSerializer)
    def post(self, request):
        if not permissions.can_assign_roles(request.user):
            raise PermissionDenied(AccountsError.NOT_ALLOWED)
        data = _valid(s.RoleAssignmentWriteSerializer, request.data)
        user = selectors.user_get(by=request.user, pk=data["user"])
        assignment = services.role_assign(user=user, role=data["role"], by=request.user, request=request)
        return Response(s.RoleAssignmentSerializer(assignment).data, status=status.HTTP_201_CREATED)


class RoleAssignmentDetailApi(AccountsApi):
    @extend_schema(responses={204: None})
    def delete(self, request, pk: int):
        assignment = selectors.role_assignment_get(by=request.user, pk=pk)
        if not permissions.can_assign_roles(request.user, assignment.user.unit):
            raise PermissionDenied(AccountsError.NOT_ALLOWED)
        services.role_revoke(assignment=assignment, by=request.user, request=request)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Login history and lockouts --------------------------------------------------------------


class LoginRecordListApi(AccountsApi):
    @extend_schema(responses=s.LoginRecordSerializer(many=True))
    def get(self, request):
        p = request.query_params
        qs = selectors.login_record_list(
            by=request.user,
            user=p.get("user") or None,
            username=p.get("username", ""),
            outcome=p.get("outcome", ""),
        )
        return self.paginate(qs, s.LoginRecordSerializer)


class LockoutListApi(AccountsApi):
    @extend_schema(responses=s.LockoutSerializer(many=True))
    def get(self, request):
        qs = selectors.lockout_list(
            by=request.user, active_only=_flag(request.query_params.get("active")) is True
        )
        return self.paginate(qs, s.LockoutSerializer)


class LockoutUnlockApi(AccountsApi):
    @extend_schema(request=None, responses=s.LockoutSerializer)
    def post(self, request, pk: int):
        lockout = selectors.lockout_get(by=request.user, pk=pk)
        lockout = services.lockout_release(lockout=lockout, by=request.user, request=request)
        return Response(s.LockoutSerializer(lockout).data)


# --- API clients and tokens ------------------------------------------------------------------


class ApiClientListApi(AccountsApi):
    @extend_schema(responses=s.ApiClientSerializer(many=True))
    def get(self, request):
        p = request.query_params
        qs = selectors.api_client_list(by=request.user, unit=p.get("unit") or None, q=p.get("q", ""))
        return self.paginate(qs, s.ApiClientSerializer)

    @extend_schema(request=s.ApiClientWriteSerializer, responses=s.ApiClientSerializer)
    def post(self, request):
        if not permissions.can_manage_api_clients(request.user):
            raise PermissionDenied(AccountsError.NOT_ALLOWED)
        data = _valid(s.ApiClientWriteSerializer, request.data)
        unit = _unit_or_invalid(data.pop("unit")) if data.get("unit") else request.user.unit
        data.pop("is_active", None)
        client = services.api_client_create(by=request.user, unit=unit, request=request, **data)
        return Response(s.ApiClientSerializer(client).data, status=status.HTTP_201_CREATED)


class ApiClientDetailApi(AccountsApi):
    @extend_schema(responses=s.ApiClientSerializer)
    def get(self, request, pk: int):
        return Response(s.ApiClientSerializer(selectors.api_client_get(by=request.user, pk=pk)).data)

    @extend_schema(request=s.ApiClientWriteSerializer, responses=s.ApiClientSerializer)
    def patch(self, request, pk: int):
        client = selectors.api_client_get(by=request.user, pk=pk)
        if not permissions.can_manage_api_clients(request.user, client.unit):
            raise PermissionDenied(AccountsError.NOT_ALLOWED)
        data = _valid(s.ApiClientWriteSerializer, request.data, partial=True)
        data.pop("unit", None)
        client = services.api_client_update(client=client, by=request.user, request=request, **data)
        return Response(s.ApiClientSerializer(client).data)


class ApiTokenListApi(AccountsApi):
    @extend_schema(responses=s.ApiTokenSerializer(many=True))
    def get(self, request, pk: int):
        client = selectors.api_client_get(by=request.user, pk=pk)
        return self.paginate(selectors.api_token_list(by=request.user, client=client), s.ApiTokenSerializer)

    @extend_schema(request=s.ApiTokenIssueSerializer, responses=s.ApiTokenSerializer)
    def post(self, request, pk: int):
        """Issue a token. ``token`` in the response is shown this once and never again."""
        client = selectors.api_client_get(by=request.user, pk=pk)
        if not permissions.can_manage_api_clients(request.user, client.unit):
            raise PermissionDenied(AccountsError.NOT_ALLOWED)
        data = _valid(s.ApiTokenIssueSerializer, request.data)
        token, raw = services.api_token_issue(client=client, by=request.user, request=request, **data)
        body = s.ApiTokenSerializer(token).data
        body["token"] = raw
        return Response(body, status=status.HTTP_201_CREATED)


class ApiTokenRevokeApi(AccountsApi):
    @extend_schema(request=None, responses=s.ApiTokenSerializer)
    def post(self, request, pk: int):
        token = selectors.api_token_get(by=request.user, pk=pk)
        token = services.api_token_revoke(token=token, by=request.user, request=request)
        return Response(s.ApiTokenSerializer(token).data)
