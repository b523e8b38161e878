"""The working-day calendar with real dates (DESIGN.md rule 3; C§11, C§14, C§15, S§25).

Dates checked against chinesecalendar 1.11.0 and the State Council notices:
国庆 2025: Oct 1–8 off, Sun Sep 28 and Sat Oct 11 working.
国庆 2026: Oct 1–7 off, Sun Sep 20 and Sat Oct 10 working.
春节 2026: Feb 15–23 off, Sat Feb 14 and Sat Feb 28 working.
2027: no data in chinesecalendar 1.11.0 → Monday–Friday plus overrides, provisional.
"""

from __future__ import annotations

import io
from datetime import date, datetime

import pytest
import time_machine
from openpyxl import Workbook

from accounts.models import Unit
from accounts.roles import Role
from core import calendar
from core.calendar import SHANGHAI, CalendarError
from core.errors import Invalid, NotFound, PermissionDenied
from core.models import AuditEvent, CalendarDay, CalendarYear


def at(y, m, d, hh=10, mm=0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=SHANGHAI)


def due(y, m, d) -> datetime:
    return datetime(y, m, d, 23, 59, 59, tzinfo=SHANGHAI)


@pytest.fixture
def admin(make_user, center):
    return make_user(roles=[Role.CENTER_ADMIN], unit=center)


@pytest.fixture
def reviewer(make_user, center):
    return make_user(roles=[Role.CENTER_REVIEWER], unit=center)


# --- the official calendar --------------------------------------------------------------------


@pytest.mark.django_db
def test_national_day_2025_week_off_and_weekend_make_up_days_work():
    assert calendar.is_working_day(date(2025, 9, 28))  # Sunday, 调休
    assert calendar.is_working_day(date(2025, 10, 11))  # Saturday, 调休
    for day in range(1, 9):
        assert not calendar.is_working_day(date(2025, 10, day))
    assert calendar.is_working_day(date(2025, 10, 9))
    assert not calendar.is_working_day(date(2025, 10, 12))


@pytest.mark.django_db
def test_accept_within_3_working_days_across_national_day_2025_ends_on_make_up_saturday_c11():
    # Submitted Tue 30 Sep: Oct 1–8 off, then Thu 9 (1), Fri 10 (2), Sat 11 调休 (3).
    assert calendar.due_at(at(2025, 9, 30), 3) == (due(2025, 10, 11), False)


@pytest.mark.django_db
def test_review_within_2_working_days_counts_make_up_sunday_sep_28_2025_c11():
    # Submitted Fri 26 Sep: Sat 27 off, Sun 28 调休 working (1), Mon 29 (2).
    assert calendar.due_at(at(2025, 9, 26, 15), 2) == (due(2025, 9, 29), False)


@pytest.mark.django_db
def test_request_on_make_up_working_sunday_starts_counting_next_working_day_c11():
    # Sun 2025-09-28 is a 调休 working day: the day itself is not counted.
    assert calendar.due_at(at(2025, 9, 28, 9), 2) == (due(2025, 9, 30), False)
    # Sun 2026-09-20 (调休 before 国庆 2026): Mon 21, Tue 22, Wed 23.
    assert calendar.due_at(at(2026, 9, 20, 11), 3) == (due(2026, 9, 23), False)


@pytest.mark.django_db
def test_national_day_2026_change_within_5_working_days_c14():
    assert not calendar.is_working_day(date(2026, 10, 7))
    assert calendar.is_working_day(date(2026, 10, 10))  # Saturday, 调休
    # Submitted Wed 30 Sep 2026: Oct 1–7 off, Thu 8 (1), Fri 9 (2), Sat 10 调休 (3), Mon 12 (4), Tue 13 (5).
    assert calendar.due_at(at(2026, 9, 30), 5) == (due(2026, 10, 13), False)


