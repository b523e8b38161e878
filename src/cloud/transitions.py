"""The one transition table of the cloud application lifecycle (C§9-15, C§19).

Every service asks ``next_status(current, action)``; anything not in the table is refused
with ``Conflict`` — there is no other place where a status is decided.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from cloud.errors import CloudError
from cloud.models import ApplicationStatus as S
from core.errors import Conflict


class Action(models.TextChoices):
    SUBMIT = "submit", _("提交申请")
    ACCEPT = "accept", _("受理")
    RETURN = "return", _("不予受理")
    RESUBMIT = "resubmit", _("修改后重新提交")
    APPROVE = "approve", _("审核通过并分配资源")
    REJECT = "reject", _("审核不通过")
    TEST_PASS = "test_pass", _("测试评估合格")
    TEST_FAIL = "test_fail", _("测试评估不合格")
    RETEST = "retest", _("调整后申请复测")
    SIGN_AGREEMENT = "sign_agreement", _("签订托管协议")
    GO_LIVE = "go_live", _("正式运行")
    REQUEST_CHANGE = "request_change", _("申请变更")
    COMPLETE_CHANGE = "complete_change", _("完成变更")
    APPROVE_MAJOR_CHANGE = "approve_major_change", _("同意重大变更（须重新测试）")
    REFUSE_CHANGE = "refuse_change", _("不同意变更")
    REQUEST_TERMINATION = "request_termination", _("申请终止")
    APPROVE_TERMINATION = "approve_termination", _("终止审核通过")
    REFUSE_TERMINATION = "refuse_termination", _("终止审核不通过")
    RECLAIM = "reclaim", _("回收资源")


TRANSITIONS: dict[tuple[str, str], str] = {
    (S.SUBMITTED, Action.ACCEPT): S.ACCEPTED,  # C§11: within 3 WD
    (S.SUBMITTED, Action.RETURN): S.RETURNED,  # C§11: with reasons
    (S.RETURNED, Action.RESUBMIT): S.SUBMITTED,  # C§11: the same application again
    (S.ACCEPTED, Action.APPROVE): S.TESTING,  # C§11-12: opinion within 2 WD, reasonable resources
    (S.ACCEPTED, Action.REJECT): S.REJECTED,
    (S.TESTING, Action.TEST_PASS): S.TRIAL,  # C§12, C§19
    (S.TESTING, Action.TEST_FAIL): S.TEST_FAILED,  # C§19: the unit adjusts
    (S.TEST_FAILED, Action.RETEST): S.TESTING,
    (S.TRIAL, Action.SIGN_AGREEMENT): S.AGREEMENT_SIGNED,  # C§12-13: after ≥ 30 calendar days
    (S.AGREEMENT_SIGNED, Action.GO_LIVE): S.PRODUCTION,  # C§13
    (S.PRODUCTION, Action.REQUEST_CHANGE): S.CHANGE_PENDING,  # C§14: 5 WD
    (S.CHANGE_PENDING, Action.COMPLETE_CHANGE): S.PRODUCTION,
    (S.CHANGE_PENDING, Action.APPROVE_MAJOR_CHANGE): S.CHANGE_TESTING,  # C§14: tests again
    (S.CHANGE_PENDING, Action.REFUSE_CHANGE): S.PRODUCTION,
    (S.CHANGE_TESTING, Action.TEST_PASS): S.PRODUCTION,
    (S.CHANGE_TESTING, Action.TEST_FAIL): S.CHANGE_TESTING,
    (S.PRODUCTION, Action.REQUEST_TERMINATION): S.TERMINATION_PENDING,  # C§15: review 5 WD
    (S.TERMINATION_PENDING, Action.APPROVE_TERMINATION): S.RECLAIMING,  # C§15: reclaim 3 WD
    (S.TERMINATION_PENDING, Action.REFUSE_TERMINATION): S.PRODUCTION,
    (S.RECLAIMING, Action.RECLAIM): S.TERMINATED,
}

#: Who acts in each state (drives the center queue and the unit's to-do list).
CENTER_WAITING = frozenset(
    {
        S.SUBMITTED,
        S.ACCEPTED,
        S.TESTING,
        S.CHANGE_PENDING,
        S.CHANGE_TESTING,
        S.TERMINATION_PENDING,
        S.RECLAIMING,
    }
)
UNIT_WAITING = frozenset({S.RETURNED, S.TEST_FAILED})


def allowed_actions(status: str) -> list[str]:
    """Actions the table allows from ``status`` (in table order)."""
    return [action for (state, action) in TRANSITIONS if state == status]


def next_status(status: str, action: str) -> str:
    """The state after ``action``; ``Conflict`` if the table does not allow it."""
    try:
        return TRANSITIONS[(status, action)]
    except KeyError:
        raise Conflict(
            CloudError.ILLEGAL_TRANSITION,
            _("申请当前状态为“%(status)s”，不能执行“%(action)s”。")
            % {"status": S(status).label, "action": Action(action).label},
            {"status": status, "action": action},
        )
