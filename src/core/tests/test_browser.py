"""Browser journey (Playwright + Debian chromium): every demo role signs in with the initial
password, is made to change it (等保 level 3, forced first-login change), sees the navigation of
its roles, and signs out. The dashboard screenshot for the README is taken on the way.

Never downloads a browser: it drives ``/usr/bin/chromium`` and is skipped where that is missing
(``make test`` installs it with apt).
"""

from __future__ import annotations

import pytest
from django.conf import settings

from accounts.roles import Role
from core.tests.browser import BROWSER_TEST

SCREENSHOT = settings.BASE_DIR / "docs" / "img" / "dashboard.png"
NEW_PASSWORD = "Lushan#Road2026"

pytestmark = BROWSER_TEST


@pytest.fixture
def demo_district(transactional_db):
    from io import StringIO

    from django.core.management import call_command

    call_command("demo_load", stdout=StringIO())


def _one_user_per_role() -> list[tuple[str, str]]:
    from accounts.demo import USERS

    chosen: dict[str, str] = {}
    for spec in USERS:
        for role in spec.roles:
            chosen.setdefault(role, spec.username)
    assert set(chosen) == set(Role.values), "the demo district must have a user for every role"
    return [(role, chosen[role]) for role in Role.values]


def _expected_nav(username: str) -> list[str]:
    """What the server says this person may reach: the navigation must show exactly this."""
    from accounts.models import User
    from core.navigation import menu_for

    user = User.objects.get(username=username)
    return ["我的待办"] + [item["label"] for group in menu_for(user) for item in group["items"]]


def _login(page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("#gh-main form button[type=submit]")


def test_every_demo_role_logs_in_changes_initial_password_sees_its_navigation_and_logs_out(
    browser, live_server, demo_district
):
    from accounts.demo import DEMO_PASSWORD
    from accounts.models import User

    base = live_server.url
    navs: dict[str, list[str]] = {}
    # One browser context for all: the static files stay in its cache; logging out ends each session.
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(10_000)

    # A wrong password keeps the person on the login page with a message (and counts a failure).
    _login(page, base, "ga.officer", "not-the-password")
    assert "/accounts/login/" in page.url
    assert page.locator("#gh-main .alert-danger").count() == 1

    for role, username in _one_user_per_role():
        _login(page, base, username, DEMO_PASSWORD)
        # Forced change: nothing else is reachable before the initial password is replaced.
        page.wait_for_url("**/accounts/password/**")
        page.goto(f"{base}/")
        page.wait_for_url("**/accounts/password/**")
        page.fill("#id_old_password", DEMO_PASSWORD)
        page.fill("#id_new_password", NEW_PASSWORD)
        page.fill("#id_new_password2", NEW_PASSWORD)
        page.click("#gh-main form button[type=submit]")
        page.wait_for_url(f"{base}/")

        user = User.objects.get(username=username)
        assert not user.must_change_password and user.check_password(NEW_PASSWORD), username
        header = page.get_by_test_id("user-box")
        assert user.unit.name in header.inner_text()
        assert str(Role(role).label) in page.get_by_test_id("user-roles").inner_text()

        shown = [t.strip() for t in page.get_by_test_id("nav").locator("a.nav-link").all_inner_texts()]
        assert shown == _expected_nav(username), (role, shown)
        navs[role] = shown

        if role == Role.CENTER_REVIEWER:
            page.goto(f"{base}/")  # without the one-off "password changed" message
            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOT), full_page=False)

        page.get_by_test_id("logout").click()
        page.wait_for_url("**/accounts/login/**")
        page.goto(f"{base}/")
        assert "/accounts/login/" in page.url  # the session really ended
    context.close()

    # Role-based navigation: account administration is not for ordinary unit staff, and
    # lockouts are the security administrator's alone (三员分立).
    for role in (Role.UNIT_USER, Role.DATA_OFFICER, Role.SYSTEM_OWNER):
        assert "用户管理" not in navs[role] and "单位管理" not in navs[role], role
    assert "账号锁定" in navs[Role.SEC_ADMIN]
    assert all("账号锁定" not in nav for role, nav in navs.items() if role != Role.SEC_ADMIN)
