"""Background jobs on Django's tasks interface (django-tasks) with status and progress people can see.

For other apps::

    from django_tasks import task
    from core import jobs

    @task()
    def load_file(run_id: int, upload_id: int) -> dict:        # module level, in <app>/tasks.py
        for done, batch in enumerate(batches, 1):
            ...
            jobs.progress(run_id, done, total, "已校验 {} 行".format(done * 1000))
        return {"rows": n}

    run = jobs.enqueue(load_file, kind="datastore.load", by=user, target=upload, upload_id=upload.pk)

* ``enqueue`` records a ``JobRun`` and hands the queue only ``core.tasks.run_job(run_id)``. The job
  starts **after the caller's transaction commits** (with the database queue the queue row is
  written in the caller's transaction; with any other backend it is sent on commit). In tests
  (``ImmediateBackend``) wrap the call in ``django_capture_on_commit_callbacks(execute=True)``.
* Keyword arguments must be JSON values (ids, strings), never model instances.
* A job may run more than once: a worker killed mid-job (``kill -9``, power loss) leaves the run
  "running" with a heartbeat that stops; ``recover_stale`` puts it back in the queue (up to
  ``max_attempts``) or marks it failed, and a person may ``job_retry`` a failed run. So write
  tasks to be idempotent (e.g. a load replaces its staging table rather than appending).
* ``progress`` writes immediately; call it outside long transactions so pollers see it.

The periodic schedule (``periodic(...)``) is run by ``manage.py govhub_worker`` (see
``docs/decisions/0005-background-jobs.md``).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from django.conf import settings
from django.db import close_old_connections, models, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

from core import audit
from core.errors import Conflict, NotFound

logger = logging.getLogger(__name__)

#: A running job whose heartbeat is older than this is taken to have lost its worker.
STALE_AFTER = timedelta(seconds=getattr(settings, "GOVHUB_JOB_STALE_SECONDS", 120))
#: How often a worker refreshes the heartbeat of the jobs it is running.
HEARTBEAT_EVERY = timedelta(seconds=getattr(settings, "GOVHUB_JOB_HEARTBEAT_SECONDS", 10))
DEFAULT_MAX_ATTEMPTS = 3
#: Finished rows of the database queue are deleted after this long (``prune_queue_results``).
QUEUE_RESULT_RETENTION = timedelta(days=getattr(settings, "GOVHUB_TASK_RESULT_RETENTION_DAYS", 7))
HOSTNAME = socket.gethostname()[:255]


class JobError(str, Enum):
    """Stable error codes of background jobs."""

    NOT_FOUND = "job_not_found"
    NOT_RETRYABLE = "job_not_retryable"


class WorkerLost(Exception):
    """Recorded on the queue's own result row when recovery finds its worker gone."""


# --- enqueue ----------------------------------------------------------------------------------


def _task_path(task: Any) -> str:
    if isinstance(task, str):
        return task
    module_path = getattr(task, "module_path", None)  # a django-tasks Task
    if module_path:
        return module_path
    return f"{task.__module__}.{task.__qualname__}"


def uses_database_queue(backend: Any) -> bool:
    try:
        from django_tasks_db.backend import DatabaseBackend
    except ImportError:  # pragma: no cover - the package is a pinned dependency
        return False
    return isinstance(backend, DatabaseBackend)


def _dispatch(run_id: int, queue_name: str) -> None:
    """Put ``run_job(run_id)`` on the queue and remember the queue's result id."""
    from core.models import JobRun
    from core.tasks import run_job

    result = run_job.using(queue_name=queue_name).enqueue(run_id)
    JobRun.objects.filter(pk=run_id).update(task_result_id=str(result.id)[:64])


def _dispatch_after_commit(run_id: int, queue_name: str) -> None:
    """Queue the run so that it starts only once the caller's transaction has committed."""
    from core.tasks import run_job

    if uses_database_queue(run_job.get_backend()):
        # The queue row is part of the caller's transaction: both commit or neither does.
        _dispatch(run_id, queue_name)
        return

    def send() -> None:
        try:
            _dispatch(run_id, queue_name)
        except Exception:  # the caller has committed; recover_stale re-dispatches later
            logger.exception("后台任务 %s 未能加入队列，将由恢复程序重新派发", run_id)

    transaction.on_commit(send)


