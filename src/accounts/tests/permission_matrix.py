"""Permission-matrix rows for /api/v1/accounts/ (format: core/tests/matrix.py).

三员分立: SYS_ADMIN manages accounts, SEC_ADMIN roles/unlocks, AUDIT_ADMIN only reads.
Unit admins act in their own unit; API clients belong to the unit's admins and system owners.
"""

from __future__ import annotations

from datetime import timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from accounts.models import Lockout, RoleAssignment
from accounts.roles import Role
from accounts.tests.factories import import_workbook, issue_token, make_api_client, make_uscc
from core.tests.matrix import ALL_ROLES, Row

S = Role
ADMINS_3 = {S.SYS_ADMIN, S.SEC_ADMIN, S.AUDIT_ADMIN}
USER_READERS = ADMINS_3 | {S.UNIT_ADMIN}
USER_MANAGERS = {S.SYS_ADMIN, S.UNIT_ADMIN}
ROLE_MANAGERS = {S.SEC_ADMIN, S.UNIT_ADMIN}
UNIT_MANAGERS = {S.CENTER_ADMIN, S.SYS_ADMIN}
CLIENT_MANAGERS = {S.UNIT_ADMIN, S.SYSTEM_OWNER}
CLIENT_READERS = CLIENT_MANAGERS | {S.SEC_ADMIN}


def _new_unit(ctx):
    return {"data": {"name": "矩阵·新单位", "code": "430102999", "uscc": make_uscc(99_999), "kind": "unit"}}


def _unit_b(ctx):
    return {"kwargs": {"pk": ctx.unit_b.pk}, "data": {"contact_name": "王五"}}


def _new_user(ctx):
    return {"data": {"unit": ctx.home.pk, "username": "matrix_new", "full_name": "新用户"}}


def _colleague(ctx):
    person = ctx.user(unit=ctx.home, roles=[S.UNIT_USER])
    return {"kwargs": {"pk": person.pk}, "data": {"phone": "13900000000"}}


def _import_file(ctx):
    content = import_workbook([["matrix_imp", "导入用户", ctx.home.code, "", "", ""]])
    upload = SimpleUploadedFile("users.xlsx", content, content_type="application/octet-stream")
    return {"data": {"file": upload}, "format": "multipart"}


def _password(ctx):
    return {"data": {"old_password": "Govhub#2026pass", "new_password": "Matrix#2026Pass"}}


def _assign(ctx):
    person = ctx.user(unit=ctx.home)
    return {"data": {"user": person.pk, "role": S.DATA_OFFICER}}


def _assignment(ctx):
    person = ctx.user(unit=ctx.home, roles=[S.DATA_OFFICER])
    return {"kwargs": {"pk": RoleAssignment.objects.get(user=person).pk}}


def _lockout(ctx):
    now = timezone.now()
    lock = Lockout.objects.create(
        username="someone", ip="10.0.0.9", locked_at=now, locked_until=now + timedelta(minutes=15)
    )
    return {"kwargs": {"pk": lock.pk}}


def _new_client(ctx):
    return {"data": {"name": "矩阵客户端", "system_name": "不动产登记系统", "scopes": ["catalog.read"]}}


def _client(ctx):
    client, _admin = make_api_client(ctx.home, scopes=["catalog.read"])
    return {"kwargs": {"pk": client.pk}, "data": {"description": "已更新"}}


def _token(ctx):
    client, admin = make_api_client(ctx.home)
    token, _raw = issue_token(client, admin)
    return {"kwargs": {"pk": token.pk}}


ROWS = [
    Row("accounts-api:unit-list", "GET", allowed=ALL_ROLES),
    Row("accounts-api:unit-list", "POST", allowed=UNIT_MANAGERS, setup=_new_unit),
    Row("accounts-api:unit-detail", "GET", allowed=ALL_ROLES, setup=_unit_b),
    Row("accounts-api:unit-detail", "PATCH", allowed=UNIT_MANAGERS, setup=_unit_b),
    Row("accounts-api:user-list", "GET", allowed=USER_READERS),
    Row("accounts-api:user-list", "POST", allowed=USER_MANAGERS, setup=_new_user),
    Row("accounts-api:user-detail", "GET", allowed=USER_READERS, setup=_colleague),
    Row("accounts-api:user-detail", "PATCH", allowed=USER_MANAGERS, setup=_colleague),
    Row("accounts-api:user-reset-password", "POST", allowed=USER_MANAGERS, setup=_colleague),
    Row("accounts-api:user-import", "POST", allowed=USER_MANAGERS, setup=_import_file),
    Row("accounts-api:user-import-template", "GET", allowed=USER_MANAGERS),
    Row("accounts-api:me", "GET", allowed=ALL_ROLES),
    Row("accounts-api:me-password", "POST", allowed=ALL_ROLES, setup=_password),
    Row("accounts-api:role-assignment-list", "GET", allowed=USER_READERS),
    Row("accounts-api:role-assignment-list", "POST", allowed=ROLE_MANAGERS, setup=_assign),
    Row("accounts-api:role-assignment-detail", "DELETE", allowed=ROLE_MANAGERS, setup=_assignment),
    Row("accounts-api:login-history", "GET", allowed=ALL_ROLES),
    Row("accounts-api:lockout-list", "GET", allowed={S.SEC_ADMIN}),
    Row("accounts-api:lockout-unlock", "POST", allowed={S.SEC_ADMIN}, setup=_lockout),
    Row("accounts-api:api-client-list", "GET", allowed=CLIENT_READERS),
    Row("accounts-api:api-client-list", "POST", allowed=CLIENT_MANAGERS, setup=_new_client),
    Row("accounts-api:api-client-detail", "GET", allowed=CLIENT_READERS, setup=_client),
    Row("accounts-api:api-client-detail", "PATCH", allowed=CLIENT_MANAGERS, setup=_client),
    Row("accounts-api:api-token-list", "GET", allowed=CLIENT_READERS, setup=_client),
    Row("accounts-api:api-token-list", "POST", allowed=CLIENT_MANAGERS, setup=_client),
    Row("accounts-api:api-token-revoke", "POST", allowed=CLIENT_READERS, setup=_token),
]
