"""Deadline clocks with real dates (C§11, C§14, S§25; DESIGN.md rule 3)."""

from __future__ import annotations

from datetime import date, datetime

import pytest
import time_machine

from accounts.models import Unit
from accounts.roles import Role
from core import calendar, deadlines
from core.calendar import SHANGHAI
from core.dashboard import panels_for
from core.errors import Conflict, Invalid, PermissionDenied
from core.models import AuditEvent, Deadline
from core.rules import Rule


def at(y, m, d, hh=10, mm=0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=SHANGHAI)


def due(y, m, d) -> datetime:
    return datetime(y, m, d, 23, 59, 59, tzinfo=SHANGHAI)


@pytest.fixture
def unit_a(make_unit):
    return make_unit(name="区住建局")


@pytest.fixture
def unit_b(make_unit):
    return make_unit(name="区教育局")


@pytest.fixture
def target(make_unit):
    """Any model instance can carry a clock; a unit stands in for an application here."""
    return make_unit(name="申请：住建局云主机")


@pytest.fixture
def sent(monkeypatch):
    calls: list[dict] = []

    def fake_notify(**kwargs):
        calls.append(kwargs)
        return 1

    monkeypatch.setattr("core.notify.notify", fake_notify)
    return calls


@pytest.mark.django_db
def test_cloud_application_accept_due_in_3_working_days_c11(target, unit_a):
    # Mon 2026-03-02 10:00 → Tue 3 (1), Wed 4 (2), Thu 5 (3).
    clock = deadlines.start(
        target=target, rule=Rule.CLOUD_ACCEPT, responsible_unit=unit_a, started_at=at(2026, 3, 2)
    )
    assert clock.due_at == due(2026, 3, 5)
    assert (clock.state, clock.provisional, clock.working_days) == (Deadline.State.RUNNING, False, 3)
    assert deadlines.current(target=target, rule=Rule.CLOUD_ACCEPT) == clock
    event = AuditEvent.objects.get(action="core.deadline.start")
    assert event.details["article"] == "C§11"


@pytest.mark.django_db
def test_review_opinion_due_in_2_working_days_after_acceptance_before_national_day_2026_c11(target, center):
    # Accepted Tue 29 Sep 2026: Wed 30 (1), Oct 1–7 off, Thu 8 (2).
    clock = deadlines.start(target=target, rule=Rule.CLOUD_REVIEW, started_at=at(2026, 9, 29, 16))
    assert clock.due_at == due(2026, 10, 8)
    assert clock.responsible_unit == center  # the center by default


@pytest.mark.django_db
def test_clock_crossing_into_2027_is_provisional_and_does_not_crash_c14(target):
    clock = deadlines.start(target=target, rule=Rule.CLOUD_CHANGE, started_at=at(2026, 12, 28))
    assert clock.due_at == due(2027, 1, 4)
    assert clock.provisional is True


@pytest.mark.django_db
def test_start_twice_returns_the_open_clock_unchanged(target):
    first = deadlines.start(target=target, rule=Rule.CLOUD_ACCEPT, started_at=at(2026, 3, 2))
    again = deadlines.start(target=target, rule=Rule.CLOUD_ACCEPT, started_at=at(2026, 3, 4))
    assert again.pk == first.pk and again.due_at == due(2026, 3, 5)
    assert Deadline.objects.count() == 1
    other_rule = deadlines.start(target=target, rule=Rule.CLOUD_REVIEW, started_at=at(2026, 3, 4))
    assert other_rule.pk != first.pk
    deadlines.cancel(target=target, rule=Rule.CLOUD_ACCEPT)
    restarted = deadlines.start(target=target, rule=Rule.CLOUD_ACCEPT, started_at=at(2026, 3, 4))
    assert restarted.pk != first.pk and restarted.due_at == due(2026, 3, 9)


@pytest.mark.django_db
def test_rule_length_changed_by_the_center_applies_to_new_clocks_only(target, make_user, center, make_unit):
    admin = make_user(roles=[Role.CENTER_ADMIN], unit=center)
    old = deadlines.start(target=target, rule=Rule.CATALOG_REVIEW, started_at=at(2026, 3, 2))
    calendar.rule_length_set(by=admin, rule=Rule.CATALOG_REVIEW, working_days=2)
    other = make_unit(name="另一个目录")
    new = deadlines.start(target=other, rule=Rule.CATALOG_REVIEW, started_at=at(2026, 3, 2))
    old.refresh_from_db()
    assert (old.working_days, old.due_at) == (5, due(2026, 3, 9))
    assert (new.working_days, new.due_at) == (2, due(2026, 3, 4))


