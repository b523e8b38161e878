"""Every API endpoint × every role (S§34-36: access control, no privilege escalation).

Rows come from each app's ``tests/permission_matrix.py`` (format: ``core/tests/matrix.py``).
An endpoint under ``/api/v1/`` without a row fails ``test_every_api_route_has_a_matrix_row``.
"""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.roles import Role
from core.tests.matrix import ROLE_HOME, Row, all_rows, api_routes, build_ctx

ROWS: list[Row] = all_rows()
REFUSED = {401, 403, 404, 405}
ANONYMOUS = "anonymous"


def _cases():
    for row in ROWS:
        for role in [*Role.values, ANONYMOUS]:
            yield pytest.param(row, role, id=f"{row.id}|{role}")


def _call(row: Row, role: str) -> tuple[int, str]:
    from accounts.tests.factories import UserFactory

    ctx = build_ctx()
    client = APIClient()
    if role != ANONYMOUS:
        ctx.role = role
        ctx.actor = UserFactory(roles=[role], unit=ctx.unit_for(role), must_change_password=False)
        client.force_login(ctx.actor)
    spec = (row.setup(ctx) if row.setup else None) or {}
    url = reverse(row.route, kwargs=spec.get("kwargs") or None)
    if spec.get("query"):
        from urllib.parse import urlencode

        url = f"{url}?{urlencode(spec['query'], doseq=True)}"
    send = getattr(client, row.method.lower())
    kwargs = {}
    if row.method != "GET" or spec.get("data") is not None:
        kwargs = {"data": spec.get("data") or {}, "format": spec.get("format", "json")}
    response = send(url, **kwargs)
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return response.status_code, content[:300].decode(errors="replace")


@pytest.mark.django_db
@pytest.mark.parametrize(("row", "role"), list(_cases()))
def test_role_may_or_may_not_call_endpoint_s34(row: Row, role: str):
    status, body = _call(row, role)
    if role == ANONYMOUS:
        if row.public:
            assert status not in REFUSED, f"{row.id}: public endpoint refused anonymous ({status}) {body}"
        else:
            assert status == 401, f"{row.id}: anonymous should get 401, got {status} {body}"
    elif role in row.allowed:
        assert status not in REFUSED, f"{row.id}: {role} is allowed but got {status} {body}"
    else:
        assert status in (403, 404), f"{row.id}: {role} is not allowed but got {status} {body}"


def test_every_api_route_has_a_matrix_row():
    rows = {row.key for row in ROWS}
    routes = {(name, method) for name, method, _ in api_routes()}
    unnamed = sorted(path for name, _, path in api_routes() if name == "<unnamed>")
    assert not unnamed, f"API routes must be named: {unnamed}"
    missing = sorted(routes - rows)
    assert not missing, "API endpoints without a permission-matrix row: " + ", ".join(
        f"{m} {n}" for n, m in missing
    )


def test_every_matrix_row_names_an_existing_route():
    routes = {(name, method) for name, method, _ in api_routes()}
    stale = sorted(row.id for row in ROWS if row.key not in routes)
    assert not stale, f"matrix rows for routes that do not exist: {stale}"


def test_matrix_rows_are_unique():
    keys = [row.key for row in ROWS]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    assert not duplicates, f"duplicate matrix rows: {duplicates}"


def test_every_role_has_a_home_unit():
    assert set(ROLE_HOME) == set(Role.values)
