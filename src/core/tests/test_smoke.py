"""The platform boots: health check, error format, login page, dashboard."""

import pytest
from django.db import connection

from accounts.roles import Role


@pytest.mark.django_db
def test_healthz_reports_database_ok(client):
    resp = client.get("/healthz")
    assert resp.status_code == 200
    assert resp.json() == {"status": "ok", "database": "ok", "vendor": connection.vendor}


@pytest.mark.django_db
def test_api_unknown_path_answers_in_the_one_error_shape(api):
    resp = api.get("/api/v1/no-such-endpoint/")
    assert resp.status_code == 404
    body = resp.json()
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == "not_found"


@pytest.mark.django_db
def test_openapi_schema_is_public_and_served_locally(api):
    resp = api.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert resp.status_code == 200
    assert resp.json()["info"]["title"] == "GovHub API"


@pytest.mark.django_db
def test_unknown_page_is_a_chinese_404(client):
    resp = client.get("/no-such-page/")
    assert resp.status_code == 404
    assert "页面不存在" in resp.content.decode()


@pytest.mark.django_db
def test_dashboard_requires_login_then_shows_unit_and_role(client, make_user):
    assert client.get("/").status_code == 302
    user = make_user(roles=[Role.DATA_OFFICER])
    client.force_login(user)
    page = client.get("/").content.decode()
    assert user.unit.name in page
    assert "单位数据专员" in page