def enqueue(
    task: Any,
    *,
    kind: str,
    by: Any = None,
    target: models.Model | None = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    notify_on_finish: bool = True,
    **kwargs: Any,
) -> Any:
    """Record a ``JobRun`` for ``task`` (a django-tasks ``Task``, function or dotted path) and queue it.

    ``task`` is called as ``task(run_id=<JobRun id>, **kwargs)``. Returns the ``JobRun``.
    """
    from django_tasks.utils import normalize_json

    from core.models import JobRun

    if "run_id" in kwargs:
        raise TypeError("run_id is supplied by core.jobs")
    task_kwargs = normalize_json(kwargs)  # TypeError for anything that is not a JSON value
    queue_name = getattr(task, "queue_name", "default")
    if by is not None and not getattr(by, "is_authenticated", False):
        by = None
    run = JobRun(
        kind=kind[:100],
        task_path=_task_path(task),
        task_kwargs=task_kwargs,
        queue_name=queue_name,
        created_by=by,
        unit_id=getattr(by, "unit_id", None),
        max_attempts=max(1, int(max_attempts)),
        notify_on_finish=notify_on_finish,
    )
    if target is not None:
        run.target_type = f"{target._meta.app_label}.{target._meta.model_name}"
        run.target_id = str(target.pk)
        run.target_label = str(target)[:300]
    with transaction.atomic():
        run.save()
        audit.record(action="core.job.enqueue", actor=by, target=run, details={"kind": run.kind})
        _dispatch_after_commit(run.pk, queue_name)
    return run


# --- inside a task ----------------------------------------------------------------------------


def progress(run_id: int, done: int, total: int | None = None, message: str = "") -> None:
    """Report progress of a running job (``done`` of ``total``; ``total`` None = unknown)."""
    from core.models import JobRun

    done = max(0, int(done))
    fields: dict[str, Any] = {"progress_done": done, "heartbeat_at": timezone.now()}
    if total is not None:
        total = max(0, int(total))
        if done > total:
            logger.warning("job %s progress %s > total %s; clamped", run_id, done, total)
            fields["progress_done"] = total
        fields["progress_total"] = total
    if message:
        fields["progress_message"] = str(message)[:300]
    JobRun.objects.filter(pk=run_id, status=JobRun.Status.RUNNING).update(**fields)


def _resolve(path: str) -> Callable[..., Any]:
    """Late binding: the function is looked up when the job runs, not when it is queued."""
    from django_tasks.base import Task

    obj = import_string(path)
    if isinstance(obj, Task):
        return obj.call
    if not callable(obj):
        raise TypeError(f"{path} is not callable")
    return obj


def execute(run_id: int) -> Any:
    """Run one ``JobRun`` (the body of ``core.tasks.run_job``): claim, call, record the outcome."""
    from django_tasks.utils import normalize_json

    from core.models import JobRun

    now = timezone.now()
    with transaction.atomic():
        run = JobRun.objects.select_for_update().filter(pk=run_id).first()
        if run is None:
            logger.warning("后台任务 %s 不存在，跳过", run_id)
            return None
        if run.status != JobRun.Status.QUEUED:
            # Delivered twice (e.g. recovered while the first delivery was still in the queue).
            logger.info("后台任务 %s 状态为 %s，跳过本次投递", run_id, run.status)
            return None
        run.status = JobRun.Status.RUNNING
        run.attempts += 1
        run.started_at = now
        run.heartbeat_at = now
        run.finished_at = None
        run.worker_host = HOSTNAME
        run.worker_pid = os.getpid()
        run.error = ""
        run.save()
    attempt = run.attempts
    mine = JobRun.objects.filter(pk=run.pk, status=JobRun.Status.RUNNING, attempts=attempt)
    try:
        value = _resolve(run.task_path)(run_id=run.pk, **run.task_kwargs)
        try:
            value = normalize_json(value)
        except (TypeError, ValueError):
            value = None
    except Exception as exc:
        with transaction.atomic():
            if mine.update(
                status=JobRun.Status.FAILED,
                finished_at=timezone.now(),
                error=f"{type(exc).__name__}: {exc}"[:4000],
            ):
                _finished(run.pk, ok=False)
        raise
    with transaction.atomic():
        fields: dict[str, Any] = {
            "status": JobRun.Status.SUCCEEDED,
            "finished_at": timezone.now(),
            "result": value,
        }
        if mine.update(**fields):
            JobRun.objects.filter(pk=run.pk, progress_total__isnull=False).update(
                progress_done=models.F("progress_total")
            )
            _finished(run.pk, ok=True)
    return value


