"""Running the district cloud after go-live (C§16, C§27-28, C§38, C§40-42): utilisation metrics,
the 70 % expansion alert, idle / over-provisioned flags, yearly project and resource plans, and the
yearly settlement. Imported at the end of ``cloud.models``; workflow lives in ``cloud.ops_services``.

Metrics are stored narrow: one row per (series, hour, value). ``hour`` is the number of whole
hours since 1970-01-01 00:00 UTC, so hourly and daily grouping is plain integer arithmetic that
behaves the same on SQLite and PostgreSQL (a day in Asia/Shanghai is ``(hour + 8) // 24``).
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.models import Unit
from cloud.models import PoolKind  # ops_models is imported at the end of cloud.models


class Metric(models.TextChoices):
    """What a series measures. Allocation metrics follow the pool kind of the allocation."""

    CPU = "cpu", _("CPU 使用率（%）")
    MEMORY = "memory", _("内存使用率（%）")
    STORAGE = "storage", _("存储已用（GB）")
    BANDWIDTH = "bandwidth", _("带宽（Mbps）")
    POOL_USED = "used", _("资源池已用（平台上报）")
    POOL_USED_SUM = "used_sum", _("资源池已用（按分配汇总）")
    POOL_ALLOCATED = "allocated", _("资源池已分配")
    POOL_TOTAL = "total", _("资源池总量")


#: The allocation metric of each pool kind (compute → CPU %, …).
METRIC_OF_POOL_KIND = {
    "compute": Metric.CPU,
    "memory": Metric.MEMORY,
    "storage": Metric.STORAGE,
    "network": Metric.BANDWIDTH,
}
PERCENT_METRICS = frozenset({Metric.CPU, Metric.MEMORY})
POOL_METRICS = frozenset({Metric.POOL_USED, Metric.POOL_USED_SUM, Metric.POOL_ALLOCATED, Metric.POOL_TOTAL})


class MetricSeries(models.Model):
    """One measured series: an allocation's utilisation, or one line of a pool (C§27)."""

    pool = models.ForeignKey(
        "cloud.ResourcePool", on_delete=models.PROTECT, related_name="metric_series", verbose_name=_("资源池")
    )
    allocation = models.ForeignKey(
        "cloud.Allocation",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="metric_series",
        verbose_name=_("资源分配"),
    )
    metric = models.CharField(_("指标"), max_length=20, choices=Metric.choices)

    class Meta:
        verbose_name = _("监测序列")
        verbose_name_plural = _("监测序列")
        constraints = [
            models.UniqueConstraint(
                fields=["allocation", "metric"],
                condition=Q(allocation__isnull=False),
                name="cloud_uniq_series_allocation_metric",
            ),
            models.UniqueConstraint(
                fields=["pool", "metric"],
                condition=Q(allocation__isnull=True),
                name="cloud_uniq_series_pool_metric",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.pool_id}/{self.allocation_id or '-'}/{self.metric}"


class MetricPoint(models.Model):
    """One hourly value. Narrow on purpose (17.5 M rows a year for 2,000 allocations): no surrogate
    id, no foreign-key constraint (series are never deleted; allocations are PROTECTed)."""

    pk = models.CompositePrimaryKey("series_id", "hour")
    series = models.ForeignKey(
        MetricSeries, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    hour = models.IntegerField(_("小时（UTC 纪元小时数）"))
    value = models.FloatField(_("值"))

    class Meta:
        verbose_name = _("监测值（小时）")
        verbose_name_plural = _("监测值（小时）")

    def __str__(self) -> str:
        return f"{self.series_id}@{self.hour}={self.value}"


class MetricDaily(models.Model):
    """Hourly values older than 13 months, downsampled to one row per day (average and maximum)."""

    pk = models.CompositePrimaryKey("series_id", "day")
    series = models.ForeignKey(
        MetricSeries, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    day = models.IntegerField(_("日（纪元日数，北京时间）"))
    avg = models.FloatField(_("平均值"))
    max = models.FloatField(_("最大值"))
    samples = models.PositiveIntegerField(_("小时样本数"))

    class Meta:
        verbose_name = _("监测值（日）")
        verbose_name_plural = _("监测值（日）")

    def __str__(self) -> str:
        return f"{self.series_id}@d{self.day}={self.avg}"


class CapacityAlert(models.Model):
    """C§27 expansion alert: a pool reached 70 % of its capacity; a tracked task for the center
    (deadline ``Rule.CLOUD_EXPANSION``). At most one open per pool; closes when capacity is raised."""

    class Status(models.TextChoices):
        OPEN = "open", _("待扩容")
        CLOSED = "closed", _("已扩容")

    pool = models.ForeignKey(
        "cloud.ResourcePool",
        on_delete=models.PROTECT,
        related_name="capacity_alerts",
        verbose_name=_("资源池"),
    )
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.OPEN)
    opened_at = models.DateTimeField(_("预警时间"))
    ratio_at_open = models.FloatField(_("预警时使用率"))
    allocated_at_open = models.PositiveIntegerField(_("预警时已分配"))
    total_at_open = models.PositiveIntegerField(_("预警时总容量"))
    due_at = models.DateTimeField(_("扩容时限"), null=True, blank=True)
    closed_at = models.DateTimeField(_("关闭时间"), null=True, blank=True)
    total_at_close = models.PositiveIntegerField(_("扩容后总容量"), null=True, blank=True)

    class Meta:
        verbose_name = _("扩容预警")
        verbose_name_plural = _("扩容预警")
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["pool"],
                condition=Q(status="open"),
                name="cloud_one_open_capacity_alert_per_pool",
                violation_error_message=_("该资源池已有未关闭的扩容预警。"),
            )
        ]

    def __str__(self) -> str:
        return f"扩容预警 #{self.pk} {self.pool_id}"


