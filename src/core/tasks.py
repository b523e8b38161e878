"""Core background tasks and the core periodic schedule (run by ``manage.py govhub_worker``).

The schedule binds late: each entry names a function by dotted path, looked up when it runs, so
it works while a colleague's function does not exist yet (it is then skipped, status "missing").
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django_tasks import task

from core import jobs


@task()
def run_job(run_id: int) -> Any:
    """Run one recorded ``JobRun`` (every ``core.jobs.enqueue`` goes through here)."""
    return jobs.execute(run_id)


@task()
def run_periodic_task(name: str) -> str:
    """Run one periodic task claimed by the scheduler."""
    return jobs.run_periodic(name)


@task()
def send_notification_emails(notification_ids: list[int]) -> int:
    """Send the emails of committed notifications (failures are logged, never raised)."""
    from core.notify import send_emails

    return send_emails(notification_ids)


# Deadline clocks: mark overdue, remind the responsible people and the center (issue 4).
jobs.periodic("core.deadline_sweep", every=timedelta(minutes=10), func="core.deadlines.sweep")
# Audit trail: link committed events into the SM3 chain moments after they are written (S§35).
jobs.periodic("core.audit_chain", every=timedelta(seconds=5), func="core.audit.chain_pending", inline=True)
# Audit trail: verify the whole chain once a day and alert the security admin on a break.
jobs.periodic("core.audit_verify", every=timedelta(days=1), func="core.audit.verify_chain")
# Jobs whose worker died (kill -9, power loss) go back to the queue or are marked failed.
jobs.periodic("core.jobs_recover", every=timedelta(minutes=1), func="core.jobs.recover_stale", inline=True)
# Rate-limit counters of windows long past.
jobs.periodic("core.rate_sweep", every=timedelta(hours=1), func="core.ratelimit.sweep", inline=True)
# Finished rows of the database queue (periodic tasks add one every few seconds).
jobs.periodic("core.queue_prune", every=timedelta(hours=6), func="core.jobs.prune_queue_results")
