"""Browser journey of a cloud application (Playwright + Debian chromium): apply → accept →
review → test → trial → agreement → production → change → terminate → reclaim.

The 30-calendar-day trial (C§12) is travelled over by moving the trial start back in the database
between two steps. Skipped where /usr/bin/chromium is missing (never downloads a browser).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from cloud.models import ApplicationStatus, CloudApplication
from cloud.tests.factories import minimal_pdf, owner, reviewer, standard_catalog
from core.tests.browser import BROWSER_TEST, signed_in_context

pytestmark = BROWSER_TEST


def _page_for(browser, live_server, user):
    return signed_in_context(browser, live_server, user).new_page()


def _status(page) -> str:
    return page.get_by_test_id("app-status").inner_text().strip()


@pytest.mark.django_db(transaction=True)
def test_cloud_journey_apply_to_reclaim_in_the_browser(browser, live_server):
    standard_catalog()
    unit_user, center_user = owner(), reviewer()
    unit, center = _page_for(browser, live_server, unit_user), _page_for(browser, live_server, center_user)
    base = live_server.url

    # The unit registers its system and applies (C§5, C§10).
    unit.goto(f"{base}/cloud/systems/new/")
    unit.fill("#id_name", "街道网格化管理系统")
    unit.select_option("#id_protection_level", "3")
    unit.get_by_test_id("submit").click()
    unit.goto(f"{base}/cloud/applications/new/")
    unit.fill("#id_construction_plan", "前后端分离，部署于政务云")
    unit.fill("#id_self_test_report", "性能与安全自测合格")
    unit.get_by_test_id("qty-ecs-4c8g").fill("2")
    unit.get_by_test_id("submit").click()
    assert _status(unit) == ApplicationStatus.SUBMITTED.label
    app = CloudApplication.objects.get()
    url = f"{base}/cloud/applications/{app.pk}/"

    # The center accepts, approves (resources provisioned), records the test (C§11-12, C§19).
    center.goto(url)
    center.get_by_test_id("do-accept").click()
    assert _status(center) == ApplicationStatus.ACCEPTED.label
    center.get_by_test_id("do-approve").click()
    assert _status(center) == ApplicationStatus.TESTING.label
    assert f"-ys{app.pk}-host01" in center.get_by_test_id("resources").inner_text()  # as provisioned
    center.get_by_test_id("performance").fill("性能合格")
    center.get_by_test_id("security").fill("安全合格")
    center.get_by_test_id("do-test-pass").click()
    assert _status(center) == ApplicationStatus.TRIAL.label

    # Signing before 30 calendar days of trial is refused; after them it is accepted (C§12-13).
    pdf = {"name": "托管协议.pdf", "mimeType": "application/pdf", "buffer": minimal_pdf()}
    center.get_by_test_id("agreement-file").set_input_files(pdf)
    center.get_by_test_id("do-sign").click()
    assert "不少于 30 个自然日" in center.content()
    CloudApplication.objects.filter(pk=app.pk).update(trial_started_at=timezone.now() - timedelta(days=30))
    center.goto(url)
    center.get_by_test_id("agreement-file").set_input_files(pdf)
    center.get_by_test_id("do-sign").click()
    assert _status(center) == ApplicationStatus.AGREEMENT_SIGNED.label
    center.get_by_test_id("do-go-live").click()
    assert _status(center) == ApplicationStatus.PRODUCTION.label

    # The unit asks for one more host (minor change, C§14); the center completes it.
    unit.goto(url)
    unit.get_by_test_id("change-qty-ecs-4c8g").fill("3")
    unit.get_by_test_id("change-reason").fill("业务量增长")
    unit.get_by_test_id("do-change").click()
    assert _status(unit) == ApplicationStatus.CHANGE_PENDING.label
    center.goto(url)
    center.get_by_test_id("do-change-approve").click()
    assert _status(center) == ApplicationStatus.PRODUCTION.label

    # Termination (C§15): confirmations, review, reclaim.
    unit.goto(url)
    unit.get_by_test_id("offboarding").check()
    unit.get_by_test_id("backup").check()
    unit.get_by_test_id("do-terminate").click()
    assert _status(unit) == ApplicationStatus.TERMINATION_PENDING.label
    center.goto(url)
    center.get_by_test_id("do-terminate-approve").click()
    assert _status(center) == ApplicationStatus.RECLAIMING.label
    center.get_by_test_id("do-reclaim").click()
    assert _status(center) == ApplicationStatus.TERMINATED.label
    app.refresh_from_db()
    assert not app.provisioned.filter(released_at__isnull=True).exists()
    assert len(center.get_by_test_id("timeline").locator("li").all()) == 11