@pytest.mark.django_db
def test_spring_festival_2026_counts_both_make_up_saturdays_c11():
    assert calendar.is_working_day(date(2026, 2, 14))
    assert calendar.is_working_day(date(2026, 2, 28))
    assert not calendar.is_working_day(date(2026, 2, 23))
    # Fri 13 Feb: Sat 14 调休 (1), Feb 15–23 off, Tue 24 (2), Wed 25 (3).
    assert calendar.due_at(at(2026, 2, 13), 3) == (due(2026, 2, 25), False)
    # Thu 26 Feb + 2: Fri 27 (1), Sat 28 调休 (2).
    assert calendar.due_at(at(2026, 2, 26), 2) == (due(2026, 2, 28), False)


@pytest.mark.django_db
def test_submission_after_office_hours_still_starts_counting_next_working_day_s25():
    # Mon 2 Mar 2026: 18:30 (after 17:30) and 10:00 end the same day: Tue 3 (1), Wed 4 (2).
    assert calendar.due_at(at(2026, 3, 2, 18, 30), 2) == calendar.due_at(at(2026, 3, 2, 10), 2)
    assert calendar.due_at(at(2026, 3, 2, 18, 30), 2)[0] == due(2026, 3, 4)
    # Before 08:30 too.
    assert calendar.due_at(at(2026, 3, 2, 7, 0), 2)[0] == due(2026, 3, 4)


@pytest.mark.django_db
def test_submission_on_a_weekend_starts_counting_next_working_day_s25():
    assert calendar.due_at(at(2026, 3, 1, 23, 30), 2)[0] == due(2026, 3, 3)  # Sunday night


@pytest.mark.django_db
def test_submission_day_is_the_shanghai_date_not_utc_s25():
    from datetime import UTC

    # 17:00 UTC on Mon 2 Mar is 01:00 Tue 3 Mar in Shanghai: counting starts Wed 4.
    assert calendar.due_at(datetime(2026, 3, 2, 17, 0, tzinfo=UTC), 1)[0] == due(2026, 3, 4)


@pytest.mark.django_db
def test_working_days_between_is_the_inverse_of_add_working_days():
    start = date(2026, 9, 25)
    for n in range(0, 15):
        end = calendar.add_working_days(start, n)
        assert calendar.working_days_between(start, end) == n
    assert calendar.working_days_between(date(2025, 10, 9), date(2025, 9, 30)) == -1  # only Oct 9


# --- a year without official data -------------------------------------------------------------


@pytest.mark.django_db
def test_request_on_2026_12_28_plus_5_working_days_crosses_into_2027_provisional_monday_friday():
    assert not calendar.has_official_data(2027)
    # Tue 29 (1), Wed 30 (2), Thu 31 (3), Fri 2027-01-01 (4, assumed working), Mon 4 (5).
    assert calendar.due_at(at(2026, 12, 28), 5) == (due(2027, 1, 4), True)
    assert calendar.is_working_day(date(2027, 1, 4))
    assert not calendar.is_working_day(date(2027, 1, 9))


@pytest.mark.django_db
def test_2027_new_year_override_as_holiday_shifts_the_provisional_deadline(admin):
    calendar.calendar_day_create(by=admin, date="2027-01-01", is_working=False, note="元旦")
    assert calendar.due_at(at(2026, 12, 28), 5) == (due(2027, 1, 5), True)


@pytest.mark.django_db
def test_confirmed_2027_is_no_longer_provisional(admin):
    calendar.calendar_day_create(by=admin, date="2027-01-01", is_working=False, note="元旦")
    calendar.calendar_year_confirm(by=admin, year=2027)
    assert calendar.due_at(at(2026, 12, 28), 5) == (due(2027, 1, 5), False)


@pytest.mark.django_db
def test_deadline_entirely_in_2026_is_not_provisional_even_though_2027_lacks_data():
    assert calendar.due_at(at(2026, 12, 21), 3) == (due(2026, 12, 24), False)


@pytest.mark.django_db
def test_far_years_do_not_crash():
    assert calendar.is_working_day(date(2040, 1, 2))  # Monday
    assert calendar.add_working_days(date(1999, 12, 31), 1) == date(2000, 1, 3)