@pytest.mark.django_db
def test_meet_before_due_is_on_time_and_after_due_is_late_c11(target, make_unit):
    deadlines.start(target=target, rule=Rule.CLOUD_ACCEPT, started_at=at(2026, 3, 2))
    met = deadlines.meet(target=target, rule=Rule.CLOUD_ACCEPT, at=due(2026, 3, 5))
    assert (met.state, met.late) == (Deadline.State.MET, False)
    other = make_unit(name="另一个申请")
    deadlines.start(target=other, rule=Rule.CLOUD_ACCEPT, started_at=at(2026, 3, 2))
    late = deadlines.meet(target=other, rule=Rule.CLOUD_ACCEPT, at=at(2026, 3, 6, 0, 0))
    assert (late.state, late.late) == (Deadline.State.MET, True)
    assert deadlines.meet(target=other, rule=Rule.CLOUD_ACCEPT) is None  # nothing open any more
    assert deadlines.current(target=other, rule=Rule.CLOUD_ACCEPT) is None


@pytest.mark.django_db
def test_pause_and_resume_do_not_count_the_paused_days_c11(target):
    # Mon 2 Mar 2026 + 5: Tue 3 .. Mon 9.
    clock = deadlines.start(target=target, rule=Rule.CLOUD_CHANGE, started_at=at(2026, 3, 2))
    assert clock.due_at == due(2026, 3, 9)
    # Paused Wed 4 (Tue 3 and Wed 4 used: 2), waiting for supplementary materials until Tue 10.
    paused = deadlines.pause(target=target, rule=Rule.CLOUD_CHANGE, reason="补充材料", at=at(2026, 3, 4, 11))
    assert (paused.state, paused.working_days_used) == (Deadline.State.PAUSED, 2)
    resumed = deadlines.resume(target=target, rule=Rule.CLOUD_CHANGE, at=at(2026, 3, 10, 9))
    # 3 remaining: Wed 11, Thu 12, Fri 13.
    assert (resumed.state, resumed.due_at) == (Deadline.State.RUNNING, due(2026, 3, 13))
    actions = list(AuditEvent.objects.order_by("id").values_list("action", flat=True))
    assert actions == ["core.deadline.start", "core.deadline.pause", "core.deadline.resume"]


@pytest.mark.django_db
def test_pause_across_national_day_2025_then_resume_on_make_up_saturday(target):
    # Started Mon 29 Sep 2025 + 5; paused Tue 30 (1 used); resumed on Sat 11 Oct (调休 working day).
    deadlines.start(target=target, rule=Rule.CLOUD_CHANGE, started_at=at(2025, 9, 29))
    deadlines.pause(target=target, rule=Rule.CLOUD_CHANGE, at=at(2025, 9, 30, 9))
    clock = deadlines.resume(target=target, rule=Rule.CLOUD_CHANGE, at=at(2025, 10, 11, 9))
    # 4 remaining from Mon 13: 13, 14, 15, 16.
    assert clock.due_at == due(2025, 10, 16)


@pytest.mark.django_db
def test_illegal_pause_and_resume_are_refused_and_change_nothing(target):
    with pytest.raises(Conflict):
        deadlines.pause(target=target, rule=Rule.CLOUD_CHANGE)
    deadlines.start(target=target, rule=Rule.CLOUD_CHANGE, started_at=at(2026, 3, 2))
    with pytest.raises(Conflict):
        deadlines.resume(target=target, rule=Rule.CLOUD_CHANGE, at=at(2026, 3, 3))
    with pytest.raises(Conflict) as err:
        deadlines.pause(target=target, rule=Rule.CLOUD_CHANGE, at=at(2026, 3, 10))  # already past due
    assert err.value.code == "deadline.already_due"
    deadlines.pause(target=target, rule=Rule.CLOUD_CHANGE, at=at(2026, 3, 3))
    with pytest.raises(Conflict):
        deadlines.pause(target=target, rule=Rule.CLOUD_CHANGE, at=at(2026, 3, 4))
    assert AuditEvent.objects.filter(action="core.deadline.pause").count() == 1


