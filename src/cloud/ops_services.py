"""Every write of cloud operations (C§16, C§27, C§38, C§40-42): metric ingest and downsampling,
pool snapshots, the 70 % expansion alert, efficiency flags, project and resource plans, settlement.

Same shape as ``cloud.services``: keyword-only arguments, one transaction, lock, check, change,
audit, notify. Metric points are not audited one by one: each accepted batch is one event.
"""

from __future__ import annotations

import calendar as pycalendar
import csv
import io
import math
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import Enum
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Min, Sum
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _

from accounts.models import Unit
from cloud import services as cloud_services
from cloud.models import (
    METRIC_OF_POOL_KIND,
    PERCENT_METRICS,
    Allocation,
    ApplicationStatus,
    CapacityAlert,
    CloudProduct,
    EfficiencyFlag,
    Metric,
    MetricDaily,
    MetricPoint,
    MetricSeries,
    PlanStatus,
    PoolKind,
    ProjectPlan,
    ProvisionedResource,
    ResourceDemand,
    ResourcePool,
    Settlement,
    SettlementLine,
)
from cloud.permissions import can_act_for_unit, can_review, can_view_unit
from core import audit, deadlines
from core.errors import Conflict, Invalid, NotFound, PermissionDenied
from core.notify import notify
from core.rules import (
    CAPACITY_EXPANSION_THRESHOLD,
    IDLE_CPU_PERCENT,
    IDLE_DAYS,
    METRICS_KEEP_HOURLY_MONTHS,
    OVERPROVISIONED_P95_PERCENT,
    PROJECT_PLAN_WINDOW,
    RESOURCE_DEMAND_MONTH,
    SETTLEMENT_BEFORE,
    Rule,
)

CENTER_STAFF = cloud_services.CENTER_STAFF
#: C§38 judges systems in production (the trial environment is not "idle").
LIVE_STATUSES = (
    ApplicationStatus.PRODUCTION,
    ApplicationStatus.CHANGE_PENDING,
    ApplicationStatus.CHANGE_TESTING,
    ApplicationStatus.TERMINATION_PENDING,
)
UNIT_ACTORS = cloud_services.UNIT_ACTORS
#: Asia/Shanghai has no daylight saving: a local day is ``(hour + 8) // 24``.
LOCAL_OFFSET_HOURS = 8
#: Batches at least this large go through PostgreSQL COPY (smaller ones: one upsert statement).
COPY_MIN_POINTS = 2000
MAX_ERRORS_SHOWN = 100


class OpsError(str, Enum):
    """Stable codes of cloud operations (clients branch on ``code``)."""

    NOT_ALLOWED = "cloud.not_allowed"
    NOT_FOUND = "cloud.not_found"
    BAD_METRICS = "cloud.bad_metrics"
    BAD_CSV = "cloud.bad_csv"
    WINDOW_CLOSED = "cloud.window_closed"
    ILLEGAL_TRANSITION = "cloud.illegal_transition"
    INVALID = "cloud.invalid"
    NO_SUGGESTION = "cloud.no_suggestion"


# --- time as integers ----------------------------------------------------------------------------


def hour_of(moment: datetime) -> int:
    """Whole hours since 1970-01-01 00:00 UTC (the stored ``hour``)."""
    return math.floor(moment.timestamp() / 3600)


def hour_start(hour: int) -> datetime:
    return datetime.fromtimestamp(hour * 3600, tz=UTC)


def day_of_hour(hour: int) -> int:
    """The Asia/Shanghai day (days since 1970-01-01) an hour falls in."""
    return (hour + LOCAL_OFFSET_HOURS) // 24


def day_date(day: int) -> date:
    return date(1970, 1, 1) + timedelta(days=day)


def first_hour_of_day(day: int) -> int:
    return day * 24 - LOCAL_OFFSET_HOURS


def keep_from_hour(now: datetime) -> int:
    """The oldest hour kept hourly (13 months back, at a local midnight)."""
    local = timezone.localtime(now).date()
    cutoff = cloud_services.add_months(local, -METRICS_KEEP_HOURLY_MONTHS)
    return first_hour_of_day((cutoff - date(1970, 1, 1)).days)


# --- who may push ----------------------------------------------------------------------------------


def _api_client(user: Any) -> Any:
    try:
        return user.api_client
    except Exception:  # noqa: BLE001 — RelatedObjectDoesNotExist for human users
        return None


def metric_push_scope(user: Any) -> int | None:
    """None = every allocation (center staff, the center's own API clients); otherwise the unit
    whose allocations this caller may push for (the owning unit's API clients). Others: refused."""
    if not getattr(user, "is_authenticated", False):
        raise PermissionDenied(OpsError.NOT_ALLOWED, _("请先登录。"))
    if can_review(user):
        return None
    client = _api_client(user)
    if client is not None and client.is_active:
        return None if client.unit.kind == Unit.Kind.CENTER else client.unit_id
    raise PermissionDenied(
        OpsError.NOT_ALLOWED, _("只有数据资源中心或本单位登记的接口客户端可以上报监测数据。")
    )


# --- metric ingest ---------------------------------------------------------------------------------


@dataclass
class IngestResult:
    points: int = 0
    series: int = 0
    first_hour: int | None = None
    last_hour: int | None = None
    pools: list[int] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "points": self.points,
            "series": self.series,
            "from": hour_start(self.first_hour).isoformat() if self.first_hour is not None else None,
            "to": hour_start(self.last_hour).isoformat() if self.last_hour is not None else None,
        }


def _parse_at(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and value.strip():
        try:
            moment = parse_datetime(value.strip().replace(" ", "T", 1))
        except ValueError:
            return None
        if moment is None:
            return None
    else:
        return None
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, timezone.get_default_timezone())
    return moment


