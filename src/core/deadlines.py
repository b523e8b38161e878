"""Deadline clocks (SLA) on any workflow object. Interface used by every app:

    deadlines.start(target=obj, rule=Rule.CLOUD_ACCEPT, responsible_unit=unit)  -> Deadline
    deadlines.meet(target=obj, rule=Rule.CLOUD_ACCEPT)                           -> Deadline | None
    deadlines.pause(target=obj, rule=..., reason="...") / deadlines.resume(target=obj, rule=...)
    deadlines.current(target=obj, rule=...)                                      -> Deadline | None
    deadlines.sweep()                                     (periodic; marks and notifies overdue)

Due times follow the working-day convention of ``core.calendar`` (the day of the request is not
counted; the limit ends at 23:59:59 Asia/Shanghai of the N-th working day). Lengths come from
``core.rules.RULES`` unless the center changed them (``core.calendar.rule_length``).

``start`` on an object that already has an open (running, paused or overdue) clock of the same
rule returns that clock unchanged, so a retried request never restarts or duplicates a clock.
To start over (e.g. after a rejected application is submitted again) call ``cancel`` or
``meet`` first. Every state change is audited; nothing here takes an actor (the workflow's own
audit event names the person), so deadline events are recorded as the system.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import Enum
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from core import audit, calendar
from core import dashboard as dashboard_registry
from core import notify as notify_module
from core.errors import Conflict, Invalid, PermissionDenied
from core.models import Deadline
from core.rules import DUE_SOON_WORKING_DAYS, RULES, Rule

State = Deadline.State


class DeadlineError(str, Enum):
    """Stable error codes of deadline clocks."""

    NOT_RUNNING = "deadline.not_running"
    NOT_PAUSED = "deadline.not_paused"
    ALREADY_DUE = "deadline.already_due"
    BAD_FILTER = "deadline.bad_filter"
    NOT_ALLOWED = "deadline.not_allowed"


# --- clocks ---------------------------------------------------------------------------------


def _now(at: datetime | None) -> datetime:
    at = at or timezone.now()
    if timezone.is_naive(at):
        at = at.replace(tzinfo=calendar.SHANGHAI)
    return at


def _target_key(target: Any) -> tuple[ContentType, str]:
    return ContentType.objects.get_for_model(target), str(target.pk)


def _open_clock(target: Any, rule: Rule | str, *, lock: bool = False) -> Deadline | None:
    content_type, object_id = _target_key(target)
    qs = Deadline.objects.filter(
        target_type=content_type, target_id=object_id, rule=Rule(rule), state__in=Deadline.OPEN_STATES
    )
    if lock:
        qs = qs.select_for_update()
    return qs.order_by("-id").first()


def _default_unit() -> Any:
    from accounts.models import Unit

    return Unit.objects.filter(kind=Unit.Kind.CENTER).order_by("pk").first()


def _record(deadline: Deadline, verb: str, **details: Any) -> None:
    details.setdefault("state", deadline.state)
    details.setdefault("due_at", deadline.due_at.isoformat())
    audit.record(
        action=f"core.deadline.{verb}",
        target=deadline,
        unit=deadline.responsible_unit,
        details={
            "rule": deadline.rule,
            "object": f"{deadline.target_type_id}:{deadline.target_id}",
            **details,
        },
    )


@transaction.atomic
def start(*, target: Any, rule: Rule, responsible_unit: Any = None, started_at: datetime | None = None):
    """Start the clock ``rule`` for ``target`` (C§11 etc.): due per the working-day calendar.

    ``responsible_unit`` defaults to the center. If an open clock of this rule exists for the
    target, it is returned unchanged (see the module docstring).
    """
    rule = Rule(rule)
    existing = _open_clock(target, rule, lock=True)
    if existing is not None:
        return existing
    started_at = _now(started_at)
    length = calendar.rule_length(rule)
    due, provisional = calendar.due_at(started_at, length)
    content_type, object_id = _target_key(target)
    try:
        with transaction.atomic():
            deadline = Deadline.objects.create(
                target_type=content_type,
                target_id=object_id,
                target_label=str(target)[:300],
                rule=rule,
                working_days=length,
                responsible_unit=responsible_unit if responsible_unit is not None else _default_unit(),
                started_at=started_at,
                segment_started_at=started_at,
                due_at=due,
                provisional=provisional,
            )
    except IntegrityError:  # a concurrent start of the same clock won
        return _open_clock(target, rule)
    _record(deadline, "start", working_days=length, article=RULES[rule].article, provisional=provisional)
    return deadline


@transaction.atomic
def meet(*, target: Any, rule: Rule, at: datetime | None = None):
    """Stop the clock: the duty was done (met, or late if past due). None when no clock is open."""
    deadline = _open_clock(target, rule, lock=True)
    if deadline is None:
        return None
    at = _now(at)
    was = deadline.state
    deadline.late = was == State.OVERDUE or (was == State.RUNNING and at > deadline.due_at)
    deadline.state, deadline.met_at = State.MET, at
    deadline.save(update_fields=["state", "met_at", "late", "updated_at"])
    _record(deadline, "meet", previous=was, late=deadline.late, met_at=at.isoformat())
    return deadline


@transaction.atomic
def pause(*, target: Any, rule: Rule, reason: str = "", at: datetime | None = None):
    """Stop counting while the center waits for the unit (e.g. supplementary materials).

    The working days used so far are kept; the day of pausing counts as used. Only a running
    clock that is not yet past due can be paused.
    """
    deadline = _open_clock(target, rule, lock=True)
    if deadline is None or deadline.state != State.RUNNING:
        raise Conflict(DeadlineError.NOT_RUNNING, _("该时限不在计时中，不能暂停。"))
    at = _now(at)
    if at > deadline.due_at:
        raise Conflict(DeadlineError.ALREADY_DUE, _("该时限已到期，不能暂停。"))
    deadline.working_days_used = min(
        deadline.working_days,
        deadline.working_days_used + calendar.working_days_used(deadline.segment_started_at, at),
    )
    deadline.state, deadline.paused_at, deadline.pause_reason = State.PAUSED, at, (reason or "")[:300]
    deadline.save(update_fields=["state", "paused_at", "pause_reason", "working_days_used", "updated_at"])
    _record(deadline, "pause", reason=deadline.pause_reason, used=deadline.working_days_used)
    return deadline


@transaction.atomic
def resume(*, target: Any, rule: Rule, at: datetime | None = None):
    """Count again: the remaining working days (at least one) run from the next working day after
    the resumption, so the paused days are not counted."""
    deadline = _open_clock(target, rule, lock=True)
    if deadline is None or deadline.state != State.PAUSED:
        raise Conflict(DeadlineError.NOT_PAUSED, _("该时限未暂停，不能恢复计时。"))
    at = _now(at)
    remaining = max(1, deadline.working_days - deadline.working_days_used)
    deadline.due_at, deadline.provisional = calendar.due_at(at, remaining)
    deadline.state, deadline.segment_started_at, deadline.paused_at = State.RUNNING, at, None
    deadline.save(
        update_fields=["state", "segment_started_at", "paused_at", "due_at", "provisional", "updated_at"]
    )
    _record(deadline, "resume", remaining=remaining, provisional=deadline.provisional)
    return deadline


@transaction.atomic
def cancel(*, target: Any, rule: Rule):
    """Withdraw the clock (the request was withdrawn or must start over). None when none is open."""
    deadline = _open_clock(target, rule, lock=True)
    if deadline is None:
        return None
    was = deadline.state
    deadline.state = State.CANCELLED
    deadline.save(update_fields=["state", "updated_at"])
    _record(deadline, "cancel", previous=was)
    return deadline


def recompute_for_calendar_change(*, dates: Iterable[date]) -> int:
    """The center changed the calendar on ``dates`` (an override, an import, a year confirmed):
    running clocks whose counted stretch includes one of them get their due time and provisional
    flag again. Paused clocks are recomputed when resumed; closed clocks keep their history.
    Runs in the caller's transaction; returns how many clocks moved."""
    changed = sorted(set(dates))
    if not changed:
        return 0
    lo = datetime.combine(changed[0], datetime.min.time(), tzinfo=calendar.SHANGHAI)
    hi = calendar.end_of_day(changed[-1])
    moved = 0
    clocks = Deadline.objects.select_for_update(of=("self",)).filter(
        state=State.RUNNING, due_at__gte=lo, segment_started_at__lte=hi
    )
    for deadline in clocks.select_related("responsible_unit"):
        remaining = max(1, deadline.working_days - deadline.working_days_used)
        due, provisional = calendar.due_at(deadline.segment_started_at, remaining)
        if (due, provisional) == (deadline.due_at, deadline.provisional):
            continue
        before = deadline.due_at.isoformat()
        deadline.due_at, deadline.provisional = due, provisional
        deadline.save(update_fields=["due_at", "provisional", "updated_at"])
        _record(deadline, "recompute", before=before, provisional=provisional)
        moved += 1
    return moved


