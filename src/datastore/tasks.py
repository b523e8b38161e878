"""Background work of the data store, run through ``core.jobs`` (django-tasks, database queue).
Tasks only call services."""

from __future__ import annotations

from datetime import timedelta

from django_tasks import task

from core import jobs


@task()
def load_task(run_id: int, load_id: int) -> dict:
    """Run one load; progress goes to the ``Load`` row and to the job run (UI and API poll)."""
    from .services import load_run

    load = load_run(load_id=load_id, run_id=run_id)
    return {"load": load.pk, "status": load.status}


# Interrupted loads become failed and retryable; S§24 update-cycle monitor.
jobs.periodic("datastore.loads_stale", every=timedelta(minutes=2), func="datastore.services.load_fail_stale")
jobs.periodic(
    "datastore.overdue_sweep", every=timedelta(hours=1), func="datastore.services.resource_overdue_sweep"
)