def _parse_value(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        number = float(str(value).strip()) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _parse_id(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


@dataclass
class _Row:
    key: tuple[str, int, str]  # ("allocation"|"pool", id, metric)
    pool_id: int
    hour: int
    value: float


def _validate_points(points: Any, scope_unit: int | None, now: datetime) -> list[_Row]:
    """Check every point; all or nothing (DESIGN rule 4). Errors name the row and the reason."""
    if not isinstance(points, list) or not points:
        raise Invalid(OpsError.BAD_METRICS, _("请提交至少一条监测数据（points 列表）。"))
    alloc_ids = {
        _parse_id(p.get("allocation")) for p in points if isinstance(p, dict) and p.get("allocation")
    }
    pool_ids = {_parse_id(p.get("pool")) for p in points if isinstance(p, dict) and p.get("pool")}
    allocations = {
        a.pk: a
        for a in Allocation.objects.filter(pk__in=alloc_ids - {None}).select_related(
            "pool", "resource__application"
        )
    }
    pools = {p.pk: p for p in ResourcePool.objects.filter(pk__in=pool_ids - {None})}
    oldest, newest = keep_from_hour(now), hour_of(now) + 1
    errors: list[dict] = []
    rows: list[_Row] = []

    def bad(i: int, code: str, message: Any) -> None:
        errors.append({"row": i + 1, "code": code, "message": str(message)})

    for i, point in enumerate(points):
        if not isinstance(point, dict):
            bad(i, "bad_row", _("每条数据应为一个对象。"))
            continue
        has_alloc, has_pool = point.get("allocation") not in (None, ""), point.get("pool") not in (None, "")
        if has_alloc == has_pool:
            bad(i, "target", _("每条数据须且只能指定 allocation（资源分配）或 pool（资源池）之一。"))
            continue
        metric = str(point.get("metric") or "").strip()
        value = _parse_value(point.get("value"))
        moment = _parse_at(point.get("at"))
        if has_alloc:
            alloc = allocations.get(_parse_id(point.get("allocation")) or 0)
            if alloc is None or (scope_unit is not None and alloc.resource.application.unit_id != scope_unit):
                bad(i, "unknown_allocation", _("未知的资源分配：%(id)s。") % {"id": point.get("allocation")})
                continue
            expected = METRIC_OF_POOL_KIND[alloc.pool.kind]
            metric = metric or expected
            if metric != expected:
                bad(
                    i,
                    "bad_metric",
                    _("资源分配 %(id)s 属于%(kind)s资源池，指标应为 %(m)s。")
                    % {"id": alloc.pk, "kind": PoolKind(alloc.pool.kind).label, "m": expected.value},
                )
                continue
            upper = 100.0 if metric in PERCENT_METRICS else float(alloc.amount)
            key, pool_id = ("allocation", alloc.pk, metric), alloc.pool_id
        else:
            pool = pools.get(_parse_id(point.get("pool")) or 0)
            if pool is None or scope_unit is not None:
                bad(i, "unknown_pool", _("未知的资源池：%(id)s。") % {"id": point.get("pool")})
                continue
            if (metric or Metric.POOL_USED) != Metric.POOL_USED:
                bad(i, "bad_metric", _("资源池只接受 used（已用量）指标；已分配和总量由平台计算。"))
                continue
            metric, upper = Metric.POOL_USED, float(pool.total)
            key, pool_id = ("pool", pool.pk, metric), pool.pk
        if value is None:
            bad(i, "bad_value", _("数值无效：%(v)s。") % {"v": point.get("value")})
            continue
        if not 0 <= value <= upper:
            bad(
                i,
                "out_of_range",
                _("数值 %(v)s 超出范围 0–%(max)s（%(m)s）。")
                % {"v": value, "max": upper, "m": Metric(metric).label},
            )
            continue
        if moment is None:
            bad(
                i,
                "bad_time",
                _("时间无效：%(v)s（应为 ISO 8601，如 2026-05-01T08:00:00+08:00）。")
                % {"v": point.get("at")},
            )
            continue
        hour = hour_of(moment)
        if not oldest <= hour <= newest:
            bad(
                i,
                "time_out_of_range",
                _("时间 %(v)s 不在可接收范围内（近 13 个月，不晚于当前时间）。") % {"v": point.get("at")},
            )
            continue
        rows.append(_Row(key=key, pool_id=pool_id, hour=hour, value=value))
    if errors:
        raise Invalid(
            OpsError.BAD_METRICS,
            _("第 %(row)s 条：%(message)s（共 %(n)s 条有误，未保存任何数据）")
            % {"row": errors[0]["row"], "message": errors[0]["message"], "n": len(errors)},
            {"errors": errors[:MAX_ERRORS_SHOWN], "rejected": len(errors), "received": len(points)},
        )
    return rows


def _series_ids(keys: Iterable[tuple[str, int, str]], pools: dict[tuple[str, int, str], int]) -> dict:
    """Map (target kind, id, metric) → series id, creating the missing series."""
    keys = set(keys)
    found: dict[tuple[str, int, str], int] = {}
    alloc_keys = [k for k in keys if k[0] == "allocation"]
    pool_keys = [k for k in keys if k[0] == "pool"]
    if alloc_keys:
        for sid, aid, metric in MetricSeries.objects.filter(
            allocation_id__in={k[1] for k in alloc_keys}
        ).values_list("id", "allocation_id", "metric"):
            found[("allocation", aid, metric)] = sid
    if pool_keys:
        for sid, pid, metric in MetricSeries.objects.filter(
            pool_id__in={k[1] for k in pool_keys}, allocation__isnull=True
        ).values_list("id", "pool_id", "metric"):
            found[("pool", pid, metric)] = sid
    missing = [k for k in keys if k not in found]
    for k in missing:
        series, _created = MetricSeries.objects.get_or_create(
            pool_id=pools[k],
            allocation_id=k[1] if k[0] == "allocation" else None,
            metric=k[2],
        )
        found[k] = series.pk
    return found


def _table(model: Any) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def copy_points_text(chunks: Iterable[str]) -> int:
    """PostgreSQL only: load tab-separated ``series_id\thour\tvalue`` lines with COPY. New hours
    (the usual case: each push brings the latest hour) go straight into the point table inside a
    savepoint; if any (series, hour) is already stored, that attempt is rolled back and the lines
    go through a staging table and one upsert instead. Callers pass each (series_id, hour) once
    per call (``write_points`` dedupes). Returns the rows written."""
    from psycopg import errors as pg_errors

    chunks = list(chunks)
    point = _table(MetricPoint)
    try:
        with transaction.atomic(), connection.cursor() as cur:
            with cur.copy(f"COPY {point} (series_id, hour, value) FROM STDIN") as copy:
                for chunk in chunks:
                    copy.write(chunk)
            return max(cur.rowcount, sum(chunk.count("\n") for chunk in chunks))
    except (IntegrityError, pg_errors.UniqueViolation):
        pass  # some hours were already stored: upsert below
    with connection.cursor() as cur:
        cur.execute(
            "CREATE TEMP TABLE IF NOT EXISTS cloud_ops_point_stage "
            "(series_id integer, hour integer, value double precision) ON COMMIT DELETE ROWS"
        )
        cur.execute("TRUNCATE cloud_ops_point_stage")
        with cur.copy("COPY cloud_ops_point_stage (series_id, hour, value) FROM STDIN") as copy:
            for chunk in chunks:
                copy.write(chunk)
        cur.execute(
            f"INSERT INTO {point} (series_id, hour, value) "  # noqa: S608 — generated identifier
            "SELECT series_id, hour, value FROM cloud_ops_point_stage "
            "ON CONFLICT (series_id, hour) DO UPDATE SET value = EXCLUDED.value"
        )
        count = cur.rowcount
        cur.execute("TRUNCATE cloud_ops_point_stage")
    return count


def write_points(rows: dict[tuple[int, int], float]) -> int:
    """Upsert ``{(series_id, hour): value}``: COPY on PostgreSQL for big batches, else bulk upsert."""
    if not rows:
        return 0
    if connection.vendor == "postgresql" and len(rows) >= COPY_MIN_POINTS:

        def chunks() -> Iterator[str]:
            items = list(rows.items())
            for start in range(0, len(items), 10000):
                yield "".join(f"{s}\t{h}\t{v!r}\n" for (s, h), v in items[start : start + 10000])

        return copy_points_text(chunks())
    MetricPoint.objects.bulk_create(
        [MetricPoint(series_id=s, hour=h, value=v) for (s, h), v in rows.items()],
        batch_size=500,
        update_conflicts=True,
        unique_fields=["series", "hour"],
        update_fields=["value"],
    )
    return len(rows)


def _pool_series(pool_id: int, metric: str) -> int:
    series, _created = MetricSeries.objects.get_or_create(pool_id=pool_id, allocation=None, metric=metric)
    return series.pk


def rollup_pool_used(*, pool_ids: Iterable[int], first_hour: int, last_hour: int) -> int:
    """Recompute each pool's "used (sum of allocations)" line for the hours given: percentages
    times the allocated amount, storage and bandwidth as measured. One SQL statement per pool."""
    point, series, allocation = _table(MetricPoint), _table(MetricSeries), _table(Allocation)
    total = 0
    for pool_id in sorted(set(pool_ids)):
        target = _pool_series(pool_id, Metric.POOL_USED_SUM)
        with connection.cursor() as cur:
            cur.execute(
                f"INSERT INTO {point} (series_id, hour, value) "  # noqa: S608 — generated identifiers
                f"SELECT %s, p.hour, SUM(CASE WHEN s.metric IN (%s, %s) "
                f"THEN p.value * a.amount / 100.0 ELSE p.value END) "
                f"FROM {point} p JOIN {series} s ON s.id = p.series_id "
                f"JOIN {allocation} a ON a.id = s.allocation_id "
                f"WHERE s.pool_id = %s AND s.allocation_id IS NOT NULL AND p.hour BETWEEN %s AND %s "
                f"GROUP BY p.hour "
                f"ON CONFLICT (series_id, hour) DO UPDATE SET value = excluded.value",
                [target, Metric.CPU.value, Metric.MEMORY.value, pool_id, first_hour, last_hour],
            )
            total += max(cur.rowcount, 0)
    return total


@transaction.atomic
def metrics_push(*, by: Any, points: Any, source: str = "api", now: datetime | None = None) -> IngestResult:
    """C§27: utilisation pushed by the cloud platform (JSON) or uploaded (CSV), at least hourly.
    The center's clients push for every allocation; a unit's clients only for its own. A value
    within the same hour replaces the earlier one. Whole batch or nothing."""
    now = now or timezone.now()
    scope_unit = metric_push_scope(by)
    rows = _validate_points(points, scope_unit, now)
    pools = {r.key: r.pool_id for r in rows}
    ids = _series_ids(pools.keys(), pools)
    values: dict[tuple[int, int], float] = {}
    for r in rows:
        values[(ids[r.key], r.hour)] = r.value
    written = write_points(values)
    hours = [r.hour for r in rows]
    touched = sorted({r.pool_id for r in rows if r.key[0] == "allocation"})
    if touched:
        rollup_pool_used(pool_ids=touched, first_hour=min(hours), last_hour=max(hours))
    result = IngestResult(
        points=written,
        series=len({ids[r.key] for r in rows}),
        first_hour=min(hours),
        last_hour=max(hours),
        pools=sorted({r.pool_id for r in rows}),
    )
    audit.record(
        action="cloud.metrics.ingest",
        actor=by,
        target_type="cloud.metricseries",
        target_label=str(_("监测数据")),
        details={"source": source, **result.as_dict()},
    )
    return result


CSV_COLUMNS = ("allocation", "pool", "metric", "at", "value")


def metrics_csv_upload(*, by: Any, content: bytes, now: datetime | None = None) -> IngestResult:
    """The center uploads a CSV (header: allocation,pool,metric,at,value — one of allocation/pool
    per row); UTF-8 or GB18030. Same checks as the API push."""
    if not can_review(by):
        raise PermissionDenied(OpsError.NOT_ALLOWED, _("只有数据资源中心可以导入监测数据文件。"))
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise Invalid(OpsError.BAD_CSV, _("文件编码无法识别，请使用 UTF-8 或 GB18030。"))
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in (reader.fieldnames or [])]
    if not {"at", "value"} <= set(header) or not ({"allocation", "pool"} & set(header)):
        raise Invalid(
            OpsError.BAD_CSV,
            _("CSV 表头应为 allocation,pool,metric,at,value（allocation 与 pool 至少一列）。"),
            {"header": header},
        )
    points = [{k.strip(): (v or "").strip() for k, v in row.items() if k} for row in reader]
    return metrics_push(by=by, points=points, source="csv", now=now)


def pool_snapshot(*, now: datetime | None = None) -> int:
    """Hourly (periodic job): record each pool's allocated and total for the dashboard lines."""
    now = now or timezone.now()
    hour = hour_of(now)
    values: dict[tuple[int, int], float] = {}
    allocated = dict(
        Allocation.objects.filter(released_at__isnull=True)
        .values("pool_id")
        .annotate(s=Sum("amount"))
        .values_list("pool_id", "s")
    )
    with transaction.atomic():
        for pool in ResourcePool.objects.filter(is_active=True):
            values[(_pool_series(pool.pk, Metric.POOL_ALLOCATED), hour)] = float(allocated.get(pool.pk) or 0)
            values[(_pool_series(pool.pk, Metric.POOL_TOTAL), hour)] = float(pool.total)
        return write_points(values)


def metrics_downsample(*, now: datetime | None = None) -> dict:
    """Daily (periodic job): hourly values older than 13 months become one daily row (average,
    maximum, sample count) and the hourly rows go. Idempotent: a day already kept daily is merged."""
    cutoff = keep_from_hour(now or timezone.now())
    point, daily = _table(MetricPoint), _table(MetricDaily)
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(
            f"INSERT INTO {daily} (series_id, day, avg, max, samples) "  # noqa: S608 — generated identifiers
            f"SELECT series_id, (hour + %s) / 24, AVG(value), MAX(value), COUNT(*) FROM {point} "
            f"WHERE hour < %s GROUP BY series_id, (hour + %s) / 24 "
            f"ON CONFLICT (series_id, day) DO UPDATE SET "
            f"avg = (excluded.avg * excluded.samples + {daily}.avg * {daily}.samples) "
            f"/ (excluded.samples + {daily}.samples), "
            f"max = CASE WHEN excluded.max > {daily}.max THEN excluded.max ELSE {daily}.max END, "
            f"samples = excluded.samples + {daily}.samples",
            [LOCAL_OFFSET_HOURS, cutoff, LOCAL_OFFSET_HOURS],
        )
        days = max(cur.rowcount, 0)
        cur.execute(f"DELETE FROM {point} WHERE hour < %s", [cutoff])  # noqa: S608
        removed = max(cur.rowcount, 0)
    return {"daily_rows": days, "hourly_removed": removed, "cutoff": hour_start(cutoff).isoformat()}


# --- the 70 % rule (C§27) -------------------------------------------------------------------------


def _allocated(pool_id: int) -> int:
    return (
        Allocation.objects.filter(pool_id=pool_id, released_at__isnull=True).aggregate(s=Sum("amount"))["s"]
        or 0
    )


def capacity_check(*, now: datetime | None = None) -> dict:
    """Hourly (periodic job) and after pool changes: a pool at ≥ 70 % allocated opens one expansion
    alert (a tracked task for the center with the ``Rule.CLOUD_EXPANSION`` deadline, C§27); no second
    alert while one is open; an open alert closes once the total was raised and the pool is below 70 %."""
    opened, closed = [], []
    for pool_id in ResourcePool.objects.filter(is_active=True).values_list("pk", flat=True):
        with transaction.atomic():
            pool = ResourcePool.objects.select_for_update().get(pk=pool_id)
            allocated = _allocated(pool.pk)
            ratio = allocated / pool.total if pool.total else 0.0
            alert = CapacityAlert.objects.select_for_update().filter(pool=pool, status="open").first()
            if alert is None and ratio >= CAPACITY_EXPANSION_THRESHOLD:
                opened.append(_alert_open(pool, allocated, ratio, now))
            elif (
                alert is not None
                and pool.total > alert.total_at_open
                and ratio < CAPACITY_EXPANSION_THRESHOLD
            ):
                closed.append(_alert_close(alert, pool, now))
    return {"opened": [a.pk for a in opened], "closed": [a.pk for a in closed]}


def _alert_open(pool: ResourcePool, allocated: int, ratio: float, now: datetime | None) -> CapacityAlert:
    alert = CapacityAlert.objects.create(
        pool=pool,
        opened_at=now or timezone.now(),
        ratio_at_open=ratio,
        allocated_at_open=allocated,
        total_at_open=pool.total,
    )
    clock = deadlines.start(target=alert, rule=Rule.CLOUD_EXPANSION, started_at=now)
    alert.due_at = getattr(clock, "due_at", None)
    alert.save(update_fields=["due_at"])
    audit.record(
        action="cloud.capacity_alert.open",
        target=alert,
        details={"pool": pool.pk, "ratio": round(ratio, 4), "allocated": allocated, "total": pool.total},
    )
    notify(
        event="cloud.capacity_alert.open",
        title=str(
            _("%(pool)s已达容量的 %(p)s%%，请启动扩容（C§27）") % {"pool": pool.name, "p": round(ratio * 100)}
        ),
        url="/cloud/ops/pools/",
        roles=CENTER_STAFF,
    )
    return alert


def _alert_close(alert: CapacityAlert, pool: ResourcePool, now: datetime | None) -> CapacityAlert:
    alert.status = CapacityAlert.Status.CLOSED
    alert.closed_at = now or timezone.now()
    alert.total_at_close = pool.total
    alert.save(update_fields=["status", "closed_at", "total_at_close"])
    deadlines.meet(target=alert, rule=Rule.CLOUD_EXPANSION, at=now)
    audit.record(
        action="cloud.capacity_alert.close",
        target=alert,
        details={"pool": pool.pk, "from": alert.total_at_open, "to": pool.total},
    )
    return alert


# --- efficiency (C§38) ----------------------------------------------------------------------------


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def _series_window(series_ids: list[int], first: int, last: int) -> dict[int, list[float]]:
    values: dict[int, list[float]] = defaultdict(list)
    for sid, value in MetricPoint.objects.filter(
        series_id__in=series_ids, hour__gte=first, hour__lte=last
    ).values_list("series_id", "value"):
        values[sid].append(value)
    return values


def _suggest(
    resource: ProvisionedResource, kind: str, cpu_p95: float, mem_p95: float | None
) -> tuple[list, str]:
    """The application's new configuration after right-sizing this one resource (C§14 lines)."""
    application = resource.application
    lines = {
        ln.product_id: ln.approved_quantity or 0
        for ln in application.lines.filter(is_active=True)
        if ln.approved_quantity
    }
    product = resource.product
    if kind == EfficiencyFlag.Kind.IDLE:
        lines[product.pk] = lines.get(product.pk, 1) - 1
        text = _("闲置：建议释放 %(name)s（%(product)s）") % {
            "name": resource.host_name,
            "product": product.name,
        }
    else:
        need_cpu = (
            math.ceil(resource.vcpu * cpu_p95 / 100 / CAPACITY_EXPANSION_THRESHOLD) if resource.vcpu else 0
        )
        # Memory counts where it is measured; unmeasured memory does not block the suggestion
        # (the text says so and the center checks it when completing the change).
        need_mem = (
            math.ceil(resource.memory_gb * mem_p95 / 100 / CAPACITY_EXPANSION_THRESHOLD)
            if resource.memory_gb and mem_p95 is not None
            else 0
        )
        smaller = (
            CloudProduct.objects.filter(
                kind=product.kind,
                is_active=True,
                vcpu__gte=max(need_cpu, 1 if product.vcpu else 0),
                memory_gb__gte=need_mem,
                unit_price_month__lt=product.unit_price_month,
            )
            .order_by("unit_price_month", "vcpu")
            .first()
        )
        if smaller is None:
            return [], str(_("配置过度：无更小规格的同类产品，请评估是否合并或释放"))
        lines[product.pk] = lines.get(product.pk, 1) - 1
        lines[smaller.pk] = lines.get(smaller.pk, 0) + 1
        text = _("配置过度：建议将 %(name)s 由 %(a)s 调整为 %(b)s") % {
            "name": resource.host_name,
            "a": product.name,
            "b": smaller.name,
        }
        if mem_p95 is None:
            text = f"{text}{_('（内存未监测，请核实）')}"
    new = [{"product": pid, "quantity": qty} for pid, qty in sorted(lines.items()) if qty > 0]
    return new, str(text)


def efficiency_scan(*, now: datetime | None = None) -> dict:
    """Daily (periodic job), C§38: flag idle resources (CPU below 5 % for the whole last 30 days)
    and over-provisioned ones (95th percentile of CPU — and memory where measured — below 30 %
    of the size). Needs 30 days of data; a flag is not repeated while one is open; open flags of
    resources that recovered are resolved."""
    now = now or timezone.now()
    last = hour_of(now)
    first = last - IDLE_DAYS * 24 + 1
    live = list(
        ProvisionedResource.objects.filter(
            released_at__isnull=True, application__status__in=LIVE_STATUSES
        ).select_related("application", "product")
    )
    series = defaultdict(dict)
    for sid, resource_id, metric in MetricSeries.objects.filter(
        allocation__resource__in=live,
        allocation__released_at__isnull=True,
        metric__in=[Metric.CPU, Metric.MEMORY],
    ).values_list("id", "allocation__resource_id", "metric"):
        series[resource_id][metric] = sid
    values = _series_window([sid for d in series.values() for sid in d.values()], first, last)
    earliest = dict(
        MetricPoint.objects.filter(
            series_id__in=[d.get(Metric.CPU) for d in series.values() if d.get(Metric.CPU)]
        )
        .values("series_id")
        .annotate(m=Min("hour"))
        .values_list("series_id", "m")
    )
    flagged, resolved = [], 0
    for resource in live:
        ids = series.get(resource.pk, {})
        cpu_sid = ids.get(Metric.CPU)
        cpu = values.get(cpu_sid, []) if cpu_sid else []
        if not cpu or earliest.get(cpu_sid, last) > first or len(cpu) < IDLE_DAYS * 24 * 0.9:
            continue  # not 30 days of data yet
        mem = values.get(ids.get(Metric.MEMORY), []) if ids.get(Metric.MEMORY) else []
        cpu_p95, mem_p95 = _p95(cpu), (_p95(mem) if mem else None)
        kind = None
        if max(cpu) < IDLE_CPU_PERCENT:
            kind = EfficiencyFlag.Kind.IDLE
        elif cpu_p95 < OVERPROVISIONED_P95_PERCENT and (
            mem_p95 is None or mem_p95 < OVERPROVISIONED_P95_PERCENT
        ):
            kind = EfficiencyFlag.Kind.OVERPROVISIONED
        with transaction.atomic():
            open_flags = EfficiencyFlag.objects.select_for_update().filter(resource=resource, status="open")
            if kind is None:
                resolved += open_flags.update(status=EfficiencyFlag.Status.RESOLVED, decided_at=now)
                continue
            if open_flags.filter(kind=kind).exists():
                continue
            suggestion, text = _suggest(resource, kind, cpu_p95, mem_p95)
            flag = EfficiencyFlag.objects.create(
                resource=resource,
                application=resource.application,
                unit_id=resource.application.unit_id,
                kind=kind,
                measured={
                    "cpu_max": round(max(cpu), 2),
                    "cpu_p95": round(cpu_p95, 2),
                    "memory_p95": round(mem_p95, 2) if mem_p95 is not None else None,
                    "hours": len(cpu),
                },
                suggestion=suggestion,
                suggestion_text=text[:300],
                detected_at=now,
            )
            audit.record(
                action="cloud.efficiency_flag.open",
                target=flag,
                unit=resource.application.unit,
                details={"kind": kind, **flag.measured},
            )
            notify(
                event="cloud.efficiency_flag.open",
                title=str(_("云资源使用效率提示：%(t)s") % {"t": text}),
                url="/cloud/ops/efficiency/",
                roles=UNIT_ACTORS,
                unit=resource.application.unit,
            )
            flagged.append(flag.pk)
    return {"flagged": flagged, "resolved": resolved}


def _lock_flag(flag: EfficiencyFlag, by: Any) -> EfficiencyFlag:
    flag = EfficiencyFlag.objects.select_for_update().filter(pk=flag.pk).first()
    if flag is None or not can_view_unit(by, flag.unit_id):
        raise NotFound(OpsError.NOT_FOUND, _("未找到该提示。"))
    if not can_act_for_unit(by, flag.unit_id):
        raise PermissionDenied(OpsError.NOT_ALLOWED, _("只有本单位的系统负责人或单位管理员可以处理。"))
    if flag.status != EfficiencyFlag.Status.OPEN:
        raise Conflict(OpsError.ILLEGAL_TRANSITION, _("该提示已处理。"))
    return flag


@transaction.atomic
def efficiency_flag_accept(*, flag: EfficiencyFlag, by: Any) -> EfficiencyFlag:
    """The unit accepts the right-sizing suggestion: it becomes a C§14 change request (the cloud
    lifecycle's own service; the center then completes it within 5 working days)."""
    flag = _lock_flag(flag, by)
    if not flag.suggestion:
        raise Conflict(
            OpsError.NO_SUGGESTION,
            _("该提示没有可直接提交的调整方案（释放全部资源请办理终止申请，C§15）。"),
        )
    change = cloud_services.cloud_change_request(
        application=flag.application,
        by=by,
        lines=flag.suggestion,
        reason=str(_("按资源使用效率提示调整（C§38）：%(t)s") % {"t": flag.suggestion_text}),
    )
    flag.status, flag.change = EfficiencyFlag.Status.ACCEPTED, change
    flag.decided_by, flag.decided_at = by, timezone.now()
    flag.save(update_fields=["status", "change", "decided_by", "decided_at"])
    audit.record(action="cloud.efficiency_flag.accept", actor=by, target=flag, details={"change": change.pk})
    return flag


@transaction.atomic
def efficiency_flag_dismiss(*, flag: EfficiencyFlag, by: Any, reason: str) -> EfficiencyFlag:
    """The unit keeps the configuration and says why (the reason counts in the C§38 assessment)."""
    flag = _lock_flag(flag, by)
    if not (reason or "").strip():
        raise Invalid(OpsError.INVALID, _("请说明保留现有配置的理由。"))
    flag.status, flag.decision_note = EfficiencyFlag.Status.DISMISSED, reason.strip()
    flag.decided_by, flag.decided_at = by, timezone.now()
    flag.save(update_fields=["status", "decision_note", "decided_by", "decided_at"])
    audit.record(action="cloud.efficiency_flag.dismiss", actor=by, target=flag, note=flag.decision_note)
    return flag


# --- yearly project plans (C§16, C§41, S§42) ------------------------------------------------------


def project_plan_window(year: int) -> tuple[date, date]:
    (m1, d1), (m2, d2) = PROJECT_PLAN_WINDOW
    return date(year, m1, d1), date(year, m2, d2)


def require_unit_actor(by: Any) -> None:
    if not getattr(by, "is_authenticated", False) or not can_act_for_unit(by, by.unit_id):
        raise PermissionDenied(OpsError.NOT_ALLOWED, _("只有单位的系统负责人或单位管理员可以申报。"))


def require_center(by: Any) -> None:
    if not can_review(by):
        raise PermissionDenied(OpsError.NOT_ALLOWED, _("只有数据资源中心审核员或管理员可以办理。"))


@transaction.atomic
def project_plan_submit(
    *,
    by: Any,
    name: str,
    construction_plan: str,
    budget: Any,
    project_catalog: Any = None,
    resources: Iterable[Any] = (),
    today: date | None = None,
) -> ProjectPlan:
    """C§16: a unit declares next year's construction project between 1 June and 31 August; the
    project's resource catalog is pre-registered (S§42). Outside the window: refused with the dates."""
    require_unit_actor(by)
    today = today or timezone.localdate()
    opens, closes = project_plan_window(today.year)
    if not opens <= today <= closes:
        year = today.year if today < opens else today.year + 1
        next_open, next_close = project_plan_window(year)
        raise Conflict(
            OpsError.WINDOW_CLOSED,
            _("建设项目计划申报时间为每年 6 月 1 日至 8 月 31 日（C§16）；下一次申报：%(a)s 至 %(b)s。")
            % {"a": next_open.isoformat(), "b": next_close.isoformat()},
            {"opens": next_open.isoformat(), "closes": next_close.isoformat()},
        )
    name, construction_plan = (name or "").strip(), (construction_plan or "").strip()
    if not name or not construction_plan:
        raise Invalid(OpsError.INVALID, _("请填写项目名称和建设方案。"))
    try:
        budget = Decimal(str(budget))
    except (ArithmeticError, ValueError):
        raise Invalid(OpsError.INVALID, _("预算应为数字（万元）。"))
    if not budget.is_finite() or budget < 0 or budget >= Decimal("1e10"):
        raise Invalid(OpsError.INVALID, _("预算应为不小于 0 的数字（万元）。"))
    if project_catalog is not None and project_catalog.unit_id != by.unit_id:
        raise Invalid(OpsError.INVALID, _("只能关联本单位的项目资源目录（S§42）。"))
    resources = list(resources)
    if any(getattr(r, "provider_id", by.unit_id) != by.unit_id for r in resources):
        raise Invalid(OpsError.INVALID, _("只能关联本单位登记的信息资源（S§42）。"))
    if project_catalog is None and not resources:
        raise Invalid(OpsError.INVALID, _("请关联项目资源目录或本单位信息资源（S§42 预编目录）。"))
    plan = ProjectPlan.objects.create(
        unit=by.unit,
        year=today.year + 1,
        name=name[:200],
        construction_plan=construction_plan,
        budget=budget.quantize(Decimal("0.01")),
        project_catalog=project_catalog,
        submitted_by=by,
        submitted_at=timezone.now(),
    )
    plan.resources.set(resources)
    audit.record(action="cloud.project_plan.submit", actor=by, target=plan, details={"year": plan.year})
    notify(
        event="cloud.project_plan.submit",
        title=str(_("新的建设项目计划待审定")),
        url="/cloud/ops/plans/",
        roles=CENTER_STAFF,
    )
    return plan


@transaction.atomic
def project_plan_review(*, plan: ProjectPlan, by: Any, approve: bool, note: str = "") -> ProjectPlan:
    """The center approves (into the district investment plan, C§16/C§41) or rejects with reasons."""
    require_center(by)
    plan = ProjectPlan.objects.select_for_update().get(pk=plan.pk)
    if plan.status != PlanStatus.SUBMITTED:
        raise Conflict(OpsError.ILLEGAL_TRANSITION, _("该计划已审定。"))
    if not approve and not (note or "").strip():
        raise Invalid(OpsError.INVALID, _("不通过须说明理由。"))
    plan.status = PlanStatus.APPROVED if approve else PlanStatus.REJECTED
    plan.reviewed_by, plan.reviewed_at, plan.review_note = by, timezone.now(), (note or "").strip()
    plan.save(update_fields=["status", "reviewed_by", "reviewed_at", "review_note"])
    audit.record(
        action=f"cloud.project_plan.{'approve' if approve else 'reject'}",
        actor=by,
        target=plan,
        note=plan.review_note,
    )
    notify(
        event="cloud.project_plan.review",
        title=str(_("建设项目计划“%(n)s”：%(s)s") % {"n": plan.name, "s": plan.get_status_display()}),
        url="/cloud/ops/plans/",
        roles=UNIT_ACTORS,
        unit=plan.unit,
    )
    return plan


# --- resource demand plans (C§42) -----------------------------------------------------------------


@transaction.atomic
def resource_demand_declare(*, by: Any, items: Any, today: date | None = None) -> list[ResourceDemand]:
    """C§42: in October a unit declares next year's resource increments (one per pool kind; a
    second declaration in the same October replaces the first)."""
    require_unit_actor(by)
    today = today or timezone.localdate()
    if today.month != RESOURCE_DEMAND_MONTH:
        opens = date(
            today.year if today.month < RESOURCE_DEMAND_MONTH else today.year + 1, RESOURCE_DEMAND_MONTH, 1
        )
        raise Conflict(
            OpsError.WINDOW_CLOSED,
            _("资源需求计划于每年 10 月申报（C§42）；下一次申报：%(a)s 至 %(b)s。")
            % {"a": opens.isoformat(), "b": opens.replace(day=31).isoformat()},
            {"opens": opens.isoformat(), "closes": opens.replace(day=31).isoformat()},
        )
    if not isinstance(items, list) or not items:
        raise Invalid(OpsError.INVALID, _("请至少填写一项资源增量。"))
    year, saved, seen = today.year + 1, [], set()
    for i, item in enumerate(items, 1):
        kind = str((item or {}).get("kind", "")) if isinstance(item, dict) else ""
        increment = _parse_id(item.get("increment")) if isinstance(item, dict) else None
        if isinstance(item, dict) and str(item.get("increment", "")).strip() == "0":
            increment = 0
        if kind not in PoolKind.values or kind in seen:
            raise Invalid(OpsError.INVALID, _("第 %(i)s 项：资源类别无效或重复。") % {"i": i})
        if increment is None or increment > 10**9:
            raise Invalid(OpsError.INVALID, _("第 %(i)s 项：增量应为不小于 0 的整数。") % {"i": i})
        seen.add(kind)
        demand, _created = ResourceDemand.objects.update_or_create(
            unit=by.unit,
            year=year,
            kind=kind,
            defaults={
                "increment": increment,
                "reason": str(item.get("reason", "")).strip(),
                "submitted_by": by,
                "submitted_at": timezone.now(),
            },
        )
        saved.append(demand)
    audit.record(
        action="cloud.resource_demand.declare",
        actor=by,
        target_type="cloud.resourcedemand",
        target_label=str(year),
        details={"year": year, "items": {d.kind: d.increment for d in saved}},
    )
    return saved


# --- settlement (C§42) ----------------------------------------------------------------------------

CENT = Decimal("0.01")


def _month_share(start: date, end: date, price: Decimal) -> Decimal:
    """Price per month × days used / days in that month, month by month (``end`` inclusive)."""
    amount = Decimal(0)
    day = start
    while day <= end:
        days_in_month = pycalendar.monthrange(day.year, day.month)[1]
        month_end = day.replace(day=days_in_month)
        last = min(end, month_end)
        amount += price * Decimal((last - day).days + 1) / Decimal(days_in_month)
        day = last + timedelta(days=1)
    return amount


def settlement_lines_for(unit_id: int, year: int) -> list[SettlementLine]:
    """Each resource of the unit in use during ``year``: from its provisioning day to the day
    before its release (a mid-month change releases the old resource and provisions the new one
    on the same day, so that day is paid once, at the new price). Still running: to 31 December."""
    first, last = date(year, 1, 1), date(year, 12, 31)
    lines = []
    for r in (
        ProvisionedResource.objects.filter(application__unit_id=unit_id)
        .select_related("product")
        .order_by("provisioned_at", "id")
    ):
        start = max(timezone.localtime(r.provisioned_at).date(), first)
        end = last if r.released_at is None else timezone.localtime(r.released_at).date() - timedelta(days=1)
        end = min(end, last)
        if end < start:
            continue
        price = r.product.unit_price_month
        lines.append(
            SettlementLine(
                resource=r,
                product=r.product,
                host_name=r.host_name,
                start=start,
                end=end,
                days=(end - start).days + 1,
                unit_price_month=price,
                amount=_month_share(start, end, price).quantize(CENT, ROUND_HALF_UP),
            )
        )
    return lines


@transaction.atomic
def settlement_compute(*, by: Any, year: int, today: date | None = None) -> list[Settlement]:
    """C§42: before 1 November the center computes each unit's cloud usage for the year
    (allocation × days × monthly unit price of the product catalog, pro rata by day within each
    month). Recomputing replaces unreviewed results; a reviewed one stays. Late runs are marked."""
    require_center(by)
    today = today or timezone.localdate()
    if not 2000 <= int(year) <= today.year + 1:
        raise Invalid(OpsError.INVALID, _("结算年度无效。"))
    late = today >= date(year, *SETTLEMENT_BEFORE)
    unit_ids = sorted(
        set(
            ProvisionedResource.objects.filter(provisioned_at__year__lte=year).values_list(
                "application__unit_id", flat=True
            )
        )
    )
    results = []
    for unit_id in unit_ids:
        lines = settlement_lines_for(unit_id, year)
        if not lines:
            continue
        settlement = Settlement.objects.select_for_update().filter(unit_id=unit_id, year=year).first()
        if settlement is not None and settlement.status == Settlement.Status.REVIEWED:
            results.append(settlement)
            continue
        amount = sum((ln.amount for ln in lines), Decimal(0))
        if settlement is None:
            settlement = Settlement(unit_id=unit_id, year=year)
        settlement.amount, settlement.computed_at, settlement.computed_by, settlement.late = (
            amount,
            timezone.now(),
            by,
            late,
        )
        settlement.save()
        settlement.lines.all().delete()
        for ln in lines:
            ln.settlement = settlement
        SettlementLine.objects.bulk_create(lines)
        results.append(settlement)
    audit.record(
        action="cloud.settlement.compute",
        actor=by,
        target_type="cloud.settlement",
        target_label=str(year),
        details={"year": year, "units": len(results), "late": late},
    )
    return results


@transaction.atomic
def settlement_review(*, settlement: Settlement, by: Any) -> Settlement:
    """The center confirms a unit's settlement; it then goes to the finance bureau for the budget."""
    require_center(by)
    settlement = Settlement.objects.select_for_update().get(pk=settlement.pk)
    if settlement.status != Settlement.Status.COMPUTED:
        raise Conflict(OpsError.ILLEGAL_TRANSITION, _("该结算已审核。"))
    settlement.status, settlement.reviewed_by, settlement.reviewed_at = (
        Settlement.Status.REVIEWED,
        by,
        timezone.now(),
    )
    settlement.save(update_fields=["status", "reviewed_by", "reviewed_at"])
    audit.record(
        action="cloud.settlement.review",
        actor=by,
        target=settlement,
        details={"amount": str(settlement.amount)},
    )
    notify(
        event="cloud.settlement.review",
        title=str(_("%(y)s 年度政务云资源使用结算已审核") % {"y": settlement.year}),
        url="/cloud/ops/settlements/",
        roles=(*UNIT_ACTORS,),
        unit=settlement.unit,
    )
    return settlement