def current(*, target: Any, rule: Rule):
    """The open clock of ``rule`` on ``target`` (running, paused or overdue), or None."""
    return _open_clock(target, rule)


def sweep(now: datetime | None = None) -> int:
    """Mark running clocks past their due time overdue, once each, and notify the responsible
    unit's people and the center. Safe to run any number of times; returns how many it marked."""
    now = _now(now)
    marked = 0
    ids = list(Deadline.objects.filter(state=State.RUNNING, due_at__lt=now).values_list("pk", flat=True))
    for pk in ids:
        with transaction.atomic():
            deadline = (
                Deadline.objects.select_for_update(of=("self",))
                .select_related("responsible_unit")
                .filter(pk=pk, state=State.RUNNING, due_at__lt=now)
                .first()
            )
            if deadline is None:  # met, paused or marked by a concurrent sweep meanwhile
                continue
            deadline.state, deadline.overdue_notified_at = State.OVERDUE, now
            deadline.save(update_fields=["state", "overdue_notified_at", "updated_at"])
            _record(deadline, "overdue")
            _notify_overdue(deadline)
            marked += 1
    return marked


def _notify_overdue(deadline: Deadline) -> None:
    from accounts.roles import Role

    spec = RULES[Rule(deadline.rule)]
    local_due = timezone.localtime(deadline.due_at, calendar.SHANGHAI)
    notify_module.notify(
        event="deadline.overdue",
        title=_("已逾期：%(rule)s · %(target)s")
        % {"rule": deadline.get_rule_display(), "target": deadline.target_label},
        body=_("%(article)s 规定 %(days)s 个工作日内办理，已于 %(due)s 到期。")
        % {"article": spec.article, "days": deadline.working_days, "due": f"{local_due:%Y-%m-%d %H:%M}"},
        url=_deadline_list_url("?state=overdue"),
        roles=[
            Role.UNIT_ADMIN,
            Role.DATA_OFFICER,
            Role.SYSTEM_OWNER,
            Role.CENTER_ADMIN,
            Role.CENTER_REVIEWER,
        ],
        unit=deadline.responsible_unit,
    )


