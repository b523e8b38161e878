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
def test_healthz_answers_503_when_the_database_is_unreachable(client, monkeypatch):
    from django.db import OperationalError

    from core import views

    class DownConnection:
        vendor = "sqlite"

        def cursor(self):
            raise OperationalError("connection refused")

    monkeypatch.setattr(views, "connection", DownConnection())
    resp = client.get("/healthz")
    assert resp.status_code == 503
    assert resp.json() == {"status": "error", "database": "unreachable", "detail": "OperationalError"}


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


def _accounts_demo() -> None:
    """Only the accounts part of the demo district (the whole load is tested once, below)."""
    from io import StringIO

    from accounts import demo

    demo.load(StringIO())


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

    _accounts_demo()
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

    _accounts_demo()
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

    _accounts_demo()
    User.objects.filter(username="ga.user").update(must_change_password=False)
    out = StringIO()
    call_command("demo_logins", stdout=out)
    text = out.getvalue()
    assert "center.admin" in text and "刘建国" in text and "中心管理员" in text and DEMO_PASSWORD in text
    ga_user_line = next(line for line in text.splitlines() if line.startswith("ga.user "))
    assert DEMO_PASSWORD not in ga_user_line and "已修改" in ga_user_line


# --- UI shell: error pages, language, forms, dashboard ---------------------------------------


def _boom(request):
    raise RuntimeError("secret internal detail")


def _bad_request(request):
    from django.core.exceptions import SuspiciousOperation

    raise SuspiciousOperation("tampered")


# The test URLconf below is this module itself (``@pytest.mark.urls(__name__)``).
from django.urls import include, path  # noqa: E402

urlpatterns = [
    path("boom/", _boom),
    path("api/v1/boom/", _boom),
    path("bad/", _bad_request),
    path("", include("govhub.urls")),
]
handler400 = "core.views.error_400"
handler403 = "core.views.error_403"
handler404 = "core.views.error_404"
handler500 = "core.views.error_500"


@pytest.mark.django_db
@pytest.mark.urls(__name__)
def test_server_error_is_a_chinese_page_without_stack_trace_when_debug_is_off(settings):
    from django.test import Client

    settings.DEBUG = False
    resp = Client(raise_request_exception=False).get("/boom/")
    assert resp.status_code == 500
    page = resp.content.decode()
    assert "服务器内部错误" in page
    assert "Traceback" not in page and "secret internal detail" not in page and "RuntimeError" not in page
    assert resp["X-Request-ID"] in page  # the operator can find the logged error by its request id


@pytest.mark.django_db
@pytest.mark.urls(__name__)
def test_api_server_error_answers_in_the_one_error_shape(settings):
    from django.test import Client

    settings.DEBUG = False
    resp = Client(raise_request_exception=False).get("/api/v1/boom/")
    assert resp.status_code == 500
    assert resp.json()["error"]["code"] == "server_error"
    assert "secret internal detail" not in resp.content.decode()


@pytest.mark.django_db
@pytest.mark.urls(__name__)
def test_bad_request_is_a_chinese_400_page(settings):
    from django.test import Client

    settings.DEBUG = False
    resp = Client(raise_request_exception=False).get("/bad/")
    assert resp.status_code == 400
    assert "请求无效" in resp.content.decode() and "tampered" not in resp.content.decode()


@pytest.mark.django_db
def test_permission_denied_is_a_chinese_403_page(rf, make_user):
    from django.core.exceptions import PermissionDenied

    from core.views import error_403

    request = rf.get("/somewhere/")
    request.user = make_user()
    resp = error_403(request, PermissionDenied())
    assert resp.status_code == 403
    assert "无权访问" in resp.content.decode()


@pytest.mark.django_db
def test_stale_form_csrf_failure_is_explained_in_chinese(make_user):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user())
    resp = client.post("/i18n/setlang/", {"language": "en"})
    assert resp.status_code == 403
    assert "页面已过期" in resp.content.decode()
    assert "cookie not set" not in resp.content.decode()


@pytest.mark.django_db
def test_chinese_is_the_default_and_english_is_one_switch_away(client, make_user):
    user = make_user(roles=[Role.UNIT_USER])
    client.force_login(user)
    page = client.get("/").content.decode()
    assert '<html lang="zh-hans">' in page and "我的待办" in page and "退出" in page
    resp = client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert resp.status_code == 302
    page = client.get("/").content.decode()
    assert '<html lang="en">' in page
    assert "My tasks" in page and "Log out" in page
    assert "Unit user" in page  # role names are translated too