@pytest.mark.django_db
def test_years_without_data_lists_next_year_until_the_center_confirms_it(admin):
    with time_machine.travel(at(2026, 11, 26), tick=False):
        assert calendar.years_without_data() == [2027]
        calendar.calendar_year_confirm(by=admin, year=2027)
        assert calendar.years_without_data() == []
    with time_machine.travel(at(2025, 6, 1), tick=False):
        assert calendar.years_without_data() == []


# --- overrides --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_override_wins_over_the_official_calendar(admin):
    calendar.calendar_day_create(by=admin, date="2026-10-08", is_working=False, note="区内调整")
    calendar.calendar_day_create(by=admin, date="2026-10-03", is_working=True, note="值班")
    assert not calendar.is_working_day(date(2026, 10, 8))
    assert calendar.is_working_day(date(2026, 10, 3))
    info = calendar.day_info(date(2026, 10, 8))
    assert (info.source, info.note) == ("override", "区内调整")
    # Wed 30 Sep + 3: Sat Oct 3 (1, override), Fri 9 (2), Sat 10 (3).
    assert calendar.due_at(at(2026, 9, 30), 3)[0] == due(2026, 10, 10)


@pytest.mark.django_db
def test_override_create_is_audited(admin):
    day = calendar.calendar_day_create(by=admin, date="2027-02-06", is_working=True, note="春节调休")
    event = AuditEvent.objects.get(action="core.calendar_day.create")
    assert event.actor == admin
    assert event.target_id == str(day.pk)
    assert event.details["after"] == {"date": "2027-02-06", "is_working": True, "note": "春节调休"}


@pytest.mark.django_db
@pytest.mark.parametrize("bad", ["2027.01.01", "01/01/2027", "2027-13-01", "2027-02-30", "明天", ""])
def test_override_date_in_wrong_format_is_refused_and_nothing_stored(admin, bad):
    with pytest.raises(Invalid) as err:
        calendar.calendar_day_create(by=admin, date=bad, is_working=False)
    assert err.value.code == CalendarError.BAD_DATE.value
    assert "YYYY-MM-DD" in err.value.message
    assert not CalendarDay.objects.exists()
    assert not AuditEvent.objects.exists()


@pytest.mark.django_db
def test_override_duplicate_date_is_refused(admin):
    calendar.calendar_day_create(by=admin, date="2027-01-01", is_working=False)
    with pytest.raises(Invalid) as err:
        calendar.calendar_day_create(by=admin, date="2027/1/1", is_working=True)
    assert err.value.code == CalendarError.DUPLICATE_DATE.value
    assert "2027-01-01" in err.value.message
    assert CalendarDay.objects.get().is_working is False
    assert AuditEvent.objects.count() == 1


@pytest.mark.django_db
def test_override_unknown_kind_and_year_out_of_range_are_refused(admin):
    with pytest.raises(Invalid) as err:
        calendar.calendar_day_create(by=admin, date="2027-01-01", is_working="也许")
    assert err.value.code == CalendarError.BAD_VALUE.value
    with pytest.raises(Invalid) as err:
        calendar.calendar_day_create(by=admin, date="2207-01-01", is_working=False)
    assert err.value.code == CalendarError.BAD_YEAR.value
    assert not CalendarDay.objects.exists()


@pytest.mark.django_db
def test_override_update_and_delete_are_audited(admin):
    day = calendar.calendar_day_create(by=admin, date="2027-01-01", is_working=False)
    calendar.calendar_day_update(by=admin, day=day, is_working=True, note="改为上班")
    day.refresh_from_db()
    assert day.is_working and day.note == "改为上班"
    calendar.calendar_day_delete(by=admin, day=day)
    assert not CalendarDay.objects.exists()
    actions = list(AuditEvent.objects.order_by("id").values_list("action", flat=True))
    assert actions == ["core.calendar_day.create", "core.calendar_day.update", "core.calendar_day.delete"]
    assert AuditEvent.objects.get(action="core.calendar_day.update").details["before"]["is_working"] is False


