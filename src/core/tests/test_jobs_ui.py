"""Background jobs in the browser: the page and the HTMX progress partial that stops polling."""

from __future__ import annotations

import pytest

from accounts.roles import Role
from core.models import JobRun

pytestmark = pytest.mark.django_db


@pytest.fixture
def creator(make_user, make_unit):
    return make_user(roles=[Role.DATA_OFFICER], unit=make_unit())


@pytest.fixture
def run(creator):
    return JobRun.objects.create(
        kind="datastore.load",
        task_path="x.y",
        status=JobRun.Status.RUNNING,
        created_by=creator,
        unit_id=creator.unit_id,
        progress_done=40,
        progress_total=160,
        progress_message="已校验 40 行",
        target_label="人口.csv",
    )


def test_job_page_shows_progress_and_polls_while_running(client, creator, run):
    client.force_login(creator)
    page = client.get(f"/jobs/{run.pk}/").content.decode()
    assert "人口.csv" in page and "已校验 40 行" in page and "25%" in page
    assert f'hx-get="/jobs/{run.pk}/progress/"' in page


def test_progress_partial_stops_polling_once_finished(client, creator, run):
    client.force_login(creator)
    JobRun.objects.filter(pk=run.pk).update(status=JobRun.Status.SUCCEEDED, progress_done=160)
    html = client.get(f"/jobs/{run.pk}/progress/", HTTP_HX_REQUEST="true").content.decode()
    assert 'data-status="succeeded"' in html and "100%" in html
    assert "hx-trigger" not in html


def test_someone_else_cannot_open_the_job_page(client, make_user, make_unit, run):
    client.force_login(make_user(roles=[Role.UNIT_ADMIN], unit=make_unit()))
    assert client.get(f"/jobs/{run.pk}/").status_code == 404
    assert client.get(f"/jobs/{run.pk}/progress/").status_code == 404


def test_failed_job_offers_retry_and_retry_requeues(client, creator, run, django_capture_on_commit_callbacks):
    JobRun.objects.filter(pk=run.pk).update(status=JobRun.Status.FAILED, error="ValueError: 第 3 行格式错误")
    client.force_login(creator)
    page = client.get(f"/jobs/{run.pk}/").content.decode()
    assert "第 3 行格式错误" in page and 'data-testid="job-retry"' in page
    with django_capture_on_commit_callbacks(execute=False):
        resp = client.post(f"/jobs/{run.pk}/retry/", follow=True)
    assert "后台任务已重新排队" in resp.content.decode()
    run.refresh_from_db()
    assert run.status == JobRun.Status.QUEUED


def test_retrying_a_running_job_shows_the_reason(client, creator, run):
    client.force_login(creator)
    resp = client.post(f"/jobs/{run.pk}/retry/", follow=True)
    assert "只有失败的后台任务可以重试" in resp.content.decode()


def test_job_list_shows_visible_jobs(client, creator, run):
    client.force_login(creator)
    assert "datastore.load" in client.get("/jobs/").content.decode()
