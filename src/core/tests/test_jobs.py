"""Background jobs: enqueue after commit, status and progress, failure, retry, stale-worker
recovery, who may see a job, and the periodic schedule (issue 4, "Background jobs")."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.db import transaction
from django_tasks import task

from accounts.roles import Role
from core import jobs
from core.errors import Conflict, NotFound
from core.models import AuditEvent, JobRun, Notification, PeriodicTaskState

pytestmark = pytest.mark.django_db

SEEN: dict[str, list] = {"during": [], "calls": []}


@task()
def count_to(run_id: int, n: int) -> dict:
    for i in range(n):
        jobs.progress(run_id, i + 1, n, f"第 {i + 1} 步")
        run = JobRun.objects.get(pk=run_id)
        SEEN["during"].append((run.status, run.progress_done, run.progress_total, run.progress_message))
    return {"n": n}


@task()
def explode(run_id: int) -> None:
    raise ValueError("第 3 行格式错误")


def flaky(run_id: int) -> str:
    """A plain function (no @task) that fails on its first call only."""
    SEEN["calls"].append(run_id)
    if len(SEEN["calls"]) == 1:
        raise RuntimeError("暂时失败")
    return "ok"


@pytest.fixture(autouse=True)
def _reset_seen():
    SEEN["during"].clear()
    SEEN["calls"].clear()


@pytest.fixture
def officer(make_unit, make_user):
    return make_user(roles=[Role.DATA_OFFICER], unit=make_unit())


def _enqueue(task_obj, capture, **kwargs):
    with capture(execute=True):
        return jobs.enqueue(task_obj, **kwargs)


def test_job_runs_after_commit_and_records_progress_and_result(officer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        run = jobs.enqueue(count_to, kind="test.count", by=officer, target=officer.unit, n=3)
        assert JobRun.objects.get(pk=run.pk).status == JobRun.Status.QUEUED  # nothing runs before commit
    for cb in callbacks:
        cb()

    run.refresh_from_db()
    assert run.status == JobRun.Status.SUCCEEDED
    assert run.result == {"n": 3}
    assert (run.progress_done, run.progress_total, run.percent) == (3, 3, 100)
    assert run.attempts == 1 and run.started_at and run.finished_at and run.task_result_id
    assert run.target_type == "accounts.unit" and run.target_id == str(officer.unit.pk)
    assert run.unit_id == officer.unit_id and run.created_by == officer
    assert SEEN["during"][0] == (JobRun.Status.RUNNING, 1, 3, "第 1 步")
    assert list(
        AuditEvent.objects.filter(target_type="core.jobrun", target_id=str(run.pk))
        .order_by("id")
        .values_list("action", flat=True)
    ) == ["core.job.enqueue", "core.job.succeed"]
    note = Notification.objects.get(recipient=officer)
    assert note.event == "core.job.succeeded" and note.url == f"/jobs/{run.pk}/"


def test_job_enqueued_in_a_rolled_back_transaction_never_runs(officer, django_capture_on_commit_callbacks):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        jobs.enqueue(count_to, kind="test.count", by=officer, n=1)
        raise RuntimeError("caller failed")
    assert callbacks == []
    assert JobRun.objects.count() == 0
    assert SEEN["during"] == []


def test_failed_job_records_error_and_tells_the_creator(officer, django_capture_on_commit_callbacks):
    run = _enqueue(explode, django_capture_on_commit_callbacks, kind="test.explode", by=officer)
    run.refresh_from_db()
    assert run.status == JobRun.Status.FAILED
    assert run.error == "ValueError: 第 3 行格式错误"
    note = Notification.objects.get(recipient=officer)
    assert note.event == "core.job.failed" and "第 3 行格式错误" in note.body


def test_failed_job_can_be_retried_by_its_creator(officer, django_capture_on_commit_callbacks):
    run = _enqueue(
        "core.tests.test_jobs.flaky", django_capture_on_commit_callbacks, kind="test.flaky", by=officer
    )
    run.refresh_from_db()
    assert run.status == JobRun.Status.FAILED
    with django_capture_on_commit_callbacks(execute=True):
        jobs.job_retry(run=run, by=officer)
    run.refresh_from_db()
    assert run.status == JobRun.Status.SUCCEEDED and run.attempts == 2 and run.error == ""
    assert AuditEvent.objects.filter(action="core.job.retry", actor=officer).count() == 1


def test_only_failed_jobs_can_be_retried(officer, django_capture_on_commit_callbacks):
    run = _enqueue(count_to, django_capture_on_commit_callbacks, kind="test.count", by=officer, n=1)
    with pytest.raises(Conflict):
        jobs.job_retry(run=run, by=officer)
    assert not AuditEvent.objects.filter(action="core.job.retry").exists()


def test_a_stranger_cannot_retry_or_see_a_job(
    officer, make_user, make_unit, django_capture_on_commit_callbacks
):
    run = _enqueue(explode, django_capture_on_commit_callbacks, kind="test.explode", by=officer)
    stranger = make_user(roles=[Role.UNIT_ADMIN], unit=make_unit())
    with pytest.raises(NotFound):
        jobs.job_retry(run=run, by=stranger)
    run.refresh_from_db()
    assert run.status == JobRun.Status.FAILED


def test_task_arguments_must_be_json_values(officer):
    with pytest.raises(TypeError):
        jobs.enqueue(count_to, kind="test.count", by=officer, n=officer)
    assert JobRun.objects.count() == 0
    assert not AuditEvent.objects.filter(action="core.job.enqueue").exists()


def test_progress_done_is_clamped_to_total_and_ignored_when_not_running(officer):
    run = JobRun.objects.create(kind="k", task_path="x.y", status=JobRun.Status.RUNNING)
    jobs.progress(run.pk, 12, 10, "超出")
    run.refresh_from_db()
    assert (run.progress_done, run.progress_total) == (10, 10)
    done = JobRun.objects.create(kind="k", task_path="x.y", status=JobRun.Status.SUCCEEDED)
    jobs.progress(done.pk, 1, 2)
    done.refresh_from_db()
    assert done.progress_done == 0


# --- who may see a job ------------------------------------------------------------------------


def test_job_is_visible_to_creator_unit_admins_and_center_staff_only(make_unit, make_user, center):
    unit, other = make_unit(), make_unit()
    creator = make_user(roles=[Role.DATA_OFFICER], unit=unit)
    run = JobRun.objects.create(kind="k", task_path="x.y", created_by=creator, unit_id=unit.pk)
    allowed = [
        creator,
        make_user(roles=[Role.UNIT_ADMIN], unit=unit),
        make_user(roles=[Role.CENTER_ADMIN], unit=center),
        make_user(roles=[Role.CENTER_REVIEWER], unit=center),
    ]
    refused = [
        make_user(roles=[Role.DATA_OFFICER], unit=unit),  # a colleague, not an admin
        make_user(roles=[Role.UNIT_ADMIN], unit=other),
        make_user(roles=[Role.CENTER_ADMIN], unit=other),  # the role outside the center
        make_user(roles=[Role.AUDITOR], unit=center),
    ]
    for user in allowed:
        assert jobs.can_view_job(user, run), user
        assert jobs.job_get(user=user, pk=run.pk) == run
        assert list(jobs.job_list(user=user)) == [run]
    for user in refused:
        assert not jobs.can_view_job(user, run), user
        assert list(jobs.job_list(user=user)) == []
        with pytest.raises(NotFound):
            jobs.job_get(user=user, pk=run.pk)


def test_system_jobs_are_visible_to_center_staff_only(make_unit, make_user, center):
    run = JobRun.objects.create(kind="k", task_path="x.y")
    assert jobs.can_view_job(make_user(roles=[Role.CENTER_ADMIN], unit=center), run)
    assert not jobs.can_view_job(make_user(roles=[Role.UNIT_ADMIN], unit=make_unit()), run)


# --- a worker that disappears -----------------------------------------------------------------


def _running(**fields) -> JobRun:
    defaults = {
        "kind": "test.count",
        "task_path": "core.tests.test_jobs.count_to",
        "task_kwargs": {"n": 2},
        "status": JobRun.Status.RUNNING,
        "attempts": 1,
        "worker_host": "elsewhere",
        "worker_pid": 4242,
        "task_result_id": "lost-id",
    }
    defaults.update(fields)
    return JobRun.objects.create(**defaults)


@time_machine.travel(datetime(2026, 10, 9, 10, 0, tzinfo=UTC), tick=False)
def test_job_whose_worker_stopped_heartbeating_is_requeued_and_runs_again(django_capture_on_commit_callbacks):
    run = _running(heartbeat_at=datetime(2026, 10, 9, 9, 50, tzinfo=UTC))
    fresh = _running(heartbeat_at=datetime(2026, 10, 9, 9, 59, 30, tzinfo=UTC))

    with django_capture_on_commit_callbacks(execute=True):
        counts = jobs.recover_stale(stale_after=timedelta(minutes=2))

    assert counts == {"requeued": 1, "failed": 0, "redispatched": 0}
    run.refresh_from_db()
    assert run.status == JobRun.Status.SUCCEEDED and run.attempts == 2 and run.result == {"n": 2}
    fresh.refresh_from_db()
    assert fresh.status == JobRun.Status.RUNNING  # its worker is alive: untouched
    assert AuditEvent.objects.filter(action="core.job.recover", target_id=str(run.pk)).count() == 1


@time_machine.travel(datetime(2026, 10, 9, 10, 0, tzinfo=UTC), tick=False)
def test_stale_job_out_of_attempts_is_failed_but_retryable(officer, django_capture_on_commit_callbacks):
    run = _running(attempts=3, max_attempts=3, created_by=officer, unit_id=officer.unit_id, heartbeat_at=None)
    with django_capture_on_commit_callbacks(execute=True):
        assert jobs.recover_stale()["failed"] == 1
    run.refresh_from_db()
    assert run.status == JobRun.Status.FAILED and "已达最多尝试次数" in run.error
    with django_capture_on_commit_callbacks(execute=True):
        jobs.job_retry(run=run, by=officer)
    run.refresh_from_db()
    assert run.status == JobRun.Status.SUCCEEDED and run.attempts == 4


def test_job_of_a_dead_process_on_this_host_is_recovered_without_waiting(django_capture_on_commit_callbacks):
    proc = subprocess.Popen([sys.executable, "-c", "pass"])  # noqa: S603 - our own interpreter
    proc.wait()
    dead = _running(worker_host=jobs.HOSTNAME, worker_pid=proc.pid, heartbeat_at=jobs.timezone.now())
    alive = _running(worker_host=jobs.HOSTNAME, worker_pid=jobs.os.getpid(), heartbeat_at=jobs.timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        counts = jobs.recover_stale()
    assert counts["requeued"] == 1
    dead.refresh_from_db()
    alive.refresh_from_db()
    assert dead.status == JobRun.Status.SUCCEEDED
    assert alive.status == JobRun.Status.RUNNING


def test_queued_job_whose_dispatch_was_lost_is_sent_again(django_capture_on_commit_callbacks):
    with time_machine.travel(datetime(2026, 10, 9, 9, 0, tzinfo=UTC), tick=False):
        run = JobRun.objects.create(kind="k", task_path="core.tests.test_jobs.count_to", task_kwargs={"n": 1})
    with (
        time_machine.travel(datetime(2026, 10, 9, 10, 0, tzinfo=UTC), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert jobs.recover_stale()["redispatched"] == 1
    run.refresh_from_db()
    assert run.status == JobRun.Status.SUCCEEDED


def test_a_second_delivery_of_a_running_job_is_skipped():
    run = _running(heartbeat_at=jobs.timezone.now())
    assert jobs.execute(run.pk) is None
    run.refresh_from_db()
    assert run.status == JobRun.Status.RUNNING and run.attempts == 1


def test_scheduler_heartbeat_refreshes_only_this_workers_jobs():
    old = datetime(2026, 1, 1, tzinfo=UTC)
    mine = _running(worker_host=jobs.HOSTNAME, worker_pid=jobs.os.getpid(), heartbeat_at=old)
    theirs = _running(heartbeat_at=old)
    assert jobs.heartbeat() == 1
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.heartbeat_at > old and theirs.heartbeat_at == old


def test_worker_command_recovers_stale_jobs_on_start(django_capture_on_commit_callbacks):
    run = _running(heartbeat_at=datetime(2026, 1, 1, tzinfo=UTC))
    with django_capture_on_commit_callbacks(execute=True):
        call_command("govhub_worker", "--recover-only")
    run.refresh_from_db()
    assert run.status == JobRun.Status.SUCCEEDED


# --- periodic schedule ------------------------------------------------------------------------

CALLS: list[str] = []


def cheap() -> None:
    CALLS.append("cheap")


def broken() -> None:
    raise RuntimeError("sweep failed")


@pytest.fixture
def schedule(monkeypatch):
    monkeypatch.setattr(jobs, "_PERIODIC", {})
    CALLS.clear()
    return jobs


def test_core_schedule_registers_sweep_chain_verify_and_recovery():
    import core.tasks  # noqa: F401

    by_name = {p.name: p for p in jobs.load_schedules()}
    assert by_name["core.deadline_sweep"].func == "core.deadlines.sweep"
    assert by_name["core.deadline_sweep"].every == timedelta(minutes=10)
    assert by_name["core.audit_chain"].every == timedelta(seconds=5) and by_name["core.audit_chain"].inline
    assert by_name["core.audit_verify"].func == "core.audit.verify_chain"
    assert by_name["core.audit_verify"].every == timedelta(days=1)
    assert by_name["core.jobs_recover"].func == "core.jobs.recover_stale"
    assert by_name["core.queue_prune"].func == "core.jobs.prune_queue_results"


def test_two_workers_never_claim_the_same_periodic_slot(schedule):
    schedule.periodic("t.cheap", every=timedelta(minutes=10), func="core.tests.test_jobs.cheap")
    with time_machine.travel(datetime(2026, 10, 9, 10, 0, tzinfo=UTC), tick=False):
        assert [p.name for p in schedule.claim_due(worker="w1")] == ["t.cheap"]
        assert schedule.claim_due(worker="w2") == []
    with time_machine.travel(datetime(2026, 10, 9, 10, 9, tzinfo=UTC), tick=False):
        assert schedule.claim_due(worker="w2") == []
    with time_machine.travel(datetime(2026, 10, 9, 10, 10, tzinfo=UTC), tick=False):
        assert [p.name for p in schedule.claim_due(worker="w2")] == ["t.cheap"]
    state = PeriodicTaskState.objects.get(name="t.cheap")
    assert state.last_worker == "w2"
    assert state.next_run_at == datetime(2026, 10, 9, 10, 20, tzinfo=UTC)


def test_stale_claim_loses_when_another_worker_moved_the_slot(schedule):
    """The conditional UPDATE is the lock: a worker holding an old view of the row cannot win."""
    schedule.periodic("t.cheap", every=timedelta(minutes=10), func="core.tests.test_jobs.cheap")
    now = datetime(2026, 10, 9, 10, 0, tzinfo=UTC)
    state = PeriodicTaskState.objects.create(name="t.cheap", next_run_at=now)
    PeriodicTaskState.objects.filter(pk=state.pk).update(next_run_at=now + timedelta(minutes=10))
    won = PeriodicTaskState.objects.filter(pk=state.pk, next_run_at=state.next_run_at).update(
        last_worker="late"
    )
    assert won == 0


def test_tick_runs_due_tasks_and_records_their_outcome(schedule):
    schedule.periodic("t.cheap", every=timedelta(seconds=5), func="core.tests.test_jobs.cheap", inline=True)
    schedule.periodic("t.broken", every=timedelta(minutes=10), func="core.tests.test_jobs.broken")
    schedule.periodic("t.later", every=timedelta(minutes=10), func="core.no_such_module.sweep")
    with time_machine.travel(datetime(2026, 10, 9, 10, 0, tzinfo=UTC), tick=False):
        started = schedule.tick(worker="w1")
    assert sorted(started) == ["t.broken", "t.cheap", "t.later"]
    assert CALLS == ["cheap"]
    states = {s.name: s for s in PeriodicTaskState.objects.all()}
    assert states["t.cheap"].last_status == "succeeded"
    assert states["t.broken"].last_status == "failed" and "sweep failed" in states["t.broken"].last_error
    assert states["t.later"].last_status == "missing"  # late binding: not there yet, no crash


def test_periodic_interval_must_be_positive(schedule):
    with pytest.raises(ValueError):
        schedule.periodic("t.bad", every=timedelta(0), func="x.y")


def test_finished_queue_rows_older_than_a_week_are_pruned_running_ones_kept():
    from django_tasks_db.models import DBTaskResult

    def row(status, finished_at):
        return DBTaskResult.objects.create(
            args_kwargs={"args": [], "kwargs": {}},
            task_path="core.tasks.run_job",
            backend_name="default",
            status=status,
            finished_at=finished_at,
        )

    now = jobs.timezone.now()
    old_done = row("SUCCESSFUL", now - timedelta(days=8))
    old_failed = row("FAILED", now - timedelta(days=8))
    recent = row("SUCCESSFUL", now - timedelta(days=1))
    running = row("RUNNING", None)
    assert jobs.prune_queue_results() == 2
    assert set(DBTaskResult.objects.values_list("id", flat=True)) == {recent.id, running.id}
    assert not DBTaskResult.objects.filter(id__in=[old_done.id, old_failed.id]).exists()


def test_scheduler_step_heartbeats_and_starts_due_tasks(schedule):
    schedule.periodic("t.cheap", every=timedelta(seconds=5), func="core.tests.test_jobs.cheap", inline=True)
    old = datetime(2026, 1, 1, tzinfo=UTC)
    mine = _running(worker_host=jobs.HOSTNAME, worker_pid=jobs.os.getpid(), heartbeat_at=old)
    scheduler = jobs.Scheduler(worker="w1")
    scheduler.step()
    scheduler.step()  # same second: the slot is taken, nothing runs twice
    mine.refresh_from_db()
    assert mine.heartbeat_at > old
    assert CALLS == ["cheap"]


def test_worker_refuses_to_run_a_queue_it_does_not_own():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="不是数据库队列"):
        call_command("govhub_worker", "--batch")