@pytest.mark.django_db
def test_pages_stay_chinese_whatever_the_browser_asks_until_english_is_chosen(client):
    """DESIGN rule 9: Chinese first; only the 中文/EN switch changes the page language."""
    page = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert '<html lang="zh-hans">' in page and "登录" in page
    client.post("/i18n/setlang/", {"language": "en", "next": "/accounts/login/"})
    page = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert '<html lang="en">' in page and "Log in" in page


@pytest.mark.django_db
def test_api_messages_follow_accept_language(api):
    resp = api.get("/api/v1/accounts/me/", HTTP_ACCEPT_LANGUAGE="en")
    assert resp.status_code == 401
    assert resp.json()["error"]["message"].isascii()
    resp = api.get("/api/v1/accounts/me/")
    assert resp.status_code == 401
    assert not resp.json()["error"]["message"].isascii()  # Chinese by default


@pytest.mark.django_db
def test_dashboard_shows_registered_panels_in_order_and_survives_a_failing_provider(client, make_user):
    from core import dashboard

    def good(user):
        return [{"title": "待审核的目录", "count": 2, "items": [{"label": "常住人口基本信息", "url": "/x/"}]}]

    def broken(user):
        raise RuntimeError("provider bug")

    saved = list(dashboard._providers)
    dashboard._providers[:] = [broken, good]
    try:
        client.force_login(make_user(roles=[Role.CENTER_REVIEWER]))
        page = client.get("/").content.decode()
    finally:
        dashboard._providers[:] = saved
    assert "待审核的目录" in page and "常住人口基本信息" in page
    assert "此面板暂时无法显示" in page
    assert page.index("待审核的目录") < page.index("此面板暂时无法显示")


@pytest.mark.django_db
def test_dashboard_without_panels_shows_an_empty_state(client, make_user):
    from core import dashboard

    saved = list(dashboard._providers)
    dashboard._providers.clear()
    try:
        client.force_login(make_user())
        page = client.get("/").content.decode()
    finally:
        dashboard._providers[:] = saved
    assert 'data-testid="empty-state"' in page and "目前没有需要您处理的事项" in page


def test_form_field_include_puts_each_error_beside_its_field():
    from django import forms
    from django.template import Context, Template

    class UnitForm(forms.Form):
        name = forms.CharField(label="单位名称", help_text="全称")
        kind = forms.ChoiceField(label="类别", choices=[("unit", "区直单位")])
        active = forms.BooleanField(label="启用", required=False)

        def clean(self):
            raise forms.ValidationError("整体校验失败")

    form = UnitForm(data={"name": "", "kind": "nope"})
    html = Template('{% include "forms/form.html" %}').render(Context({"form": form}))
    assert "整体校验失败" in html
    name_block = html[html.index('data-field="name"') : html.index('data-field="kind"')]
    assert form.errors["name"][0] in name_block
    assert 'class="form-control is-invalid"' in name_block and 'aria-invalid="true"' in name_block
    kind_block = html[html.index('data-field="kind"') : html.index('data-field="active"')]
    assert "form-select is-invalid" in kind_block
    active_block = html[html.index('data-field="active"') :]
    assert "form-check-input" in active_block and "is-invalid" not in active_block


def test_navigation_marks_only_the_longest_matching_entry_active():
    from core.context_processors import _mark_active

    menu = [
        {
            "group": "",
            "items": [{"label": "目录", "url": "/catalog/"}, {"label": "审核", "url": "/catalog/review/"}],
        }
    ]
    _mark_active(menu, "/catalog/review/12/")
    assert [i["active"] for i in menu[0]["items"]] == [False, True]


@pytest.mark.django_db
def test_static_files_are_served_by_govhub_itself(client):
    """DESIGN rule 8: Bootstrap, htmx and our CSS come from GovHub, never from a CDN."""
    page = client.get("/accounts/login/").content.decode()
    assert "cdn" not in page.lower() and "https://" not in page
    from django.contrib.staticfiles import finders

    for asset in (
        "bootstrap/css/bootstrap.min.css",
        "bootstrap/js/bootstrap.bundle.min.js",
        "govhub/css/govhub.css",
        "django_htmx/htmx-2.min.js",
    ):
        assert f"/static/{asset}" in page
        assert finders.find(asset), asset
