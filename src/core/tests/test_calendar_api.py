"""The calendar, rules and deadline API through the real HTTP stack (DESIGN.md rules 3 and 5)."""

from __future__ import annotations

from datetime import datetime

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.roles import Role
from core import deadlines
from core.calendar import SHANGHAI
from core.models import AuditEvent, CalendarDay, CalendarYear, RuleOverride
from core.rules import Rule

DAYS = "/api/v1/core/calendar/days/"


def at(y, m, d, hh=10, mm=0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=SHANGHAI)


@pytest.fixture
def admin(make_user, center):
    return make_user(roles=[Role.CENTER_ADMIN], unit=center)


@pytest.fixture
def as_admin(api, admin):
    api.force_login(admin)
    return api


def _error(resp) -> dict:
    body = resp.json()
    assert set(body["error"]) == {"code", "message", "details"}
    return body["error"]


@pytest.mark.django_db
def test_center_admin_adds_lists_edits_and_deletes_an_override(as_admin):
    resp = as_admin.post(DAYS, {"date": "2027-01-01", "is_working": False, "note": "元旦"}, format="json")
    assert resp.status_code == 201, resp.content
    pk = resp.json()["id"]
    assert resp.json()["date"] == "2027-01-01"
    listed = as_admin.get(DAYS, {"year": 2027}).json()
    assert listed["count"] == 1
    resp = as_admin.patch(f"{DAYS}{pk}/", {"is_working": "工作日"}, format="json")
    assert resp.status_code == 200 and resp.json()["is_working"] is True
    assert as_admin.delete(f"{DAYS}{pk}/").status_code == 204
    assert as_admin.get(f"{DAYS}{pk}/").status_code == 404
    assert AuditEvent.objects.filter(action__startswith="core.calendar_day.").count() == 3


@pytest.mark.django_db
@pytest.mark.parametrize("bad", ["2027.01.01", "01-01-2027", "2027-02-29", None])
def test_api_override_with_wrong_date_format_is_a_400_with_a_clear_message(as_admin, bad):
    resp = as_admin.post(DAYS, {"date": bad, "is_working": False}, format="json")
    assert resp.status_code == 400
    error = _error(resp)
    assert error["code"] == "calendar.bad_date"
    assert "YYYY-MM-DD" in error["message"]
    assert not CalendarDay.objects.exists()


@pytest.mark.django_db
def test_api_duplicate_override_date_is_a_400_and_keeps_the_first(as_admin):
    as_admin.post(DAYS, {"date": "2027-01-01", "is_working": False}, format="json")
    resp = as_admin.post(DAYS, {"date": "2027-01-01", "is_working": True}, format="json")
    assert resp.status_code == 400
    assert _error(resp)["code"] == "calendar.duplicate_date"
    assert CalendarDay.objects.get().is_working is False


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.CENTER_REVIEWER, Role.DATA_OFFICER, Role.AUDITOR, Role.SYS_ADMIN])
def test_everyone_but_the_center_admin_gets_403_and_nothing_is_written(api, make_user, center, role):
    api.force_login(make_user(roles=[role], unit=center))
    assert api.get(DAYS).status_code == 403
    resp = api.post(DAYS, {"date": "not-a-date", "is_working": False}, format="json")
    assert resp.status_code == 403  # the permission check comes before the input check
    upload = SimpleUploadedFile("2027.csv", "2027-01-01,休息日,元旦\n".encode())
    assert api.post("/api/v1/core/calendar/import/", {"file": upload, "year": 2027}).status_code == 403
    assert api.post("/api/v1/core/calendar/years/2027/confirmation/").status_code == 403
    assert (
        api.patch("/api/v1/core/rules/cloud.accept/", {"working_days": 9}, format="json").status_code == 403
    )
    assert not CalendarDay.objects.exists() and not CalendarYear.objects.exists()
    assert not RuleOverride.objects.exists()
    assert (
        not AuditEvent.objects.filter(action__startswith="core.").exclude(action__contains="denied").exists()
    )


@pytest.mark.django_db
def test_anonymous_gets_401(api):
    assert api.get(DAYS).status_code == 401
    assert api.get("/api/v1/core/deadlines/").status_code == 401


@pytest.mark.django_db
def test_api_import_of_the_notice_then_years_show_2027_confirmed(as_admin):
    content = "日期,类型,说明\n2027-01-01,休息日,元旦\n2027-02-06,工作日,春节调休\n".encode()
    with time_machine.travel(at(2026, 11, 26), tick=False):
        before = as_admin.get("/api/v1/core/calendar/years/").json()
        assert before["missing"] == [2027]
        resp = as_admin.post(
            "/api/v1/core/calendar/import/",
            {"file": SimpleUploadedFile("2027.csv", content, content_type="text/csv"), "year": "2027"},
        )
        assert resp.status_code == 201, resp.content
        assert resp.json()["created"] == 2
        after = as_admin.get("/api/v1/core/calendar/years/").json()
    assert after["missing"] == []
    assert {r["year"]: r["confirmed"] for r in after["results"]}[2027] is True