@pytest.mark.django_db
def test_sweep_marks_overdue_exactly_once_and_notifies_unit_and_center(target, unit_a, sent):
    clock = deadlines.start(
        target=target, rule=Rule.CLOUD_ACCEPT, responsible_unit=unit_a, started_at=at(2026, 3, 2)
    )
    assert deadlines.sweep(now=due(2026, 3, 5)) == 0  # still within the last second
    assert deadlines.sweep(now=at(2026, 3, 6, 0, 1)) == 1
    assert deadlines.sweep(now=at(2026, 3, 6, 0, 11)) == 0
    assert deadlines.sweep(now=at(2026, 3, 9, 8)) == 0
    clock.refresh_from_db()
    assert clock.state == Deadline.State.OVERDUE
    assert clock.overdue_notified_at == at(2026, 3, 6, 0, 1)
    assert len(sent) == 1
    assert sent[0]["unit"] == unit_a
    assert {Role.DATA_OFFICER, Role.CENTER_ADMIN} <= set(sent[0]["roles"])
    assert "C§11" in sent[0]["body"]
    assert AuditEvent.objects.filter(action="core.deadline.overdue").count() == 1
    # Doing it late: met, late.
    met = deadlines.meet(target=target, rule=Rule.CLOUD_ACCEPT, at=at(2026, 3, 9, 9))
    assert (met.state, met.late) == (Deadline.State.MET, True)


@pytest.mark.django_db
def test_sweep_leaves_paused_and_met_clocks_alone(target, make_unit, sent):
    deadlines.start(target=target, rule=Rule.CLOUD_ACCEPT, started_at=at(2026, 3, 2))
    deadlines.pause(target=target, rule=Rule.CLOUD_ACCEPT, at=at(2026, 3, 3))
    other = make_unit(name="已办结")
    deadlines.start(target=other, rule=Rule.CLOUD_ACCEPT, started_at=at(2026, 3, 2))
    deadlines.meet(target=other, rule=Rule.CLOUD_ACCEPT, at=at(2026, 3, 3))
    assert deadlines.sweep(now=at(2026, 4, 1)) == 0
    assert sent == []


@pytest.mark.django_db
def test_sweep_uses_the_current_time_when_none_given(target, sent):
    deadlines.start(target=target, rule=Rule.DATA_UPDATE, started_at=at(2026, 3, 2))  # S§25: due Wed 4
    with time_machine.travel(at(2026, 3, 4, 23), tick=False):
        assert deadlines.sweep() == 0
    with time_machine.travel(at(2026, 3, 5, 8), tick=False):
        assert deadlines.sweep() == 1


# --- reads ------------------------------------------------------------------------------------


@pytest.fixture
def three_clocks(make_unit, unit_a, unit_b):
    """On Mon 2 Mar 2026 13:00, for unit A: one due today (Fri 27 Feb + 2: Sat 28 调休, Mon 2),
    one due Wed 4 (soon), one overdue (due Thu 26 Feb); and one for unit B due Wed 4."""
    today_target = make_unit(name="今日到期的申请")
    soon_target = make_unit(name="即将到期的申请")
    late_target = make_unit(name="逾期的申请")
    b_target = make_unit(name="乙单位的申请")
    deadlines.start(
        target=today_target, rule=Rule.DATA_UPDATE, responsible_unit=unit_a, started_at=at(2026, 2, 27)
    )
    deadlines.start(
        target=soon_target, rule=Rule.DATA_UPDATE, responsible_unit=unit_a, started_at=at(2026, 3, 2)
    )
    deadlines.start(
        target=late_target, rule=Rule.DATA_UPDATE, responsible_unit=unit_a, started_at=at(2026, 2, 24)
    )
    deadlines.start(
        target=b_target, rule=Rule.DATA_UPDATE, responsible_unit=unit_b, started_at=at(2026, 3, 2)
    )
    return today_target, soon_target, late_target, b_target


@pytest.mark.django_db
def test_dashboard_shows_due_today_due_soon_and_overdue_for_the_users_unit_s25(
    three_clocks, make_user, unit_a
):
    officer = make_user(roles=[Role.DATA_OFFICER], unit=unit_a)
    with time_machine.travel(at(2026, 3, 2, 13), tick=False):
        summary = deadlines.deadline_due_summary(user=officer)
        panels = {p["title"]: p for p in panels_for(officer)}
    assert [d.target_label for d in summary.today] == ["今日到期的申请"]
    assert [d.target_label for d in summary.soon] == ["即将到期的申请"]
    assert [d.target_label for d in summary.overdue] == ["逾期的申请"]
    assert panels["今日到期"]["count"] == 1
    assert panels["即将到期（2 个工作日内）"]["items"][0]["label"].endswith("即将到期的申请")
    assert panels["已逾期"]["count"] == 1


