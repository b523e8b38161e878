"""The audit trail's hash chain, append-only guards and verification (S§35; 等保 level 3)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from accounts.roles import Role
from core import audit
from core.audit_db import drop_triggers, install_triggers, triggers_installed
from core.errors import Conflict
from core.models import AuditEvent
from core.models.audit import GENESIS_HASH, AuditChainGap, AuditChainState

T0 = datetime(2026, 10, 9, 9, 30, tzinfo=UTC)  # first working day after 国庆 2026


def _events(n: int, **kwargs) -> list[AuditEvent]:
    return [
        audit.record(action=f"test.thing.step{i}", details={"i": i, "名称": "测试"}, **kwargs)
        for i in range(n)
    ]


def _insert_with_id(event_id: int, action: str) -> None:
    """An event whose id was handed out out of order (as concurrent transactions do)."""
    AuditEvent(id=event_id, occurred_at=T0, action=action).save()
    if connection.vendor == "postgresql":  # keep the sequence ahead of hand-picked ids
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('core_auditevent', 'id'), %s)", [event_id + 10]
            )


def _raw(sql: str, params=()) -> None:
    table = connection.ops.quote_name(AuditEvent._meta.db_table)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql.format(table=table), params)


# --- SM3 and the canonical form ---------------------------------------------------------------


def test_sm3_is_the_national_hash_gb_t_32905():
    # GB/T 32905-2016 example 1: SM3("abc").
    expected = "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    assert audit.sm3_hex(b"abc") == expected
    assert hashlib.new("sm3", b"abc").hexdigest() == expected


def test_gmssl_fallback_gives_the_same_sm3():
    from gmssl import func, sm3

    data = "审计".encode()
    assert sm3.sm3_hash(func.bytes_to_list(data)) == audit.sm3_hex(data)


def test_canonical_form_is_sorted_compact_json_of_the_event_and_prev_hash():
    row = (
        7,
        3,
        "2026-10-09 01:30:00",
        5,
        "alice",
        None,
        "",
        2,
        "甲单位",
        "10.0.0.1",
        "r1",
        "a.b.c",
        "t",
        "9",
        "L",
        "数据校核",
        '{"b": 1, "a": [1, 2]}',
        "ab" * 32,
    )
    doc = json.loads(audit.canonical_bytes(row))
    assert list(doc) == sorted(doc)
    assert doc["occurred_at"] == "2026-10-09T01:30:00.000000Z"
    assert doc["details"] == {"a": [1, 2], "b": 1}
    assert doc["prev_hash"] == "ab" * 32
    assert b" " not in audit.canonical_bytes(row).replace("测试".encode(), b"")
    assert audit.event_hash(row) == hashlib.new("sm3", audit.canonical_bytes(row)).hexdigest()


@pytest.mark.django_db
def test_canonical_json_is_exactly_the_sorted_compact_stdlib_json_for_stored_details():
    details = {
        "名称": "企业\n登记\u0001",
        "b": [1, 2.5, None, True, {"z": 1, "a": "x"}],
        "big": 2**70,
        "tiny": 1.5e-7,
        "huge": 1e16,
        "nan": float("nan"),
        "a": {"é": 0.1},
    }
    stored = audit.record(action="t.canonical", details=details)
    stored.refresh_from_db()
    assert stored.details["big"] == str(2**70) and stored.details["huge"] == "1e+16"
    assert stored.details["nan"] == "nan" and stored.details["tiny"] == "1.5e-07"
    row = audit._row_of(stored)
    doc = dict(zip(audit.HASH_COLUMNS, row, strict=True))
    doc["occurred_at"] = audit._canonical_time(doc["occurred_at"])
    reference = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert audit.canonical_bytes(row) == reference


@pytest.mark.django_db
def test_database_assembled_canonical_form_equals_the_python_reference(rf):
    """The chainer and verifier read the hashed columns as one JSON array the database builds
    (speed); every value must come back exactly as the ORM reads it."""
    nasty = "".join(chr(i) for i in range(1, 0x80)) + '\u2028é测试😀"\\'
    request = rf.get("/", REMOTE_ADDR="2001:db8::1")
    request.request_id = "r-1"
    events = [
        audit.record(
            action="t.nasty", target_type=nasty[:100], target_id="7", target_label=nasty, purpose=nasty
        ),
        audit.record(action="t.ipv6", request=request, details={"z": [nasty], "a": {"b": 1, "a": None}}),
        audit.record(action="t.plain"),
    ]
    with time_machine.travel(datetime(2026, 10, 9, 1, 0, tzinfo=UTC), tick=False):  # zero microseconds
        events.append(audit.record(action="t.whole.second"))
    audit.chain_pending()
    for event in events:
        event = AuditEvent.objects.get(pk=event.pk)
        assert event.hash == audit.event_hash(audit._row_of(event))
    assert audit.verify_chain(notify_on_failure=False).ok


# --- recording and chaining -------------------------------------------------------------------


@pytest.mark.django_db
def test_record_inserts_unchained_event_without_lock_s35(make_user):
    user = make_user(roles=[Role.DATA_OFFICER])
    event = audit.record(actor=user, action="catalog.resource.publish", target=user.unit, purpose="数据校核")
    event.refresh_from_db()
    assert event.seq is None and event.hash == "" and event.prev_hash == ""
    assert event.unit_id == user.unit_id and event.unit_label == user.unit.name
    assert event.target_type == "accounts.unit" and event.target_id == str(user.unit.pk)


@pytest.mark.django_db
def test_event_of_a_rolled_back_change_is_not_kept_s35():
    with pytest.raises(RuntimeError), transaction.atomic():
        audit.record(action="test.change.refused")
        raise RuntimeError("the change failed")
    assert not AuditEvent.objects.exists()


@pytest.mark.django_db
def test_record_cleans_details_that_a_database_could_not_store():
    event = audit.record(action="t.x", details={"at": T0, "text": "a\x00b"}, purpose="p\x00", note="n")
    event.refresh_from_db()
    assert event.details == {"at": "2026-10-09T09:30:00Z", "text": "ab", "note": "n"}
    assert event.purpose == "p"


@pytest.mark.django_db
def test_chainer_links_committed_events_in_id_order_with_sm3_s35():
    events = _events(5)
    run = audit.chain_pending(batch_size=2)
    assert run.chained == 5
    chained = list(AuditEvent.objects.order_by("seq"))
    assert [e.seq for e in chained] == [1, 2, 3, 4, 5]
    assert [e.pk for e in chained] == [e.pk for e in events]
    assert chained[0].prev_hash == GENESIS_HASH
    for before, after in zip(chained, chained[1:], strict=False):
        assert after.prev_hash == before.hash
    for e in chained:
        assert e.hash == audit.event_hash(audit._row_of(e))
    state = AuditChainState.objects.get()
    assert (state.last_seq, state.last_hash, state.last_id) == (5, chained[-1].hash, events[-1].pk)
    assert audit.chain_pending().chained == 0  # nothing twice


@pytest.mark.django_db
def test_young_gap_holds_the_chainer_then_counts_as_rolled_back_id():
    with time_machine.travel(T0, tick=False):
        first = audit.record(action="t.one")
        # id first+1 is "in flight" (allocated, not committed); first+2 commits before it.
        _insert_with_id(first.pk + 2, "t.three")
        run = audit.chain_pending()
        assert run.chained == 1 and run.waiting_for_id == first.pk + 1
        assert AuditEvent.objects.get(pk=first.pk + 2).seq is None
        assert audit.chain_status().pending == 1
    with time_machine.travel(T0 + audit.gap_grace() + timedelta(seconds=1), tick=False):
        run = audit.chain_pending()
    assert run.chained == 1 and run.gaps == [(first.pk + 1, first.pk + 1)]
    assert AuditEvent.objects.get(pk=first.pk + 2).seq == 2
    gap = AuditChainGap.objects.get()
    assert (gap.first_id, gap.last_id, gap.after_seq) == (first.pk + 1, first.pk + 1, 1)
    assert audit.verify_chain(notify_on_failure=False).ok  # a rolled-back id is not tampering


@pytest.mark.django_db
def test_event_committing_after_its_gap_was_passed_is_chained_at_the_end():
    with time_machine.travel(T0, tick=False):
        first = audit.record(action="t.one")
        _insert_with_id(first.pk + 2, "t.three")
    with time_machine.travel(T0 + timedelta(minutes=5), tick=False):
        audit.chain_pending()
        _insert_with_id(first.pk + 1, "t.two.late")
        run = audit.chain_pending()
    assert run.late == [first.pk + 1]
    assert AuditEvent.objects.get(pk=first.pk + 1).seq == 3
    assert AuditChainGap.objects.get().late_ids == [first.pk + 1]
    assert audit.verify_chain(notify_on_failure=False).ok


@pytest.mark.django_db
def test_chain_status_shows_the_unchained_window():
    with time_machine.travel(T0, tick=False):
        _events(3)
        status = audit.chain_status()
    assert status.pending == 3 and status.oldest_pending_at == T0
    audit.chain_pending()
    status = audit.chain_status()
    assert status.pending == 0 and status.last_seq == 3 and status.oldest_pending_at is None


# --- append-only: model, queryset, database triggers -----------------------------------------


@pytest.mark.django_db
def test_model_refuses_to_save_an_existing_event_or_delete_it_s35():
    event = audit.record(action="t.x")
    event.action = "t.changed"
    with pytest.raises(Conflict):
        event.save()
    with pytest.raises(Conflict):
        event.delete()
    with pytest.raises(Conflict):
        AuditEvent.objects.filter(pk=event.pk).update(action="t.changed")
    with pytest.raises(Conflict):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.get(pk=event.pk).action == "t.x"


@pytest.mark.django_db
def test_triggers_are_installed_by_post_migrate_on_the_test_database():
    assert triggers_installed()
    install_triggers()  # idempotent
    assert triggers_installed()


@pytest.mark.django_db
def test_database_rejects_update_and_delete_of_events_s35():
    event = audit.record(action="t.x", details={"k": 1})
    for sql, params in [
        ("UPDATE {table} SET action = %s WHERE id = %s", ["t.forged", event.pk]),
        ("UPDATE {table} SET details = %s WHERE id = %s", ['{"k": 2}', event.pk]),
        ("DELETE FROM {table} WHERE id = %s", [event.pk]),
    ]:
        with pytest.raises(DatabaseError):
            _raw(sql, params)
    event.refresh_from_db()
    assert (event.action, event.details) == ("t.x", {"k": 1})


@pytest.mark.django_db
def test_database_allows_only_the_one_time_fill_of_the_chain_columns():
    event = audit.record(action="t.x")
    with pytest.raises(DatabaseError):  # filling while also changing the content
        _raw(
            "UPDATE {table} SET seq = 1, prev_hash = %s, hash = %s, action = 'z' WHERE id = %s",
            ["a", "b", event.pk],
        )
    audit.chain_pending()
    with pytest.raises(DatabaseError):  # re-chaining a chained event
        _raw("UPDATE {table} SET seq = 9, prev_hash = %s, hash = %s WHERE id = %s", ["a", "b", event.pk])
    assert AuditEvent.objects.get(pk=event.pk).seq == 1


@pytest.mark.django_db
@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_database_rejects_truncate_on_postgresql():
    audit.record(action="t.x")
    with pytest.raises(DatabaseError):
        _raw("TRUNCATE {table}")
    assert AuditEvent.objects.count() == 1


# --- verification -----------------------------------------------------------------------------


@pytest.fixture
def chained(db):
    _events(6)
    audit.chain_pending()
    return list(AuditEvent.objects.order_by("seq"))


@pytest.fixture
def alerts(monkeypatch):
    sent = []

    def fake_notify(**kwargs):
        sent.append(kwargs)
        return 1

    monkeypatch.setattr("core.notify.notify", fake_notify)
    return sent


def test_verify_passes_on_an_intact_chain(chained, alerts):
    result = audit.verify_chain()
    assert result.ok and result.checked == 6 and result.head_seq == 6 and result.head_hash == chained[-1].hash
    assert not alerts
    state = AuditChainState.objects.get()
    assert state.verified_ok is True and state.verified_count == 6
    assert AuditEvent.objects.filter(action="core.audit.verify").exists()


def test_verify_detects_an_event_edited_through_raw_sql_s35(chained, alerts):
    drop_triggers()
    _raw("UPDATE {table} SET target_label = %s WHERE id = %s", ["改过的", chained[2].pk])
    result = audit.verify_chain()
    assert not result.ok
    first = result.first_problem
    assert (first.kind, first.seq, first.event_id) == ("altered", 3, chained[2].pk)
    assert alerts and alerts[0]["roles"] == [Role.SEC_ADMIN]
    assert AuditChainState.objects.get().verified_ok is False


def test_broken_chain_lands_in_the_security_admins_inbox(chained, make_user, center):
    from core.models import Notification

    sec_admin = make_user(roles=[Role.SEC_ADMIN], unit=center)
    auditor = make_user(roles=[Role.AUDITOR])
    drop_triggers()
    _raw("DELETE FROM {table} WHERE id = %s", [chained[2].pk])
    assert not audit.verify_chain().ok
    note = Notification.objects.get(recipient=sec_admin)
    assert note.event == "audit.chain_broken" and "3" in note.body
    assert not Notification.objects.filter(recipient=auditor).exists()


def test_verify_detects_details_edited_even_with_the_hash_recomputed(chained, alerts):
    drop_triggers()
    row = list(audit._row_of(chained[1]))
    row[audit._I_DETAILS] = {"i": 99}
    forged = audit.event_hash(row)
    _raw("UPDATE {table} SET details = %s, hash = %s WHERE id = %s", ['{"i": 99}', forged, chained[1].pk])
    first = audit.verify_chain().first_problem
    assert (first.kind, first.seq) == ("relinked", 3)


def test_verify_detects_an_event_deleted_through_raw_sql_s35(chained, alerts):
    drop_triggers()
    _raw("DELETE FROM {table} WHERE id = %s", [chained[3].pk])
    result = audit.verify_chain()
    first = result.first_problem
    assert (first.kind, first.seq) == ("missing", 4)
    assert "4" in result.message and alerts


def test_verify_detects_events_cut_off_the_end(chained, alerts):
    drop_triggers()
    _raw("DELETE FROM {table} WHERE seq >= 5")
    first = audit.verify_chain().first_problem
    assert (first.kind, first.seq) == ("truncated", 5)


def test_verify_detects_a_deleted_first_event(chained, alerts):
    drop_triggers()
    _raw("DELETE FROM {table} WHERE seq = 1")
    assert audit.verify_chain().first_problem.kind == "missing"


def test_audit_verify_command_exits_non_zero_on_a_broken_chain(chained, alerts, capsys):
    call_command("audit_verify")
    assert "审计链完整" in capsys.readouterr().out
    drop_triggers()
    _raw("UPDATE {table} SET actor_label = 'mallory' WHERE id = %s", [chained[0].pk])
    with pytest.raises(CommandError) as exc:
        call_command("audit_verify")
    assert exc.value.returncode == 2
    assert "altered" in capsys.readouterr().err


def test_audit_chain_command_links_pending_events(db, capsys):
    _events(3)
    call_command("audit_chain")
    assert "chained=3" in capsys.readouterr().out
    assert AuditEvent.objects.pending().count() == 0


@pytest.mark.django_db
def test_chain_on_commit_setting_links_the_event_right_after_commit(
    settings, django_capture_on_commit_callbacks
):
    settings.GOVHUB_AUDIT_CHAIN_ON_COMMIT = True
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        event = audit.record(action="t.x")
        assert AuditEvent.objects.get(pk=event.pk).seq is None
    assert AuditEvent.objects.get(pk=event.pk).seq == 1


@pytest.mark.django_db
def test_an_empty_trail_verifies_clean(alerts):
    result = audit.verify_chain(record_run=False)
    assert result.ok and result.checked == 0 and result.head_hash == GENESIS_HASH and not alerts


@pytest.mark.django_db
def test_audit_verify_can_chain_pending_events_first(capsys):
    _events(4)
    call_command("audit_verify", "--chain-first")
    out = capsys.readouterr().out
    assert "chained 4 pending events" in out and "checked=4" in out
