"""Every read of cloud operations, scoped to the caller: the pool dashboard and its forecast, the
capacity alerts (center), efficiency flags, project and resource plans and settlements (a unit
sees its own; the center and oversight auditors see all), and the XLSX / PDF exports."""

from __future__ import annotations

import io
import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import F, Max, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cloud.models import (
    Allocation,
    CapacityAlert,
    EfficiencyFlag,
    Metric,
    MetricPoint,
    MetricSeries,
    PlanStatus,
    PoolKind,
    ProjectPlan,
    ResourceDemand,
    ResourcePool,
    Settlement,
)
from cloud.ops_services import LOCAL_OFFSET_HOURS, OpsError, day_date, hour_of
from cloud.permissions import can_review, can_view_unit, sees_all
from core.errors import Invalid, NotFound, PermissionDenied
from core.rules import CAPACITY_EXPANSION_THRESHOLD

FORECAST_DAYS = 90
FORECAST_METHOD = str(_("最小二乘线性拟合（近 90 天每日峰值）"))
DASHBOARD_LINES = (Metric.POOL_USED, Metric.POOL_USED_SUM, Metric.POOL_ALLOCATED, Metric.POOL_TOTAL)


def _require_center(user: Any) -> None:
    if not can_review(user):
        raise PermissionDenied(OpsError.NOT_ALLOWED, _("资源池容量与预警仅对数据资源中心可见。"))


def _scoped(qs: QuerySet, user: Any) -> QuerySet:
    return qs if sees_all(user) else qs.filter(unit_id=getattr(user, "unit_id", None))


# --- pool dashboard and forecast (C§27) -----------------------------------------------------------


@dataclass
class Forecast:
    basis: str
    method: str
    slope_per_day: float | None
    reach_70: date | None
    reach_100: date | None
    reached_70: bool
    reached_100: bool
    points: int

    def as_dict(self) -> dict:
        return {
            "basis": self.basis,
            "method": self.method,
            "slope_per_day": self.slope_per_day,
            "reach_70": self.reach_70.isoformat() if self.reach_70 else None,
            "reach_100": self.reach_100.isoformat() if self.reach_100 else None,
            "reached_70": self.reached_70,
            "reached_100": self.reached_100,
            "points": self.points,
        }


def linear_forecast(days: list[date], values: list[float], total: float, basis: str) -> Forecast:
    """Least-squares line through (day, value); the days it crosses 70 % and 100 % of ``total``.
    None when the trend is flat or falling (or fewer than two days of data)."""
    n = len(values)
    latest = values[-1] if values else 0.0
    reached70 = bool(total) and latest >= CAPACITY_EXPANSION_THRESHOLD * total
    reached100 = bool(total) and latest >= total
    if n < 2 or not total:
        return Forecast(basis, FORECAST_METHOD, None, None, None, reached70, reached100, n)
    xs = [(d - days[0]).days for d in days]
    mx, my = sum(xs) / n, sum(values) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, values, strict=True)) / sxx if sxx else 0.0
    intercept = my - slope * mx

    def crossing(level: float, reached: bool) -> date | None:
        if reached or slope <= 0:
            return None
        x = (level - intercept) / slope
        if x - xs[-1] > 365 * 50:  # not within 50 years: say "not reached"
            return None
        return days[0] + timedelta(days=max(math.ceil(x), xs[-1]))

    return Forecast(
        basis,
        FORECAST_METHOD,
        round(slope, 4),
        crossing(CAPACITY_EXPANSION_THRESHOLD * total, reached70),
        crossing(float(total), reached100),
        reached70,
        reached100,
        n,
    )


