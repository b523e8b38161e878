"""Periodic work of the cloud app (run by ``manage.py govhub_worker``). Overdue clocks of the
lifecycle are swept by ``core.deadlines``; here only the C§20 migration reminders."""

from datetime import timedelta

from core import jobs

jobs.periodic(
    "cloud.migration_reminders", every=timedelta(hours=6), func="cloud.services.migration_reminder_sweep"
)

from cloud import ops_tasks  # noqa: E402, F401  cloud operations schedules (issue 9)