@pytest.mark.django_db
def test_api_import_with_row_errors_is_a_400_listing_rows_and_stores_nothing(as_admin):
    content = "2027-01-01,休息日,元旦\n2027/13/01,休息日,错\n2027-01-01,工作日,重复\n".encode()
    resp = as_admin.post(
        "/api/v1/core/calendar/import/", {"file": SimpleUploadedFile("2027.csv", content), "year": 2027}
    )
    assert resp.status_code == 400
    error = _error(resp)
    assert error["code"] == "calendar.row_errors"
    assert [r["row"] for r in error["details"]["rows"]] == [2, 3]
    assert not CalendarDay.objects.exists()


@pytest.mark.django_db
def test_api_import_without_file_or_rows_for_the_year_is_a_clear_400(as_admin):
    resp = as_admin.post("/api/v1/core/calendar/import/", {"year": 2027})
    assert resp.status_code == 400 and _error(resp)["code"] == "calendar.bad_file"
    resp = as_admin.post(
        "/api/v1/core/calendar/import/",
        {"file": SimpleUploadedFile("x.csv", "日期,类型\n".encode()), "year": 2027},
    )
    assert resp.status_code == 400
    assert _error(resp)["code"] == "calendar.no_rows"
    assert "2027" in _error(resp)["message"]


@pytest.mark.django_db
def test_api_confirm_and_unconfirm_a_year(as_admin):
    assert as_admin.post("/api/v1/core/calendar/years/2027/confirmation/").status_code == 201
    assert CalendarYear.objects.filter(year=2027).exists()
    assert as_admin.delete("/api/v1/core/calendar/years/2027/confirmation/").status_code == 204
    assert as_admin.delete("/api/v1/core/calendar/years/2027/confirmation/").status_code == 404
    assert as_admin.post("/api/v1/core/calendar/years/1066/confirmation/").status_code == 400


@pytest.mark.django_db
def test_rules_visible_to_center_staff_editable_by_admin_only(api, as_admin, make_user, center):
    rows = {r["rule"]: r for r in as_admin.get("/api/v1/core/rules/").json()["results"]}
    assert rows["cloud.accept"]["article"] == "C§11" and rows["cloud.accept"]["working_days"] == 3
    resp = as_admin.patch(
        "/api/v1/core/rules/catalog.review/", {"working_days": 7, "note": "会议"}, format="json"
    )
    assert resp.status_code == 200 and resp.json() == {
        "rule": "catalog.review",
        "working_days": 7,
        "overridden": True,
    }
    assert (
        as_admin.patch("/api/v1/core/rules/catalog.review/", {"working_days": -1}, format="json").status_code
        == 400
    )
    assert as_admin.patch("/api/v1/core/rules/nope/", {"working_days": 3}, format="json").status_code == 404
    reviewer = make_user(roles=[Role.CENTER_REVIEWER], unit=center)
    api.force_login(reviewer)
    assert api.get("/api/v1/core/rules/").status_code == 200
    officer = make_user(roles=[Role.DATA_OFFICER])
    api.force_login(officer)
    assert api.get("/api/v1/core/rules/").status_code == 403


@pytest.mark.django_db
def test_deadline_list_is_scoped_and_filtered(api, make_user, make_unit, center):
    unit_a, unit_b = make_unit(name="甲局"), make_unit(name="乙局")
    for name, unit in (("甲的申请", unit_a), ("乙的申请", unit_b)):
        deadlines.start(
            target=make_unit(name=name),
            rule=Rule.DATA_UPDATE,
            responsible_unit=unit,
            started_at=at(2026, 3, 2),
        )
    officer_a = make_user(roles=[Role.DATA_OFFICER], unit=unit_a)
    api.force_login(officer_a)
    body = api.get("/api/v1/core/deadlines/").json()
    assert [d["target_label"] for d in body["results"]] == ["甲的申请"]
    assert body["results"][0]["article"] == "S§25"
    assert body["results"][0]["due_at"].startswith("2026-03-04T23:59:59")
    assert api.get("/api/v1/core/deadlines/", {"unit": unit_b.pk}).json()["count"] == 0
    assert api.get("/api/v1/core/deadlines/", {"state": "nonsense"}).status_code == 400
    api.force_login(make_user(roles=[Role.CENTER_REVIEWER], unit=center))
    assert api.get("/api/v1/core/deadlines/").json()["count"] == 2
    assert api.get("/api/v1/core/deadlines/", {"unit": unit_b.pk, "state": "running"}).json()["count"] == 1