class EfficiencyFlag(models.Model):
    """C§38 "云资源是否闲置或配置过度": an idle or over-provisioned resource of a unit, with a
    right-sizing suggestion the unit may accept as a C§14 change request."""

    class Kind(models.TextChoices):
        IDLE = "idle", _("闲置")
        OVERPROVISIONED = "overprovisioned", _("配置过度")

    class Status(models.TextChoices):
        OPEN = "open", _("待处理")
        ACCEPTED = "accepted", _("已提交变更")
        DISMISSED = "dismissed", _("单位说明保留")
        RESOLVED = "resolved", _("已消除")

    resource = models.ForeignKey(
        "cloud.ProvisionedResource", on_delete=models.PROTECT, related_name="efficiency_flags"
    )
    application = models.ForeignKey(
        "cloud.CloudApplication", on_delete=models.PROTECT, related_name="efficiency_flags"
    )
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+", verbose_name=_("单位"))
    kind = models.CharField(_("类别"), max_length=20, choices=Kind.choices)
    status = models.CharField(_("状态"), max_length=20, choices=Status.choices, default=Status.OPEN)
    measured = models.JSONField(_("测量值"), default=dict)
    suggestion = models.JSONField(_("建议配置"), default=list, blank=True)
    suggestion_text = models.CharField(_("调整建议"), max_length=300)
    detected_at = models.DateTimeField(_("发现时间"))
    decided_by = models.ForeignKey("accounts.User", null=True, on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)
    change = models.ForeignKey(
        "cloud.ChangeRequest", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("资源使用效率提示")
        verbose_name_plural = _("资源使用效率提示")
        ordering = ["-detected_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["resource", "kind"],
                condition=Q(status="open"),
                name="cloud_one_open_flag_per_resource",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.resource_id}"


class PlanStatus(models.TextChoices):
    SUBMITTED = "submitted", _("待审定")
    APPROVED = "approved", _("审定通过")
    REJECTED = "rejected", _("未通过")


class ProjectPlan(models.Model):
    """C§16: next year's construction project, declared 1 June – 31 August; approved plans go into
    the district investment plan (C§41). The project's resource catalog is pre-registered (S§42)."""

    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+", verbose_name=_("申报单位"))
    year = models.PositiveIntegerField(_("计划年度"))
    name = models.CharField(_("项目名称"), max_length=200)
    construction_plan = models.TextField(_("建设方案"))
    budget = models.DecimalField(_("预算（万元）"), max_digits=12, decimal_places=2)
    project_catalog = models.ForeignKey(
        "catalog.ProjectCatalog",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("项目资源目录（S§42）"),
    )
    resources = models.ManyToManyField(
        "catalog.Resource", blank=True, related_name="+", verbose_name=_("关联信息资源")
    )
    status = models.CharField(
        _("状态"), max_length=20, choices=PlanStatus.choices, default=PlanStatus.SUBMITTED
    )
    submitted_by = models.ForeignKey("accounts.User", null=True, on_delete=models.SET_NULL, related_name="+")
    submitted_at = models.DateTimeField(_("申报时间"))
    reviewed_by = models.ForeignKey("accounts.User", null=True, on_delete=models.SET_NULL, related_name="+")
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_note = models.TextField(_("审定意见"), blank=True)

    class Meta:
        verbose_name = _("建设项目计划")
        verbose_name_plural = _("建设项目计划")
        ordering = ["-year", "unit_id", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(budget__gte=0),
                name="cloud_plan_budget_not_negative",
                violation_error_message=_("预算不能为负数。"),
            )
        ]

    def __str__(self) -> str:
        return f"{self.year} {self.name}"


