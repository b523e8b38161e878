"""Excel in and out: the registration template, bulk import, and catalog exports (XLSX, CSV).

The template has a sheet for resources and one for data items, linked by 资源序号; coded fields
are drop-downs fed from a hidden 代码表 sheet. An upload is validated completely first and
stored whole or not at all (DESIGN.md rule 4): every problem is reported with sheet, row and
column.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import Unit
from core.errors import Invalid, PermissionDenied

from . import permissions, services
from .errors import CatalogError
from .models import (
    Channel,
    Classification,
    DataType,
    IdentifierKind,
    OpenAttribute,
    Resource,
    ResourceFormat,
    Sensitivity,
    SharingType,
    UpdateCycle,
)

RESOURCE_SHEET = "资源"
ITEM_SHEET = "信息项"
CODE_SHEET = "代码表"
#: Upload limits: more rows than this is refused before anything is parsed.
MAX_IMPORT_ROWS = 20_000
MAX_IMPORT_BYTES = 20 * 1024 * 1024
#: An export of a list view holds at most this many resources.
MAX_EXPORT_ROWS = 50_000
YES, NO = "是", "否"

# (header, field, choices or None)
RESOURCE_COLUMNS: list[tuple[str, str, Any]] = [
    ("资源序号", "ref", None),
    ("资源名称", "name", None),
    ("资源分类", "classification", Classification),
    ("资源格式", "format", ResourceFormat),
    ("共享类型", "sharing_type", SharingType),
    ("共享条件", "sharing_conditions", None),
    ("不予共享依据", "not_shared_basis", None),
    ("开放属性", "open_attribute", OpenAttribute),
    ("更新周期", "update_cycle", UpdateCycle),
    ("共享方式", "channels", None),
    ("关联应用系统", "app_system_name", None),
    ("关键词", "keywords", None),
    ("资源摘要", "summary", None),
    ("联系人", "contact_name", None),
    ("联系电话", "contact_phone", None),
]
ITEM_COLUMNS: list[tuple[str, str, Any]] = [
    ("资源序号", "ref", None),
    ("信息项代码", "code", None),
    ("信息项名称", "name", None),
    ("数据类型", "data_type", DataType),
    ("长度", "length", None),
    ("精度", "precision", None),
    ("必填", "required", "bool"),
    ("主键项", "is_key", "bool"),
    ("标识类型", "identifier_kind", IdentifierKind),
    ("敏感级别", "sensitivity", Sensitivity),
    ("说明", "description", None),
]


def _labels(choices: Any) -> list[str]:
    return [str(label) for value, label in choices.choices if value != ""]


def template_workbook() -> bytes:
    """The registration template with drop-down validation for every coded field."""
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    wb = Workbook()
    ws_r = wb.active
    ws_r.title = RESOURCE_SHEET
    ws_i = wb.create_sheet(ITEM_SHEET)
    ws_c = wb.create_sheet(CODE_SHEET)
    ws_c.sheet_state = "hidden"
    lists: dict[str, str] = {}
    col = 1
    coded = [c for c in RESOURCE_COLUMNS + ITEM_COLUMNS if c[2] is not None]
    for _header, field, choices in coded:
        if field in lists:
            continue
        values = [YES, NO] if choices == "bool" else _labels(choices)
        letter = get_column_letter(col)
        ws_c.cell(row=1, column=col, value=field)
        for i, v in enumerate(values, start=2):
            ws_c.cell(row=i, column=col, value=v)
        lists[field] = f"'{CODE_SHEET}'!${letter}$2:${letter}${len(values) + 1}"
        col += 1
    for ws, columns in ((ws_r, RESOURCE_COLUMNS), (ws_i, ITEM_COLUMNS)):
        ws.append([c[0] for c in columns])
        for index, (_header, field, choices) in enumerate(columns, start=1):
            ws.column_dimensions[get_column_letter(index)].width = 16
            if choices is not None:
                dv = DataValidation(type="list", formula1=lists[field], allow_blank=True)
                dv.error = _("请从下拉列表中选择。")
                dv.add(f"{get_column_letter(index)}2:{get_column_letter(index)}2000")
                ws.add_data_validation(dv)
    ws_r.append(
        [
            1,
            "示例：常住人口基本信息",
            "基础库·人口",
            "数据库表",
            "有条件共享",
            "用于行政审批核验",
            "",
            "不开放",
            "每日",
            "联机查询,批量下载",
            "人口管理系统",
            "人口,户籍",
            "辖区常住人口基本信息",
            "张三",
            "0731-00000000",
        ]
    )
    ws_i.append([1, "sfzh", "身份证号", "字符串", 18, None, YES, YES, "身份证号", "个人隐私", ""])
    ws_i.append([1, "xm", "姓名", "字符串", 50, None, YES, NO, "", "个人隐私", ""])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _read_sheet(wb: Any, name: str, columns: list[tuple[str, str, Any]]) -> list[tuple[int, dict]]:
    if name not in wb.sheetnames:
        raise Invalid(
            CatalogError.EXCEL_WRONG_TEMPLATE,
            _("文件不是目录登记模板：缺少工作表“%(name)s”。") % {"name": name},
        )
    ws = wb[name]
    if ws.max_row and ws.max_row - 1 > MAX_IMPORT_ROWS:
        raise Invalid(
            CatalogError.EXCEL_TOO_MANY_ROWS,
            _("工作表“%(name)s”的行数超过上限 %(max)s 行，请分批导入。")
            % {"name": name, "max": MAX_IMPORT_ROWS},
            {"sheet": name, "rows": ws.max_row - 1, "max": MAX_IMPORT_ROWS},
        )
    rows = ws.iter_rows(values_only=True)
    header = [_cell(v) for v in next(rows, ())]
    expected = [c[0] for c in columns]
    if header[: len(expected)] != expected:
        raise Invalid(
            CatalogError.EXCEL_WRONG_TEMPLATE,
            _("工作表“%(name)s”的表头与模板不一致，请下载最新模板。") % {"name": name},
            {"sheet": name, "expected": expected, "found": header[: len(expected)]},
        )
    out = []
    for number, row in enumerate(rows, start=2):
        if number - 1 > MAX_IMPORT_ROWS:
            raise Invalid(
                CatalogError.EXCEL_TOO_MANY_ROWS,
                _("工作表“%(name)s”的行数超过上限 %(max)s 行，请分批导入。")
                % {"name": name, "max": MAX_IMPORT_ROWS},
                {"sheet": name, "max": MAX_IMPORT_ROWS},
            )
        values = [_cell(v) for v in (row or ())][: len(columns)]
        if not any(values):
            continue
        values += [""] * (len(columns) - len(values))
        out.append((number, {c[1]: v for c, v in zip(columns, values, strict=True)}))
    return out


def _convert(raw: dict, columns: list, sheet: str, row: int, errors: list) -> dict:
    """Labels → stored values; integers and yes/no parsed; problems appended to ``errors``."""
    data: dict[str, Any] = {}
    for header, field, choices in columns:
        value = raw.get(field, "")
        if field == "ref":
            continue
        if choices == "bool":
            if value not in (YES, NO, ""):
                errors.append(_error(sheet, row, header, _("请填写“是”或“否”。")))
            data[field] = value == YES
        elif choices is not None:
            by_label = {str(label): v for v, label in choices.choices}
            if value == "" and "" in choices.values:
                data[field] = ""
            elif value in by_label:
                data[field] = by_label[value]
            elif value in choices.values:
                data[field] = value
            else:
                errors.append(_error(sheet, row, header, _("“%(value)s”不是有效的选项。") % {"value": value}))
        elif field in ("length", "precision"):
            if value == "":
                data[field] = None
            elif value.isdigit():
                data[field] = int(value)
            else:
                errors.append(_error(sheet, row, header, _("请填写非负整数。")))
        elif field == "channels":
            by_label = {str(label): v for v, label in Channel.choices}
            parts = [p.strip() for p in value.replace("，", ",").replace("、", ",").split(",") if p.strip()]
            bad = [p for p in parts if p not in by_label and p not in Channel.values]
            if bad:
                errors.append(_error(sheet, row, header, _("共享方式“%(value)s”无效。") % {"value": bad[0]}))
            data[field] = [by_label.get(p, p) for p in parts if p not in bad]
        else:
            data[field] = value
    return data


def _error(sheet: str, row: int, column: str, message: str) -> dict:
    return {"sheet": sheet, "row": row, "column": column, "message": str(message)}


_RESOURCE_HEADER = {c[1]: c[0] for c in RESOURCE_COLUMNS}
_ITEM_HEADER = {c[1]: c[0] for c in ITEM_COLUMNS}


def parse_upload(*, data: bytes, provider: Unit) -> tuple[list[tuple[dict, list[dict]]], list[dict]]:
    """Parse and validate a filled template: ``([(fields, items)], errors)``."""
    if len(data) > MAX_IMPORT_BYTES:
        raise Invalid(CatalogError.EXCEL_TOO_MANY_ROWS, _("文件过大，请分批导入。"))
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds (BadZipFile, KeyError, InvalidFileException ...)
        raise Invalid(
            CatalogError.EXCEL_NOT_XLSX,
            _("无法读取文件：请上传 Excel 2007 及以上格式（.xlsx）的目录登记模板。"),
            {"reason": type(exc).__name__},
        )
    try:
        resource_rows = _read_sheet(wb, RESOURCE_SHEET, RESOURCE_COLUMNS)
        item_rows = _read_sheet(wb, ITEM_SHEET, ITEM_COLUMNS)
    finally:
        wb.close()
    if not resource_rows:
        raise Invalid(CatalogError.EXCEL_EMPTY, _("模板中没有填写任何资源。"))

    errors: list[dict] = []
    refs: dict[str, int] = {}
    for row, raw in resource_rows:
        ref = raw["ref"]
        if not ref:
            errors.append(_error(RESOURCE_SHEET, row, "资源序号", _("请填写资源序号。")))
        elif ref in refs:
            errors.append(_error(RESOURCE_SHEET, row, "资源序号", _("资源序号重复。")))
        refs.setdefault(ref, row)
    items_by_ref: dict[str, list[tuple[int, dict]]] = {}
    for row, raw in item_rows:
        if raw["ref"] not in refs:
            errors.append(
                _error(
                    ITEM_SHEET,
                    row,
                    "资源序号",
                    _("资源序号“%(ref)s”在“资源”表中不存在。") % {"ref": raw["ref"]},
                )
            )
            continue
        items_by_ref.setdefault(raw["ref"], []).append((row, raw))

    parsed = []
    for row, raw in resource_rows:
        fields = _convert(raw, RESOURCE_COLUMNS, RESOURCE_SHEET, row, errors)
        item_list = []
        item_row_numbers = []
        for irow, iraw in items_by_ref.get(raw["ref"], []):
            item_list.append(_convert(iraw, ITEM_COLUMNS, ITEM_SHEET, irow, errors))
            item_row_numbers.append(irow)
        for err in services.content_errors(fields=fields, items=item_list, provider=provider):
            if err["item"] is None:
                column = _RESOURCE_HEADER.get(err["field"], "资源序号")
                errors.append(_error(RESOURCE_SHEET, row, column, err["message"]))
            else:
                column = _ITEM_HEADER.get(err["field"], "信息项代码")
                errors.append(_error(ITEM_SHEET, item_row_numbers[err["item"]], column, err["message"]))
        parsed.append((fields, item_list))
    return parsed, errors


@transaction.atomic
def resource_import(*, by: Any, upload: Any) -> list[Resource]:
    """Register many resources from a filled template (an uploaded file or bytes) — all or
    nothing (DESIGN.md rule 4)."""
    if not permissions.can_register(by, by.unit):
        raise PermissionDenied(CatalogError.NOT_ALLOWED, _("您没有执行此目录操作的权限。"))
    if upload is None:
        raise Invalid(CatalogError.EXCEL_NOT_XLSX, _("请选择要上传的 .xlsx 文件。"))
    if isinstance(upload, bytes):
        data = upload
    else:
        if upload.size > MAX_IMPORT_BYTES:
            raise Invalid(CatalogError.EXCEL_TOO_MANY_ROWS, _("文件过大，请分批导入。"))
        data = upload.read()
    parsed, errors = parse_upload(data=data, provider=by.unit)
    if errors:
        errors.sort(key=lambda e: (e["sheet"] != RESOURCE_SHEET, e["row"]))
        first = errors[0]
        raise Invalid(
            CatalogError.EXCEL_ROWS_INVALID,
            _(
                "导入失败，共 %(n)s 处错误，未保存任何资源。第一处：%(sheet)s 表第 %(row)s 行“%(column)s”列：%(message)s"
            )
            % {"n": len(errors), **first},
            {"errors": errors},
        )
    return [services.resource_create(by=by, fields=fields, items=items) for fields, items in parsed]


# --- exports --------------------------------------------------------------------------------

EXPORT_HEADER = [
    "信息资源代码",
    "资源名称",
    "提供单位",
    "资源分类",
    "资源格式",
    "共享类型",
    "共享条件",
    "不予共享依据",
    "开放属性",
    "更新周期",
    "共享方式",
    "信息项",
    "首次发布时间",
    "最近更新",
]


def _export_rows(queryset) -> Any:
    channel_labels = dict(Channel.choices)
    for r in queryset.select_related("provider").prefetch_related("items"):
        yield [
            r.code or "",
            r.name,
            r.provider.name,
            r.get_classification_display(),
            r.get_format_display(),
            r.get_sharing_type_display(),
            r.sharing_conditions,
            r.not_shared_basis,
            r.get_open_attribute_display(),
            r.get_update_cycle_display(),
            "、".join(str(channel_labels.get(c, c)) for c in r.channels or []),
            "、".join(i.name for i in r.items.all()),
            r.first_published_at.strftime("%Y-%m-%d") if r.first_published_at else "",
            r.updated_at.strftime("%Y-%m-%d %H:%M") if r.updated_at else "",
        ]


def export_xlsx(queryset, *, title: str = "目录") -> bytes:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title[:31])
    ws.append(EXPORT_HEADER)
    for row in _export_rows(queryset):
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def export_csv(queryset) -> bytes:
    """CSV in UTF-8 with a BOM so that Excel opens Chinese text correctly."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(EXPORT_HEADER)
    for row in _export_rows(queryset):
        writer.writerow([_csv_safe(v) for v in row])
    return out.getvalue().encode("utf-8-sig")


def _csv_safe(value: Any) -> Any:
    # Formula injection guard: spreadsheet apps evaluate cells starting with these characters.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value
