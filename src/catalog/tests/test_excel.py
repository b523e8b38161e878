"""Excel template and bulk registration: all or nothing, row-level errors (DESIGN.md rule 4)."""

from __future__ import annotations

import io
import zipfile

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.utils import get_column_letter

from catalog import excel
from catalog.models import Resource
from core.errors import Invalid, PermissionDenied
from core.models import AuditEvent

pytestmark = pytest.mark.django_db

API = "/api/v1/catalog"


def _filled(resources: list[list], items: list[list]) -> bytes:
    wb = load_workbook(io.BytesIO(excel.template_workbook()))
    ws_r, ws_i = wb[excel.RESOURCE_SHEET], wb[excel.ITEM_SHEET]
    ws_r.delete_rows(2, ws_r.max_row)
    ws_i.delete_rows(2, ws_i.max_row)
    for row in resources:
        ws_r.append(row)
    for row in items:
        ws_i.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _resource_row(ref, name, **kw):
    row = {
        "classification": "基础库·人口",
        "format": "数据库表",
        "sharing_type": "无条件共享",
        "conditions": "",
        "basis": "",
        "open": "不开放",
        "cycle": "每日",
        "channels": "联机查询,批量下载",
    }
    row.update(kw)
    return [
        ref,
        name,
        row["classification"],
        row["format"],
        row["sharing_type"],
        row["conditions"],
        row["basis"],
        row["open"],
        row["cycle"],
        row["channels"],
        "人口系统",
        "人口",
        "摘要",
        "张三",
        "0731-1",
    ]


def _person_item_rows(ref):
    return [
        [ref, "sfzh", "身份证号", "字符串", 18, None, "是", "是", "身份证号", "个人隐私", ""],
        [ref, "xm", "姓名", "字符串", 50, None, "是", "否", "", "个人隐私", ""],
    ]


def test_template_has_two_sheets_and_dropdowns(api, user_a):
    api.force_authenticate(user_a)
    resp = api.get(f"{API}/template.xlsx")
    assert resp.status_code == 200
    wb = load_workbook(io.BytesIO(resp.content))
    assert wb.sheetnames[:2] == ["资源", "信息项"]
    ws = wb["资源"]
    assert [c.value for c in ws[1]][:3] == ["资源序号", "资源名称", "资源分类"]
    formulas = [dv.formula1 for dv in ws.data_validations.dataValidation]
    assert any("代码表" in f for f in formulas)
    assert len(wb["信息项"].data_validations.dataValidation) >= 5
    assert wb["代码表"].sheet_state == "hidden"


def test_the_template_as_downloaded_imports(officer_a):
    created = excel.resource_import(by=officer_a, upload=excel.template_workbook())
    assert [r.name for r in created] == ["示例：常住人口基本信息"]
    r = created[0]
    assert r.sharing_type == "conditional" and r.channels == ["online_query", "batch_download"]
    assert [(i.code, i.identifier_kind, i.required) for i in r.items.all()] == [
        ("sfzh", "id_card", True),
        ("xm", "", True),
    ]


def test_upload_registers_many_resources_at_once(api, officer_a):
    data = _filled(
        [_resource_row(1, "常住人口基本信息"), _resource_row(2, "户籍人口信息", cycle="每月")],
        _person_item_rows(1) + _person_item_rows(2),
    )
    api.force_authenticate(officer_a)
    upload = io.BytesIO(data)
    upload.name = "catalog.xlsx"
    resp = api.post(f"{API}/import/", {"file": upload}, format="multipart")
    assert resp.status_code == 201, resp.content
    assert [r["name"] for r in resp.json()["created"]] == ["常住人口基本信息", "户籍人口信息"]
    assert Resource.objects.get(name="户籍人口信息").update_cycle == "monthly"
    assert AuditEvent.objects.filter(action="catalog.resource.create").count() == 2


def test_row_errors_name_sheet_row_and_column_and_nothing_is_stored(officer_a):
    data = _filled(
        [
            _resource_row(1, "常住人口基本信息"),
            _resource_row(2, "不予共享资源", sharing_type="不予共享"),
            _resource_row(3, "坏分类", classification="火星库"),
        ],
        _person_item_rows(1)
        + [[2, "select", "选择", "字符串", None, None, "是", "否", "身份证号", "内部", ""]]
        + _person_item_rows(3)
        + [[9, "x", "孤儿", "字符串", None, None, "否", "否", "", "内部", ""]],
    )
    with pytest.raises(Invalid) as exc:
        excel.resource_import(by=officer_a, upload=data)
    assert exc.value.code == "catalog.excel_rows_invalid"
    errors = exc.value.details["errors"]
    where = {(e["sheet"], e["row"], e["column"]) for e in errors}
    assert ("资源", 3, "不予共享依据") in where
    assert ("资源", 4, "资源分类") in where
    assert ("信息项", 4, "信息项代码") in where  # "select" is an SQL reserved word
    assert ("信息项", 7, "资源序号") in where  # item of an unknown resource
    assert "未保存任何资源" in exc.value.message
    assert not Resource.objects.exists()
    assert not AuditEvent.objects.exists()