def _url(name: str, query: str = "") -> str:
    try:
        return reverse(name) + query
    except NoReverseMatch:
        return ""


def _deadline_list_url(query: str = "") -> str:
    return _url("core:deadline-list", query)


# --- reads ----------------------------------------------------------------------------------


def is_center_staff(user: Any) -> bool:
    """Center admin or reviewer working in the center: sees every unit's clocks."""
    return calendar.can_view_rules(user)


def deadline_list(
    *,
    user: Any,
    state: str | None = None,
    rule: str | None = None,
    unit: Any = None,
    target: Any = None,
    target_type: str | None = None,
    target_id: Any = None,
) -> QuerySet[Deadline]:
    """Clocks the user may see (center staff: all; others: their unit's), with filters.

    ``target`` (a model instance) or ``target_type`` ("app_label.model") + ``target_id`` narrow
    the list to one object's clocks (e.g. the timeline of a cloud application)."""
    qs = Deadline.objects.select_related("responsible_unit").exclude(state=State.CANCELLED)
    if not is_center_staff(user):
        qs = qs.filter(responsible_unit_id=getattr(user, "unit_id", None))
    if state:
        if state not in State.values:
            raise Invalid(
                DeadlineError.BAD_FILTER, _("状态“%(v)s”无效。") % {"v": state[:40]}, {"field": "state"}
            )
        qs = qs.filter(state=state)
    if rule:
        if rule not in Rule.values:
            raise Invalid(
                DeadlineError.BAD_FILTER, _("规则“%(v)s”无效。") % {"v": rule[:40]}, {"field": "rule"}
            )
        qs = qs.filter(rule=rule)
    if unit not in (None, ""):
        try:
            qs = qs.filter(responsible_unit_id=int(getattr(unit, "pk", unit)))
        except (TypeError, ValueError):
            raise Invalid(DeadlineError.BAD_FILTER, _("单位编号无效。"), {"field": "unit"})
    if target is not None:
        content_type, object_id = _target_key(target)
        qs = qs.filter(target_type=content_type, target_id=object_id)
    elif target_type:
        app_label, _dot, model = str(target_type).lower().partition(".")
        content_type = ContentType.objects.filter(app_label=app_label, model=model).first()
        if content_type is None:
            raise Invalid(DeadlineError.BAD_FILTER, _("对象类型无效。"), {"field": "target_type"})
        qs = qs.filter(target_type=content_type)
        if target_id not in (None, ""):
            qs = qs.filter(target_id=str(target_id))
    return qs.order_by("due_at", "id")


