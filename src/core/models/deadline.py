"""Deadline clocks (SLA) on any workflow object (C§11, C§14, C§15, S§25, 国发〔2016〕51号)."""

from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.rules import Rule

__all__ = ["Deadline"]


class Deadline(models.Model):
    """One clock: the duty ``rule`` on ``target``, owed by ``responsible_unit``, due at ``due_at``.

    The working days already used before a pause are kept in ``working_days_used``; on resume the
    due time is recomputed from the remaining working days, counted from the resumption
    (``segment_started_at``), so paused days are not counted. At most one open (running, paused
    or overdue) clock exists per target and rule.
    """

    class State(models.TextChoices):
        RUNNING = "running", _("计时中")
        PAUSED = "paused", _("已暂停")
        MET = "met", _("已办结")
        OVERDUE = "overdue", _("已逾期")
        CANCELLED = "cancelled", _("已撤销")

    #: States of a clock that is still open (the duty is not done yet).
    OPEN_STATES = (State.RUNNING, State.PAUSED, State.OVERDUE)

    target_type = models.ForeignKey(
        ContentType, on_delete=models.PROTECT, related_name="+", verbose_name=_("对象类型")
    )
    target_id = models.CharField(_("对象编号"), max_length=64)
    target = GenericForeignKey("target_type", "target_id")
    target_label = models.CharField(_("对象"), max_length=300, blank=True)
    rule = models.CharField(_("规则"), max_length=50, choices=Rule.choices, db_index=True)
    working_days = models.PositiveSmallIntegerField(_("时限（工作日）"))
    responsible_unit = models.ForeignKey(
        "accounts.Unit",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("责任单位"),
    )
    started_at = models.DateTimeField(_("开始时间"))
    segment_started_at = models.DateTimeField(_("本段计时开始"))
    due_at = models.DateTimeField(_("到期时间"), db_index=True)
    provisional = models.BooleanField(
        _("暂定"), default=False, help_text=_("到期日落在节假日安排尚未确认的年度，可能变化。")
    )
    state = models.CharField(
        _("状态"), max_length=20, choices=State.choices, default=State.RUNNING, db_index=True
    )
    paused_at = models.DateTimeField(_("暂停时间"), null=True, blank=True)
    pause_reason = models.CharField(_("暂停原因"), max_length=300, blank=True)
    working_days_used = models.PositiveSmallIntegerField(_("暂停前已用工作日"), default=0)
    met_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    late = models.BooleanField(_("超期办结"), default=False)
    overdue_notified_at = models.DateTimeField(_("逾期通知时间"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("办理时限")
        verbose_name_plural = _("办理时限")
        ordering = ["due_at", "id"]
        indexes = [
            models.Index(fields=["target_type", "target_id", "rule"]),
            models.Index(fields=["responsible_unit", "state"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["target_type", "target_id", "rule"],
                condition=models.Q(state__in=["running", "paused", "overdue"]),
                name="core_deadline_one_open_clock",
                violation_error_message=_("该对象的此项时限已在计时。"),
            ),
            models.CheckConstraint(
                condition=models.Q(due_at__gte=models.F("started_at")),
                name="core_deadline_due_after_start",
                violation_error_message=_("到期时间不能早于开始时间。"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_rule_display()} · {self.target_label}"

    @property
    def is_open(self) -> bool:
        return self.state in self.OPEN_STATES