def test_missing_identifier_item_reported_on_the_resource_row_s21(officer_a):
    data = _filled(
        [_resource_row(1, "人口")], [[1, "xm", "姓名", "字符串", 50, None, "是", "否", "", "内部", ""]]
    )
    with pytest.raises(Invalid) as exc:
        excel.resource_import(by=officer_a, upload=data)
    assert exc.value.details["errors"][0]["sheet"] == "资源"
    assert exc.value.details["errors"][0]["row"] == 2
    assert "身份证号" in exc.value.details["errors"][0]["message"]


def test_not_an_xlsx_is_a_clear_error(api, officer_a):
    api.force_authenticate(officer_a)
    for payload in (b"name,code\n1,2\n", b"PK\x03\x04garbage", b""):
        upload = io.BytesIO(payload)
        upload.name = "catalog.xlsx"
        resp = api.post(f"{API}/import/", {"file": upload}, format="multipart")
        assert resp.status_code == 400, resp.content
        assert resp.json()["error"]["code"] in ("catalog.excel_not_xlsx", "invalid")
    assert (
        api.post(f"{API}/import/", {}, format="multipart").json()["error"]["code"] == "catalog.excel_not_xlsx"
    )


def test_wrong_template_is_a_clear_error(officer_a):
    wb = Workbook()
    wb.active.title = "Sheet1"
    wb.active.append(["姓名", "年龄"])
    out = io.BytesIO()
    wb.save(out)
    with pytest.raises(Invalid) as exc:
        excel.resource_import(by=officer_a, upload=out.getvalue())
    assert exc.value.code == "catalog.excel_wrong_template"
    wb = load_workbook(io.BytesIO(excel.template_workbook()))
    wb["资源"]["B1"] = "名称"
    out = io.BytesIO()
    wb.save(out)
    with pytest.raises(Invalid) as exc:
        excel.resource_import(by=officer_a, upload=out.getvalue())
    assert exc.value.code == "catalog.excel_wrong_template"
    assert "表头" in exc.value.message


def _huge_upload(rows: int) -> bytes:
    """The template with ``rows`` resource rows, written as raw sheet XML (openpyxl would take
    seconds to write them)."""
    src = zipfile.ZipFile(io.BytesIO(excel.template_workbook()))
    header = "".join(
        f'<c r="{get_column_letter(i)}1" t="inlineStr"><is><t>{c[0]}</t></is></c>'
        for i, c in enumerate(excel.RESOURCE_COLUMNS, start=1)
    )
    body = "".join(
        f'<row r="{n}"><c r="A{n}"><v>{n}</v></c><c r="B{n}" t="inlineStr"><is><t>资源</t></is></c></row>'
        for n in range(2, rows + 2)
    )
    sheet = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f'<dimension ref="A1:O{rows + 1}"/><sheetData><row r="1">{header}</row>{body}</sheetData></worksheet>'
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = sheet.encode() if info.filename == "xl/worksheets/sheet1.xml" else src.read(info)
            dst.writestr(info, data)
    return out.getvalue()


def test_one_hundred_thousand_rows_refused_before_parsing(officer_a):
    with pytest.raises(Invalid) as exc:
        excel.resource_import(by=officer_a, upload=_huge_upload(100_000))
    assert exc.value.code == "catalog.excel_too_many_rows"
    assert exc.value.details["rows"] == 100_000
    assert not Resource.objects.exists()


def test_empty_template_is_a_clear_error(officer_a):
    with pytest.raises(Invalid) as exc:
        excel.resource_import(by=officer_a, upload=_filled([], []))
    assert exc.value.code == "catalog.excel_empty"


def test_only_data_officers_import(user_a, reviewer):
    for who in (user_a, reviewer):
        with pytest.raises(PermissionDenied):
            excel.resource_import(by=who, upload=excel.template_workbook())
    assert not Resource.objects.exists()