@pytest.mark.django_db
def test_dashboard_of_a_user_without_clocks_has_no_deadline_panels(three_clocks, make_user, make_unit):
    outsider = make_user(roles=[Role.DATA_OFFICER], unit=make_unit(name="无时限单位"))
    with time_machine.travel(at(2026, 3, 2, 13), tick=False):
        assert panels_for(outsider) == [] or all("到期" not in str(p["title"]) for p in panels_for(outsider))


@pytest.mark.django_db
def test_center_staff_see_every_units_clocks_others_only_their_own(
    three_clocks, make_user, center, unit_a, unit_b
):
    reviewer = make_user(roles=[Role.CENTER_REVIEWER], unit=center)
    officer_b = make_user(roles=[Role.DATA_OFFICER], unit=unit_b)
    assert deadlines.deadline_list(user=reviewer).count() == 4
    assert [d.target_label for d in deadlines.deadline_list(user=officer_b)] == ["乙单位的申请"]
    assert deadlines.deadline_list(user=reviewer, unit=unit_b.pk).count() == 1
    # A unit user cannot widen the filter to another unit.
    assert deadlines.deadline_list(user=officer_b, unit=unit_a.pk).count() == 0
    with pytest.raises(Invalid):
        deadlines.deadline_list(user=reviewer, state="lost")
    with pytest.raises(Invalid):
        deadlines.deadline_list(user=reviewer, rule="no.such")


@pytest.mark.django_db
def test_statistics_per_unit_and_rule_for_the_assessment(
    three_clocks, make_user, center, unit_a, unit_b, sent
):
    today_target, soon_target, late_target, b_target = three_clocks
    deadlines.meet(target=today_target, rule=Rule.DATA_UPDATE, at=at(2026, 3, 2, 9))
    deadlines.sweep(now=at(2026, 3, 2, 13))  # late_target (due Thu 26 Feb) becomes overdue
    deadlines.meet(target=b_target, rule=Rule.DATA_UPDATE, at=at(2026, 3, 6))  # late
    reviewer = make_user(roles=[Role.CENTER_REVIEWER], unit=center)
    rows = deadlines.deadline_statistics(user=reviewer, start=date(2026, 2, 1), end=date(2026, 3, 31))
    by_unit = {r["unit"]: r for r in rows}
    a, b = by_unit["区住建局"], by_unit["区教育局"]
    assert (a["total"], a["met_on_time"], a["overdue"], a["open"]) == (3, 1, 1, 1)
    assert (b["total"], b["met_late"], b["on_time_rate"]) == (1, 1, 0.0)
    assert a["article"] == "S§25"
    # The period is about when clocks fall due.
    assert deadlines.deadline_statistics(user=reviewer, start=date(2026, 4, 1), end=date(2026, 4, 30)) == []
    officer = make_user(roles=[Role.DATA_OFFICER], unit=unit_a)
    with pytest.raises(PermissionDenied):
        deadlines.deadline_statistics(user=officer, start=date(2026, 2, 1), end=date(2026, 3, 31))
    with pytest.raises(Invalid):
        deadlines.deadline_statistics(user=reviewer, start=date(2026, 3, 31), end=date(2026, 2, 1))


@pytest.mark.django_db
def test_center_admin_sees_the_unconfirmed_year_on_the_dashboard(make_user, center):
    admin = make_user(roles=[Role.CENTER_ADMIN], unit=center)
    reviewer = make_user(roles=[Role.CENTER_REVIEWER], unit=center)
    with time_machine.travel(at(2026, 11, 26), tick=False):
        titles = [item["label"] for p in panels_for(admin) for item in p["items"]]
        assert "2027 年节假日安排尚未确认" in titles
        assert not any("尚未确认" in item["label"] for p in panels_for(reviewer) for item in p["items"])
        calendar.calendar_year_confirm(by=admin, year=2027)
        assert not any("尚未确认" in item["label"] for p in panels_for(admin) for item in p["items"])


@pytest.mark.django_db
def test_unit_kind_center_required_for_center_view(make_user, make_unit, three_clocks):
    fake = make_user(roles=[Role.CENTER_REVIEWER], unit=make_unit(kind=Unit.Kind.UNIT, name="冒充中心"))
    assert deadlines.deadline_list(user=fake).count() == 0


