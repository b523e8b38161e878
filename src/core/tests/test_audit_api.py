"""Auditor API and pages (S§35): who may read, filters, keyset paging, exports, nobody writes."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from accounts.roles import Role
from core import audit
from core.models import AuditEvent

LIST = "/api/v1/core/audit-events/"
T0 = datetime(2026, 10, 9, 1, 0, tzinfo=UTC)  # 09:00 Asia/Shanghai, first working day after 国庆 2026


@pytest.fixture
def auditor(make_user, make_unit):
    from accounts.models import Unit

    return make_user(roles=[Role.AUDITOR], unit=make_unit(kind=Unit.Kind.OVERSIGHT))


@pytest.fixture
def trail(make_user, make_unit):
    """A small trail: two units, two actors, reads with purpose, across two days."""
    alice = make_user(roles=[Role.DATA_OFFICER])
    bob = make_user(roles=[Role.UNIT_USER], unit=make_unit(name="芙蓉区市场监督管理局"))
    with time_machine.travel(T0, tick=False):
        audit.record(actor=alice, action="catalog.resource.publish", target=alice.unit, details={"v": 1})
        audit.record(
            actor=bob,
            action="exchange.query.read",
            target_type="catalog.resource",
            target_id=7,
            purpose="数据校核",
        )
    with time_machine.travel(datetime(2026, 10, 10, 1, 0, tzinfo=UTC), tick=False):
        audit.record(
            actor=bob,
            action="exchange.download.read",
            target_type="catalog.resource",
            target_id=8,
            purpose="业务协同",
        )
        audit.record(
            actor=alice, action="catalog.resource.update", target=alice.unit, target_label="=HYPERLINK(1)"
        )
    return {"alice": alice, "bob": bob}


def _ids(resp) -> list[str]:
    return [e["action"] for e in resp.json()["results"]]


# --- who may read -----------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.AUDITOR, Role.AUDIT_ADMIN])
def test_auditor_and_audit_admin_read_the_trail_s35(api, make_user, trail, role):
    api.force_login(make_user(roles=[role]))
    resp = api.get(LIST)
    assert resp.status_code == 200
    assert len(resp.json()["results"]) == 4


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.SYS_ADMIN, Role.SEC_ADMIN, Role.CENTER_ADMIN, Role.DATA_OFFICER])
def test_system_admin_and_everyone_else_may_not_read_the_trail_s35(api, make_user, trail, role):
    api.force_login(make_user(roles=[role]))
    before = AuditEvent.objects.count()
    resp = api.get(LIST)
    assert resp.status_code == 403
    assert resp.json()["error"]["code"] == "not_allowed"
    assert api.get(reverse("core-api:audit-event-export-csv")).status_code == 403
    assert api.get(reverse("core-api:audit-chain")).status_code == 403
    assert not AuditEvent.objects.filter(action__startswith="core.audit.").exists()
    # Only the accounts app's record of the refusals themselves may have been added.
    assert AuditEvent.objects.exclude(action="accounts.access.denied").count() == before


@pytest.mark.django_db
def test_anonymous_gets_401(api, trail):
    assert api.get(LIST).status_code == 401


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_nobody_can_change_the_trail_through_the_api_s35(api, auditor, make_user, trail, method):
    event = AuditEvent.objects.order_by("id").first()
    before = list(AuditEvent.objects.order_by("id").values_list("id", "action"))
    api.force_login(auditor)
    for url in (LIST, f"{LIST}{event.pk}/"):
        assert getattr(api, method)(url, {"action": "forged"}, format="json").status_code == 405
    api.force_login(make_user(roles=[Role.SYS_ADMIN]))
    assert getattr(api, method)(f"{LIST}{event.pk}/", {"action": "forged"}, format="json").status_code == 403
    after = AuditEvent.objects.exclude(action="accounts.access.denied").order_by("id")
    assert list(after.values_list("id", "action")) == before


# --- reading is audited -----------------------------------------------------------------------


@pytest.mark.django_db
def test_reading_the_trail_is_itself_audited_s35(api, auditor, trail):
    api.force_login(auditor)
    api.get(LIST, {"action": "exchange."})
    read = AuditEvent.objects.get(action="core.audit.read")
    assert read.actor == auditor and read.unit_id == auditor.unit_id
    assert read.details["filters"] == {"action": "exchange."} and read.details["returned"] == 2
    assert read.request_id and read.ip == "127.0.0.1"
    event = AuditEvent.objects.filter(action="catalog.resource.publish").get()
    resp = api.get(f"{LIST}{event.pk}/")
    assert resp.status_code == 200 and resp.json()["details"] == {"v": 1}
    assert AuditEvent.objects.filter(action="core.audit.read", target_id=str(event.pk)).exists()


# --- filters and paging -----------------------------------------------------------------------


@pytest.mark.django_db
def test_filters_by_actor_unit_action_target_purpose_and_time(api, auditor, trail):
    api.force_login(auditor)
    alice, bob = trail["alice"], trail["bob"]
    assert len(_ids(api.get(LIST, {"actor": alice.pk}))) == 2
    assert len(_ids(api.get(LIST, {"actor_name": bob.username}))) == 2
    assert len(_ids(api.get(LIST, {"unit": bob.unit_id}))) == 2
    assert len(_ids(api.get(LIST, {"unit_name": "市场监督"}))) == 2
    assert _ids(api.get(LIST, {"target": "HYPERLINK"})) == ["catalog.resource.update"]
    assert _ids(api.get(LIST, {"action": "exchange.download"})) == ["exchange.download.read"]
    assert _ids(api.get(LIST, {"target_type": "catalog.resource", "target_id": "7"})) == [
        "exchange.query.read"
    ]
    assert _ids(api.get(LIST, {"purpose": "校核"})) == ["exchange.query.read"]
    day1 = api.get(LIST, {"since": "2026-10-09T00:00:00+08:00", "until": "2026-10-10T00:00:00+08:00"})
    assert sorted(_ids(day1)) == ["catalog.resource.publish", "exchange.query.read"]


@pytest.mark.django_db
@pytest.mark.parametrize("query", [{"since": "昨天"}, {"actor": "abc"}, {"until": "2026-13-01"}])
def test_bad_filter_is_a_clear_400_and_nothing_is_recorded(api, auditor, trail, query):
    api.force_login(auditor)
    resp = api.get(LIST, query)
    assert resp.status_code == 400
    body = resp.json()["error"]
    assert body["code"] == "audit_bad_filter" and body["details"]["fields"]
    assert not AuditEvent.objects.filter(action="core.audit.read").exists()


@pytest.mark.django_db
def test_keyset_pagination_walks_every_event_once_newest_first(api, auditor, trail):
    api.force_login(auditor)
    seen, url = [], LIST + "?page_size=3&action=catalog.,exchange."
    url = LIST + "?page_size=3"
    while url:
        page = api.get(url).json()
        seen += [e["id"] for e in page["results"] if not e["action"].startswith("core.audit.")]
        url = page["next"]
    trail_ids = list(
        AuditEvent.objects.exclude(action__startswith="core.audit.").values_list("id", flat=True)
    )
    assert seen == sorted(trail_ids, reverse=True)


@pytest.mark.django_db
def test_chain_status_reports_the_unchained_window(api, auditor, trail):
    api.force_login(auditor)
    body = api.get(reverse("core-api:audit-chain")).json()
    assert body["pending"] == 4 and body["last_seq"] == 0
    assert body["oldest_pending_at"].startswith("2026-10-09T09:00:00")
    audit.chain_pending()
    body = api.get(reverse("core-api:audit-chain")).json()
    assert body["pending"] == 0 and body["last_seq"] >= 4


@pytest.mark.django_db
def test_unknown_event_is_a_404_in_the_error_shape(api, auditor):
    api.force_login(auditor)
    resp = api.get(f"{LIST}999999/")
    assert resp.status_code == 404 and resp.json()["error"]["code"] == "audit_not_found"


# --- exports ----------------------------------------------------------------------------------


def _content(resp) -> bytes:
    return b"".join(resp.streaming_content) if resp.streaming else resp.content


@pytest.mark.django_db
@pytest.mark.parametrize("stream", [False, True])
def test_csv_export_is_utf8_with_bom_and_escapes_formulas(api, auditor, trail, monkeypatch, stream):
    if stream:
        monkeypatch.setattr("core.api.audit.EXPORT_IN_MEMORY_ROWS", 0)
    api.force_login(auditor)
    resp = api.get(reverse("core-api:audit-event-export-csv"), {"actor": trail["alice"].pk})
    assert resp.status_code == 200 and resp.streaming is stream
    assert resp["Content-Type"].startswith("text/csv")
    assert "attachment" in resp["Content-Disposition"]
    data = _content(resp)
    assert data.startswith("\ufeff".encode())
    lines = data.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("链序号,事件编号,时间,操作者")
    assert len(lines) == 3
    assert "'=HYPERLINK(1)" in lines[2]
    assert "2026-10-09 09:00:00" in lines[1]  # Asia/Shanghai
    export = AuditEvent.objects.get(action="core.audit.export")
    assert export.details == {"filters": {"actor": str(trail["alice"].pk)}, "format": "csv"}


@pytest.mark.django_db
@pytest.mark.parametrize("stream", [False, True])
def test_xlsx_export_opens_in_excel(api, auditor, trail, monkeypatch, stream):
    from openpyxl import load_workbook

    if stream:
        monkeypatch.setattr("core.api.audit.EXPORT_IN_MEMORY_ROWS", 0)
    api.force_login(auditor)
    resp = api.get(reverse("core-api:audit-event-export-xlsx"), {"purpose": "业务协同"})
    assert resp.status_code == 200
    rows = list(load_workbook(io.BytesIO(_content(resp)), read_only=True).active.values)
    assert rows[0][:3] == ("链序号", "事件编号", "时间") and len(rows) == 2
    assert rows[1][8] == "exchange.download.read"


@pytest.mark.django_db
def test_xlsx_export_past_the_sheet_limit_is_refused_clearly(api, auditor, trail, monkeypatch):
    monkeypatch.setattr("core.api.audit.XLSX_MAX_ROWS", 2)
    api.force_login(auditor)
    resp = api.get(reverse("core-api:audit-event-export-xlsx"))
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "audit_export_too_large"
    assert not AuditEvent.objects.filter(action="core.audit.export").exists()


# --- pages ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_auditor_page_shows_trail_filters_and_the_unchained_window(client, auditor, trail):
    client.force_login(auditor)
    page = client.get(reverse("core:audit-list"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "条事件待链接" in html and "最早 2026-10-09 09:00:00" in html
    assert "exchange.download.read" in html and "审计记录" in html
    assert reverse("core-api:audit-event-export-csv") in html
    audit.chain_pending()
    html = client.get(reverse("core:audit-list")).content.decode()
    assert "全部事件均已链接" in html


@pytest.mark.django_db
def test_auditor_page_filters_with_htmx_and_shows_bad_input(client, auditor, trail):
    client.force_login(auditor)
    part = client.get(
        reverse("core:audit-list"), {"purpose": "校核"}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "exchange.query.read" in part and "exchange.download.read" not in part and "<html" not in part
    bad = client.get(reverse("core:audit-list"), {"since": "不是时间"}).content.decode()
    assert "筛选条件有误" in bad


@pytest.mark.django_db
def test_auditor_page_pages_backwards_by_id(client, auditor, trail, monkeypatch):
    monkeypatch.setattr("core.views_audit.PAGE_SIZE", 2)
    client.force_login(auditor)
    first = client.get(reverse("core:audit-list"))
    assert first.context["has_next"]
    second = client.get(reverse("core:audit-list"), {"before": first.context["next_before"]})
    ids = [e.pk for e in first.context["events"]] + [e.pk for e in second.context["events"]]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == len(ids)


@pytest.mark.django_db
def test_event_page_shows_hashes(client, auditor, trail):
    audit.chain_pending()
    event = AuditEvent.objects.get(seq=1)
    client.force_login(auditor)
    html = client.get(reverse("core:audit-detail", args=[event.pk])).content.decode()
    assert event.hash in html and event.prev_hash in html


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.SYS_ADMIN, Role.SECURITY_OFFICER, Role.UNIT_ADMIN])
def test_pages_refuse_everyone_but_auditors(client, make_user, trail, role):
    client.force_login(make_user(roles=[role]))
    assert client.get(reverse("core:audit-list")).status_code == 403
    event = AuditEvent.objects.first()
    assert client.get(reverse("core:audit-detail", args=[event.pk])).status_code == 403


@pytest.mark.django_db
def test_navigation_offers_the_trail_to_auditors_only(client, auditor, make_user):
    client.force_login(auditor)
    assert reverse("core:audit-list") in client.get("/").content.decode()
    client.force_login(make_user(roles=[Role.SYS_ADMIN]))
    assert reverse("core:audit-list") not in client.get("/").content.decode()


@pytest.mark.django_db
def test_django_admin_is_read_only_for_the_trail(rf, auditor):
    from django.contrib import admin

    model_admin = admin.site._registry[AuditEvent]
    request = rf.get("/")
    request.user = auditor
    assert model_admin.has_view_permission(request)
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)


@pytest.mark.django_db
def test_dashboard_alerts_security_admin_and_auditor_to_a_broken_chain(
    client, auditor, make_user, center, trail
):
    from django.db import connection

    from core.audit_db import drop_triggers

    sec_admin = make_user(roles=[Role.SEC_ADMIN], unit=center)
    client.force_login(sec_admin)
    assert "审计链校验失败" not in client.get("/").content.decode()
    audit.chain_pending()
    drop_triggers()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE core_auditevent SET purpose = 'x' WHERE seq = 2")
    audit.verify_chain(notify_on_failure=False)
    assert "审计链校验失败" in client.get("/").content.decode()
    client.force_login(auditor)
    html = client.get("/").content.decode()
    assert "审计链校验失败" in html and reverse("core:audit-list") in html
    client.force_login(make_user(roles=[Role.SYS_ADMIN], unit=center))
    assert "审计链校验失败" not in client.get("/").content.decode()


@pytest.mark.django_db
def test_dashboard_warns_when_events_wait_too_long_for_the_chainer(client, auditor, trail):
    client.force_login(auditor)
    with time_machine.travel(T0 + timedelta(days=1)):
        assert "审计链接程序可能未运行" in client.get("/").content.decode()
    audit.chain_pending()
    assert "审计链接程序可能未运行" not in client.get("/").content.decode()
