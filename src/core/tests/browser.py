"""What every browser test shares (Playwright driving Debian's ``/usr/bin/chromium``; never a
downloaded browser). Use::

    from core.tests.browser import BROWSER_TEST, signed_in_context

    pytestmark = BROWSER_TEST          # marked ``browser``, skipped where chromium is missing

    def test_x(browser, live_server):  # ``browser`` is the module-scoped fixture in src/conftest.py
        page = signed_in_context(browser, live_server, user).new_page()
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]

BROWSER_TEST = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium (/usr/bin/chromium) is not installed"),
]


@contextmanager
def launched_chromium():
    """Debian chromium under Playwright's sync API. That API runs an event loop in this thread;
    the ORM calls a test makes between page actions are still plain synchronous code."""
    sync_api = pytest.importorskip("playwright.sync_api")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_api.sync_playwright() as pw:
            chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
            try:
                yield chromium
            finally:
                chromium.close()
    finally:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


def sign_in(context, live_server, user) -> None:
    """Put ``user``'s session cookie (from Django's test client) into a browser context."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    name = settings.SESSION_COOKIE_NAME
    context.add_cookies([{"name": name, "value": client.cookies[name].value, "url": live_server.url}])


def signed_in_context(browser, live_server, user, **options):
    context = browser.new_context(locale="zh-CN", **options)
    sign_in(context, live_server, user)
    return context
