"""A worker killed mid-job (kill -9) leaves the job retryable, not lost (issue 4, "Bad input and
faults") — tested with real processes: the database queue, ``manage.py govhub_worker``, SIGKILL.

The test runs this module as a script (a "driver") in a fresh process with its own database
(a temporary SQLite file, or a throw-away PostgreSQL database when the suite runs on PostgreSQL),
because the worker processes must see committed rows, which the test database's transaction
would hide. The driver prints one JSON line with what it observed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

SRC = Path(__file__).resolve().parents[2]


def sleepy(run_id: int) -> str:
    """First attempt: report progress, then hang (until killed). Later attempts: finish."""
    from core import jobs
    from core.models import JobRun

    jobs.progress(run_id, 1, 2, "第一批已处理")
    if JobRun.objects.get(pk=run_id).attempts == 1:
        time.sleep(120)
    jobs.progress(run_id, 2, 2, "全部完成")
    return "done"


def test_worker_killed_mid_job_leaves_it_retryable_and_a_new_worker_finishes_it(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(SRC), "GOVHUB_VAR_DIR": str(tmp_path)}
    env["DJANGO_SETTINGS_MODULE"] = "govhub.settings.base"
    env["GOVHUB_TASKS_BACKEND"] = "django_tasks_db.DatabaseBackend"
    env["GOVHUB_EMAIL_BACKEND"] = "django.core.mail.backends.locmem.EmailBackend"
    env["GOVHUB_LOG_LEVEL"] = "WARNING"
    parent_db = os.environ.get("DATABASE_URL", "")
    if parent_db.startswith("postgres"):
        parts = urlsplit(parent_db)
        env["DATABASE_URL"] = urlunsplit(
            parts._replace(path=f"/{parts.path.lstrip('/')}_jobs_worker_{os.getpid()}")
        )
    else:
        env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'worker.sqlite3'}"
    driver = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "core.tests.test_jobs_worker"],
        cwd=SRC,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert driver.returncode == 0, driver.stdout[-3000:] + driver.stderr[-3000:]
    seen = json.loads(driver.stdout.strip().splitlines()[-1])

    assert seen["before_kill"] == {"status": "running", "attempts": 1, "done": 1, "message": "第一批已处理"}
    assert seen["after_kill"]["status"] == "running"  # nobody is left to say otherwise
    assert seen["final"] == {
        "status": "succeeded",
        "attempts": 2,
        "done": 2,
        "message": "全部完成",
        "result": "done",
    }
    assert seen["first_queue_row"] == "FAILED"  # the lost delivery is closed, not left "running"
    assert seen["recover_audited"] == 1


# --- the driver -------------------------------------------------------------------------------


def _create_postgres_db(url: str) -> str:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return admin


def _drop_postgres_db(admin: str, url: str) -> None:
    import psycopg

    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _wait_for(predicate, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise TimeoutError("condition not reached")


def _start_worker(log: Path) -> subprocess.Popen:
    return subprocess.Popen(  # noqa: S603 - our own interpreter and manage.py
        [sys.executable, "manage.py", "govhub_worker", "--interval", "0.2"],
        cwd=SRC,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def main() -> None:
    url = os.environ["DATABASE_URL"]
    admin = _create_postgres_db(url) if url.startswith("postgres") else None
    workers: list[subprocess.Popen] = []
    try:
        from core.tests.processes import build_schema

        build_schema()

        from django.db import close_old_connections
        from django_tasks_db.models import DBTaskResult

        from core import jobs
        from core.models import AuditEvent, JobRun

        run = jobs.enqueue("core.tests.test_jobs_worker.sleepy", kind="test.sleepy")
        first_queue_row = run.task_result_id or JobRun.objects.get(pk=run.pk).task_result_id
        log = Path(os.environ["GOVHUB_VAR_DIR"]) / "worker.log"

        def snapshot() -> dict:
            close_old_connections()
            r = JobRun.objects.get(pk=run.pk)
            return {
                "status": r.status,
                "attempts": r.attempts,
                "done": r.progress_done,
                "message": r.progress_message,
            }

        workers.append(_start_worker(log))
        before = _wait_for(lambda: (s := snapshot())["done"] == 1 and s)
        workers[0].send_signal(signal.SIGKILL)
        workers[0].wait(timeout=10)
        after = snapshot()

        workers.append(_start_worker(log))  # recovers on start, then runs the job again
        _wait_for(lambda: snapshot()["status"] == "succeeded", timeout=60)
        final = {**snapshot(), "result": JobRun.objects.get(pk=run.pk).result}
        seen = {
            "before_kill": before,
            "after_kill": after,
            "final": final,
            "first_queue_row": DBTaskResult.objects.get(id=first_queue_row).status,
            "recover_audited": AuditEvent.objects.filter(
                action="core.job.recover", target_id=str(run.pk)
            ).count(),
        }
        print(json.dumps(seen, ensure_ascii=False))
    finally:
        for proc in workers:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
        if admin:
            from django.db import connections

            connections.close_all()
            _drop_postgres_db(admin, url)


if __name__ == "__main__":
    main()
