"""The accounts pages: Chinese UI, role-based navigation, errors beside fields, token shown once."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import ApiToken, Unit, User
from accounts.roles import Role
from accounts.tests.factories import import_workbook, make_api_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def unit_admin(make_user, make_unit):
    return make_user(unit=make_unit(code="430102201"), roles=[Role.UNIT_ADMIN])


def test_unit_admin_sees_user_management_in_navigation(client, unit_admin):
    client.force_login(unit_admin)
    html = client.get("/").content.decode()
    assert "用户管理" in html and "我的登录记录" in html
    assert "账号锁定" not in html


def test_plain_user_cannot_open_user_management(client, make_user):
    client.force_login(make_user(roles=[Role.UNIT_USER]))
    assert client.get("/accounts/users/").status_code == 403
    assert client.get("/accounts/lockouts/").status_code == 403
    assert client.get("/accounts/units/new/").status_code == 403


def test_user_list_filters_and_paginates(client, unit_admin, make_user):
    for n in range(30):
        make_user(unit=unit_admin.unit, username=f"staff{n:02d}", full_name=f"员工{n}")
    client.force_login(unit_admin)
    page1 = client.get("/accounts/users/").content.decode()
    assert "第 1 / 2 页" in page1
    found = client.get("/accounts/users/?q=staff07").content.decode()
    assert "staff07" in found and "staff08" not in found


def test_user_create_form_shows_duplicate_username_beside_the_field(client, unit_admin, make_user):
    make_user(unit=unit_admin.unit, username="dup")
    client.force_login(unit_admin)
    resp = client.post(
        "/accounts/users/new/", {"unit": unit_admin.unit_id, "username": "dup", "full_name": "重名"}
    )
    assert resp.status_code == 400
    html = resp.content.decode()
    assert "已被使用" in html and "invalid-feedback" in html
    assert User.objects.filter(username="dup").count() == 1


def test_user_create_shows_initial_password_once(client, unit_admin):
    client.force_login(unit_admin)
    resp = client.post(
        "/accounts/users/new/",
        {"unit": unit_admin.unit_id, "username": "fresh", "full_name": "新人", "roles": ["unit_user"]},
        follow=True,
    )
    assert "初始密码" in resp.content.decode()
    assert User.objects.get(username="fresh").has_role(Role.UNIT_USER)


def test_unit_form_shows_invalid_uscc_beside_the_field(client, center, make_user):
    client.force_login(make_user(unit=center, roles=[Role.CENTER_ADMIN]))
    resp = client.post(
        "/accounts/units/new/", {"name": "区卫健局", "code": "430102130", "kind": "unit", "uscc": "123456"}
    )
    assert resp.status_code == 400
    assert "统一社会信用代码无效" in resp.content.decode()
    assert not Unit.objects.filter(name="区卫健局").exists()


def test_import_page_lists_row_errors(client, unit_admin):
    client.force_login(unit_admin)
    assert client.get("/accounts/users/import/template/").status_code == 200
    content = import_workbook(
        [["ok_user", "好人", unit_admin.unit.code, "", "", ""], ["x", "", "999", "", "", ""]]
    )
    upload = SimpleUploadedFile("u.xlsx", content)
    resp = client.post("/accounts/users/import/", {"file": upload})
    assert resp.status_code == 400
    html = resp.content.decode()
    assert "未导入任何用户" in html and 'data-testid="import-errors"' in html
    assert not User.objects.filter(username="ok_user").exists()


def test_role_assignment_in_ui_explains_separation_of_duties(client, center, make_user):
    sec = make_user(unit=center, roles=[Role.SEC_ADMIN])
    person = make_user(unit=center, roles=[Role.AUDIT_ADMIN])
    client.force_login(sec)
    resp = client.post(f"/accounts/users/{person.pk}/", {"action": "assign", "role": "sys_admin"})
    assert resp.status_code == 400
    assert "三员分立" in resp.content.decode()


def test_api_client_page_shows_new_token_once(client, unit_admin):
    api_client, _admin = make_api_client(unit_admin.unit)
    client.force_login(unit_admin)
    resp = client.post(f"/accounts/api-clients/{api_client.pk}/", {"action": "issue", "name": "测试"})
    html = resp.content.decode()
    token = ApiToken.objects.get(client=api_client)
    assert 'data-testid="new-token"' in html and token.prefix in html
    again = client.get(f"/accounts/api-clients/{api_client.pk}/").content.decode()
    assert 'data-testid="new-token"' not in again


def test_unit_b_api_client_page_is_404_for_unit_a(client, unit_admin, make_unit):
    other, _admin = make_api_client(make_unit())
    client.force_login(unit_admin)
    assert client.get(f"/accounts/api-clients/{other.pk}/").status_code == 404


@pytest.mark.parametrize(
    ("role", "home", "paths"),
    [
        (
            Role.SYS_ADMIN,
            "center",
            ["/accounts/units/", "/accounts/users/", "/accounts/users/new/", "/accounts/users/import/"],
        ),
        (
            Role.CENTER_ADMIN,
            "center",
            ["/accounts/units/", "/accounts/units/new/", "/accounts/units/{unit}/edit/"],
        ),
        (
            Role.SEC_ADMIN,
            "center",
            [
                "/accounts/users/",
                "/accounts/users/{person}/",
                "/accounts/lockouts/",
                "/accounts/logins/",
                "/accounts/api-clients/",
            ],
        ),
        (
            Role.SYSTEM_OWNER,
            "unit",
            [
                "/accounts/api-clients/",
                "/accounts/api-clients/{client}/",
                "/accounts/password/",
                "/accounts/logins/",
            ],
        ),
    ],
)
def test_pages_render_for_their_roles(client, center, make_user, make_unit, role, home, paths):
    unit = make_unit()
    person = make_user(unit=unit, roles=[Role.DATA_OFFICER])
    actor = make_user(unit=center if home == "center" else unit, roles=[role])
    api_client, _admin = make_api_client(unit)
    client.force_login(actor)
    for path in paths:
        url = path.format(unit=unit.pk, person=person.pk, client=api_client.pk)
        resp = client.get(url)
        assert resp.status_code == 200, url
        assert "<html" in resp.content.decode()


def test_unit_edit_sets_a_data_officer_of_the_unit_s11(client, center, make_user, make_unit):
    unit = make_unit()
    officer = make_user(unit=unit, roles=[Role.DATA_OFFICER])
    client.force_login(make_user(unit=center, roles=[Role.SYS_ADMIN]))
    data = {
        "name": unit.name,
        "code": unit.code,
        "kind": "unit",
        "uscc": unit.uscc,
        "data_officer": officer.pk,
    }
    data["is_active"] = "on"
    assert client.post(f"/accounts/units/{unit.pk}/edit/", data).status_code == 302
    unit.refresh_from_db()
    assert unit.data_officer == officer


def test_system_admin_user_form_offers_no_roles_sod(client, center, make_user):
    client.force_login(make_user(unit=center, roles=[Role.SYS_ADMIN]))
    html = client.get("/accounts/users/new/").content.decode()
    assert 'name="username"' in html and 'name="roles"' not in html
