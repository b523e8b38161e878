"""Background jobs: one ``JobRun`` per enqueued piece of work, and the periodic schedule's state."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

__all__ = ["JobRun", "PeriodicTaskState"]


class JobRun(models.Model):
    """One background job as people see it: what, for whom, how far, and how it ended.

    The queue backend (django-tasks) only carries ``core.tasks.run_job(run_id)``; this row is the
    source of truth, so a job survives a worker killed mid-way (``core.jobs.recover_stale``) and
    a change of queue backend.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("排队中")
        RUNNING = "running", _("运行中")
        SUCCEEDED = "succeeded", _("已完成")
        FAILED = "failed", _("失败")

    kind = models.CharField(_("任务类型"), max_length=100, db_index=True)
    status = models.CharField(
        _("状态"), max_length=20, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    task_path = models.CharField(_("任务函数"), max_length=300)
    task_kwargs = models.JSONField(_("任务参数"), default=dict, blank=True)
    queue_name = models.CharField(max_length=32, default="default")
    task_result_id = models.CharField(_("队列结果编号"), max_length=64, blank=True)

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("发起人"),
    )
    unit_id = models.BigIntegerField(_("发起单位"), null=True, blank=True, db_index=True)
    target_type = models.CharField(_("对象类型"), max_length=100, blank=True)
    target_id = models.CharField(_("对象编号"), max_length=64, blank=True)
    target_label = models.CharField(_("对象"), max_length=300, blank=True)

    progress_done = models.PositiveBigIntegerField(_("已完成"), default=0)
    progress_total = models.PositiveBigIntegerField(_("总量"), null=True, blank=True)
    progress_message = models.CharField(_("进度说明"), max_length=300, blank=True)

    attempts = models.PositiveIntegerField(_("已尝试次数"), default=0)
    max_attempts = models.PositiveIntegerField(_("最多尝试次数"), default=3)
    notify_on_finish = models.BooleanField(_("完成时通知发起人"), default=True)
    worker_host = models.CharField(max_length=255, blank=True)
    worker_pid = models.PositiveIntegerField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(_("心跳时间"), null=True, blank=True)

    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(_("开始时间"), null=True, blank=True)
    finished_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    error = models.TextField(_("错误信息"), blank=True)
    result = models.JSONField(_("结果"), null=True, blank=True)

    class Meta:
        verbose_name = _("后台任务")
        verbose_name_plural = _("后台任务")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "heartbeat_at"], name="core_jobrun_status_hb"),
            models.Index(fields=["target_type", "target_id"], name="core_jobrun_target"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(progress_total__isnull=True)
                | models.Q(progress_done__lte=models.F("progress_total")),
                name="core_jobrun_progress_le_total",
                violation_error_message=_("已完成数量不能超过总量。"),
            )
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.SUCCEEDED, self.Status.FAILED)

    @property
    def percent(self) -> int | None:
        """Progress in whole percent, or None when the total is unknown."""
        if not self.progress_total:
            return 100 if self.status == self.Status.SUCCEEDED else None
        return min(100, int(self.progress_done * 100 / self.progress_total))


class PeriodicTaskState(models.Model):
    """When each periodic task last ran and is next due. Claimed with one conditional UPDATE,
    so two workers never run the same slot twice."""

    name = models.CharField(_("名称"), max_length=100, unique=True)
    next_run_at = models.DateTimeField(_("下次运行"))
    last_run_at = models.DateTimeField(_("上次运行"), null=True, blank=True)
    last_finished_at = models.DateTimeField(_("上次结束"), null=True, blank=True)
    last_status = models.CharField(_("上次结果"), max_length=20, blank=True)
    last_error = models.TextField(_("上次错误"), blank=True)
    last_worker = models.CharField(max_length=255, blank=True)

    class Meta:
        verbose_name = _("定时任务状态")
        verbose_name_plural = _("定时任务状态")
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} → {self.next_run_at:%Y-%m-%d %H:%M:%S}"
