"""The datastore HTTP API with the real permission stack (S§23-25, S§34-36)."""

from __future__ import annotations

import csv
import io
import random

import openpyxl
import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.roles import Role
from core.models import AuditEvent
from datastore import tables
from datastore.models import Load, LoadStatus, SourceChange

from .factories import csv_text, make_id_card, make_uscc

pytestmark = pytest.mark.django_db

RNG = random.Random(606)
IDS = [make_id_card(RNG) for _ in range(4)]
CO = make_uscc(RNG)


def body(n=3, bad_line: int | None = None) -> bytes:
    rows = [[IDS[i], f"张{i}", "1990-01-01", CO, "1.5", "是", "0"] for i in range(n)]
    if bad_line is not None:
        rows[bad_line - 2][2] = "1990-13-01"
    return csv_text(rows).encode()


def post_file(api, resource, content: bytes, name="data.csv", **extra):
    data = {"file": SimpleUploadedFile(name, content, "text/csv"), **extra}
    return api.post(f"/api/v1/datastore/resources/{resource.pk}/loads/", data, format="multipart")


def test_data_officer_uploads_and_sees_the_finished_load_s23(
    api, resource, officer, django_capture_on_commit_callbacks
):
    api.force_authenticate(officer)
    with django_capture_on_commit_callbacks(execute=True):
        resp = post_file(api, resource, body(3), mode="upsert")
    assert resp.status_code == 202, resp.json()
    load_id = resp.json()["id"]
    detail = api.get(f"/api/v1/datastore/loads/{load_id}/").json()
    assert (
        detail["status"] == "succeeded" and detail["rows_inserted"] == 3 and detail["progress_percent"] == 100
    )
    history = api.get(f"/api/v1/datastore/resources/{resource.pk}/loads/").json()
    assert [r["id"] for r in history["results"]] == [load_id]


def test_other_units_data_officer_gets_403_and_nothing_is_written(api, resource, make_user):
    stranger = make_user(roles=[Role.DATA_OFFICER])
    api.force_authenticate(stranger)
    resp = post_file(api, resource, body(2))
    assert resp.status_code == 403
    assert resp.json()["error"]["code"] == "datastore.not_allowed"
    assert (
        not Load.objects.exists() and not AuditEvent.objects.filter(action__startswith="datastore.").exists()
    )


def test_unit_user_of_the_provider_may_not_load(api, resource, make_user, provider):
    api.force_authenticate(make_user(roles=[Role.UNIT_USER], unit=provider))
    assert post_file(api, resource, body(2)).status_code == 403


def test_center_admin_may_load_for_a_unit(
    api, resource, make_user, center, django_capture_on_commit_callbacks
):
    api.force_authenticate(make_user(roles=[Role.CENTER_ADMIN], unit=center))
    with django_capture_on_commit_callbacks(execute=True):
        resp = post_file(api, resource, body(2))
    assert resp.status_code == 202
    assert Load.objects.get().status == LoadStatus.SUCCEEDED


def test_bad_file_gets_400_in_the_one_error_shape(api, resource, officer):
    api.force_authenticate(officer)
    resp = post_file(api, resource, b"")
    assert resp.status_code == 400
    err = resp.json()["error"]
    assert err["code"] == "datastore.empty_file" and err["message"]
    resp = post_file(api, resource, body(2), mode="sideways")
    assert resp.status_code == 400
    resp = post_file(api, resource, body(2), reject_threshold="2")
    assert resp.status_code == 400


