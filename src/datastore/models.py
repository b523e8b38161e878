"""The data store (C§22-23, S§19-25): one physical table per published table resource, loads
into it, their rejected rows, the shared change log (the exchange's outbox) and the update duty.

The physical tables ``ds_<resource id>`` are not Django models: their columns follow the
resource's data items and are built by ``datastore.tables``. This module holds the bookkeeping.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from catalog.models import Resource


class DataTable(models.Model):
    """The physical table of one resource and the schema it was built with.

    ``schema`` lists one entry per data item: ``{"item": id, "column": "c_<id>", "type": ...,
    "sql": ...}``; column names are generated from item ids, never taken from user text.
    """

    resource = models.OneToOneField(
        Resource, on_delete=models.PROTECT, related_name="data_table", verbose_name=_("信息资源")
    )
    table_name = models.CharField(_("物理表"), max_length=63)
    previous_table_name = models.CharField(
        _("保留的旧表"), max_length=63, blank=True, help_text=_("类型变更重建后保留的旧表，核验后删除。")
    )
    schema = models.JSONField(_("表结构"), default=list)
    version = models.PositiveIntegerField(_("数据版本"), default=0)
    row_count = models.BigIntegerField(_("记录数"), default=0)
    last_loaded_at = models.DateTimeField(_("最近成功加载"), null=True, blank=True)
    last_load = models.ForeignKey(
        "datastore.Load", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    overdue_since = models.DateTimeField(_("逾期未更新起始"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("数据表")
        verbose_name_plural = _("数据表")

    def __str__(self) -> str:
        return self.table_name


class LoadStatus(models.TextChoices):
    QUEUED = "queued", _("排队中")
    RUNNING = "running", _("加载中")
    SUCCEEDED = "succeeded", _("已完成")
    FAILED = "failed", _("失败")


class LoadMode(models.TextChoices):
    APPEND = "append", _("追加")
    UPSERT = "upsert", _("按主键更新")
    REPLACE = "replace", _("全量替换")


class LoadSource(models.TextChoices):
    CSV = "csv", _("CSV 文件")
    XLSX = "xlsx", _("Excel 文件")
    JSONL = "jsonl", _("JSON Lines 文件")
    API = "api", _("接口推送")


class Load(models.Model):
    """One load of data into a resource's table (数据归集, S§23), with its history figures.

    Applied whole or not at all: rows are validated into a staging table and merged in one
    transaction. A load that failed (or was interrupted) can be retried from its stored file.
    """

    resource = models.ForeignKey(Resource, on_delete=models.PROTECT, related_name="loads")
    status = models.CharField(_("状态"), max_length=20, choices=LoadStatus.choices, default=LoadStatus.QUEUED)
    mode = models.CharField(_("加载方式"), max_length=20, choices=LoadMode.choices, default=LoadMode.UPSERT)
    source = models.CharField(_("来源"), max_length=20, choices=LoadSource.choices)
    file_name = models.CharField(_("文件名"), max_length=255, blank=True)
    file_path = models.CharField(max_length=500, blank=True, editable=False)
    file_size = models.BigIntegerField(_("文件大小"), default=0)
    checksum = models.CharField(_("SHA-256"), max_length=64, blank=True)
    sheet_name = models.CharField(_("工作表"), max_length=100, blank=True)
    encoding = models.CharField(_("编码"), max_length=20, blank=True)
    delimiter = models.CharField(_("分隔符"), max_length=4, blank=True)
    reject_threshold = models.DecimalField(
        _("拒绝率阈值"), max_digits=5, decimal_places=4, default=Decimal("0.01")
    )
    rows_read = models.BigIntegerField(_("读取行数"), default=0)
    rows_accepted = models.BigIntegerField(_("接受行数"), default=0)
    rows_rejected = models.BigIntegerField(_("拒绝行数"), default=0)
    rows_inserted = models.BigIntegerField(_("新增行数"), default=0)
    rows_updated = models.BigIntegerField(_("更新行数"), default=0)
    rows_deleted = models.BigIntegerField(_("删除行数"), default=0)
    rows_unchanged = models.BigIntegerField(_("未变行数"), default=0)
    progress_rows = models.BigIntegerField(_("已处理行数"), default=0)
    progress_bytes = models.BigIntegerField(_("已处理字节"), default=0)
    version = models.PositiveIntegerField(_("生成的数据版本"), null=True, blank=True)
    stats = models.JSONField(_("质量统计"), default=dict, blank=True)
    error_code = models.CharField(_("错误代码"), max_length=50, blank=True)
    error_message = models.TextField(_("错误信息"), blank=True)
    attempts = models.PositiveIntegerField(_("尝试次数"), default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("提交人"),
    )
    created_at = models.DateTimeField(_("提交时间"), auto_now_add=True)
    started_at = models.DateTimeField(_("开始时间"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    duration_ms = models.BigIntegerField(_("耗时（毫秒）"), null=True, blank=True)

    class Meta:
        verbose_name = _("数据加载")
        verbose_name_plural = _("数据加载")
        ordering = ["-id"]
        indexes = [models.Index(fields=["resource", "status"])]

    def __str__(self) -> str:
        return f"#{self.pk} {self.file_name or self.get_source_display()}"

    @property
    def progress_percent(self) -> int:
        if self.status == LoadStatus.SUCCEEDED:
            return 100
        if not self.file_size:
            return 0
        return min(99, int(self.progress_bytes * 100 / self.file_size))

    @property
    def is_finished(self) -> bool:
        return self.status in (LoadStatus.SUCCEEDED, LoadStatus.FAILED)


class LoadReject(models.Model):
    """A rejected value of a load: where it was (source line, column) and why."""

    load = models.ForeignKey(Load, on_delete=models.CASCADE, related_name="rejects")
    line = models.BigIntegerField(_("行号"))
    column = models.CharField(_("列"), max_length=200, blank=True)
    reason = models.CharField(_("原因"), max_length=300)
    value = models.TextField(_("原值"), blank=True)

    class Meta:
        verbose_name = _("拒绝记录")
        verbose_name_plural = _("拒绝记录")
        ordering = ["load", "line", "id"]

    def __str__(self) -> str:
        return f"{self.line}:{self.column} {self.reason}"


class ChangeOp(models.TextChoices):
    INSERT = "insert", _("新增")
    UPDATE = "update", _("更新")
    DELETE = "delete", _("删除")


class ChangeLogEntry(models.Model):
    """One row changed by a load: the outbox the exchange's change feeds and webhooks read.

    ``resource_id`` and ``load_id`` are plain numbers, not foreign keys, so the log can live on
    a distributed database (Citus: no cross-table foreign keys).

    A first load into an empty table writes one entry for all its rows (decision 0011): ``span``
    rows, ``row_id`` to ``row_id + span - 1``, inserted, standing for the entries ``id`` to
    ``id + span - 1`` of this resource (those ids are reserved: no later entry of the resource
    gets one). ``tables.changes_since`` hands them out one per row, as if each had been written.
    """

    resource_id = models.BigIntegerField(db_index=False)
    row_id = models.BigIntegerField()
    row_key = models.CharField(max_length=64, blank=True, null=True)
    op = models.CharField(max_length=10, choices=ChangeOp.choices)
    span = models.PositiveIntegerField(default=1, db_default=1)
    load_id = models.BigIntegerField()
    version = models.PositiveIntegerField()
    changed_at = models.DateTimeField()

    class Meta:
        verbose_name = _("变更日志")
        verbose_name_plural = _("变更日志")
        indexes = [models.Index(fields=["resource_id", "id"], name="ds_changelog_res_id")]

    def __str__(self) -> str:
        return f"{self.resource_id}:{self.row_id} {self.op}"


class SourceChange(models.Model):
    """A provider's record that its source data changed (S§25): the platform copy must be
    updated within 2 working days, met by the next successful load."""

    resource = models.ForeignKey(Resource, on_delete=models.PROTECT, related_name="source_changes")
    note = models.CharField(_("变更说明"), max_length=500, blank=True)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("登记人"),
    )
    reported_at = models.DateTimeField(_("登记时间"))
    met_by_load = models.ForeignKey(Load, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    met_at = models.DateTimeField(_("更新时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("源数据变更")
        verbose_name_plural = _("源数据变更")
        ordering = ["-reported_at"]

    def __str__(self) -> str:
        return f"{self.resource_id}@{self.reported_at:%Y-%m-%d}"