@pytest.mark.django_db
def test_override_update_to_a_date_already_overridden_is_refused(admin):
    calendar.calendar_day_create(by=admin, date="2027-01-01", is_working=False)
    other = calendar.calendar_day_create(by=admin, date="2027-01-02", is_working=False)
    with pytest.raises(Invalid) as err:
        calendar.calendar_day_update(by=admin, day=other, date="2027-01-01")
    assert err.value.code == CalendarError.DUPLICATE_DATE.value
    other.refresh_from_db()
    assert other.date == date(2027, 1, 2)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "kind"),
    [
        (Role.CENTER_REVIEWER, Unit.Kind.CENTER),
        (Role.DATA_OFFICER, Unit.Kind.UNIT),
        (Role.CENTER_ADMIN, Unit.Kind.UNIT),  # a center role outside the center does not count
        (Role.SYS_ADMIN, Unit.Kind.CENTER),
    ],
)
def test_only_the_center_admin_may_change_the_calendar(make_user, make_unit, role, kind):
    user = make_user(roles=[role], unit=make_unit(kind=kind))
    with pytest.raises(PermissionDenied):
        calendar.calendar_day_create(by=user, date="2027-01-01", is_working=False)
    with pytest.raises(PermissionDenied):
        calendar.calendar_year_confirm(by=user, year=2027)
    with pytest.raises(PermissionDenied):
        calendar.rule_length_set(by=user, rule="cloud.accept", working_days=4)
    assert not CalendarDay.objects.exists()
    assert not CalendarYear.objects.exists()
    assert not AuditEvent.objects.exists()


@pytest.mark.django_db
def test_delete_of_missing_override_is_not_found(admin):
    with pytest.raises(NotFound):
        calendar.calendar_day_get(user=admin, pk=999)
    with pytest.raises(NotFound):
        calendar.calendar_day_get(user=admin, pk="abc")


# --- import of the State Council notice -------------------------------------------------------

NOTICE_2027 = (
    "日期,类型,说明\n"
    "2027-01-01,休息日,元旦\n"
    "2027-02-06,工作日,春节调休\n"
    "2027-02-08,休息日,春节\n"
    "2027-02-09,休息日,春节\n"
)


@pytest.mark.django_db
def test_import_csv_of_the_notice_stores_all_rows_confirms_the_year_and_audits(admin):
    result = calendar.calendar_import(by=admin, year=2027, filename="2027.csv", content=NOTICE_2027.encode())
    assert (result.created, result.updated, result.confirmed) == (4, 0, True)
    assert not calendar.is_working_day(date(2027, 1, 1))
    assert calendar.is_working_day(date(2027, 2, 6))  # Saturday 调休
    assert CalendarYear.objects.filter(year=2027).exists()
    event = AuditEvent.objects.get(action="core.calendar.import")
    assert event.details["created"] == 4
    assert calendar.due_at(at(2026, 12, 28), 5) == (due(2027, 1, 5), False)


@pytest.mark.django_db
def test_import_xlsx_and_gb18030_csv(admin):
    book = Workbook()
    sheet = book.active
    sheet.append(["日期", "类型", "说明"])
    sheet.append([datetime(2027, 10, 1), "休息日", "国庆节"])
    sheet.append(["2027-10-09", "工作日", "国庆调休"])
    buffer = io.BytesIO()
    book.save(buffer)
    result = calendar.calendar_import(by=admin, year=2027, filename="通知.xlsx", content=buffer.getvalue())
    assert result.created == 2
    gb = "2027-05-01,休息日,劳动节\n".encode("gb18030")
    result = calendar.calendar_import(by=admin, year=2027, filename="n.csv", content=gb, confirm=False)
    assert result.created == 1
    assert CalendarDay.objects.get(date=date(2027, 5, 1)).note == "劳动节"


@pytest.mark.django_db
def test_import_with_bad_rows_reports_every_row_and_stores_nothing(admin):
    content = (
        "日期,类型,说明\n"
        "2027-01-01,休息日,元旦\n"
        "2027.02.06,工作日,格式错\n"
        "2027-01-01,工作日,重复\n"
        "2028-01-01,休息日,别的年份\n"
        "2027-03-01,也许,\n"
    ).encode()
    with pytest.raises(Invalid) as err:
        calendar.calendar_import(by=admin, year=2027, filename="2027.csv", content=content)
    assert err.value.code == CalendarError.ROW_ERRORS.value
    rows = {r["row"]: " ".join(r["errors"]) for r in err.value.details["rows"]}
    assert set(rows) == {3, 4, 5, 6}
    assert "YYYY-MM-DD" in rows[3]
    assert "第 2 行重复" in rows[4]
    assert "不属于 2027 年" in rows[5]
    assert "工作日" in rows[6]
    assert not CalendarDay.objects.exists()
    assert not CalendarYear.objects.exists()
    assert not AuditEvent.objects.exists()


