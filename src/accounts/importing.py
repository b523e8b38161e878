"""Bulk import of users from the Excel template: every row is checked first; if any row is wrong
nothing is imported and each error names its row and column (DESIGN.md rule 4: whole or nothing)."""

from __future__ import annotations

import io
import re
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.translation import gettext as _

from core import audit
from core.errors import Invalid, PermissionDenied

from . import permissions as perms
from . import services
from .errors import AccountsError
from .models import Unit, User
from .roles import SEPARATED_ADMIN_ROLES, Role

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
IMPORT_MAX_BYTES = 2 * 1024 * 1024
IMPORT_MAX_ROWS = 2000
COLUMNS = [
    ("username", "用户名*"),
    ("full_name", "姓名*"),
    ("unit_code", "单位代码*"),
    ("email", "邮箱"),
    ("phone", "手机号"),
    ("roles", "角色（多个用顿号分隔）"),
]
USERNAME_RE = re.compile(r"^[\w.@+-]{3,150}$")
_ROLE_BY_LABEL = {str(label): value for value, label in Role.choices}


def template_bytes() -> bytes:
    """The Excel template: a header row, one example row and a sheet listing the roles."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = "用户"
    ws.append([label for _key, label in COLUMNS])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    ws.append(
        ["zhangsan", "张三", "430102001", "zhangsan@example.gov.cn", "13800000000", "单位用户、单位数据专员"]
    )
    for col, width in zip("ABCDEF", (16, 12, 14, 28, 16, 30), strict=True):
        ws.column_dimensions[col].width = width
    roles = wb.create_sheet("角色")
    roles.append(["角色名称", "代码"])
    for value, label in Role.choices:
        roles.append([str(label), value])
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _read_rows(file: Any) -> list[tuple[int, dict[str, str]]]:
    from openpyxl import load_workbook

    size = getattr(file, "size", None)
    if size is not None and size > IMPORT_MAX_BYTES:
        raise Invalid(
            AccountsError.IMPORT_TOO_LARGE,
            _("文件过大：最大 %(mb)d MB。") % {"mb": IMPORT_MAX_BYTES // (1024 * 1024)},
        )
    data = file.read(IMPORT_MAX_BYTES + 1)
    if len(data) > IMPORT_MAX_BYTES:
        raise Invalid(
            AccountsError.IMPORT_TOO_LARGE,
            _("文件过大：最大 %(mb)d MB。") % {"mb": IMPORT_MAX_BYTES // (1024 * 1024)},
        )
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        ws = wb.worksheets[0]
        raw_rows = list(ws.iter_rows(values_only=True, max_row=IMPORT_MAX_ROWS + 2))
    except Exception:  # openpyxl raises many kinds for a broken or non-Excel file
        raise Invalid(
            AccountsError.IMPORT_FILE_INVALID,
            _("无法读取文件：请上传由模板填写的 Excel（.xlsx）文件。"),
        )
    if not raw_rows:
        raise Invalid(AccountsError.IMPORT_FILE_INVALID, _("文件是空的。"))
    header = [_text(v) for v in raw_rows[0]][: len(COLUMNS)]
    if header != [label for _key, label in COLUMNS]:
        raise Invalid(
            AccountsError.IMPORT_FILE_INVALID,
            _("表头与模板不一致：请下载最新模板后填写。"),
            {"expected": [label for _key, label in COLUMNS], "found": header},
        )
    if len(raw_rows) > IMPORT_MAX_ROWS + 1:
        raise Invalid(AccountsError.IMPORT_TOO_LARGE, _("一次最多导入 %(n)d 行。") % {"n": IMPORT_MAX_ROWS})
    rows = []
    for index, values in enumerate(raw_rows[1:], start=2):
        values = list(values or ()) + [None] * len(COLUMNS)
        row = {key: _text(values[i]) for i, (key, _label) in enumerate(COLUMNS)}
        if any(row.values()):
            rows.append((index, row))
    if not rows:
        raise Invalid(AccountsError.IMPORT_FILE_INVALID, _("文件中没有数据行。"))
    return rows


def _parse_roles(text: str) -> tuple[list[str], list[str]]:
    roles, unknown = [], []
    for part in re.split(r"[、,，;；\s]+", text):
        if not part:
            continue
        value = _ROLE_BY_LABEL.get(part) or (part if part in Role.values else None)
        (roles if value else unknown).append(value or part)
    return roles, unknown


def _check_rows(*, by: User, rows: list[tuple[int, dict[str, str]]]) -> list[dict]:
    errors: list[dict] = []
    labels = dict(COLUMNS)
    units = {u.code: u for u in Unit.objects.filter(code__in={r["unit_code"] for _n, r in rows})}
    taken = {
        u.lower()
        for u in User.objects.filter(username__in=[r["username"] for _n, r in rows]).values_list(
            "username", flat=True
        )
    }
    seen: dict[str, int] = {}
    allowed_roles = perms.assignable_roles(by)

    def err(row: int, key: str, message: str) -> None:
        errors.append({"row": row, "column": str(labels[key]), "message": str(message)})

    for n, r in rows:
        username = r["username"]
        if not username:
            err(n, "username", _("用户名必填。"))
        elif not USERNAME_RE.match(username):
            err(n, "username", _("用户名只能包含字母、数字和 @ . + - _，长度 3-150。"))
        elif username.lower() in taken:
            err(n, "username", _("用户名“%(u)s”已被使用。") % {"u": username})
        elif username.lower() in seen:
            err(n, "username", _("用户名与第 %(r)d 行重复。") % {"r": seen[username.lower()]})
        else:
            seen[username.lower()] = n
        if not r["full_name"]:
            err(n, "full_name", _("姓名必填。"))
        elif len(r["full_name"]) > 50:
            err(n, "full_name", _("姓名最多 50 个字符。"))
        unit = units.get(r["unit_code"])
        if not r["unit_code"]:
            err(n, "unit_code", _("单位代码必填。"))
        elif unit is None:
            err(n, "unit_code", _("单位代码“%(c)s”不存在。") % {"c": r["unit_code"]})
        elif not perms.can_manage_users(by, unit):
            err(n, "unit_code", _("您只能导入本单位的用户。"))
        if r["email"]:
            try:
                validate_email(r["email"])
            except ValidationError:
                err(n, "email", _("邮箱格式不正确。"))
        if len(r["phone"]) > 20:
            err(n, "phone", _("手机号最多 20 个字符。"))
        roles, unknown = _parse_roles(r["roles"])
        if unknown:
            err(n, "roles", _("未知角色：%(r)s") % {"r": "、".join(unknown)})
        for role in roles:
            if role not in allowed_roles:
                err(n, "roles", _("您不能授予“%(r)s”角色。") % {"r": Role(role).label})
            elif role in perms.CENTER_ONLY_ROLES and unit is not None and unit.kind != Unit.Kind.CENTER:
                err(n, "roles", _("“%(r)s”角色只能授予区数据资源中心的人员。") % {"r": Role(role).label})
        if len(set(roles) & SEPARATED_ADMIN_ROLES) > 1:
            err(n, "roles", _("三员分立：同一账号不能同时担任系统管理员、安全管理员、审计管理员中的两个。"))
        r["_unit"], r["_roles"] = unit, roles
    return errors


@transaction.atomic
def user_import(*, by: User, file: Any, request: Any = None) -> list[tuple[User, str]]:
    """Import all rows or none. Returns (user, initial password) for each created account."""
    if not perms.can_manage_users(by):
        raise PermissionDenied(AccountsError.NOT_ALLOWED)
    rows = _read_rows(file)
    errors = _check_rows(by=by, rows=rows)
    if errors:
        first = errors[0]
        raise Invalid(
            AccountsError.IMPORT_INVALID,
            _("共 %(n)d 处错误，未导入任何用户。第 %(row)d 行“%(col)s”：%(msg)s")
            % {"n": len(errors), "row": first["row"], "col": first["column"], "msg": first["message"]},
            {"errors": errors},
        )
    created = []
    for _n, r in rows:
        created.append(
            services.user_create(
                by=by,
                unit=r["_unit"],
                username=r["username"],
                full_name=r["full_name"],
                email=r["email"],
                phone=r["phone"],
                roles=r["_roles"],
                request=request,
            )
        )
    audit.record(
        action="accounts.user.import",
        actor=by,
        request=request,
        details={"count": len(created), "usernames": [u.username for u, _pw in created]},
    )
    return created
