"""Periodic work of the catalog (run by ``manage.py govhub_worker``). The center review clock
is swept by ``core.deadlines``; here only the yearly review reminders (S§16)."""

from datetime import timedelta

from core import jobs

jobs.periodic(
    "catalog.review_campaign_reminders",
    every=timedelta(hours=24),
    func="catalog.services.review_campaign_reminder_sweep",
)