@pytest.mark.django_db
def test_import_of_a_date_already_overridden_needs_replace(admin):
    calendar.calendar_day_create(by=admin, date="2027-01-01", is_working=True, note="旧")
    with pytest.raises(Invalid) as err:
        calendar.calendar_import(by=admin, year=2027, filename="2027.csv", content=NOTICE_2027.encode())
    assert "覆盖" in err.value.details["rows"][0]["errors"][0]
    assert CalendarDay.objects.count() == 1
    result = calendar.calendar_import(
        by=admin, year=2027, filename="2027.csv", content=NOTICE_2027.encode(), replace=True
    )
    assert (result.created, result.updated) == (3, 1)
    assert CalendarDay.objects.get(date=date(2027, 1, 1)).is_working is False


@pytest.mark.django_db
def test_import_with_no_rows_for_the_year_is_a_clear_error(admin):
    with pytest.raises(Invalid) as err:
        calendar.calendar_import(
            by=admin, year=2027, filename="empty.csv", content="日期,类型,说明\n\n".encode()
        )
    assert err.value.code == CalendarError.NO_ROWS.value
    assert "2027" in err.value.message
    assert not CalendarYear.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("filename", "content", "code"),
    [
        ("notice.pdf", b"%PDF-1.4", CalendarError.BAD_FILE),
        ("broken.xlsx", b"not a zip", CalendarError.BAD_FILE),
        ("bad.csv", b"\xff\xfe\x00\xd8\x00", CalendarError.BAD_FILE),
    ],
)
def test_import_of_an_unreadable_file_is_a_clear_error(admin, filename, content, code):
    with pytest.raises(Invalid) as err:
        calendar.calendar_import(by=admin, year=2027, filename=filename, content=content)
    assert err.value.code in (code.value, CalendarError.ROW_ERRORS.value)
    assert not CalendarDay.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("year", ["abc", "1999", "2101", ""])
def test_import_for_an_impossible_year_is_refused(admin, year):
    with pytest.raises(Invalid) as err:
        calendar.calendar_import(by=admin, year=year, filename="2027.csv", content=NOTICE_2027.encode())
    assert err.value.code == CalendarError.BAD_YEAR.value


# --- rules ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_rules_table_shows_every_rule_with_its_article_to_center_staff(reviewer, make_user):
    rows = {row.rule.value: row for row in calendar.rule_table(user=reviewer)}
    assert rows["cloud.accept"].article == "C§11" and rows["cloud.accept"].working_days == 3
    assert rows["cloud.review"].working_days == 2
    assert rows["datastore.update"].article == "S§25"
    with pytest.raises(PermissionDenied):
        calendar.rule_table(user=make_user(roles=[Role.DATA_OFFICER]))


@pytest.mark.django_db
def test_center_admin_changes_a_rule_length_and_back_to_default(admin):
    calendar.rule_length_set(by=admin, rule="catalog.review", working_days=7, note="中心会议决定")
    assert calendar.rule_length("catalog.review") == 7
    calendar.rule_length_set(by=admin, rule="catalog.review", working_days=5)
    assert calendar.rule_length("catalog.review") == 5
    assert AuditEvent.objects.filter(action="core.rule.update").count() == 2
    with pytest.raises(Invalid):
        calendar.rule_length_set(by=admin, rule="catalog.review", working_days=0)
    with pytest.raises(Invalid):
        calendar.rule_length_set(by=admin, rule="catalog.review", working_days="三")
    with pytest.raises(NotFound):
        calendar.rule_length_set(by=admin, rule="no.such", working_days=3)