def _finished(run_id: int, *, ok: bool) -> None:
    """Audit the outcome and tell the person who started the job."""
    from core.models import JobRun
    from core.notify import notify

    run = JobRun.objects.select_related("created_by").get(pk=run_id)
    audit.record(
        action="core.job.succeed" if ok else "core.job.fail",
        target=run,
        details={"kind": run.kind, "attempt": run.attempts, "error": run.error[:500]},
    )
    if run.created_by_id and (run.notify_on_finish or not ok):
        notify(
            event="core.job.succeeded" if ok else "core.job.failed",
            users=[run.created_by],
            title=str(_("后台任务已完成：{}") if ok else _("后台任务失败：{}")).format(run.kind),
            body=run.target_label if ok else run.error[:1000],
            url=f"/jobs/{run.pk}/",
        )


# --- recovery ---------------------------------------------------------------------------------


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _worker_gone(run: Any, now: datetime, stale_after: timedelta) -> bool:
    if run.heartbeat_at is None or run.heartbeat_at < now - stale_after:
        return True
    # Same machine: a dead process is gone now, no need to wait for the heartbeat to age.
    return bool(run.worker_host == HOSTNAME and run.worker_pid and not _pid_alive(run.worker_pid))


def _fail_queue_result(task_result_id: str, now: datetime) -> None:
    """Close the database queue's own row of a lost run, so its admin does not show it running."""
    if not task_result_id:
        return
    try:
        from django_tasks_db.models import DBTaskResult
    except ImportError:  # pragma: no cover
        return
    try:
        DBTaskResult.objects.filter(id=task_result_id, status="RUNNING").update(
            status="FAILED",
            finished_at=now,
            exception_class_path=f"{WorkerLost.__module__}.{WorkerLost.__qualname__}",
            traceback="worker lost (recovered by core.jobs.recover_stale)",
        )
    except Exception:  # not a UUID (another backend's id): nothing of ours to close
        logger.debug("queue result %s not closed", task_result_id, exc_info=True)


def recover_stale(*, now: datetime | None = None, stale_after: timedelta | None = None) -> dict[str, int]:
    """Find runs whose worker is gone and make them retryable; re-send runs whose dispatch was lost.

    A run still under ``max_attempts`` goes back to the queue; otherwise it is marked failed with
    the reason, and a person may retry it. Returns counts (requeued, failed, redispatched).
    """
    from core.models import JobRun

    now = now or timezone.now()
    stale_after = STALE_AFTER if stale_after is None else stale_after
    counts = {"requeued": 0, "failed": 0, "redispatched": 0}
    for run_id in JobRun.objects.filter(status=JobRun.Status.RUNNING).values_list("pk", flat=True):
        with transaction.atomic():
            run = JobRun.objects.select_for_update().get(pk=run_id)
            if run.status != JobRun.Status.RUNNING or not _worker_gone(run, now, stale_after):
                continue
            lost = f"{run.worker_host}:{run.worker_pid}"
            _fail_queue_result(run.task_result_id, now)
            if run.attempts < run.max_attempts:
                run.status = JobRun.Status.QUEUED
                run.error = str(_("工作进程中断（{}），任务已重新排队。")).format(lost)
                counts["requeued"] += 1
            else:
                run.status = JobRun.Status.FAILED
                run.finished_at = now
                run.error = str(_("工作进程中断（{}），已达最多尝试次数，可手动重试。")).format(lost)
                counts["failed"] += 1
            run.task_result_id = ""
            run.worker_pid = None
            run.save()
            audit.record(
                action="core.job.recover",
                target=run,
                details={"status": run.status, "attempts": run.attempts, "lost_worker": lost},
            )
            if run.status == JobRun.Status.QUEUED:
                _dispatch_after_commit(run.pk, run.queue_name)
    lost_dispatch = JobRun.objects.filter(
        status=JobRun.Status.QUEUED, task_result_id="", created_at__lt=now - stale_after
    )
    for run_id, queue_name in lost_dispatch.values_list("pk", "queue_name"):
        with transaction.atomic():
            _dispatch_after_commit(run_id, queue_name)
        counts["redispatched"] += 1
    if any(counts.values()):
        logger.warning("后台任务恢复：%s", counts)
    return counts