@pytest.mark.django_db
def test_deadline_stats_for_center_staff_only(api, make_user, make_unit, center):
    unit_a = make_unit(name="甲局")
    target = make_unit(name="甲的申请")
    deadlines.start(target=target, rule=Rule.DATA_UPDATE, responsible_unit=unit_a, started_at=at(2026, 3, 2))
    deadlines.meet(target=target, rule=Rule.DATA_UPDATE, at=at(2026, 3, 3))
    api.force_login(make_user(roles=[Role.CENTER_ADMIN], unit=center))
    body = api.get("/api/v1/core/deadlines/stats/", {"start": "2026-03-01", "end": "2026-03-31"}).json()
    assert body["results"][0]["unit"] == "甲局" and body["results"][0]["met_on_time"] == 1
    bad = api.get("/api/v1/core/deadlines/stats/", {"start": "2026/3/1x"})
    assert bad.status_code == 400 and _error(bad)["code"] == "calendar.bad_date"
    api.force_login(make_user(roles=[Role.DATA_OFFICER], unit=unit_a))
    assert api.get("/api/v1/core/deadlines/stats/").status_code == 403


# --- browser pages ----------------------------------------------------------------------------


@pytest.fixture
def admin_client(client, admin):
    client.force_login(admin)
    return client


@pytest.mark.django_db
def test_calendar_page_shows_the_year_with_make_up_days_and_the_banner_for_2027(admin_client):
    with time_machine.travel(at(2026, 11, 26), tick=False):
        page = admin_client.get("/calendar/?year=2026")
        html = page.content.decode()
        assert page.status_code == 200
        assert "2027 年节假日安排尚未确认" in html
        assert 'data-date="2026-02-14" data-working="1"' in html  # 调休 Saturday
        assert 'data-date="2026-10-01" data-working="0"' in html
        dashboard = admin_client.get("/").content.decode()
        assert "2027 年节假日安排尚未确认" in dashboard
        nav = admin_client.get("/calendar/").content.decode()
        assert 'href="/calendar/rules/"' in nav


@pytest.mark.django_db
def test_calendar_page_form_adds_an_override_and_shows_clear_errors(admin_client):
    resp = admin_client.post("/calendar/", {"date": "2027-01-01", "is_working": "false", "note": "元旦"})
    assert resp.status_code == 302
    assert CalendarDay.objects.get().note == "元旦"
    resp = admin_client.post("/calendar/", {"date": "2027-01-01", "is_working": "true"})
    assert resp.status_code == 400
    assert "已有调整记录" in resp.content.decode()
    resp = admin_client.post("/calendar/", {"date": "2027年13月1", "is_working": "true"})
    assert resp.status_code == 400
    assert "YYYY-MM-DD" in resp.content.decode()
    assert CalendarDay.objects.count() == 1
    day = CalendarDay.objects.get()
    assert admin_client.get(f"/calendar/days/{day.pk}/edit/").status_code == 200
    resp = admin_client.post(f"/calendar/days/{day.pk}/edit/", {"date": "2027-01-01", "is_working": "true"})
    assert resp.status_code == 302
    day.refresh_from_db()
    assert day.is_working
    assert admin_client.post(f"/calendar/days/{day.pk}/delete/").status_code == 302
    assert not CalendarDay.objects.exists()


@pytest.mark.django_db
def test_import_page_lists_row_errors_and_stores_nothing(admin_client):
    bad = SimpleUploadedFile("2027.csv", "2027-01-01,休息日,元旦\n2027-1-32,休息日,错\n".encode())
    resp = admin_client.post("/calendar/import/", {"year": 2027, "file": bad, "confirm": "on"})
    assert resp.status_code == 400
    html = resp.content.decode()
    assert "第 2 行" in html and "YYYY-MM-DD" in html
    assert not CalendarDay.objects.exists()
    good = SimpleUploadedFile("2027.csv", "2027-01-01,休息日,元旦\n".encode())
    resp = admin_client.post("/calendar/import/", {"year": 2027, "file": good, "confirm": "on"})
    assert resp.status_code == 302
    assert CalendarYear.objects.filter(year=2027).exists()


@pytest.mark.django_db
def test_year_confirm_page_action(admin_client):
    assert admin_client.post("/calendar/years/2027/confirm/").status_code == 302
    assert CalendarYear.objects.filter(year=2027).exists()
    admin_client.post("/calendar/years/2027/confirm/", {"action": "unconfirm"})
    assert not CalendarYear.objects.exists()


