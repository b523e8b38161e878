"""Every rule length, threshold and window in one place, with its article (STYLE.md: no magic
numbers). The center sees this table in the UI. Deadlines in 工作日 use ``core.calendar``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time

from django.db import models
from django.utils.translation import gettext_lazy as _


class Rule(models.TextChoices):
    """Deadline rules (SLA clocks). Values are stable codes stored on ``Deadline``."""

    CLOUD_ACCEPT = "cloud.accept", _("政务云申请受理")
    CLOUD_REVIEW = "cloud.review", _("政务云申请审核意见")
    CLOUD_CHANGE = "cloud.change", _("政务云资源变更")
    CLOUD_TERMINATE_REVIEW = "cloud.terminate_review", _("政务云终止审核")
    CLOUD_RECLAIM = "cloud.reclaim", _("政务云资源回收")
    CATALOG_REVIEW = "catalog.review", _("目录审核")
    DATA_UPDATE = "datastore.update", _("数据变更后更新")
    ACCESS_PROVIDER_OPINION = "exchange.provider_opinion", _("有条件共享：提供单位答复")
    DEMAND_ANSWER = "catalog.demand_answer", _("数据需求答复")
    CLOUD_EXPANSION = "cloud.expansion", _("资源池扩容（70% 预警）")


@dataclass(frozen=True)
class RuleSpec:
    rule: Rule
    working_days: int
    article: str
    note: str = ""


#: Lengths in working days. The center may override these per deployment (see core.deadlines).
RULES: dict[Rule, RuleSpec] = {
    Rule.CLOUD_ACCEPT: RuleSpec(Rule.CLOUD_ACCEPT, 3, "C§11"),
    Rule.CLOUD_REVIEW: RuleSpec(Rule.CLOUD_REVIEW, 2, "C§11"),
    Rule.CLOUD_CHANGE: RuleSpec(Rule.CLOUD_CHANGE, 5, "C§14"),
    Rule.CLOUD_TERMINATE_REVIEW: RuleSpec(Rule.CLOUD_TERMINATE_REVIEW, 5, "C§15"),
    Rule.CLOUD_RECLAIM: RuleSpec(Rule.CLOUD_RECLAIM, 3, "C§15"),
    Rule.CATALOG_REVIEW: RuleSpec(Rule.CATALOG_REVIEW, 5, "S§15", "可配置"),
    Rule.DATA_UPDATE: RuleSpec(Rule.DATA_UPDATE, 2, "S§25"),
    Rule.ACCESS_PROVIDER_OPINION: RuleSpec(Rule.ACCESS_PROVIDER_OPINION, 10, "国发〔2016〕51号"),
    Rule.DEMAND_ANSWER: RuleSpec(Rule.DEMAND_ANSWER, 10, "S§11", "可配置"),
    Rule.CLOUD_EXPANSION: RuleSpec(Rule.CLOUD_EXPANSION, 10, "C§27", "及时启动扩容，可配置"),
}

# Working-day convention (docs/decisions/0003-working-day-convention.md). Office hours are shown
# to applicants; they do not shift the count: the day of submission is never counted, whatever
# the hour, so counting always starts on the next working day.
OFFICE_HOURS = (time(8, 30), time(17, 30))
DUE_SOON_WORKING_DAYS = 2  # dashboard "即将到期": due within the next 2 working days
CALENDAR_YEARS_SUPPORTED = (2000, 2100)  # dates outside are refused as input

# Other thresholds and windows (no clocks).
TRIAL_MIN_CALENDAR_DAYS = 30  # C§12: trial run at least 30 calendar days
CAPACITY_EXPANSION_THRESHOLD = 0.70  # C§27
IDLE_CPU_PERCENT = 5.0  # C§38 idle: CPU below this ...
IDLE_DAYS = 30  # C§38 ... for this many days
OVERPROVISIONED_P95_PERCENT = 30.0  # C§38 over-provisioned: p95 usage below this share of the size
METRICS_KEEP_HOURLY_MONTHS = 13  # C§27 utilisation kept hourly this long, then daily
OLD_SYSTEM_KEEP_MONTHS = 2  # C§20
PROJECT_PLAN_WINDOW = ((6, 1), (8, 31))  # C§16: 1 June – 31 August
RESOURCE_DEMAND_MONTH = 10  # C§42: October
SETTLEMENT_BEFORE = (11, 1)  # C§42: before 1 November
CATALOG_YEARLY_REVIEW_MONTH = 10  # S§16: October
EVALUATIONS_PER_YEAR = 2  # S§38