@pytest.mark.django_db
def test_running_clock_follows_a_new_override_and_the_year_confirmation(target, make_user, center):
    admin = make_user(roles=[Role.CENTER_ADMIN], unit=center)
    clock = deadlines.start(target=target, rule=Rule.CLOUD_CHANGE, started_at=at(2026, 12, 28))
    assert (clock.due_at, clock.provisional) == (due(2027, 1, 4), True)
    day = calendar.calendar_day_create(by=admin, date="2027-01-01", is_working=False, note="元旦")
    clock.refresh_from_db()
    assert (clock.due_at, clock.provisional) == (due(2027, 1, 5), True)
    calendar.calendar_year_confirm(by=admin, year=2027)
    clock.refresh_from_db()
    assert (clock.due_at, clock.provisional) == (due(2027, 1, 5), False)
    calendar.calendar_day_delete(by=admin, day=day)
    clock.refresh_from_db()
    assert clock.due_at == due(2027, 1, 4)
    assert AuditEvent.objects.filter(action="core.deadline.recompute").count() == 3


@pytest.mark.django_db
def test_override_leaves_closed_clocks_and_clocks_outside_the_change_alone(
    target, make_user, center, make_unit
):
    admin = make_user(roles=[Role.CENTER_ADMIN], unit=center)
    deadlines.start(target=target, rule=Rule.CLOUD_CHANGE, started_at=at(2026, 12, 28))
    met = deadlines.meet(target=target, rule=Rule.CLOUD_CHANGE, at=at(2026, 12, 29))
    early = deadlines.start(target=make_unit(name="早"), rule=Rule.CLOUD_ACCEPT, started_at=at(2026, 12, 14))
    calendar.calendar_day_create(by=admin, date="2027-01-01", is_working=False)
    met.refresh_from_db()
    early.refresh_from_db()
    assert met.due_at == due(2027, 1, 4)
    assert early.due_at == due(2026, 12, 17)
    assert not AuditEvent.objects.filter(action="core.deadline.recompute").exists()


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_starts_of_the_same_clock_make_one_clock():
    """Two requests starting the same clock at once (a double click) leave one open clock."""
    import threading

    from django.db import connection, connections

    if connection.vendor != "postgresql":
        pytest.skip("threads need PostgreSQL")
    from accounts.tests.factories import UnitFactory

    target = UnitFactory(name="并发申请")
    barrier, results, errors = threading.Barrier(4), [], []

    def worker():
        try:
            barrier.wait()
            results.append(
                deadlines.start(target=target, rule=Rule.CLOUD_ACCEPT, started_at=at(2026, 3, 2)).pk
            )
        except Exception as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert len(set(results)) == 1
    assert Deadline.objects.filter(state=Deadline.State.RUNNING).count() == 1


@pytest.mark.django_db
def test_overdue_reaches_the_inboxes_of_the_responsible_unit_and_the_center_only(
    target, unit_a, unit_b, make_user, center
):
    from core.models import Notification

    officer_a = make_user(roles=[Role.DATA_OFFICER], unit=unit_a)
    officer_b = make_user(roles=[Role.DATA_OFFICER], unit=unit_b)
    admin = make_user(roles=[Role.CENTER_ADMIN], unit=center)
    deadlines.start(target=target, rule=Rule.DATA_UPDATE, responsible_unit=unit_a, started_at=at(2026, 3, 2))
    deadlines.sweep(now=at(2026, 3, 5, 8))
    deadlines.sweep(now=at(2026, 3, 5, 9))
    inbox = dict(Notification.objects.values_list("recipient_id", "event"))
    assert inbox == {officer_a.pk: "deadline.overdue", admin.pk: "deadline.overdue"}
    assert officer_b.pk not in inbox
    assert "S§25" in Notification.objects.get(recipient=officer_a).body


@pytest.mark.django_db
def test_clock_started_now_on_the_eve_of_national_day_2025_uses_the_frozen_time_c11(target, make_unit):
    with time_machine.travel(at(2025, 9, 30, 16), tick=False):
        clock = deadlines.start(target=target, rule=Rule.CLOUD_ACCEPT)
    # Oct 1–8 off; Thu 9 (1), Fri 10 (2), Sat 11 调休 (3).
    assert clock.started_at == at(2025, 9, 30, 16)
    assert clock.due_at == due(2025, 10, 11)
    with time_machine.travel(at(2026, 3, 2, 18, 30), tick=False):  # after 17:30
        late_evening = deadlines.start(target=make_unit(name="晚间提交"), rule=Rule.DATA_UPDATE)
    assert late_evening.due_at == due(2026, 3, 4)
    with time_machine.travel(at(2025, 10, 11, 23, 59), tick=False):
        assert deadlines.meet(target=target, rule=Rule.CLOUD_ACCEPT).late is False
