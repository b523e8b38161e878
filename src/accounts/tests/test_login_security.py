"""Login security (等保 level 3): lockout per account+IP, unlock by the security admin, login
history, idle timeout, forced password change, Argon2, audit of sign-in events and refusals."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client

from accounts import services
from accounts.models import Lockout, LoginRecord
from accounts.roles import Role
from core.errors import Conflict, PermissionDenied
from core.models import AuditEvent

pytestmark = pytest.mark.django_db

PASSWORD = "Govhub#2026pass"
LOGIN = "/accounts/login/"
SH = ZoneInfo("Asia/Shanghai")
T0 = dt.datetime(2026, 10, 9, 9, 0, tzinfo=SH)


def _login(client: Client, username: str, password: str, ip: str = "10.0.0.1"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=ip)


@pytest.fixture
def person(make_user):
    return make_user(username="zhangwei")


@pytest.fixture
def sec_admin(center, make_user):
    return make_user(unit=center, roles=[Role.SEC_ADMIN])


def test_successful_login_is_recorded_and_audited(client, person):
    resp = _login(client, "zhangwei", PASSWORD)
    assert resp.status_code == 302
    record = LoginRecord.objects.get(user=person)
    assert record.outcome == "success" and record.ip == "10.0.0.1"
    assert AuditEvent.objects.filter(action="accounts.session.login", actor=person).exists()


def test_failed_login_is_recorded_and_audited_with_a_clear_message(client, person):
    resp = _login(client, "zhangwei", "wrong")
    assert resp.status_code == 200
    assert "用户名或密码错误" in resp.content.decode()
    assert LoginRecord.objects.get(username="zhangwei").outcome == "bad_password"
    assert AuditEvent.objects.filter(action="accounts.session.login_failed").count() == 1


def test_five_failures_lock_account_and_ip_for_15_minutes(client, person):
    with time_machine.travel(T0, tick=False):
        for _ in range(5):
            _login(client, "zhangwei", "wrong")
        lock = Lockout.objects.get(username="zhangwei", ip="10.0.0.1")
        assert lock.locked_until == T0 + dt.timedelta(minutes=15)
        assert AuditEvent.objects.filter(action="accounts.lockout.lock").count() == 1
        # Even the right password is refused while locked, with a clear message.
        resp = _login(client, "zhangwei", PASSWORD)
        assert "已被锁定" in resp.content.decode()
        assert "_auth_user_id" not in client.session
    with time_machine.travel(T0 + dt.timedelta(minutes=14), tick=False):
        assert "已被锁定" in _login(client, "zhangwei", PASSWORD).content.decode()
    with time_machine.travel(T0 + dt.timedelta(minutes=15, seconds=1), tick=False):
        assert _login(client, "zhangwei", PASSWORD).status_code == 302


def test_four_failures_do_not_lock(client, person):
    for _ in range(4):
        _login(client, "zhangwei", "wrong")
    assert not Lockout.objects.exists()
    assert _login(client, "zhangwei", PASSWORD).status_code == 302


def test_lockout_is_per_account_and_ip(client, person):
    for _ in range(5):
        _login(client, "zhangwei", "wrong", ip="10.0.0.1")
    assert _login(Client(), "zhangwei", PASSWORD, ip="10.0.0.2").status_code == 302


def test_failures_older_than_the_window_do_not_count(client, person):
    with time_machine.travel(T0, tick=False):
        for _ in range(4):
            _login(client, "zhangwei", "wrong")
    with time_machine.travel(T0 + dt.timedelta(minutes=16), tick=False):
        _login(client, "zhangwei", "wrong")
        assert not Lockout.objects.exists()


def test_success_resets_the_failure_count(client, person):
    for _ in range(4):
        _login(client, "zhangwei", "wrong")
    _login(client, "zhangwei", PASSWORD)
    for _ in range(4):
        _login(Client(), "zhangwei", "wrong")
    assert not Lockout.objects.exists()


def test_security_admin_unlocks_through_the_service(client, person, sec_admin):
    for _ in range(5):
        _login(client, "zhangwei", "wrong")
    lock = Lockout.objects.get()
    services.lockout_release(lockout=lock, by=sec_admin)
    assert AuditEvent.objects.filter(action="accounts.lockout.release", actor=sec_admin).exists()
    assert _login(client, "zhangwei", PASSWORD).status_code == 302
    with pytest.raises(Conflict):
        services.lockout_release(lockout=lock, by=sec_admin)


@pytest.mark.parametrize("role", [Role.SYS_ADMIN, Role.AUDIT_ADMIN, Role.CENTER_ADMIN])
def test_only_the_security_admin_may_unlock(client, person, center, make_user, role):
    for _ in range(5):
        _login(client, "zhangwei", "wrong")
    lock = Lockout.objects.get()
    with pytest.raises(PermissionDenied):
        services.lockout_release(lockout=lock, by=make_user(unit=center, roles=[role]))
    lock.refresh_from_db()
    assert lock.released_at is None


def test_security_admin_unlocks_through_the_api_and_the_ui(api, client, person, sec_admin):
    for _ in range(5):
        _login(client, "zhangwei", "wrong")
    lock = Lockout.objects.get()
    api.force_login(sec_admin)
    listed = api.get("/api/v1/accounts/lockouts/?active=true").json()["results"]
    assert [row["id"] for row in listed] == [lock.pk]
    assert api.post(f"/api/v1/accounts/lockouts/{lock.pk}/unlock/").status_code == 200
    assert api.post(f"/api/v1/accounts/lockouts/{lock.pk}/unlock/").status_code == 409
    for _ in range(5):
        _login(client, "zhangwei", "wrong")
    lock2 = Lockout.objects.exclude(pk=lock.pk).get()
    ui = Client()
    ui.force_login(sec_admin)
    page = ui.get("/accounts/lockouts/")
    assert "zhangwei" in page.content.decode()
    assert ui.post("/accounts/lockouts/", {"lockout": lock2.pk}).status_code == 302
    lock2.refresh_from_db()
    assert lock2.released_by == sec_admin


def test_login_history_shows_own_records_only_to_the_user(api, person, make_user):
    other = make_user(username="lisi")
    _login(Client(), "zhangwei", PASSWORD)
    _login(Client(), "lisi", PASSWORD)
    _login(Client(), "zhangwei", "wrong")
    api.force_login(person)
    rows = api.get("/api/v1/accounts/login-history/").json()["results"]
    assert {r["username"] for r in rows} == {"zhangwei"}
    assert {r["outcome"] for r in rows} == {"success", "bad_password"}
    assert api.get(f"/api/v1/accounts/login-history/?user={other.pk}").json()["count"] == 2
    page = Client()
    page.force_login(person)
    html = page.get("/accounts/logins/").content.decode()
    assert "我的登录记录" in html and "10.0.0.1" in html


def test_security_admin_sees_everyones_login_history(api, person, sec_admin, make_user):
    make_user(username="lisi")
    _login(Client(), "zhangwei", PASSWORD)
    _login(Client(), "lisi", "wrong")
    api.force_login(sec_admin)
    rows = api.get("/api/v1/accounts/login-history/").json()["results"]
    assert {"zhangwei", "lisi"} <= {r["username"] for r in rows}
    only = api.get(f"/api/v1/accounts/login-history/?user={person.pk}").json()["results"]
    assert {r["username"] for r in only} == {"zhangwei"}


def test_logout_is_recorded(client, person):
    _login(client, "zhangwei", PASSWORD)
    assert client.post("/accounts/logout/").status_code == 302
    assert LoginRecord.objects.filter(user=person, outcome="logout").exists()
    assert AuditEvent.objects.filter(action="accounts.session.logout").exists()
    assert client.get("/").status_code == 302


def test_session_ends_after_idle_timeout(client, person, settings):
    settings.GOVHUB_SESSION_IDLE_MINUTES = 30
    with time_machine.travel(T0, tick=False):
        _login(client, "zhangwei", PASSWORD)
        assert client.get("/").status_code == 200
    with time_machine.travel(T0 + dt.timedelta(minutes=29), tick=False):
        assert client.get("/").status_code == 200  # activity keeps the session alive
    with time_machine.travel(T0 + dt.timedelta(minutes=58), tick=False):
        assert client.get("/").status_code == 200
    with time_machine.travel(T0 + dt.timedelta(minutes=89), tick=False):
        resp = client.get("/")
        assert resp.status_code == 302 and "timeout=1" in resp["Location"]
        assert "会话已超时" in client.get(resp["Location"]).content.decode()
        assert client.get("/").status_code == 302
    assert LoginRecord.objects.filter(user=person, outcome="idle_timeout").exists()


def test_idle_timeout_is_configurable_and_answers_api_with_401(api, person, settings):
    settings.GOVHUB_SESSION_IDLE_MINUTES = 5
    with time_machine.travel(T0, tick=False):
        api.post(LOGIN, {"username": "zhangwei", "password": PASSWORD})
        assert api.get("/api/v1/accounts/me/").status_code == 200
    with time_machine.travel(T0 + dt.timedelta(minutes=6), tick=False):
        resp = api.get("/api/v1/accounts/me/")
        assert resp.status_code == 401
        assert resp.json()["error"]["code"] == "not_authenticated"


def test_new_account_must_change_password_before_anything_else(client, make_user):
    make_user(username="newbie", must_change_password=True)
    resp = _login(client, "newbie", PASSWORD)
    assert resp.status_code == 302
    dash = client.get("/")
    assert dash.status_code == 302 and dash["Location"] == "/accounts/password/"
    assert (
        client.get("/api/v1/accounts/units/").json()["error"]["code"] == "accounts.password_change_required"
    )
    page = client.get("/accounts/password/")
    assert "须先修改密码" in page.content.decode()
    resp = client.post(
        "/accounts/password/",
        {"old_password": PASSWORD, "new_password": "Fresh#Start2026", "new_password2": "Fresh#Start2026"},
    )
    assert resp.status_code == 302
    assert client.get("/").status_code == 200


def test_password_page_shows_errors_beside_the_field(client, person):
    client.force_login(person)
    resp = client.post(
        "/accounts/password/", {"old_password": "nope", "new_password": "short", "new_password2": "short"}
    )
    assert resp.status_code == 400
    assert "原密码不正确" in resp.content.decode()


def test_refused_request_is_audited(api, make_user):
    user = make_user(roles=[Role.UNIT_USER])
    api.force_login(user)
    assert api.get("/api/v1/accounts/lockouts/").status_code == 403
    event = AuditEvent.objects.get(action="accounts.access.denied")
    assert event.actor == user and event.details["path"] == "/api/v1/accounts/lockouts/"


def test_production_settings_hash_passwords_with_argon2():
    import importlib

    base = importlib.import_module("govhub.settings.base")
    assert base.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    from django.contrib.auth.hashers import make_password
    from django.test import override_settings

    with override_settings(PASSWORD_HASHERS=base.PASSWORD_HASHERS):
        assert make_password("Govhub#2026pass").startswith("argon2$")


def test_lockout_thresholds_come_from_settings(client, person, settings):
    settings.GOVHUB_LOCKOUT_FAILURES = 3
    settings.GOVHUB_LOCKOUT_MINUTES = 30
    with time_machine.travel(T0, tick=False):
        for _ in range(3):
            resp = _login(client, "zhangwei", "wrong")
        assert "30 分钟" in resp.content.decode()
        assert Lockout.objects.get().locked_until == T0 + dt.timedelta(minutes=30)
