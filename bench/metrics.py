"""Cloud utilisation metrics (issue 9), on PostgreSQL.

1. Ingest one year of hourly metrics for 2,000 allocations (8,760 × 2,000 ≈ 17.5 M points) through
   the service's bulk path (``cloud.ops_services.copy_points_text``: COPY into a staging table,
   then one upsert per batch). Goal: ≥ 100,000 points/s.
2. The pool "used (sum of allocations)" roll-up for the whole year (what the push path does for
   the hours it touched), timed separately.
3. The validated push path (``metrics_push``: parse, range checks, series lookup, write, roll-up,
   audit) on a smaller batch, for comparison.
4. The pool dashboard query (``ops_selectors.pool_dashboard``, 365 days, every kind, with the
   forecast): median of several runs. Goal: < 500 ms.

Uses its own database ``gh_bench_metrics`` (dropped and re-created), never the test database.

    .venv/bin/python bench/metrics.py [--allocations 2000] [--hours 8760] [--points N] [--no-write]

``--points`` caps the total (hours are cut to fit) when the machine is too loaded for the full size.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

import perfdoc  # noqa: E402

DB = "gh_bench_metrics"
PG = "postgres://postgres@127.0.0.1:5432/"
KINDS = (("compute", 800, 4), ("memory", 600, 8), ("storage", 400, 200), ("network", 200, 20))


def sh(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(args, check=True, capture_output=True, text=True)  # noqa: S603


def setup(allocations: int) -> dict:
    """Fresh database; pools, one unit per 100 allocations, one application per 10 resources."""
    import django

    sh("psql", PG + "postgres", "-qc", f"DROP DATABASE IF EXISTS {DB}")
    sh("psql", PG + "postgres", "-qc", f"CREATE DATABASE {DB}")
    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    from cloud import models as m

    existing = set(connection.introspection.table_names())
    with connection.schema_editor() as editor:  # the cloud migration may not include these yet
        for model in (m.MetricSeries, m.MetricPoint, m.MetricDaily, m.CapacityAlert):
            if model._meta.db_table not in existing:
                editor.create_model(model)

    from decimal import Decimal

    from django.utils import timezone

    from accounts.models import Unit
    from accounts.roles import Role
    from accounts.tests.factories import UnitFactory, UserFactory

    center = UnitFactory(kind=Unit.Kind.CENTER, name="基准·数据资源中心")
    center_user = UserFactory(unit=center, roles=[Role.CENTER_ADMIN])
    share = {k: n for k, n, _size in KINDS}
    scale = allocations / sum(share.values())
    pools = {
        k: m.ResourcePool.objects.create(
            name=f"基准{k}池", kind=k, total=int(n * scale * size * 1.6) + 1, unit_label="u"
        )
        for k, n, size in KINDS
    }
    product = m.CloudProduct.objects.create(
        code="bench-host",
        name="基准主机",
        kind="host",
        vcpu=4,
        memory_gb=8,
        storage_gb=200,
        bandwidth_mbps=20,
        unit_price_month=Decimal("100"),
    )
    now = timezone.now()
    kinds = [k for k, n, _size in KINDS for _i in range(round(n * scale))][:allocations]
    while len(kinds) < allocations:
        kinds.append("compute")
    units, apps, resources = [], [], []
    for u in range((allocations + 99) // 100):
        unit = UnitFactory(name=f"基准单位{u}")
        units.append(unit)
        for a in range(10):
            system = m.AppSystem.objects.create(owner=unit, name=f"系统{u}-{a}", protection_level=2)
            apps.append(
                m.CloudApplication.objects.create(
                    system=system,
                    unit=unit,
                    status="production",
                    construction_plan="-",
                    self_test_report="-",
                    submitted_at=now,
                )
            )
    resources = m.ProvisionedResource.objects.bulk_create(
        [
            m.ProvisionedResource(
                application=apps[i // 10 % len(apps)],
                product=product,
                external_id=f"r{i}",
                host_name=f"bench-{i}",
                provisioned_at=now - timedelta(days=400),
            )
            for i in range(allocations)
        ]
    )
    size_of = {k: size for k, _n, size in KINDS}
    allocs = m.Allocation.objects.bulk_create(
        [
            m.Allocation(resource=r, pool=pools[k], amount=size_of[k])
            for r, k in zip(resources, kinds, strict=True)
        ]
    )
    series = m.MetricSeries.objects.bulk_create(
        [m.MetricSeries(pool=a.pool, allocation=a, metric=m.METRIC_OF_POOL_KIND[a.pool.kind]) for a in allocs]
    )
    return {"center_user": center_user, "pools": pools, "allocs": allocs, "series": series}


def ingest(series: list, hours: int, last_hour: int, batch_series: int = 100) -> tuple[int, float]:
    """COPY every series' year, ``batch_series`` series per transaction. Returns (points, seconds)."""
    from django.db import transaction

    from cloud import ops_services

    first = last_hour - hours + 1
    hour_parts = [f"\t{h}\t" for h in range(first, last_hour + 1)]
    # A daily shape plus a slow trend; values stay inside every metric's range.
    shape = [f"{20 + 15 * ((h % 24) in range(9, 18)) + (h % 7):.1f}\n" for h in range(24 * 7)]
    total, started = 0, time.perf_counter()
    for start in range(0, len(series), batch_series):
        chunk_series = series[start : start + batch_series]

        def chunks(chunk_series=chunk_series):
            for s in chunk_series:
                sid = str(s.pk)
                offset = s.pk % 24
                yield "".join(sid + hp + shape[(i + offset) % len(shape)] for i, hp in enumerate(hour_parts))

        with transaction.atomic():
            total += ops_services.copy_points_text(chunks())
    return total, time.perf_counter() - started


