"""Periodic work of the exchange (run by ``manage.py govhub_worker``)."""

from datetime import timedelta

from core import jobs

# Grants past their end expire; holders get 14 days' notice (S§34: access ends on time).
jobs.periodic("exchange.grant_expiry", every=timedelta(hours=1), func="exchange.services.grant_expiry_sweep")
# Webhook deliveries due now (retries back off exponentially).
jobs.periodic(
    "exchange.webhooks", every=timedelta(seconds=10), func="exchange.webhooks.deliver_due", inline=True
)
