"""Working-day calendar data kept by the center (DESIGN.md rule 3).

Official holidays and 调休 make-up working days come from ``chinesecalendar``; the center adds
overrides (``CalendarDay``) that always win, confirms years the library has no data for yet
(``CalendarYear``), and may change the length of a rule (``RuleOverride``).
"""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.rules import Rule

__all__ = ["CalendarDay", "CalendarYear", "RuleOverride"]


class CalendarDay(models.Model):
    """One date the center declares working or not; it wins over the official calendar.

    Used for years ``chinesecalendar`` does not cover yet (the State Council notice is published
    in late autumn) and for local decisions (e.g. a district-wide day off).
    """

    date = models.DateField(_("日期"), unique=True)
    is_working = models.BooleanField(_("是否工作日"))
    note = models.CharField(_("说明"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("录入人"),
    )
    created_at = models.DateTimeField(_("录入时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("修改时间"), auto_now=True)

    class Meta:
        verbose_name = _("工作日调整")
        verbose_name_plural = _("工作日调整")
        ordering = ["date"]

    def __str__(self) -> str:
        kind = _("工作日") if self.is_working else _("休息日")
        return f"{self.date:%Y-%m-%d} {kind}"


class CalendarYear(models.Model):
    """The center confirms that a year's holiday arrangement has been entered completely.

    For a year without official data, deadlines are provisional until the year is confirmed;
    the banner for the center admin disappears once it is.
    """

    year = models.PositiveSmallIntegerField(
        _("年度"), unique=True, validators=[MinValueValidator(2000), MaxValueValidator(2100)]
    )
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("确认人"),
    )
    confirmed_at = models.DateTimeField(_("确认时间"), auto_now_add=True)
    note = models.CharField(_("说明"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("已确认的年度节假日安排")
        verbose_name_plural = _("已确认的年度节假日安排")
        ordering = ["year"]

    def __str__(self) -> str:
        return str(self.year)


class RuleOverride(models.Model):
    """A length in working days set by the center for one rule of ``core.rules.RULES``.

    New clocks use it; running clocks keep the length they started with.
    """

    rule = models.CharField(_("规则"), max_length=50, choices=Rule.choices, unique=True)
    working_days = models.PositiveSmallIntegerField(
        _("工作日数"), validators=[MinValueValidator(1), MaxValueValidator(365)]
    )
    note = models.CharField(_("调整依据"), max_length=200, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("修改人"),
    )
    updated_at = models.DateTimeField(_("修改时间"), auto_now=True)

    class Meta:
        verbose_name = _("时限调整")
        verbose_name_plural = _("时限调整")
        ordering = ["rule"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(working_days__gte=1),
                name="core_ruleoverride_positive",
                violation_error_message=_("工作日数必须至少为 1。"),
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_rule_display()}：{self.working_days}"
