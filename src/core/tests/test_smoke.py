"""The platform boots: health check, error format, login page, dashboard."""

import pytest
from django.db import connection

from accounts.roles import Role


@pytest.mark.django_db
def test_healthz_reports_database_ok(client):
    resp = client.get("/healthz")
    assert resp.status_code == 200
    assert resp.json() == {"status": "ok", "database": "ok", "vendor": connection.vendor}


@pytest.mark.django_db
def test_api_unknown_path_answers_in_the_one_error_shape(api):
    resp = api.get("/api/v1/no-such-endpoint/")
    assert resp.status_code == 404
    body = resp.json()
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == "not_found"


@pytest.mark.django_db
def test_openapi_schema_is_public_and_served_locally(api):
    resp = api.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert resp.status_code == 200
    assert resp.json()["info"]["title"] == "GovHub API"


@pytest.mark.django_db
def test_unknown_page_is_a_chinese_404(client):
    resp = client.get("/no-such-page/")
    assert resp.status_code == 404
    assert "页面不存在" in resp.content.decode()


@pytest.mark.django_db
def test_dashboard_requires_login_then_shows_unit_and_role(client, make_user):
    assert client.get("/").status_code == 302
    user = make_user(roles=[Role.DATA_OFFICER])
    client.force_login(user)
    page = client.get("/").content.decode()
    assert user.unit.name in page
    assert "单位数据专员" in page


# --- Demo district (issue 3: "Demo district") -------------------------------------------------


def _demo_load(*args):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("demo_load", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_demo_district_has_center_ten_sharing_units_and_oversight_with_valid_usccs_s11():
    from stdnum.cn import uscc

    from accounts.models import Unit

    _demo_load()
    units = list(Unit.objects.all())
    kinds = [u.kind for u in units]
    assert kinds.count(Unit.Kind.CENTER) == 1
    assert kinds.count(Unit.Kind.UNIT) >= 10
    assert {"区委网信办", "区保密局", "区审计局"} <= {u.short_name for u in units if u.kind == "oversight"}
    names = {u.name for u in units}
    assert "芙蓉区数据资源中心" in names
    for expected in (
        "公安",
        "市场监督",
        "住房和城乡建设",
        "人力资源",
        "民政",
        "卫生健康",
        "教育",
        "自然资源",
    ):
        assert any(expected in n for n in names), expected
    assert sum("街道办事处" in n for n in names) >= 2
    for unit in units:
        assert uscc.is_valid(unit.uscc), unit.uscc
        unit.full_clean()  # every field passes the model's own validation
        assert unit.head_name and unit.contact_name and unit.contact_phone
    # S§11: every ordinary unit has its named data officer (专人)
    assert all(u.data_officer_id for u in units if u.kind == Unit.Kind.UNIT)


@pytest.mark.django_db
def test_demo_users_cover_every_role_and_must_change_the_initial_password():
    from django.contrib.auth.password_validation import validate_password

    from accounts.demo import DEMO_PASSWORD
    from accounts.models import User
    from accounts.roles import SEPARATED_ADMIN_ROLES

    _demo_load()
    users = list(User.objects.prefetch_related("role_assignments"))
    held = {r.role for u in users for r in u.role_assignments.all()}
    assert held == set(Role.values)
    for user in users:
        assert user.must_change_password
        assert user.check_password(DEMO_PASSWORD)
        assert len(user.full_name) >= 2
        # 三员分立: at most one of the separated administrator roles per account
        assert len({r.role for r in user.role_assignments.all()} & SEPARATED_ADMIN_ROLES) <= 1
        # the documented initial password meets the policy (checked as for a new account)
        validate_password(DEMO_PASSWORD, User(username=user.username, full_name=user.full_name))


@pytest.mark.django_db
def test_demo_load_if_empty_keeps_existing_data_on_rerun():
    from accounts.models import Unit, User

    _demo_load("--if-empty")
    user = User.objects.get(username="ga.officer")
    user.full_name = "已改名"
    user.save()
    counts = (Unit.objects.count(), User.objects.count())
    out = _demo_load("--if-empty")
    assert "保留现有数据" in out
    assert (Unit.objects.count(), User.objects.count()) == counts
    assert User.objects.get(username="ga.officer").full_name == "已改名"


@pytest.mark.django_db
def test_demo_load_refuses_a_non_empty_database_without_if_empty(make_unit):
    from django.core.management.base import CommandError

    from accounts.models import Unit

    make_unit()
    with pytest.raises(CommandError, match="已有单位"):
        _demo_load()
    assert Unit.objects.count() == 1


@pytest.mark.django_db
def test_demo_load_is_whole_or_nothing_when_an_app_fails(monkeypatch):
    """DESIGN rule 4: a failing app's demo leaves no half-loaded district behind."""
    from types import SimpleNamespace

    import accounts.demo
    from accounts.models import Unit, User
    from core.management.commands import demo_load

    def boom(stdout):
        raise RuntimeError("demo failed")

    monkeypatch.setattr(
        demo_load,
        "demo_modules",
        lambda: [("accounts", accounts.demo), ("catalog", SimpleNamespace(load=boom))],
    )
    with pytest.raises(RuntimeError):
        _demo_load()
    assert not Unit.objects.exists()
    assert not User.objects.exists()


def test_demo_modules_run_in_design_order_accounts_first():
    from core.management.commands.demo_load import DESIGN_ORDER, demo_modules

    labels = [label for label, _ in demo_modules()]
    assert labels[0] == "accounts"
    assert labels == sorted(labels, key=DESIGN_ORDER.index)


@pytest.mark.django_db
def test_demo_logins_prints_username_name_unit_roles_and_initial_password():
    from io import StringIO

    from django.core.management import call_command

    from accounts.demo import DEMO_PASSWORD
    from accounts.models import User

    _demo_load()
    User.objects.filter(username="ga.user").update(must_change_password=False)
    out = StringIO()
    call_command("demo_logins", stdout=out)
    text = out.getvalue()
    assert "center.admin" in text and "刘建国" in text and "中心管理员" in text and DEMO_PASSWORD in text
    ga_user_line = next(line for line in text.splitlines() if line.startswith("ga.user "))
    assert DEMO_PASSWORD not in ga_user_line and "已修改" in ga_user_line