@dataclass(frozen=True)
class DueSummary:
    """The three dashboard lists of one user (at most ``limit`` clocks each), and full counts
    (``today``, ``soon``, ``overdue`` and ``open``: every clock not yet done)."""

    today: list[Deadline]
    soon: list[Deadline]
    overdue: list[Deadline]
    counts: dict[str, int]


def deadline_due_summary(*, user: Any, now: datetime | None = None, limit: int = 10) -> DueSummary:
    """今日到期 / 即将到期（2 个工作日内）/ 已逾期 for the clocks the user may see."""
    now = _now(now)
    today = calendar.local_date(now)
    end_today = calendar.end_of_day(today)
    soon_until = calendar.end_of_day(calendar.add_working_days(today, DUE_SOON_WORKING_DAYS))
    visible = deadline_list(user=user)
    filters = {
        "today": Q(state=State.RUNNING, due_at__gte=now, due_at__lte=end_today),
        "soon": Q(state=State.RUNNING, due_at__gt=end_today, due_at__lte=soon_until),
        "overdue": Q(state=State.OVERDUE) | Q(state=State.RUNNING, due_at__lt=now),
    }
    counts = visible.aggregate(
        open=Count("id", filter=Q(state__in=Deadline.OPEN_STATES)),
        **{key: Count("id", filter=condition) for key, condition in filters.items()},
    )
    lists = {
        key: list(visible.filter(condition)[:limit]) if counts[key] else []
        for key, condition in filters.items()
    }
    return DueSummary(today=lists["today"], soon=lists["soon"], overdue=lists["overdue"], counts=counts)


