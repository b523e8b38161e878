"""Property-based API testing of the exchange with schemathesis: whatever a client sends to the
exchange endpoints described in the OpenAPI schema, GovHub answers with a 2xx/4xx in the one
error shape — never a server error (issue 7, "0 server errors")."""

from __future__ import annotations

from datetime import timedelta

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from django.utils import timezone
from hypothesis import HealthCheck, Phase, settings

from accounts.roles import Role
from exchange.models import Grant

from .factories import published_resource

schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application()).include(
    path_regex=r"^/api/v1/exchange/"
)


@pytest.fixture
def in_process_requests():
    """Keep the test's database connection open across in-process WSGI calls, as Django's own
    test client does (otherwise request_finished closes it and PostgreSQL loses the test
    transaction)."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def seeded(db, make_unit, make_user, in_process_requests):
    """A small district: a provider, a consumer unit with a live grant, and a token of the
    consumer's API client (token auth: the fuzzer exercises POSTs past CSRF)."""
    provider = make_unit(name="模糊测试·提供单位")
    consumer = make_user(unit=make_unit(name="模糊测试·使用单位"), roles=[Role.DATA_OFFICER])
    res = published_resource(provider=provider, code="FUZZ0001")
    today = timezone.localdate()
    Grant.objects.create(
        resource=res,
        consumer=consumer.unit,
        items=["sfzh", "xm", "csrq"],
        purpose_category="data_check",
        purpose="核对",
        channels=["online_query", "batch_download", "system_feed"],
        valid_from=today,
        valid_to=today + timedelta(days=10),
    )
    from accounts import services as accounts

    admin = make_user(unit=consumer.unit, roles=[Role.UNIT_ADMIN])
    client = accounts.api_client_create(
        by=admin, unit=consumer.unit, name="民政核对系统", system_name="低保核对",
        scopes=["exchange.query", "exchange.download", "exchange.feed"],
    )  # fmt: skip
    _token, raw = accounts.api_token_issue(client=client, by=admin)
    return raw


@schema.parametrize()
@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
)
@pytest.mark.django_db(transaction=False)
def test_exchange_api_never_answers_with_a_server_error(case, seeded):
    case.headers = {**(case.headers or {}), "X-Purpose": "data_check", "Authorization": f"Bearer {seeded}"}
    if case.path_parameters and "code" in case.path_parameters:
        case.path_parameters["code"] = "FUZZ0001"  # reach the grant check and the filters, not a 404
    response = case.call()
    assert response.status_code < 500, (
        f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:300]}"
    )
    if response.status_code >= 400:
        body = response.json()
        assert set(body["error"]) == {"code", "message", "details"}