def heartbeat(*, host: str = HOSTNAME, pid: int | None = None, now: datetime | None = None) -> int:
    """Refresh the heartbeat of every job this worker process is running (called by its scheduler)."""
    from core.models import JobRun

    return JobRun.objects.filter(
        status=JobRun.Status.RUNNING, worker_host=host, worker_pid=pid or os.getpid()
    ).update(heartbeat_at=now or timezone.now())


def prune_queue_results(*, older_than: timedelta | None = None) -> int:
    """Delete finished rows of the database queue older than ``older_than`` (default 7 days).

    Periodic tasks put a queue row every few seconds; ``JobRun`` keeps the history people need.
    """
    try:
        from django_tasks_db.models import DBTaskResult
    except ImportError:  # pragma: no cover
        return 0
    cutoff = timezone.now() - (older_than or QUEUE_RESULT_RETENTION)
    deleted, _rows = DBTaskResult.objects.finished().filter(finished_at__lt=cutoff).delete()
    return deleted


# --- who may see a job ------------------------------------------------------------------------


def _is_center_staff(user: Any) -> bool:
    from accounts.roles import Role

    unit = getattr(user, "unit", None)
    return bool(
        unit is not None and unit.kind == "center" and user.has_role(Role.CENTER_ADMIN, Role.CENTER_REVIEWER)
    )


def can_view_job(user: Any, run: Any) -> bool:
    """The creator, the admins of the creator's unit, and center staff (issue 4)."""
    from accounts.roles import Role

    if user is None or not user.is_authenticated:
        return False
    if run.created_by_id is not None and run.created_by_id == user.pk:
        return True
    if _is_center_staff(user):
        return True
    return bool(run.unit_id is not None and run.unit_id == user.unit_id and user.has_role(Role.UNIT_ADMIN))


def job_list(*, user: Any) -> QuerySet:
    """Runs the user may see, newest first."""
    from accounts.roles import Role
    from core.models import JobRun

    if user is None or not user.is_authenticated:
        return JobRun.objects.none()
    if _is_center_staff(user):
        return JobRun.objects.all()
    visible = Q(created_by=user)
    if user.has_role(Role.UNIT_ADMIN):
        visible |= Q(unit_id=user.unit_id)
    return JobRun.objects.filter(visible)


def job_get(*, user: Any, pk: Any) -> Any:
    """One run the user may see; any other is "not found" (existence does not leak)."""
    from core.models import JobRun

    try:
        return job_list(user=user).select_related("created_by").get(pk=int(pk))
    except (JobRun.DoesNotExist, TypeError, ValueError):
        raise NotFound(JobError.NOT_FOUND, _("未找到该后台任务。"))


@transaction.atomic
def job_retry(*, run: Any, by: Any) -> Any:
    """A person who may see a failed run puts it back in the queue."""
    from core.models import JobRun

    run = job_get(user=by, pk=getattr(run, "pk", run))
    run = JobRun.objects.select_for_update().get(pk=run.pk)
    if run.status != JobRun.Status.FAILED:
        raise Conflict(JobError.NOT_RETRYABLE, _("只有失败的后台任务可以重试。"), {"status": run.status})
    run.status = JobRun.Status.QUEUED
    run.max_attempts = run.attempts + DEFAULT_MAX_ATTEMPTS
    run.finished_at = None
    run.task_result_id = ""
    run.progress_done = 0
    run.save()
    audit.record(action="core.job.retry", actor=by, target=run, details={"attempts": run.attempts})
    _dispatch_after_commit(run.pk, run.queue_name)
    return run


# --- periodic schedule ------------------------------------------------------------------------


@dataclass(frozen=True)
class Periodic:
    """A task the worker runs every ``every``. ``func`` is a dotted path, looked up at run time."""

    name: str
    every: timedelta
    func: str
    inline: bool = False  # run in the scheduler thread (cheap, frequent) instead of the queue


