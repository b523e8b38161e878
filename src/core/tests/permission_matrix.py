"""Permission-matrix rows for core's API endpoints (format: ``core/tests/matrix.py``).

Owned by the calendar work; the audit and notification work append their rows below theirs.
"""

from __future__ import annotations

from core.tests.matrix import Row

ROWS: list[Row] = []


# --- working-day calendar, rule lengths, deadline clocks (DESIGN.md rule 3) ---------------------
def _calendar_day(ctx) -> dict:
    from datetime import date

    from core.models import CalendarDay

    day = CalendarDay.objects.create(date=date(2027, 1, 1), is_working=False, note="元旦")
    return {"kwargs": {"pk": day.pk}, "data": {"note": "元旦（已确认）"}}


def _confirmed_2027(ctx) -> dict:
    from core.models import CalendarYear

    CalendarYear.objects.create(year=2027)
    return {"kwargs": {"year": 2027}}


def _calendar_rows() -> list[Row]:
    from accounts.roles import Role
    from core.tests.matrix import ALL_ROLES, CENTER_ROLES

    admin = {Role.CENTER_ADMIN}
    return [
        Row("core-api:calendar-day-list", "GET", allowed=admin),
        Row(
            "core-api:calendar-day-list",
            "POST",
            allowed=admin,
            setup=lambda ctx: {"data": {"date": "2027-01-01", "is_working": False, "note": "元旦"}},
        ),
        Row("core-api:calendar-day-detail", "GET", allowed=admin, setup=_calendar_day),
        Row("core-api:calendar-day-detail", "PATCH", allowed=admin, setup=_calendar_day),
        Row("core-api:calendar-day-detail", "DELETE", allowed=admin, setup=_calendar_day),
        Row(
            "core-api:calendar-import",
            "POST",
            allowed=admin,
            setup=lambda ctx: {"data": {"year": 2027}, "format": "multipart"},
            note="no file: 400 for the admin, 403 for everyone else",
        ),
        Row("core-api:calendar-year-list", "GET", allowed=admin),
        Row(
            "core-api:calendar-year-confirmation",
            "POST",
            allowed=admin,
            setup=lambda ctx: {"kwargs": {"year": 2027}},
        ),
        Row("core-api:calendar-year-confirmation", "DELETE", allowed=admin, setup=_confirmed_2027),
        Row(
            "core-api:calendar-due",
            "GET",
            allowed=ALL_ROLES,
            setup=lambda ctx: {"query": {"submitted_at": "2026-09-30T10:00:00+08:00", "working_days": 3}},
        ),
        Row("core-api:rule-list", "GET", allowed=CENTER_ROLES),
        Row(
            "core-api:rule-detail",
            "PATCH",
            allowed=admin,
            setup=lambda ctx: {"kwargs": {"rule": "catalog.review"}, "data": {"working_days": 7}},
        ),
        Row("core-api:deadline-list", "GET", allowed=ALL_ROLES),
        Row("core-api:deadline-stats", "GET", allowed=CENTER_ROLES),
    ]


ROWS += _calendar_rows()


# --- audit trail (S§35): only AUDITOR and AUDIT_ADMIN read; there are no write endpoints --------
def _audit_event(ctx) -> dict:
    from core import audit

    return {"kwargs": {"pk": audit.record(action="test.matrix.event").pk}}


def _audit_rows() -> list[Row]:
    from accounts.roles import Role

    readers = {Role.AUDITOR, Role.AUDIT_ADMIN}
    return [
        Row("core-api:audit-event-list", "GET", allowed=readers),
        Row("core-api:audit-event-detail", "GET", allowed=readers, setup=_audit_event),
        Row("core-api:audit-event-export-csv", "GET", allowed=readers),
        Row("core-api:audit-event-export-xlsx", "GET", allowed=readers),
        Row("core-api:audit-chain", "GET", allowed=readers),
    ]


ROWS += _audit_rows()


# --- notifications (own inbox only) and background jobs (creator, unit admins, center staff) ----
def _own_notification(ctx) -> dict:
    from core.models import Notification

    owner = ctx.actor or ctx.user()
    return {"kwargs": {"pk": Notification.objects.create(recipient=owner, event="core.test", title="t").pk}}


def _colleagues_job(ctx, status: str = "succeeded") -> dict:
    """A job started by a data officer of unit A: only unit A's admins and center staff see it."""
    from accounts.roles import Role
    from core.models import JobRun

    creator = ctx.user(roles=[Role.DATA_OFFICER], unit=ctx.unit_a)
    run = JobRun.objects.create(
        kind="test.matrix", task_path="x.y", status=status, created_by=creator, unit_id=ctx.unit_a.pk
    )
    return {"kwargs": {"pk": run.pk}}


def _notification_job_rows() -> list[Row]:
    from accounts.roles import Role
    from core.tests.matrix import ALL_ROLES, CENTER_ROLES

    job_viewers = CENTER_ROLES | {Role.UNIT_ADMIN}
    return [
        Row("core-api:notification-list", "GET", allowed=ALL_ROLES),
        Row("core-api:notification-unread-count", "GET", allowed=ALL_ROLES),
        Row("core-api:notification-read", "POST", allowed=ALL_ROLES, setup=_own_notification),
        Row("core-api:notification-read-all", "POST", allowed=ALL_ROLES),
        Row("core-api:notification-preferences", "GET", allowed=ALL_ROLES),
        Row(
            "core-api:notification-preferences",
            "PATCH",
            allowed=ALL_ROLES,
            setup=lambda ctx: {"data": {"category": "cloud", "email": False}},
        ),
        Row("core-api:job-list", "GET", allowed=ALL_ROLES),
        Row("core-api:job-detail", "GET", allowed=job_viewers, setup=_colleagues_job),
        Row(
            "core-api:job-retry",
            "POST",
            allowed=job_viewers,
            setup=lambda ctx: _colleagues_job(ctx, status="failed"),
        ),
    ]


ROWS += _notification_job_rows()