class ResourceDemand(models.Model):
    """C§42: next year's resource increment a unit declares in October (one row per pool kind)."""

    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+", verbose_name=_("申报单位"))
    year = models.PositiveIntegerField(_("需求年度"))
    kind = models.CharField(_("资源类别"), max_length=20, choices=PoolKind.choices)
    increment = models.PositiveIntegerField(_("增量"))
    reason = models.TextField(_("依据（建设项目）"), blank=True)
    submitted_by = models.ForeignKey("accounts.User", null=True, on_delete=models.SET_NULL, related_name="+")
    submitted_at = models.DateTimeField(_("申报时间"))

    class Meta:
        verbose_name = _("资源需求计划")
        verbose_name_plural = _("资源需求计划")
        ordering = ["-year", "unit_id", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["unit", "year", "kind"], name="cloud_uniq_demand_unit_year_kind")
        ]

    def __str__(self) -> str:
        return f"{self.year} {self.unit_id} {self.kind} +{self.increment}"


class Settlement(models.Model):
    """C§42: one unit's cloud usage for a year, computed by the center before 1 November."""

    class Status(models.TextChoices):
        COMPUTED = "computed", _("已核算")
        REVIEWED = "reviewed", _("已审核")

    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+", verbose_name=_("单位"))
    year = models.PositiveIntegerField(_("结算年度"))
    amount = models.DecimalField(_("结算金额（元）"), max_digits=14, decimal_places=2)
    status = models.CharField(_("状态"), max_length=20, choices=Status.choices, default=Status.COMPUTED)
    computed_at = models.DateTimeField(_("核算时间"))
    computed_by = models.ForeignKey("accounts.User", null=True, on_delete=models.SET_NULL, related_name="+")
    late = models.BooleanField(_("晚于 11 月 1 日核算"), default=False)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey("accounts.User", null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("资源使用结算")
        verbose_name_plural = _("资源使用结算")
        ordering = ["-year", "unit_id"]
        constraints = [
            models.UniqueConstraint(fields=["unit", "year"], name="cloud_uniq_settlement_unit_year")
        ]

    def __str__(self) -> str:
        return f"{self.year} {self.unit_id} {self.amount}"


class SettlementLine(models.Model):
    """One provisioned resource's share of a settlement: days in use × monthly price, pro rata."""

    settlement = models.ForeignKey(Settlement, on_delete=models.CASCADE, related_name="lines")
    resource = models.ForeignKey(
        "cloud.ProvisionedResource", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    product = models.ForeignKey("cloud.CloudProduct", on_delete=models.PROTECT, related_name="+")
    host_name = models.CharField(_("资源名"), max_length=100)
    start = models.DateField(_("起"))
    end = models.DateField(_("止（含）"))
    days = models.PositiveIntegerField(_("天数"))
    unit_price_month = models.DecimalField(_("单价（元/月）"), max_digits=12, decimal_places=2)
    amount = models.DecimalField(_("金额（元）"), max_digits=14, decimal_places=2)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.host_name} {self.amount}"


__all__ = [
    "METRIC_OF_POOL_KIND",
    "PERCENT_METRICS",
    "POOL_METRICS",
    "CapacityAlert",
    "EfficiencyFlag",
    "Metric",
    "MetricDaily",
    "MetricPoint",
    "MetricSeries",
    "PlanStatus",
    "ProjectPlan",
    "ResourceDemand",
    "Settlement",
    "SettlementLine",
]
