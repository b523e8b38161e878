"""Browser journey (Playwright + Debian chromium): a data officer registers a resource with data
items, passes the secrecy review, the center publishes it, and another unit finds it in the
unconditional catalog and by search. Skipped where /usr/bin/chromium is missing."""

from __future__ import annotations

import pytest

from accounts.roles import Role
from core.tests.browser import BROWSER_TEST, signed_in_context

pytestmark = BROWSER_TEST


def _page_as(browser, live_server, user):
    """A browser tab signed in as ``user``."""
    return signed_in_context(browser, live_server, user).new_page()


@pytest.mark.django_db(transaction=True)
def test_register_review_publish_and_find_in_the_browser_s15(
    browser, live_server, make_user, make_unit, center
):
    from catalog.models import Resource

    provider = make_unit(name="芙蓉公安分局", code="430188101")
    officer = make_user(roles=[Role.DATA_OFFICER], unit=provider)
    reviewer = make_user(roles=[Role.CENTER_REVIEWER], unit=center)
    reader = make_user(roles=[Role.UNIT_USER], unit=make_unit(name="定王台街道", code="430188109"))
    base = live_server.url

    page = _page_as(browser, live_server, officer)
    page.goto(f"{base}/catalog/resources/new/")
    page.fill("[name=name]", "辖区常住人口基本信息")
    page.select_option("[name=classification]", "11")
    page.select_option("[name=sharing_type]", "unconditional")
    page.select_option("[name=update_cycle]", "daily")
    page.fill("[name=summary]", "辖区常住人口的身份与居住信息")
    page.fill("[name=items-0-code]", "sfzh")
    page.fill("[name=items-0-name]", "公民身份号码")
    page.select_option("[name=items-0-identifier_kind]", "id_card")
    page.check("[name=items-0-is_key]")
    page.fill("[name=items-1-code]", "xm")
    page.fill("[name=items-1-name]", "姓名")
    page.click("[data-testid=add-item]")  # HTMX adds a fourth row
    page.wait_for_selector("[name=items-3-code]")
    page.fill("[name=items-3-code]", "jzdz")
    page.fill("[name=items-3-name]", "居住地址")
    page.click("[data-testid=save]")
    page.wait_for_selector("[data-testid=resource-status]")
    assert page.inner_text("[data-testid=resource-status]") == "草稿"
    assert "居住地址" in page.inner_text("[data-testid=item-list]")
    page.click("[data-testid=submit]")
    page.wait_for_selector("[data-testid=secrecy-confirm]")
    page.check("[name=no_state_secrets]")
    page.click("[data-testid=secrecy-confirm]")
    page.wait_for_selector("text=待中心审核")
    resource = Resource.objects.get(name="辖区常住人口基本信息")
    assert [i.code for i in resource.items.all()] == ["sfzh", "xm", "jzdz"]

    page = _page_as(browser, live_server, reviewer)
    page.goto(f"{base}/catalog/review/")
    page.click("text=辖区常住人口基本信息")
    page.click("[data-testid=approve]")
    page.wait_for_selector("text=已发布")
    assert page.inner_text("[data-testid=resource-code]") == "1143018810100001"

    page = _page_as(browser, live_server, reader)
    page.goto(f"{base}/catalog/unconditional/")
    assert "辖区常住人口基本信息" in page.inner_text("[data-testid=resource-table]")
    page.goto(f"{base}/catalog/")
    page.fill("[data-testid=search-q]", "人口基本")
    page.click("[data-testid=search-submit]")
    page.wait_for_selector("[data-testid=search-results] >> text=辖区常住人口基本信息")
    page.fill("[data-testid=search-q]", "居住地址")  # a data item name, found through the HTMX form
    page.click("[data-testid=search-submit]")
    page.wait_for_selector("[data-testid=search-results] >> text=辖区常住人口基本信息")