_PERIODIC: dict[str, Periodic] = {}


def periodic(name: str, *, every: timedelta, func: str, inline: bool = False) -> Periodic:
    """Register (or replace) a periodic task. Apps call this in their ``tasks.py``."""
    if every <= timedelta(0):
        raise ValueError("every must be positive")
    entry = Periodic(name=name, every=every, func=func, inline=inline)
    _PERIODIC[name] = entry
    return entry


def periodic_tasks() -> list[Periodic]:
    return sorted(_PERIODIC.values(), key=lambda p: p.name)


def load_schedules() -> list[Periodic]:
    """Import every GovHub app's ``tasks`` module so its ``periodic(...)`` calls register."""
    import importlib

    for app in settings.INSTALLED_APPS:
        if "." in app:
            continue
        try:
            importlib.import_module(f"{app}.tasks")
        except ModuleNotFoundError as exc:
            if exc.name != f"{app}.tasks":
                raise
    return periodic_tasks()


def claim_due(*, now: datetime | None = None, worker: str = "") -> list[Periodic]:
    """Claim every periodic task whose time has come. One conditional UPDATE per task decides
    which worker gets a slot, so two workers never both run it."""
    from core.models import PeriodicTaskState

    now = now or timezone.now()
    claimed: list[Periodic] = []
    for entry in periodic_tasks():
        state, _created = PeriodicTaskState.objects.get_or_create(
            name=entry.name, defaults={"next_run_at": now}
        )
        if state.next_run_at > now:
            continue
        won = PeriodicTaskState.objects.filter(pk=state.pk, next_run_at=state.next_run_at).update(
            next_run_at=now + entry.every, last_run_at=now, last_worker=worker[:255]
        )
        if won:
            claimed.append(entry)
    return claimed


def run_periodic(name: str) -> str:
    """Run one periodic task now and record how it ended. A function that does not exist (yet)
    is skipped quietly: the schedule binds late."""
    from core.models import PeriodicTaskState

    entry = _PERIODIC.get(name)
    if entry is None:
        load_schedules()
        entry = _PERIODIC.get(name)
    status, error = "succeeded", ""
    if entry is None:
        status = "missing"
    else:
        module_path, _sep, attr = entry.func.rpartition(".")
        try:
            func = getattr(import_string(module_path), attr, None) if module_path else None
        except ImportError:
            func = None
        if func is None:
            status = "missing"
        else:
            try:
                func()
            except Exception as exc:
                logger.exception("定时任务 %s 失败", name)
                status, error = "failed", f"{type(exc).__name__}: {exc}"[:4000]
    PeriodicTaskState.objects.filter(name=name).update(
        last_finished_at=timezone.now(), last_status=status, last_error=error
    )
    return status


def tick(*, now: datetime | None = None, worker: str = "") -> list[str]:
    """One scheduler step: run or enqueue every due periodic task. Returns the names started."""
    from core.tasks import run_periodic_task

    started = []
    for entry in claim_due(now=now, worker=worker):
        if entry.inline:
            run_periodic(entry.name)
        else:
            run_periodic_task.enqueue(entry.name)
        started.append(entry.name)
    return started


class Scheduler(threading.Thread):
    """The worker's second thread: heartbeats for its running jobs and the periodic schedule."""

    def __init__(self, *, worker: str, interval: float = 1.0) -> None:
        super().__init__(name="govhub-scheduler", daemon=True)
        self.worker = worker
        self.interval = interval
        self._stop_event = threading.Event()
        self._last_heartbeat: datetime | None = None

    def stop(self) -> None:
        self._stop_event.set()

    def step(self) -> None:
        now = timezone.now()
        if self._last_heartbeat is None or now - self._last_heartbeat >= HEARTBEAT_EVERY:
            heartbeat(now=now)
            self._last_heartbeat = now
        tick(now=now, worker=self.worker)

    def run(self) -> None:
        from django.db import connection

        try:
            while not self._stop_event.is_set():
                close_old_connections()
                try:
                    self.step()
                except Exception:
                    logger.exception("调度线程出错，稍后重试")
                self._stop_event.wait(self.interval)
        finally:
            connection.close()