def pool_lines(pools: dict, hours: int, last_hour: int) -> int:
    """Allocated and total per pool for every hour (what the hourly snapshot job records)."""
    from django.db import transaction
    from django.db.models import Sum

    from cloud import ops_services
    from cloud.models import Allocation, Metric

    values = {}
    for pool in pools.values():
        allocated = Allocation.objects.filter(pool=pool).aggregate(s=Sum("amount"))["s"] or 0
        a_sid = ops_services._pool_series(pool.pk, Metric.POOL_ALLOCATED)
        t_sid = ops_services._pool_series(pool.pk, Metric.POOL_TOTAL)
        for i, h in enumerate(range(last_hour - hours + 1, last_hour + 1)):
            values[(a_sid, h)] = float(round(allocated * (0.6 + 0.4 * i / hours)))
            values[(t_sid, h)] = float(pool.total)
    with transaction.atomic():
        return ops_services.write_points(values)


def push_path(center_user, allocs: list, last_hour: int, n: int) -> tuple[int, float]:
    """The validated service path with ``n`` JSON-like points (distinct hours in the last month)."""
    from cloud import ops_services

    points = []
    for i in range(n):
        a = allocs[i % len(allocs)]
        points.append(
            {
                "allocation": a.pk,
                "at": ops_services.hour_start(last_hour - i // len(allocs)).isoformat(),
                "value": 37.5 if a.pool.kind in ("compute", "memory") else min(a.amount, 37.5),
            }
        )
    started = time.perf_counter()
    result = ops_services.metrics_push(by=center_user, points=points)
    return result.points, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--allocations", type=int, default=2000)
    parser.add_argument("--hours", type=int, default=8760)
    parser.add_argument("--points", type=int, default=0, help="cap the total (hours are cut to fit)")
    parser.add_argument("--push", type=int, default=50000, help="points for the validated push path")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    hours = args.hours
    if args.points:
        hours = max(24, min(hours, args.points // args.allocations))
    os.environ["DATABASE_URL"] = PG + DB
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "govhub.settings.base")
    load = perfdoc.load_note()
    ctx = setup(args.allocations)

    from django.db import connection, transaction
    from django.utils import timezone

    from cloud import ops_selectors, ops_services

    now = timezone.now()
    last_hour = ops_services.hour_of(now) - 1
    points, seconds = ingest(ctx["series"], hours, last_hour)
    rate = points / seconds
    print(f"ingest: {points:,} points in {seconds:.1f} s = {rate:,.0f} points/s")

    started = time.perf_counter()
    with transaction.atomic():
        rolled = ops_services.rollup_pool_used(
            pool_ids=[p.pk for p in ctx["pools"].values()],
            first_hour=last_hour - hours + 1,
            last_hour=last_hour,
        )
    rollup_s = time.perf_counter() - started
    print(f"roll-up: {rolled:,} pool-hours in {rollup_s:.1f} s")
    pool_lines(ctx["pools"], hours, last_hour)
    from cloud.models import MetricPoint

    table = MetricPoint._meta.db_table
    with connection.cursor() as cur:
        cur.execute(f"VACUUM ANALYZE {connection.ops.quote_name(table)}")
        cur.execute("SELECT pg_total_relation_size(%s)", [table])
        size_mb = cur.fetchone()[0] / 1024 / 1024

    pushed, push_s = push_path(ctx["center_user"], ctx["allocs"], ops_services.hour_of(now), args.push)
    print(f"push path: {pushed:,} points in {push_s:.2f} s = {pushed / push_s:,.0f} points/s")

    timings = []
    for _i in range(args.runs):
        started = time.perf_counter()
        data = ops_selectors.pool_dashboard(user=ctx["center_user"], days=365)
        timings.append((time.perf_counter() - started) * 1000)
    median, worst = statistics.median(timings), max(timings)
    days = len(data["kinds"][0]["days"]) if data["kinds"] else 0
    print(f"dashboard: median {median:.0f} ms, max {worst:.0f} ms ({len(data['kinds'])} kinds × {days} days)")

    full = args.allocations * 8760
    scope = f"{args.allocations:,} allocations × {hours:,} hours = **{points:,} points**" + (
        ""
        if points >= full
        else f" (reduced from the full {full:,} with `--points`/`--hours`; the script supports the full size)"
    )
    body = f"""## Cloud utilisation metrics (issue 9)

Measured {perfdoc.now()} on {perfdoc.machine()}; {load}.
`bench/metrics.py` on PostgreSQL, own database `{DB}`: {scope}.
Storage: one narrow row per (series, hour, value), composite primary key, no surrogate id —
{size_mb:,.0f} MB for the point table with its index.

| step | result | goal |
|---|---|---|
| ingest (COPY, one transaction per 100 series) | **{rate:,.0f} points/s** ({seconds:.1f} s) | ≥ 100,000 points/s |
| pool "used" roll-up for the whole period | {rollup_s:.1f} s ({rolled:,} pool-hours) | — |
| validated push path (`metrics_push`, {pushed:,} points) | {pushed / push_s:,.0f} points/s | — |
| pool dashboard query (365 days, {len(data["kinds"])} kinds, with forecast) | **median {median:.0f} ms**, max {worst:.0f} ms over {args.runs} runs | < 500 ms |

The dashboard reads only the pools' own series (used, sum of allocations, allocated, total;
daily peaks by integer day arithmetic), never the 17.5 M allocation points; the push path keeps
the pool sums current for the hours it touched.
"""
    print(body)
    if not args.no_write:
        perfdoc.write_section("metrics", body)


if __name__ == "__main__":
    main()
