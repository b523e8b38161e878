"""Units, users, roles and the Excel import through the HTTP API (S§11, S§17, S§41)."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import load_workbook

from accounts import importing
from accounts.models import Unit, User
from accounts.roles import Role
from accounts.tests.factories import import_workbook, make_uscc
from core.models import AuditEvent

pytestmark = pytest.mark.django_db
BASE = "/api/v1/accounts"


@pytest.fixture
def sys_admin(center, make_user):
    return make_user(unit=center, roles=[Role.SYS_ADMIN])


@pytest.fixture
def unit_a(make_unit):
    return make_unit(code="430102101", name="区市场监管局")


@pytest.fixture
def unit_b(make_unit):
    return make_unit(code="430102102", name="区住建局")


@pytest.fixture
def admin_a(unit_a, make_user):
    return make_user(unit=unit_a, roles=[Role.UNIT_ADMIN])


# --- Units ------------------------------------------------------------------------------------


def test_center_admin_registers_a_unit_with_valid_uscc_s11(api, center, make_user):
    api.force_login(make_user(unit=center, roles=[Role.CENTER_ADMIN]))
    resp = api.post(
        f"{BASE}/units/",
        {"name": "区民政局", "code": "430102120", "uscc": make_uscc(4242), "kind": "unit"},
        format="json",
    )
    assert resp.status_code == 201
    assert Unit.objects.filter(name="区民政局").exists()
    assert AuditEvent.objects.filter(action="accounts.unit.create").exists()


@pytest.mark.parametrize("uscc", ["123", "11430102000004242X", "1143010200000424ZZ"])
def test_invalid_uscc_is_refused_with_a_clear_error_and_nothing_stored(api, sys_admin, uscc):
    api.force_login(sys_admin)
    events = AuditEvent.objects.count()
    resp = api.post(f"{BASE}/units/", {"name": "区教育局", "code": "430102121", "uscc": uscc}, format="json")
    assert resp.status_code == 400
    error = resp.json()["error"]
    assert error["code"] == "accounts.unit_invalid"
    assert "统一社会信用代码" in error["details"]["fields"]["uscc"][0]
    assert not Unit.objects.filter(name="区教育局").exists()
    assert AuditEvent.objects.count() == events


def test_duplicate_unit_code_is_refused(api, sys_admin, unit_a):
    api.force_login(sys_admin)
    resp = api.post(
        f"{BASE}/units/", {"name": "另一个单位", "code": unit_a.code, "uscc": make_uscc(777)}, format="json"
    )
    assert resp.status_code == 400 and "code" in resp.json()["error"]["details"]["fields"]


def test_unit_data_officer_must_belong_to_the_unit(api, sys_admin, unit_a, unit_b, make_user):
    outsider = make_user(unit=unit_b)
    api.force_login(sys_admin)
    resp = api.patch(f"{BASE}/units/{unit_a.pk}/", {"data_officer": outsider.pk}, format="json")
    assert resp.status_code == 400
    unit_a.refresh_from_db()
    assert unit_a.data_officer is None


# --- Users ------------------------------------------------------------------------------------


def test_unit_admin_creates_own_unit_user_with_initial_password(api, admin_a, unit_a):
    api.force_login(admin_a)
    resp = api.post(
        f"{BASE}/users/",
        {"unit": unit_a.pk, "username": "liuyang", "full_name": "刘洋", "roles": ["data_officer"]},
        format="json",
    )
    assert resp.status_code == 201
    body = resp.json()
    user = User.objects.get(username="liuyang")
    assert user.check_password(body["initial_password"]) and user.must_change_password
    assert body["roles"] == ["data_officer"]


def test_duplicate_username_is_refused_case_insensitively(api, admin_a, unit_a, make_user):
    make_user(username="Liuyang", unit=unit_a)
    api.force_login(admin_a)
    resp = api.post(
        f"{BASE}/users/", {"unit": unit_a.pk, "username": "liuyang", "full_name": "刘洋"}, format="json"
    )
    assert resp.status_code == 400
    error = resp.json()["error"]
    assert (
        error["code"] == "accounts.username_taken" and "已被使用" in error["details"]["fields"]["username"][0]
    )
    assert User.objects.filter(username__iexact="liuyang").count() == 1


def test_unit_a_admin_cannot_see_or_change_unit_b_users(api, admin_a, unit_a, unit_b, make_user):
    mine = make_user(unit=unit_a)
    theirs = make_user(unit=unit_b)
    api.force_login(admin_a)
    listed = {u["id"] for u in api.get(f"{BASE}/users/").json()["results"]}
    assert mine.pk in listed and theirs.pk not in listed
    assert api.get(f"{BASE}/users/?unit={unit_b.pk}").json()["count"] == 0
    assert api.get(f"{BASE}/users/{theirs.pk}/").status_code == 404
    assert api.patch(f"{BASE}/users/{theirs.pk}/", {"is_active": False}, format="json").status_code == 404
    assert api.post(f"{BASE}/users/{theirs.pk}/reset-password/").status_code == 404
    resp = api.post(
        f"{BASE}/users/", {"unit": unit_b.pk, "username": "spy", "full_name": "某"}, format="json"
    )
    assert resp.status_code == 403
    assert not User.objects.filter(username="spy").exists()
    theirs.refresh_from_db()
    assert theirs.is_active


def test_role_assignments_are_scoped_to_the_unit(api, admin_a, unit_a, unit_b, make_user):
    make_user(unit=unit_a, roles=[Role.DATA_OFFICER])
    other = make_user(unit=unit_b, roles=[Role.DATA_OFFICER])
    api.force_login(admin_a)
    users = {r["user"] for r in api.get(f"{BASE}/role-assignments/").json()["results"]}
    assert other.pk not in users
    resp = api.post(f"{BASE}/role-assignments/", {"user": other.pk, "role": "unit_user"}, format="json")
    assert resp.status_code == 404


def test_separation_of_duties_through_the_api(api, center, make_user):
    api.force_login(make_user(unit=center, roles=[Role.SEC_ADMIN]))
    person = make_user(unit=center, roles=[Role.SYS_ADMIN])
    resp = api.post(f"{BASE}/role-assignments/", {"user": person.pk, "role": "audit_admin"}, format="json")
    assert resp.status_code == 409
    assert resp.json()["error"]["code"] == "accounts.separation_of_duties"


def test_reset_password_forces_a_change(api, admin_a, unit_a, make_user):
    person = make_user(unit=unit_a)
    api.force_login(admin_a)
    resp = api.post(f"{BASE}/users/{person.pk}/reset-password/")
    assert resp.status_code == 200
    person.refresh_from_db()
    assert person.must_change_password and person.check_password(resp.json()["initial_password"])


def test_me_password_change_via_api(api, make_user):
    person = make_user()
    api.force_login(person)
    bad = api.post(f"{BASE}/me/password/", {"old_password": "Govhub#2026pass", "new_password": "short"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "accounts.password_invalid"
    ok = api.post(
        f"{BASE}/me/password/",
        {"old_password": "Govhub#2026pass", "new_password": "River#Stone2026"},
        format="json",
    )
    assert ok.status_code == 204


# --- Excel import -----------------------------------------------------------------------------


def _upload(content: bytes, name: str = "users.xlsx"):
    return SimpleUploadedFile(name, content, content_type=importing.XLSX_TYPE)


def test_import_template_downloads_with_the_expected_header(api, admin_a):
    api.force_login(admin_a)
    resp = api.get(f"{BASE}/users/import-template/")
    assert resp.status_code == 200 and resp["Content-Type"] == importing.XLSX_TYPE
    ws = load_workbook(io.BytesIO(resp.content)).worksheets[0]
    assert [c.value for c in ws[1]] == [label for _k, label in importing.COLUMNS]


def test_import_creates_all_rows(api, admin_a, unit_a):
    rows = [
        ["chenjing", "陈静", unit_a.code, "chenjing@example.gov.cn", "13800000001", "单位数据专员"],
        ["zhaolei", "赵磊", unit_a.code, "", "", "unit_user、系统负责人"],
    ]
    api.force_login(admin_a)
    resp = api.post(f"{BASE}/users/import/", {"file": _upload(import_workbook(rows))}, format="multipart")
    assert resp.status_code == 201 and resp.json()["created"] == 2
    zhao = User.objects.get(username="zhaolei")
    assert zhao.must_change_password and zhao.has_role(Role.UNIT_USER, Role.SYSTEM_OWNER)
    assert set(zhao.role_set) == {Role.UNIT_USER, Role.SYSTEM_OWNER}


def test_import_with_one_bad_row_imports_nothing_and_names_row_and_column(
    api, admin_a, unit_a, unit_b, make_user
):
    make_user(username="taken", unit=unit_a)
    rows = [
        ["good1", "好人", unit_a.code, "", "", ""],
        ["taken", "重名", unit_a.code, "", "", ""],
        ["good2", "", unit_a.code, "bad-email", "", "超级管理员"],
        ["good1", "重复", unit_b.code, "", "", "中心管理员"],
    ]
    api.force_login(admin_a)
    events = AuditEvent.objects.count()
    resp = api.post(f"{BASE}/users/import/", {"file": _upload(import_workbook(rows))}, format="multipart")
    assert resp.status_code == 400
    error = resp.json()["error"]
    assert error["code"] == "accounts.import_invalid" and "未导入任何用户" in error["message"]
    found = {(e["row"], e["column"]) for e in error["details"]["errors"]}
    assert (3, "用户名*") in found  # taken
    assert {(4, "姓名*"), (4, "邮箱"), (4, "角色（多个用顿号分隔）")} <= found
    assert (5, "用户名*") in found and (5, "单位代码*") in found  # duplicate in file; other unit
    assert not User.objects.filter(username__in=["good1", "good2"]).exists()
    assert AuditEvent.objects.count() == events


def test_import_refuses_an_oversized_file(api, admin_a, monkeypatch):
    monkeypatch.setattr(importing, "IMPORT_MAX_BYTES", 1000)
    api.force_login(admin_a)
    resp = api.post(f"{BASE}/users/import/", {"file": _upload(b"x" * 5000)}, format="multipart")
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "accounts.import_too_large"


@pytest.mark.parametrize(
    "content",
    [b"not an excel file at all", b"PK\x03\x04broken zip", "用户名,姓名\n".encode("gb18030")],
)
def test_import_refuses_a_malformed_file_with_a_clear_error(api, admin_a, content):
    api.force_login(admin_a)
    resp = api.post(f"{BASE}/users/import/", {"file": _upload(content)}, format="multipart")
    assert resp.status_code == 400
    assert resp.json()["error"]["code"] == "accounts.import_file_invalid"
    assert "Excel" in resp.json()["error"]["message"]


def test_import_refuses_a_wrong_header(api, admin_a, unit_a):
    content = import_workbook([["a", "b", unit_a.code]], header=["账号", "名字", "单位"])
    api.force_login(admin_a)
    resp = api.post(f"{BASE}/users/import/", {"file": _upload(content)}, format="multipart")
    assert resp.status_code == 400 and "表头" in resp.json()["error"]["message"]


def test_import_without_file_is_a_clear_error(api, admin_a):
    api.force_login(admin_a)
    resp = api.post(f"{BASE}/users/import/", {}, format="multipart")
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "accounts.import_file_invalid"