def test_rejects_download_as_csv_and_xlsx(api, resource, officer, django_capture_on_commit_callbacks):
    api.force_authenticate(officer)
    with django_capture_on_commit_callbacks(execute=True):
        load_id = post_file(api, resource, body(4, bad_line=3), reject_threshold="0.5").json()["id"]
    listing = api.get(f"/api/v1/datastore/loads/{load_id}/rejects/").json()
    assert listing["results"][0]["line"] == 3 and listing["results"][0]["column"] == "出生日期（birth_date）"
    resp = api.get(f"/api/v1/datastore/loads/{load_id}/rejects.csv")
    assert resp.status_code == 200 and resp["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(resp.content.decode("utf-8-sig"))))
    assert rows[0] == ["行号", "列", "原因", "原值"] and rows[1][0] == "3" and rows[1][3] == "1990-13-01"
    resp = api.get(f"/api/v1/datastore/loads/{load_id}/rejects.xlsx")
    ws = openpyxl.load_workbook(io.BytesIO(resp.content)).active
    assert ws["A2"].value == 3
    assert api.get(f"/api/v1/datastore/loads/{load_id}/rejects.pdf").status_code == 400


def test_rejects_are_not_visible_to_other_units(
    api, resource, officer, make_user, django_capture_on_commit_callbacks
):
    api.force_authenticate(officer)
    with django_capture_on_commit_callbacks(execute=True):
        load_id = post_file(api, resource, body(2)).json()["id"]
    api.force_authenticate(make_user(roles=[Role.DATA_OFFICER]))
    assert api.get(f"/api/v1/datastore/loads/{load_id}/").status_code == 404
    assert api.get(f"/api/v1/datastore/loads/{load_id}/rejects.csv").status_code == 404
    assert api.get("/api/v1/datastore/loads/").json()["results"] == []


def test_retry_of_a_failed_load(api, resource, officer, django_capture_on_commit_callbacks):
    api.force_authenticate(officer)
    with django_capture_on_commit_callbacks(execute=True):
        load_id = post_file(api, resource, body(2, bad_line=2)).json()["id"]
    assert Load.objects.get(pk=load_id).status == LoadStatus.FAILED
    resp = api.post(f"/api/v1/datastore/loads/{load_id}/retry/")
    assert resp.status_code == 202
    ok = Load.objects.create(resource=resource, source="csv", status=LoadStatus.SUCCEEDED)
    assert (
        api.post(f"/api/v1/datastore/loads/{ok.pk}/retry/").json()["error"]["code"]
        == "datastore.not_retryable"
    )


def test_push_with_api_client_token_of_the_provider(
    api, resource, provider, make_user, django_capture_on_commit_callbacks
):
    from accounts import services as accounts_services

    admin = make_user(roles=[Role.UNIT_ADMIN], unit=provider)
    client = accounts_services.api_client_create(
        by=admin, unit=provider, name="户籍系统", system_name="户籍管理系统", scopes=["datastore.push"]
    )
    _token, secret = accounts_services.api_token_issue(client=client, by=admin)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    rows = [
        {"id_card": IDS[0], "name": "张三", "birth_date": "2026年11月25日"},
        {"身份证号": IDS[1], "姓名": "李四"},
    ]
    with django_capture_on_commit_callbacks(execute=True):
        resp = api.post(
            f"/api/v1/datastore/resources/{resource.pk}/push/",
            {"mode": "upsert", "rows": rows},
            format="json",
        )
    assert resp.status_code == 202, resp.json()
    assert resp.json()["source"] == "api"
    load = Load.objects.get(pk=resp.json()["id"])
    assert load.status == LoadStatus.SUCCEEDED and load.created_by == client.service_user
    assert len(tables.select_rows(resource)) == 2


def test_push_token_without_the_push_scope_is_refused(api, resource, provider, make_user):
    from accounts import services as accounts_services

    admin = make_user(roles=[Role.UNIT_ADMIN], unit=provider)
    client = accounts_services.api_client_create(
        by=admin, unit=provider, name="查询系统", system_name="查询", scopes=["catalog.read"]
    )
    _token, secret = accounts_services.api_token_issue(client=client, by=admin)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    resp = api.post(
        f"/api/v1/datastore/resources/{resource.pk}/push/", {"rows": [{"id_card": IDS[0]}]}, format="json"
    )
    assert resp.status_code == 403


def test_push_validates_the_batch(api, resource, officer):
    api.force_authenticate(officer)
    url = f"/api/v1/datastore/resources/{resource.pk}/push/"
    assert api.post(url, {"rows": []}, format="json").status_code == 400
    assert api.post(url, {"rows": "x"}, format="json").status_code == 400
    assert not Load.objects.exists()


def test_quality_summary_shows_rows_nulls_identifier_validity_and_freshness(
    api, resource, officer, make_user, django_capture_on_commit_callbacks
):
    api.force_authenticate(officer)
    text = csv_text([[IDS[0], "张三", "", "", "", "", ""], [IDS[1], "李四", "1990-01-01", CO, "", "", ""]])
    with django_capture_on_commit_callbacks(execute=True):
        post_file(api, resource, text.encode())
    api.force_authenticate(make_user(roles=[Role.UNIT_USER]))  # any unit may see the figures
    q = api.get(f"/api/v1/datastore/resources/{resource.pk}/quality/").json()
    assert q["row_count"] == 2 and q["fresh"] is True and q["version"] == 1
    items = {i["code"]: i for i in q["items"]}
    assert items["birth_date"]["null_ratio"] == 0.5 and items["name"]["null_ratio"] == 0
    assert items["id_card"]["identifier_valid_ratio"] == 1.0
    assert "rows" not in q  # figures only, never rows (DESIGN rule 2)


def test_source_change_starts_the_two_working_day_clock_met_by_next_load_s25(
    api, resource, officer, django_capture_on_commit_callbacks
):
    from core import deadlines
    from core.rules import Rule

    api.force_authenticate(officer)
    with time_machine.travel("2026-09-30 10:00 +0800"):  # before the 国庆 holiday
        resp = api.post(
            f"/api/v1/datastore/resources/{resource.pk}/source-changes/",
            {"note": "户籍迁移批量更新"},
            format="json",
        )
        assert resp.status_code == 201
        change = SourceChange.objects.get()
        clock = deadlines.current(target=change, rule=Rule.DATA_UPDATE)
        assert clock is not None
        # 2 working days after 30 Sep skips the 1-8 Oct holiday
        assert clock.due_at.date().isoformat() >= "2026-10-09"
    with time_machine.travel("2026-10-09 09:00 +0800"), django_capture_on_commit_callbacks(execute=True):
        post_file(api, resource, body(2))
    change.refresh_from_db()
    assert change.met_by_load is not None
    assert deadlines.current(target=change, rule=Rule.DATA_UPDATE) is None


def test_no_endpoint_returns_rows(api, resource, officer, django_capture_on_commit_callbacks):
    """DESIGN rule 2: reading rows goes through the exchange only."""
    from django.urls import get_resolver

    api.force_authenticate(officer)
    with django_capture_on_commit_callbacks(execute=True):
        post_file(api, resource, body(2))
    names = [p.name for p in get_resolver("datastore.api.urls").url_patterns]
    assert not any("row" in (n or "") for n in names)
