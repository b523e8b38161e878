"""Periodic work of cloud operations (run by ``manage.py govhub_worker``; imported by
``cloud.tasks``). Each job calls one service and is safe to run twice."""

from datetime import timedelta

from core import jobs

# C§27: allocated / total lines of the pool dashboard, one value an hour.
jobs.periodic("cloud.ops.pool_snapshot", every=timedelta(hours=1), func="cloud.ops_services.pool_snapshot")
# C§27: a pool at 70 % opens one expansion task; raised capacity closes it.
jobs.periodic("cloud.ops.capacity_check", every=timedelta(hours=1), func="cloud.ops_services.capacity_check")
# C§38: idle and over-provisioned resources, once a day.
jobs.periodic("cloud.ops.efficiency_scan", every=timedelta(days=1), func="cloud.ops_services.efficiency_scan")
# Keep 13 months hourly, older data daily.
jobs.periodic(
    "cloud.ops.metrics_downsample", every=timedelta(days=1), func="cloud.ops_services.metrics_downsample"
)