@pytest.mark.django_db
def test_rules_page_for_center_staff_admin_edits(admin_client, client, make_user, center):
    page = admin_client.get("/calendar/rules/").content.decode()
    assert "C§11" in page and "国发〔2016〕51号" in page
    resp = admin_client.post(
        "/calendar/rules/", {"rule": "cloud.change", "working_days": "6", "note": "试行"}
    )
    assert resp.status_code == 302
    assert RuleOverride.objects.get(rule="cloud.change").working_days == 6
    resp = admin_client.post("/calendar/rules/", {"rule": "cloud.change", "working_days": "0"})
    assert resp.status_code == 400
    reviewer = make_user(roles=[Role.CENTER_REVIEWER], unit=center)
    client.force_login(reviewer)
    assert client.get("/calendar/rules/").status_code == 200
    assert client.post("/calendar/rules/", {"rule": "cloud.change", "working_days": "9"}).status_code == 403
    assert RuleOverride.objects.get(rule="cloud.change").working_days == 6


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.CENTER_REVIEWER, Role.DATA_OFFICER, Role.SYS_ADMIN])
def test_calendar_pages_are_403_for_everyone_but_the_center_admin(client, make_user, center, role):
    client.force_login(make_user(roles=[role], unit=center))
    for url in ("/calendar/", "/calendar/import/"):
        assert client.get(url).status_code == 403
    assert client.post("/calendar/", {"date": "2027-01-01", "is_working": "false"}).status_code == 403
    assert client.post("/calendar/years/2027/confirm/").status_code == 403
    assert not CalendarDay.objects.exists() and not CalendarYear.objects.exists()
    page = client.get("/").content.decode()
    assert "尚未确认" not in page


@pytest.mark.django_db
def test_deadline_page_lists_the_users_clocks(client, make_user, make_unit):
    unit = make_unit(name="甲局")
    deadlines.start(
        target=make_unit(name="甲的申请"),
        rule=Rule.DATA_UPDATE,
        responsible_unit=unit,
        started_at=at(2026, 12, 30),
    )
    deadlines.start(target=make_unit(name="别人的申请"), rule=Rule.DATA_UPDATE, started_at=at(2026, 12, 30))
    client.force_login(make_user(roles=[Role.DATA_OFFICER], unit=unit))
    html = client.get("/deadlines/").content.decode()
    assert "甲的申请" in html and "别人的申请" not in html
    assert "暂定" in html  # due 2027-01-01 (provisional)
    assert client.get("/deadlines/?state=bogus").status_code == 200


@pytest.mark.django_db
def test_deadline_list_filtered_to_one_objects_clocks(api, make_user, make_unit, center):
    application = make_unit(name="某申请")
    deadlines.start(target=application, rule=Rule.CLOUD_ACCEPT, started_at=at(2026, 3, 2))
    deadlines.meet(target=application, rule=Rule.CLOUD_ACCEPT, at=at(2026, 3, 3))
    deadlines.start(target=application, rule=Rule.CLOUD_REVIEW, started_at=at(2026, 3, 3))
    deadlines.start(target=make_unit(name="别的"), rule=Rule.CLOUD_ACCEPT, started_at=at(2026, 3, 2))
    api.force_login(make_user(roles=[Role.CENTER_REVIEWER], unit=center))
    body = api.get(
        "/api/v1/core/deadlines/", {"target_type": "accounts.unit", "target_id": application.pk}
    ).json()
    assert [(d["rule"], d["state"]) for d in body["results"]] == [
        ("cloud.accept", "met"),
        ("cloud.review", "running"),
    ]
    assert body["results"][0]["target_type"] == "accounts.unit"
    assert api.get("/api/v1/core/deadlines/", {"target_type": "no.such"}).status_code == 400
    assert (
        deadlines.deadline_list(
            user=make_user(roles=[Role.CENTER_ADMIN], unit=center), target=application
        ).count()
        == 2
    )


@pytest.mark.django_db
def test_due_calculator_for_any_user_national_day_2026_and_2027_provisional(api, make_user):
    api.force_login(make_user(roles=[Role.UNIT_USER]))
    body = api.get(
        "/api/v1/core/calendar/due/", {"submitted_at": "2026-09-30T18:45:00+08:00", "working_days": 3}
    ).json()
    assert body["counting_starts_on"] == "2026-10-08"
    assert body["due_at"] == "2026-10-10T23:59:59+08:00"  # Sat Oct 10 is a 调休 working day
    assert body["provisional"] is False
    body = api.get(
        "/api/v1/core/calendar/due/", {"submitted_at": "2026-12-28T09:00:00+08:00", "rule": "cloud.change"}
    )
    assert body.json()["due_at"] == "2027-01-04T23:59:59+08:00" and body.json()["provisional"] is True
    for bad in (
        {"submitted_at": "30/09/2026", "working_days": 3},
        {"working_days": 0},
        {"working_days": "三"},
        {"rule": "nope"},
        {"submitted_at": "2299-01-01T10:00:00", "working_days": 3},
    ):
        resp = api.get("/api/v1/core/calendar/due/", bad)
        assert resp.status_code == 400, bad
        assert _error(resp)["code"].startswith("calendar.")
