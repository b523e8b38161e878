"""Cloud operations pages (/cloud/ops/…): pool dashboard with ECharts (C§27), efficiency flags
(C§38), project and resource plans (C§16, C§42), settlements (C§42). Thin: forms ↔ services."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views import View

from cloud import ops_selectors as sel
from cloud import ops_services as svc
from cloud.models import PlanStatus, PoolKind
from cloud.permissions import can_act_for_unit, can_review
from core.errors import DomainError, PermissionDenied
from core.rules import RESOURCE_DEMAND_MONTH, SETTLEMENT_BEFORE

DAY_CHOICES = (30, 90, 365)


def _int(value: Any, default: int) -> int:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return default


def _year(value: Any, default: int) -> int:
    year = _int(value, default)
    return year if 2000 <= year <= 2100 else default


class PoolDashboardView(LoginRequiredMixin, View):
    """资源池监测: used / allocated / total per kind, the 70 % line and the forecast (center)."""

    def get(self, request):
        if not can_review(request.user):
            raise PermissionDenied(svc.OpsError.NOT_ALLOWED, _("资源池容量与预警仅对数据资源中心可见。"))
        days = _int(request.GET.get("days"), 90)
        days = days if days in DAY_CHOICES else 90
        data = sel.pool_dashboard(user=request.user, days=days)
        return render(
            request,
            "cloud/ops/pools.html",
            {
                "data": data,
                "days": days,
                "day_choices": DAY_CHOICES,
                "alerts": sel.capacity_alert_list(user=request.user)[:20],
                "labels": {
                    "used": _("已用（平台上报）"),
                    "used_sum": _("已用（按分配汇总）"),
                    "allocated": _("已分配"),
                    "total": _("总量"),
                    "line70": _("70% 扩容线"),
                },
            },
        )


class EfficiencyView(LoginRequiredMixin, View):
    """闲置与配置过度 (C§38): a unit sees its own flags and accepts or dismisses them."""

    def get(self, request):
        status = request.GET.get("status") or "open"
        flags = sel.efficiency_flag_list(user=request.user, status=None if status == "all" else status)
        return render(
            request,
            "cloud/ops/efficiency.html",
            {
                "flags": flags[:200],
                "status": status,
                "can_act": can_act_for_unit(request.user, request.user.unit_id),
            },
        )

    def post(self, request):
        try:
            flag = sel.efficiency_flag_get(user=request.user, pk=_int(request.POST.get("flag"), 0))
            if request.POST.get("decision") == "accept":
                flag = svc.efficiency_flag_accept(flag=flag, by=request.user)
                messages.success(request, _("已提交资源变更申请（C§14），中心将在 5 个工作日内完成。"))
            else:
                svc.efficiency_flag_dismiss(flag=flag, by=request.user, reason=request.POST.get("reason", ""))
                messages.success(request, _("已记录保留理由。"))
        except DomainError as exc:
            messages.error(request, exc.message)
        return redirect("cloud:ops-efficiency")


class PlansView(LoginRequiredMixin, View):
    """年度计划: project plans (C§16, 1 June – 31 August) and resource demands (C§42, October)."""

    def get(self, request):
        user, today = request.user, timezone.localdate()
        opens, closes = svc.project_plan_window(today.year)
        is_center = can_review(user)
        year = _year(request.GET.get("year"), today.year + 1)
        return render(
            request,
            "cloud/ops/plans.html",
            {
                "today": today,
                "year": year,
                "plan_window": (opens, closes),
                "plan_open": opens <= today <= closes,
                "demand_open": today.month == RESOURCE_DEMAND_MONTH,
                "plans": sel.project_plan_list(user=user, year=year),
                "demands": sel.resource_demand_list(user=user, year=year),
                "summary": sel.resource_demand_summary(user=user, year=year) if is_center else None,
                "is_center": is_center,
                "can_act": can_act_for_unit(user, user.unit_id),
                "catalogs": sel.project_catalog_list(user=user),
                "kinds": PoolKind.choices,
                "submitted": PlanStatus.SUBMITTED,
            },
        )

    def post(self, request):
        user, action = request.user, request.POST.get("action")
        try:
            if action == "plan":
                catalog_id = _int(request.POST.get("project_catalog"), 0)
                svc.project_plan_submit(
                    by=user,
                    name=request.POST.get("name", ""),
                    construction_plan=request.POST.get("construction_plan", ""),
                    budget=request.POST.get("budget", ""),
                    project_catalog=sel.project_catalog_own(user=user, pk=catalog_id),
                )
                messages.success(request, _("建设项目计划已申报，等待数据资源中心审定。"))
            elif action == "review":
                plan = sel.project_plan_get(user=user, pk=_int(request.POST.get("plan"), 0))
                svc.project_plan_review(
                    plan=plan,
                    by=user,
                    approve=request.POST.get("decision") == "approve",
                    note=request.POST.get("note", ""),
                )
                messages.success(request, _("已审定。"))
            elif action == "demand":
                items = [
                    {"kind": kind, "increment": request.POST.get(f"inc_{kind}", "").strip() or "0"}
                    for kind in PoolKind.values
                ]
                svc.resource_demand_declare(by=user, items=items)
                messages.success(request, _("资源需求计划已申报。"))
        except DomainError as exc:
            messages.error(request, exc.message)
        return redirect("cloud:ops-plans")


class SettlementsView(LoginRequiredMixin, View):
    """年度结算 (C§42): the center computes before 1 November, reviews and exports per unit."""

    def get(self, request):
        today = timezone.localdate()
        year = _year(request.GET.get("year"), today.year)
        return render(
            request,
            "cloud/ops/settlements.html",
            {
                "year": year,
                "settlements": sel.settlement_list(user=request.user, year=year),
                "is_center": can_review(request.user),
                "due": date(year, *SETTLEMENT_BEFORE),
            },
        )

    def post(self, request):
        year = _year(request.POST.get("year"), timezone.localdate().year)
        try:
            if request.POST.get("action") == "compute":
                results = svc.settlement_compute(by=request.user, year=year)
                messages.success(request, _("已核算 %(n)s 个单位。") % {"n": len(results)})
            else:
                settlement = sel.settlement_get(user=request.user, pk=_int(request.POST.get("settlement"), 0))
                svc.settlement_review(settlement=settlement, by=request.user)
                messages.success(request, _("已审核。"))
        except DomainError as exc:
            messages.error(request, exc.message)
        return redirect(f"{request.path}?year={year}")


urlpatterns = [
    path("ops/pools/", PoolDashboardView.as_view(), name="ops-pools"),
    path("ops/efficiency/", EfficiencyView.as_view(), name="ops-efficiency"),
    path("ops/plans/", PlansView.as_view(), name="ops-plans"),
    path("ops/settlements/", SettlementsView.as_view(), name="ops-settlements"),
]
