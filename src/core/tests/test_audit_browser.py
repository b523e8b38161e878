"""Browser journey (Playwright + Debian chromium): an auditor reads the audit trail (S§35) —
sees the unchained window, filters with HTMX, opens one event with its SM3 hashes, and
downloads the CSV export. Skipped where /usr/bin/chromium is missing (``make test`` installs it).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from accounts.roles import Role
from core.tests.browser import BROWSER_TEST, sign_in

pytestmark = BROWSER_TEST


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(accept_downloads=True, locale="zh-CN")
    yield context
    context.close()


def _login(context, live_server, user) -> None:
    sign_in(context, live_server, user)


def test_auditor_reads_filters_and_exports_the_trail_s35(page, live_server, make_user, make_unit, tmp_path):
    from accounts.models import Unit
    from core import audit

    auditor = make_user(roles=[Role.AUDITOR], unit=make_unit(kind=Unit.Kind.OVERSIGHT, name="芙蓉区审计局"))
    reader = make_user(roles=[Role.UNIT_USER], unit=make_unit(name="芙蓉区市场监督管理局"))
    audit.record(
        actor=reader,
        action="exchange.query.read",
        target_type="catalog.resource",
        target_id=7,
        target_label="企业登记信息",
        purpose="数据校核",
        details={"rows": 3},
    )
    audit.record(
        actor=reader,
        action="exchange.download.read",
        target_type="catalog.resource",
        target_id=8,
        target_label="人口基础信息",
        purpose="业务协同",
    )
    audit.chain_pending()
    audit.record(actor=reader, action="catalog.resource.update", target_label="不动产登记信息")

    _login(page, live_server, auditor)
    tab = page.new_page()
    tab.goto(f"{live_server.url}/audit/")
    status = tab.get_by_test_id("audit-chain-status")
    assert "条事件待链接" in status.inner_text()
    assert tab.get_by_test_id("audit-table").locator("tbody tr").count() == 3

    tab.fill("#id_purpose", "校核")
    tab.get_by_role("button", name="筛选").click()
    rows = tab.get_by_test_id("audit-table").locator("tbody tr")
    sync_api = pytest.importorskip("playwright.sync_api")
    sync_api.expect(rows).to_have_count(1)
    assert "企业登记信息" in rows.first.inner_text()
    assert "purpose=" in tab.url  # HTMX pushed the filter into the address bar
    tab.screenshot(path=str(tmp_path / "audit.png"), full_page=True)

    rows.first.locator("a").first.click()
    event = tab.get_by_test_id("audit-event")
    assert "exchange.query.read" in event.inner_text() and len(event.locator("code").last.inner_text()) == 64

    tab.go_back()
    sync_api.expect(rows).to_have_count(1)
    with tab.expect_download() as download:
        tab.get_by_test_id("audit-export-csv").click()
    data = Path(download.value.path()).read_bytes()
    text = data.decode("utf-8-sig")
    assert data.startswith("\ufeff".encode()) and "企业登记信息" in text and "人口基础信息" not in text
