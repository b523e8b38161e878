"""Background jobs through the HTTP API: status and progress for those who may see them."""

from __future__ import annotations

import pytest

from accounts.roles import Role
from core.models import JobRun

pytestmark = pytest.mark.django_db


@pytest.fixture
def unit(make_unit):
    return make_unit()


@pytest.fixture
def creator(make_user, unit):
    return make_user(roles=[Role.DATA_OFFICER], unit=unit)


@pytest.fixture
def run(creator, unit):
    return JobRun.objects.create(
        kind="datastore.load",
        task_path="x.y",
        status=JobRun.Status.RUNNING,
        created_by=creator,
        unit_id=unit.pk,
        progress_done=250,
        progress_total=1000,
        progress_message="已校验 250 行",
        target_type="datastore.upload",
        target_id="7",
        target_label="人口.csv",
    )


def test_creator_polls_status_and_progress(api, creator, run):
    api.force_login(creator)
    body = api.get(f"/api/v1/core/jobs/{run.pk}/").json()
    assert body["status"] == "running" and body["status_label"] == "运行中"
    assert body["progress"] == {"done": 250, "total": 1000, "percent": 25, "message": "已校验 250 行"}
    assert body["target"] == {"type": "datastore.upload", "id": "7", "label": "人口.csv"}
    assert body["is_finished"] is False and body["created_by"] == creator.username


def test_unit_admin_of_the_creators_unit_and_center_staff_see_the_job(api, make_user, unit, center, run):
    for viewer in (
        make_user(roles=[Role.UNIT_ADMIN], unit=unit),
        make_user(roles=[Role.CENTER_REVIEWER], unit=center),
    ):
        api.force_login(viewer)
        assert api.get(f"/api/v1/core/jobs/{run.pk}/").status_code == 200
        assert [r["id"] for r in api.get("/api/v1/core/jobs/").json()["results"]] == [run.pk]


@pytest.mark.parametrize("role", [Role.DATA_OFFICER, Role.UNIT_USER, Role.AUDITOR])
def test_others_in_the_same_unit_get_404_and_an_empty_list(api, make_user, unit, run, role):
    api.force_login(make_user(roles=[role], unit=unit))
    resp = api.get(f"/api/v1/core/jobs/{run.pk}/")
    assert resp.status_code == 404 and resp.json()["error"]["code"] == "job_not_found"
    assert api.get("/api/v1/core/jobs/").json()["results"] == []


def test_admin_of_another_unit_gets_404(api, make_user, make_unit, run):
    api.force_login(make_user(roles=[Role.UNIT_ADMIN], unit=make_unit()))
    assert api.get(f"/api/v1/core/jobs/{run.pk}/").status_code == 404
    assert api.post(f"/api/v1/core/jobs/{run.pk}/retry/").status_code == 404


def test_list_filters_by_status(api, creator, run):
    JobRun.objects.create(kind="k", task_path="x.y", status=JobRun.Status.FAILED, created_by=creator)
    api.force_login(creator)
    assert [r["status"] for r in api.get("/api/v1/core/jobs/?status=failed").json()["results"]] == ["failed"]
    assert api.get("/api/v1/core/jobs/?status=bogus").json()["count"] == 2  # unknown filter ignored


def test_retrying_a_running_job_is_409_and_changes_nothing(api, creator, run):
    api.force_login(creator)
    resp = api.post(f"/api/v1/core/jobs/{run.pk}/retry/")
    assert resp.status_code == 409 and resp.json()["error"]["code"] == "job_not_retryable"
    run.refresh_from_db()
    assert run.status == JobRun.Status.RUNNING and run.attempts == 0


def test_retrying_a_failed_job_queues_it_again(api, creator, run, django_capture_on_commit_callbacks):
    JobRun.objects.filter(pk=run.pk).update(status=JobRun.Status.FAILED, error="boom", attempts=1)
    api.force_login(creator)
    with django_capture_on_commit_callbacks(execute=False):
        resp = api.post(f"/api/v1/core/jobs/{run.pk}/retry/")
    assert resp.status_code == 200 and resp.json()["status"] == "queued"


def test_unknown_job_id_is_404_not_500(api, creator):
    api.force_login(creator)
    assert api.get("/api/v1/core/jobs/999999/").status_code == 404
