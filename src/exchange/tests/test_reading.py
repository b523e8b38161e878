"""The read channels through the HTTP API: online query, batch download, change feed (S§31),
and that every refusal leaks nothing (S§35; DESIGN rule 2)."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from django.utils import timezone
from stdnum.cn import ric

from accounts.roles import Role
from core.models import AuditEvent
from datastore import services as ds
from exchange.accounting import record_key_hash
from exchange.models import Grant, RecordAccess

from .factories import published_resource

pytestmark = pytest.mark.django_db


def id_card(n: int) -> str:
    body = f"430102199{n % 10}0{(n % 9) + 1}1{n % 10}{n:03d}"[:17]
    return body + ric.calc_check_digit(body + "0")


PEOPLE = [
    {
        "sfzh": id_card(i),
        "xm": name,
        "lxdh": f"1380000{i:04d}",
        "jd": street,
        "csrq": f"199{i % 10}-0{(i % 9) + 1}-1{i % 10}",
    }
    for i, (name, street) in enumerate(
        [
            ("张三", "定王台街道"),
            ("李四", "火星街道"),
            ("王五", "定王台街道"),
            ("赵六", "火星街道"),
            ("孙七", "定王台街道"),
        ],
        start=1,
    )
]


def _load(resource, officer, rows):
    body = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode()
    upload = io.BytesIO(body)
    upload.size = len(body)
    load = ds.load_create(resource=resource, by=officer, upload=upload, file_name="people.jsonl", run=False)
    ds.load_run(load_id=load.pk)
    load.refresh_from_db()
    assert load.status == "succeeded", (load.error_code, load.error_message)
    return load


@pytest.fixture
def world(make_unit, make_user, center):
    provider = make_unit(name="芙蓉公安分局")
    officer = make_user(unit=provider, roles=[Role.DATA_OFFICER])
    resource = published_resource(provider=provider)
    _load(resource, officer, PEOPLE)
    consumer = make_user(unit=make_unit(name="芙蓉区民政局"), roles=[Role.UNIT_USER])
    today = timezone.localdate()
    grant = Grant.objects.create(
        resource=resource,
        consumer=consumer.unit,
        items=["sfzh", "xm", "jd", "csrq"],
        purpose_category="data_check",
        purpose="低保资格核对",
        channels=["online_query", "batch_download", "system_feed"],
        valid_from=today,
        valid_to=today + timedelta(days=30),
    )
    return {
        "resource": resource,
        "consumer": consumer,
        "grant": grant,
        "officer": officer,
        "provider": provider,
    }


def _get(api, user, path, **headers):
    api.force_authenticate(user)
    return api.get(path, **headers)


def test_online_query_by_key_returns_only_granted_items_masked_and_audited_s31_s35(api, world):
    res, user = world["resource"], world["consumer"]
    person = PEOPLE[0]
    resp = _get(
        api, user, f"/api/v1/exchange/{res.code}/records?sfzh={person['sfzh']}", HTTP_X_PURPOSE="data_check"
    )
    assert resp.status_code == 200, resp.json()
    body = resp.json()
    assert body["returned"] == 1
    row = body["results"][0]
    assert set(row) == {"sfzh", "xm", "jd", "csrq"}  # lxdh not granted
    assert row["sfzh"] == person["sfzh"][:6] + "********" + person["sfzh"][-4:]
    assert row["xm"] == "张*"
    assert row["jd"] == "定王台街道"
    ev = AuditEvent.objects.get(pk=body["audit_id"])
    assert ev.action == "exchange.read.query" and ev.purpose == "data_check" and ev.details["rows"] == 1
    assert ev.unit_id == user.unit_id
    assert RecordAccess.objects.filter(
        key_hash=record_key_hash(person["sfzh"]), audit_event_id=ev.pk
    ).exists()


def test_keyset_pagination_walks_all_rows_once(api, world):
    res, user = world["resource"], world["consumer"]
    seen, after = [], ""
    for _ in range(10):
        resp = _get(
            api, user, f"/api/v1/exchange/{res.code}/records?limit=2{after}", HTTP_X_PURPOSE="data_check"
        )
        body = resp.json()
        seen += [r["jd"] for r in body["results"]]
        if not body["next"]:
            break
        after = f"&after={body['next']}"
    assert len(seen) == len(PEOPLE)


def test_filters_in_and_date_range(api, world):
    res, user = world["resource"], world["consumer"]
    resp = _get(
        api, user, f"/api/v1/exchange/{res.code}/records?jd__in=火星街道", HTTP_X_PURPOSE="data_check"
    )
    assert resp.json()["returned"] == 2
    world["grant"].allow_plain = True  # csrq is masked otherwise: no ranges on masked items
    world["grant"].save()
    resp = _get(
        api, user, f"/api/v1/exchange/{res.code}/records?csrq__gte=1993-01-01&csrq__lte=1994-12-31",
        HTTP_X_PURPOSE="data_check",
    )  # fmt: skip
    assert resp.json()["returned"] == 2
    resp = _get(
        api, user, f"/api/v1/exchange/{res.code}/records?csrq__gte=not-a-date", HTTP_X_PURPOSE="data_check"
    )
    assert resp.status_code == 400 and "error" in resp.json()


def test_row_filter_of_the_grant_limits_rows(api, world):
    world["grant"].row_filter = {"jd": ["火星街道"]}
    world["grant"].save()
    res, user = world["resource"], world["consumer"]
    resp = _get(api, user, f"/api/v1/exchange/{res.code}/records", HTTP_X_PURPOSE="data_check")
    assert {r["jd"] for r in resp.json()["results"]} == {"火星街道"}
    resp = _get(api, user, f"/api/v1/exchange/{res.code}/records?jd=定王台街道", HTTP_X_PURPOSE="data_check")
    assert resp.json()["returned"] == 0


@pytest.mark.parametrize(
    "mutate",
    [
        "no_grant",
        "expired",
        "revoked",
        "suspended",
        "wrong_purpose",
        "no_purpose",
        "other_unit",
        "not_yet_valid",
    ],
)
def test_refusals_are_403_with_no_data_and_no_hints(api, world, make_user, make_unit, mutate):
    res, user, grant = world["resource"], world["consumer"], world["grant"]
    headers = {"HTTP_X_PURPOSE": "data_check"}
    today = timezone.localdate()
    if mutate == "no_grant":
        grant.delete()
    elif mutate == "expired":
        grant.valid_to = today - timedelta(days=1)
        grant.save()
    elif mutate == "not_yet_valid":
        grant.valid_from = today + timedelta(days=1)
        grant.save()
    elif mutate in ("revoked", "suspended"):
        grant.status = mutate
        grant.save()
    elif mutate == "wrong_purpose":
        headers = {"HTTP_X_PURPOSE": "work_reference"}
    elif mutate == "no_purpose":
        headers = {}
    elif mutate == "other_unit":
        user = make_user(unit=make_unit(), roles=[Role.UNIT_USER])
    before = RecordAccess.objects.count()
    resp = _get(api, user, f"/api/v1/exchange/{res.code}/records?sfzh={PEOPLE[0]['sfzh']}", **headers)
    assert resp.status_code == 403
    text = resp.content.decode()
    assert PEOPLE[0]["xm"] not in text and "results" not in text and "count" not in text
    assert RecordAccess.objects.count() == before


def test_filter_on_item_outside_the_grant_is_refused_without_data(api, world):
    res, user = world["resource"], world["consumer"]
    resp = _get(
        api, user, f"/api/v1/exchange/{res.code}/records?lxdh=13800000001", HTTP_X_PURPOSE="data_check"
    )
    assert resp.status_code == 400
    assert "13800000001" not in json.dumps(resp.json().get("results", []))
    assert "results" not in resp.json()


@pytest.mark.parametrize(
    "param",
    [
        "sfzh=' OR 1=1 --",
        "xm=张三'; DROP TABLE core_auditevent; --",
        "jd__in=a','b",
        "after=1 OR 1=1",
        "limit=1;--",
    ],
)
def test_sql_injection_attempts_are_inert(api, world, param):
    res, user = world["resource"], world["consumer"]
    resp = _get(api, user, f"/api/v1/exchange/{res.code}/records?{param}", HTTP_X_PURPOSE="data_check")
    assert resp.status_code in (200, 400)
    if resp.status_code == 200:
        assert resp.json()["returned"] == 0
    assert AuditEvent.objects.exists()  # the table is still there


def test_unknown_or_unpublished_resource_is_404(api, world):
    resp = _get(api, world["consumer"], "/api/v1/exchange/NOPE/records", HTTP_X_PURPOSE="data_check")
    assert resp.status_code == 404


def test_batch_download_streams_csv_with_download_id_traced_to_audit(api, world):
    res, user = world["resource"], world["consumer"]
    resp = _get(api, user, f"/api/v1/exchange/{res.code}/download?format=csv", HTTP_X_PURPOSE="data_check")
    assert resp.status_code == 200
    content = b"".join(resp.streaming_content).decode("utf-8-sig")
    lines = content.strip().splitlines()
    assert len(lines) == 1 + len(PEOPLE)
    assert "姓名(xm)" in lines[0] and "张*" in content and PEOPLE[0]["sfzh"] not in content
    download_id = resp["X-GovHub-Download-Id"]
    assert AuditEvent.objects.filter(
        action="exchange.read.download", details__download_id=download_id
    ).exists()


def test_batch_download_jsonl_and_xlsx(api, world):
    res, user = world["resource"], world["consumer"]
    resp = _get(api, user, f"/api/v1/exchange/{res.code}/download?format=jsonl", HTTP_X_PURPOSE="data_check")
    lines = b"".join(resp.streaming_content).decode().splitlines()
    assert json.loads(lines[0])["_govhub"]["download_id"] == resp["X-GovHub-Download-Id"]
    assert len(lines) == 1 + len(PEOPLE)
    resp = _get(api, user, f"/api/v1/exchange/{res.code}/download?format=xlsx", HTTP_X_PURPOSE="data_check")
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(b"".join(resp.streaming_content)), read_only=True)
    assert wb.properties.identifier == resp["X-GovHub-Download-Id"]
    assert len(list(wb["data"].iter_rows())) == 1 + len(PEOPLE)


def test_download_frequency_limit_per_grant_gives_429(api, world):
    world["grant"].downloads_per_day = 1
    world["grant"].save()
    res, user = world["resource"], world["consumer"]
    assert (
        _get(api, user, f"/api/v1/exchange/{res.code}/download", HTTP_X_PURPOSE="data_check").status_code
        == 200
    )
    resp = _get(api, user, f"/api/v1/exchange/{res.code}/download", HTTP_X_PURPOSE="data_check")
    assert resp.status_code == 429 and resp.json()["error"]["code"]


def test_change_feed_cursor_returns_changes_after_it(api, world):
    res, user = world["resource"], world["consumer"]
    resp = _get(api, user, f"/api/v1/exchange/{res.code}/changes?since=0", HTTP_X_PURPOSE="data_check")
    assert resp.status_code == 200, resp.json()
    body = resp.json()
    assert len(body["changes"]) == len(PEOPLE) and all(c["op"] == "insert" for c in body["changes"])
    cursor = body["next"]
    changed = dict(PEOPLE[1], jd="定王台街道")
    _load(res, world["officer"], [changed])
    body = _get(
        api, user, f"/api/v1/exchange/{res.code}/changes?since={cursor}", HTTP_X_PURPOSE="data_check"
    ).json()
    assert [c["op"] for c in body["changes"]] == ["update"]
    assert body["changes"][0]["data"]["jd"] == "定王台街道" and "lxdh" not in body["changes"][0]["data"]


def test_who_accessed_this_record_for_auditors_only(api, world, make_user, make_unit):
    res, user = world["resource"], world["consumer"]
    _get(
        api,
        user,
        f"/api/v1/exchange/{res.code}/records?sfzh={PEOPLE[2]['sfzh']}",
        HTTP_X_PURPOSE="data_check",
    )
    auditor = make_user(unit=make_unit(kind="oversight"), roles=[Role.AUDITOR])
    resp = _get(api, auditor, f"/api/v1/exchange/record-access/?identifier={PEOPLE[2]['sfzh']}")
    assert resp.status_code == 200
    hits = resp.json()["results"]
    assert len(hits) == 1 and hits[0]["unit"] == "芙蓉区民政局" and hits[0]["purpose"] == "data_check"
    assert (
        _get(api, auditor, f"/api/v1/exchange/record-access/?identifier={PEOPLE[3]['sfzh']}").json()[
            "results"
        ]
        == []
    )
    sysadmin = make_user(unit=make_unit(kind="center"), roles=[Role.SYS_ADMIN])
    assert (
        _get(api, sysadmin, f"/api/v1/exchange/record-access/?identifier={PEOPLE[2]['sfzh']}").status_code
        == 403
    )
    assert (
        _get(api, user, f"/api/v1/exchange/record-access/?identifier={PEOPLE[2]['sfzh']}").status_code == 403
    )


def test_consumers_are_notified_after_each_load_s25(world, make_user):
    from core.models import Notification

    consumer_officer = make_user(unit=world["consumer"].unit, roles=[Role.DATA_OFFICER])
    bystander = make_user(roles=[Role.DATA_OFFICER])  # another unit, no grant
    _load(world["resource"], world["officer"], [dict(PEOPLE[0], jd="火星街道")])
    assert Notification.objects.filter(recipient=consumer_officer, event="exchange.data.updated").exists()
    assert not Notification.objects.filter(recipient=bystander, event="exchange.data.updated").exists()


def test_record_key_hash_is_the_keyed_hmac_earlier_rows_were_written_with(settings):
    """ "Who accessed this record" finds rows written before: the hash of a value never changes
    for the same secret key, and another secret key gives another hash."""
    import hashlib
    import hmac

    from exchange.accounting import _hmac_key

    algo = "sm3" if "sm3" in hashlib.algorithms_available else "sha256"
    value = " 43010219900101001x "
    expected = hmac.new(_hmac_key(), value.strip().upper().encode(), algo).hexdigest()
    assert record_key_hash(value) == expected == record_key_hash(value.strip().upper())
    settings.SECRET_KEY = "another-secret-key-for-this-test-only-0123456789"
    other = record_key_hash(value)
    assert other != expected
    assert other == hmac.new(_hmac_key(), value.strip().upper().encode(), algo).hexdigest()
