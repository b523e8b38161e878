"""Datastore pages: upload, progress (HTMX polling), history, rejects download, quality."""

from __future__ import annotations

import random

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.roles import Role
from datastore.models import Load, LoadStatus

from .factories import csv_text, make_id_card, make_uscc

pytestmark = pytest.mark.django_db

RNG = random.Random(1606)
IDS = [make_id_card(RNG) for _ in range(3)]
CO = make_uscc(RNG)


def test_officer_uploads_through_the_page_and_follows_progress(
    client, resource, officer, django_capture_on_commit_callbacks
):
    client.force_login(officer)
    home = client.get("/datastore/").content.decode()
    assert resource.name in home and "尚未加载" in home
    page = client.get(f"/datastore/resources/{resource.pk}/").content.decode()
    assert 'data-testid="upload-form"' in page and "数据质量概况" in page
    content = csv_text([[IDS[0], "张三", "1990-01-01", CO, "1", "是", "0"]]).encode()
    with django_capture_on_commit_callbacks(execute=True):
        resp = client.post(
            f"/datastore/resources/{resource.pk}/upload/",
            {"file": SimpleUploadedFile("人口.csv", content), "mode": "upsert", "reject_threshold": "0.01"},
        )
    load = Load.objects.get()
    assert resp.status_code == 302 and resp["Location"] == f"/datastore/loads/{load.pk}/"
    detail = client.get(resp["Location"]).content.decode()
    assert "人口.csv" in detail and "已完成" in detail
    fragment = client.get(f"/datastore/loads/{load.pk}/progress/", HTTP_HX_REQUEST="true").content.decode()
    assert "100%" in fragment and "hx-trigger" not in fragment  # finished: polling stops


def test_running_load_fragment_keeps_polling(client, resource, officer):
    client.force_login(officer)
    load = Load.objects.create(
        resource=resource,
        source="csv",
        status=LoadStatus.RUNNING,
        file_size=1000,
        progress_bytes=420,
        progress_rows=12,
    )
    fragment = client.get(f"/datastore/loads/{load.pk}/progress/").content.decode()
    assert 'hx-trigger="every 2s"' in fragment and "42%" in fragment and "已处理 12 行" in fragment


def test_bad_upload_shows_the_message_beside_the_field(client, resource, officer):
    client.force_login(officer)
    resp = client.post(
        f"/datastore/resources/{resource.pk}/upload/",
        {"file": SimpleUploadedFile("a.csv", "籍贯\n湖南\n".encode()), "mode": "upsert"},
    )
    assert resp.status_code == 200
    assert "未登记的信息项" in resp.content.decode()
    assert not Load.objects.exists()


def test_failed_load_page_offers_rejects_download_and_retry(
    client, resource, officer, django_capture_on_commit_callbacks
):
    client.force_login(officer)
    content = csv_text([[IDS[0], "张三", "1990-02-30", CO, "1", "是", "0"]]).encode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            f"/datastore/resources/{resource.pk}/upload/",
            {"file": SimpleUploadedFile("a.csv", content), "mode": "upsert"},
        )
    load = Load.objects.get()
    page = client.get(f"/datastore/loads/{load.pk}/").content.decode()
    assert "超过阈值" in page and "不是有效日期" in page and "重试" in page
    csv = client.get(f"/datastore/loads/{load.pk}/rejects.csv")
    assert csv.status_code == 200 and "1990-02-30" in csv.content.decode("utf-8-sig")


def test_other_unit_cannot_open_the_load_or_upload(
    client, resource, officer, make_user, django_capture_on_commit_callbacks
):
    load = Load.objects.create(resource=resource, source="csv", status=LoadStatus.FAILED)
    stranger = make_user(roles=[Role.DATA_OFFICER])
    client.force_login(stranger)
    assert client.get(f"/datastore/loads/{load.pk}/").status_code == 404
    page = client.get(f"/datastore/resources/{resource.pk}/").content.decode()
    assert 'data-testid="upload-form"' not in page and 'data-testid="load-history"' not in page
    resp = client.post(
        f"/datastore/resources/{resource.pk}/upload/",
        {"file": SimpleUploadedFile("a.csv", b"x"), "mode": "upsert"},
    )
    assert resp.status_code == 403


def test_source_change_form_records_the_event(client, resource, officer):
    from datastore.models import SourceChange

    client.force_login(officer)
    resp = client.post(f"/datastore/resources/{resource.pk}/source-change/", {"note": "批量迁入"})
    assert resp.status_code == 302
    assert SourceChange.objects.get().note == "批量迁入"


def test_navigation_shows_data_loading_to_data_officers(client, officer, make_user):
    client.force_login(officer)
    assert "/datastore/" in client.get("/").content.decode()
    client.force_login(make_user(roles=[Role.UNIT_USER]))
    assert 'href="/datastore/"' not in client.get("/").content.decode()