def pool_dashboard(
    *, user: Any, days: int = 365, kind: str | None = None, now: datetime | None = None
) -> dict:
    """Per resource kind: daily peaks of used (platform-reported, and the sum of allocations),
    allocated and total over the last ``days`` days, with the current state and the forecast."""
    _require_center(user)
    if kind is not None and kind not in PoolKind.values:
        raise Invalid(OpsError.INVALID, _("资源类别无效：%(k)s。") % {"k": kind})
    if not 1 <= int(days) <= 3660:
        raise Invalid(OpsError.INVALID, _("天数应在 1 到 3660 之间。"))
    now = now or timezone.now()
    last_hour = hour_of(now)
    first_hour = last_hour - int(days) * 24 + 1
    pools = list(ResourcePool.objects.filter(is_active=True, **({"kind": kind} if kind else {})))
    allocated_now = dict(
        Allocation.objects.filter(released_at__isnull=True, pool__in=pools)
        .values("pool_id")
        .annotate(s=Sum("amount"))
        .values_list("pool_id", "s")
    )
    series = {
        sid: (pool_id, metric)
        for sid, pool_id, metric in MetricSeries.objects.filter(
            pool__in=pools, allocation__isnull=True, metric__in=DASHBOARD_LINES
        ).values_list("id", "pool_id", "metric")
    }
    kind_of = {p.pk: p.kind for p in pools}
    # One indexed range scan over the pools' own series (4 per pool), grouped by local day.
    rows = (
        MetricPoint.objects.filter(series_id__in=list(series), hour__gte=first_hour, hour__lte=last_hour)
        .annotate(day=(F("hour") + LOCAL_OFFSET_HOURS) / 24)
        .values("series_id", "day")
        .annotate(peak=Max("value"))
        .values_list("series_id", "day", "peak")
    )
    by_kind: dict[str, dict[str, dict[int, float]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(float))
    )
    for sid, day, peak in rows:
        pool_id, metric = series[sid]
        by_kind[kind_of[pool_id]][metric][day] += peak
    result = []
    for k in PoolKind.values:
        kind_pools = [p for p in pools if p.kind == k]
        if not kind_pools:
            continue
        total = sum(p.total for p in kind_pools)
        allocated = sum(allocated_now.get(p.pk, 0) for p in kind_pools)
        lines = by_kind.get(k, {})
        day_keys = sorted({d for values in lines.values() for d in values})
        series_out = {m.value: [lines.get(m, {}).get(d) for d in day_keys] for m in DASHBOARD_LINES}
        basis = next(
            (
                m
                for m in (Metric.POOL_ALLOCATED, Metric.POOL_USED, Metric.POOL_USED_SUM)
                if len(lines.get(m, {})) >= 2
            ),
            Metric.POOL_ALLOCATED,
        )
        recent = (
            [d for d in sorted(lines.get(basis, {})) if d > day_keys[-1] - FORECAST_DAYS] if day_keys else []
        )
        forecast = linear_forecast(
            [day_date(d) for d in recent],
            [lines[basis][d] for d in recent],
            float(total),
            str(Metric(basis).label),
        )
        result.append(
            {
                "kind": k,
                "label": str(PoolKind(k).label),
                "unit_label": kind_pools[0].unit_label,
                "pools": [{"id": p.pk, "name": p.name, "total": p.total} for p in kind_pools],
                "total": total,
                "allocated": allocated,
                "ratio": round(allocated / total, 4) if total else 0.0,
                "threshold": CAPACITY_EXPANSION_THRESHOLD,
                "days": [day_date(d).isoformat() for d in day_keys],
                "series": series_out,
                "forecast": forecast.as_dict(),
                "open_alert": CapacityAlert.objects.filter(pool__in=kind_pools, status="open").exists(),
            }
        )
    return {
        "kinds": result,
        "from": day_date((first_hour + LOCAL_OFFSET_HOURS) // 24).isoformat(),
        "days": int(days),
    }


def capacity_alert_list(*, user: Any, status: str | None = None) -> QuerySet[CapacityAlert]:
    _require_center(user)
    qs = CapacityAlert.objects.select_related("pool")
    return qs.filter(status=status) if status else qs


# --- efficiency (C§38) ----------------------------------------------------------------------------


def efficiency_flag_list(*, user: Any, status: str | None = None) -> QuerySet[EfficiencyFlag]:
    qs = _scoped(EfficiencyFlag.objects.select_related("resource", "application__system", "unit"), user)
    return qs.filter(status=status) if status else qs


def efficiency_flag_get(*, user: Any, pk: int) -> EfficiencyFlag:
    flag = EfficiencyFlag.objects.filter(pk=pk).select_related("resource", "application", "unit").first()
    if flag is None or not can_view_unit(user, flag.unit_id):
        raise NotFound(OpsError.NOT_FOUND, _("未找到该提示。"))
    return flag


# --- plans (C§16, C§42) ---------------------------------------------------------------------------


def project_plan_list(
    *, user: Any, year: int | None = None, status: str | None = None
) -> QuerySet[ProjectPlan]:
    qs = _scoped(ProjectPlan.objects.select_related("unit", "project_catalog"), user)
    if year:
        qs = qs.filter(year=year)
    return qs.filter(status=status) if status else qs


def project_catalog_list(*, user: Any) -> QuerySet:
    """The caller's unit's project resource catalogs (S§42), the ones a plan may name."""
    from catalog.models import ProjectCatalog

    return ProjectCatalog.objects.filter(unit_id=getattr(user, "unit_id", None))


def project_catalog_own(*, user: Any, pk: int) -> Any:
    """One of the caller's unit's project catalogs, or None (another unit's looks absent)."""
    return project_catalog_list(user=user).filter(pk=pk).first()


def project_plan_get(*, user: Any, pk: int) -> ProjectPlan:
    plan = ProjectPlan.objects.filter(pk=pk).select_related("unit").first()
    if plan is None or not can_view_unit(user, plan.unit_id):
        raise NotFound(OpsError.NOT_FOUND, _("未找到该计划。"))
    return plan


def resource_demand_list(*, user: Any, year: int | None = None) -> QuerySet[ResourceDemand]:
    qs = _scoped(ResourceDemand.objects.select_related("unit"), user)
    return qs.filter(year=year) if year else qs


def resource_demand_summary(*, user: Any, year: int) -> list[dict]:
    """C§42: the center sets the declared increments against each kind's pool capacity."""
    _require_center(user)
    declared = dict(
        ResourceDemand.objects.filter(year=year)
        .values("kind")
        .annotate(s=Sum("increment"))
        .values_list("kind", "s")
    )
    units = defaultdict(set)
    for kind, unit_id in ResourceDemand.objects.filter(year=year, increment__gt=0).values_list(
        "kind", "unit_id"
    ):
        units[kind].add(unit_id)
    pools = ResourcePool.objects.filter(is_active=True)
    totals = dict(pools.values("kind").annotate(s=Sum("total")).values_list("kind", "s"))
    allocated = dict(
        Allocation.objects.filter(released_at__isnull=True, pool__is_active=True)
        .values("pool__kind")
        .annotate(s=Sum("amount"))
        .values_list("pool__kind", "s")
    )
    rows = []
    for kind in PoolKind.values:
        total, used, inc = totals.get(kind) or 0, allocated.get(kind) or 0, declared.get(kind) or 0
        after = used + inc
        rows.append(
            {
                "kind": kind,
                "label": str(PoolKind(kind).label),
                "declared": inc,
                "units": len(units[kind]),
                "total": total,
                "allocated": used,
                "after": after,
                "ratio_after": round(after / total, 4) if total else None,
                "needs_expansion": (after / total >= CAPACITY_EXPANSION_THRESHOLD) if total else inc > 0,
                "expand_by": max(0, int(-(-after // CAPACITY_EXPANSION_THRESHOLD)) - total) if after else 0,
            }
        )
    return rows


# --- settlement (C§42) ----------------------------------------------------------------------------


def settlement_list(*, user: Any, year: int | None = None) -> QuerySet[Settlement]:
    qs = _scoped(Settlement.objects.select_related("unit"), user)
    return qs.filter(year=year) if year else qs


def settlement_get(*, user: Any, pk: int) -> Settlement:
    settlement = Settlement.objects.filter(pk=pk).select_related("unit").first()
    if settlement is None or not can_view_unit(user, settlement.unit_id):
        raise NotFound(OpsError.NOT_FOUND, _("未找到该结算。"))
    return settlement


# --- exports --------------------------------------------------------------------------------------


def _xlsx(title: str, header: list[str], rows: list[list[Any]]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = title[:31]
    ws.append(header)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in rows:
        ws.append([float(v) if isinstance(v, Decimal) else v for v in row])
    for i, _h in enumerate(header, 1):
        ws.column_dimensions[ws.cell(row=1, column=i).column_letter].width = 18
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def project_plans_xlsx(*, user: Any, year: int) -> bytes:
    """The approved list of ``year`` for the district investment plan (C§16, C§41) — center."""
    _require_center(user)
    plans = ProjectPlan.objects.filter(year=year, status=PlanStatus.APPROVED).select_related(
        "unit", "project_catalog"
    )
    rows = [
        [
            i,
            p.unit.name,
            p.name,
            p.budget,
            p.project_catalog.name if p.project_catalog else "",
            "、".join(r.name for r in p.resources.all()),
            timezone.localtime(p.reviewed_at).date().isoformat() if p.reviewed_at else "",
        ]
        for i, p in enumerate(plans, 1)
    ]
    header = [
        str(h)
        for h in (
            _("序号"),
            _("申报单位"),
            _("项目名称"),
            _("预算（万元）"),
            _("项目资源目录"),
            _("关联信息资源"),
            _("审定日期"),
        )
    ]
    return _xlsx(str(_("%(y)s年度建设项目计划") % {"y": year}), header, rows)


def _settlement_rows(settlement: Settlement) -> list[list[Any]]:
    return [
        [
            ln.host_name,
            ln.product.name,
            ln.start.isoformat(),
            ln.end.isoformat(),
            ln.days,
            ln.unit_price_month,
            ln.amount,
        ]
        for ln in settlement.lines.select_related("product")
    ]


SETTLEMENT_HEADER = (_("资源名"), _("产品"), _("起"), _("止"), _("天数"), _("单价（元/月）"), _("金额（元）"))


def settlement_xlsx(*, user: Any, pk: int) -> tuple[Settlement, bytes]:
    settlement = settlement_get(user=user, pk=pk)
    rows = _settlement_rows(settlement)
    rows.append(["", "", "", "", "", str(_("合计")), settlement.amount])
    return settlement, _xlsx(f"{settlement.year}", [str(h) for h in SETTLEMENT_HEADER], rows)


def settlement_pdf(*, user: Any, pk: int) -> tuple[Settlement, bytes]:
    """The unit's settlement as a PDF (reportlab; the built-in CID font STSong-Light needs no file)."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    settlement = settlement_get(user=user, pk=pk)
    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    title = ParagraphStyle("t", fontName="STSong-Light", fontSize=16, leading=22)
    body = ParagraphStyle("b", fontName="STSong-Light", fontSize=10, leading=14)
    data = [[str(h) for h in SETTLEMENT_HEADER]] + [
        [str(c) for c in row] for row in _settlement_rows(settlement)
    ]
    data.append(["", "", "", "", "", str(_("合计")), str(settlement.amount)])
    table = Table(data, repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), "STSong-Light"),
                ("FONTSIZE", (0, 0), (-1, -1), 9),
                ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.lightgrey),
                ("ALIGN", (4, 1), (-1, -1), "RIGHT"),
            ]
        )
    )
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out, pagesize=landscape(A4), title=f"settlement-{settlement.year}-{settlement.unit_id}"
    )
    status = settlement.get_status_display()
    doc.build(
        [
            Paragraph(str(_("%(y)s 年度政务云资源使用结算单") % {"y": settlement.year}), title),
            Spacer(1, 6),
            Paragraph(
                str(_("单位：%(u)s　状态：%(s)s　核算时间：%(t)s（C§42）"))
                % {
                    "u": settlement.unit.name,
                    "s": status,
                    "t": timezone.localtime(settlement.computed_at).strftime("%Y-%m-%d %H:%M"),
                },
                body,
            ),
            Spacer(1, 8),
            table,
        ]
    )
    return settlement, out.getvalue()