def deadline_statistics(
    *, user: Any, start: date, end: date, unit: Any = None, rule: str | None = None
) -> list[dict]:
    """Met/overdue counts per responsible unit and rule for clocks falling due in [start, end]
    (dates, Asia/Shanghai). Center staff only; the assessment app builds its indicators on it."""
    if not is_center_staff(user):
        raise PermissionDenied(DeadlineError.NOT_ALLOWED, _("只有数据资源中心工作人员可以查看时限统计。"))
    if end < start:
        raise Invalid(DeadlineError.BAD_FILTER, _("结束日期不能早于开始日期。"), {"field": "end"})
    lo = datetime.combine(start, datetime.min.time(), tzinfo=calendar.SHANGHAI)
    hi = datetime.combine(end + timedelta(days=1), datetime.min.time(), tzinfo=calendar.SHANGHAI)
    qs = deadline_list(user=user, rule=rule, unit=unit).filter(due_at__gte=lo, due_at__lt=hi)
    rows = (
        qs.order_by()
        .values("responsible_unit_id", "responsible_unit__name", "rule")
        .annotate(
            total=Count("id"),
            met_on_time=Count("id", filter=Q(state=State.MET, late=False)),
            met_late=Count("id", filter=Q(state=State.MET, late=True)),
            overdue=Count("id", filter=Q(state=State.OVERDUE)),
            open=Count("id", filter=Q(state__in=[State.RUNNING, State.PAUSED])),
        )
        .order_by("responsible_unit__name", "rule")
    )
    result = []
    for row in rows:
        decided = row["met_on_time"] + row["met_late"] + row["overdue"]
        result.append(
            {
                "unit_id": row["responsible_unit_id"],
                "unit": row["responsible_unit__name"] or "",
                "rule": row["rule"],
                "rule_label": str(Rule(row["rule"]).label),
                "article": RULES[Rule(row["rule"])].article,
                "total": row["total"],
                "met_on_time": row["met_on_time"],
                "met_late": row["met_late"],
                "overdue": row["overdue"],
                "open": row["open"],
                "on_time_rate": round(row["met_on_time"] / decided, 4) if decided else None,
            }
        )
    return result


# --- dashboard ------------------------------------------------------------------------------


def _item(deadline: Deadline) -> dict:
    local_due = timezone.localtime(deadline.due_at, calendar.SHANGHAI)
    note = _("到期 %(due)s") % {"due": f"{local_due:%Y-%m-%d %H:%M}"}
    if deadline.provisional:
        note += _("（暂定）")
    url = ""
    target = deadline.target
    if target is not None and hasattr(target, "get_absolute_url"):
        url = target.get_absolute_url()
    return {
        "label": f"{deadline.get_rule_display()} · {deadline.target_label}",
        "url": url or _deadline_list_url(f"?rule={deadline.rule}"),
        "note": note,
    }


@dashboard_registry.register
def deadline_panels(user: Any) -> list[dict]:
    """Dashboard: due today, due within 2 working days, overdue (nothing when the user has no
    open clocks at all); plus the calendar banner for the center admin."""
    panels: list[dict] = []
    if calendar.can_manage_calendar(user):
        missing = calendar.years_without_data()
        if missing:
            panels.append(
                {
                    "title": _("工作日历待确认"),
                    "count": len(missing),
                    "level": "warning",
                    "order": 5,
                    "url": _url("core:calendar"),
                    "items": [
                        {
                            "label": _("%(year)s 年节假日安排尚未确认") % {"year": year},
                            "url": _url("core:calendar"),
                            "note": _("请录入或导入国务院办公厅通知的放假安排并确认。"),
                        }
                        for year in missing
                    ],
                }
            )
    summary = deadline_due_summary(user=user)
    if not summary.counts["open"]:
        return panels
    for key, title, items, level, state in (
        ("today", _("今日到期"), summary.today, "warning", "running"),
        ("soon", _("即将到期（2 个工作日内）"), summary.soon, "info", "running"),
        ("overdue", _("已逾期"), summary.overdue, "danger", "overdue"),
    ):
        panels.append(
            {
                "title": title,
                "count": summary.counts[key],
                "level": level,
                "order": 10,
                "url": _deadline_list_url(f"?state={state}"),
                "items": [{**_item(d), "level": level if key == "overdue" else ""} for d in items],
            }
        )
    return panels
