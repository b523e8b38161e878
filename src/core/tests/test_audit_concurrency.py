"""The chain stays linear under concurrent writers and chainers (S§35; PostgreSQL threads).

SQLite serialises writers with its database lock, so these run on PostgreSQL only; the
out-of-order and rolled-back id cases are also covered deterministically on both databases in
``test_audit_chain.py``.
"""

from __future__ import annotations

import random
import threading
import time

import pytest
from django.db import connection, connections, transaction

from core import audit
from core.models import AuditEvent
from core.models.audit import AuditChainGap

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif("connection.vendor != 'postgresql'", reason="threads need PostgreSQL"),
]

WRITERS, EVENTS_EACH = 8, 25


def _writer(n: int, errors: list, rollback_every: int = 0) -> None:
    rnd = random.Random(n)
    try:
        for i in range(EVENTS_EACH):
            try:
                with transaction.atomic():
                    audit.record(action="test.concurrent.write", details={"writer": n, "i": i})
                    time.sleep(rnd.random() / 200)  # commit out of id order
                    if rollback_every and i % rollback_every == 0:
                        raise _Rollback
            except _Rollback:
                pass
    except Exception as exc:  # surfaced by the test
        errors.append(exc)
    finally:
        connections.close_all()


class _Rollback(Exception):
    pass


def _chainer(stop: threading.Event, errors: list) -> None:
    try:
        while not stop.is_set():
            audit.chain_pending(batch_size=50)
            time.sleep(0.005)
    except Exception as exc:
        errors.append(exc)
    finally:
        connections.close_all()


def _run(rollback_every: int = 0) -> list:
    errors: list = []
    stop = threading.Event()
    chainers = [threading.Thread(target=_chainer, args=(stop, errors)) for _ in range(2)]
    writers = [threading.Thread(target=_writer, args=(n, errors, rollback_every)) for n in range(WRITERS)]
    for t in chainers + writers:
        t.start()
    for t in writers:
        t.join()
    stop.set()
    for t in chainers:
        t.join()
    return errors


def _assert_linear() -> None:
    chained = list(AuditEvent.objects.chained().order_by("seq").values_list("seq", "prev_hash", "hash"))
    assert [c[0] for c in chained] == list(range(1, len(chained) + 1))
    for (_, _, before), (_, prev, _) in zip(chained, chained[1:], strict=False):
        assert prev == before
    result = audit.verify_chain(notify_on_failure=False, record_run=False)
    assert result.ok, result.message


def test_concurrent_writers_and_two_chainers_keep_the_chain_linear_s35():
    assert connection.vendor == "postgresql"
    errors = _run()
    assert not errors, errors
    audit.chain_pending()
    assert AuditEvent.objects.pending().count() == 0
    assert AuditEvent.objects.count() == WRITERS * EVENTS_EACH
    assert not AuditChainGap.objects.exists()  # every id committed: nothing declared rolled back
    _assert_linear()


def test_rolled_back_ids_become_recorded_gaps_not_broken_links(settings):
    settings.GOVHUB_AUDIT_GAP_GRACE_SECONDS = 0.2
    errors = _run(rollback_every=5)
    assert not errors, errors
    time.sleep(0.3)
    audit.chain_pending()
    assert AuditEvent.objects.pending().count() == 0
    committed = AuditEvent.objects.count()
    assert committed == WRITERS * (EVENTS_EACH - EVENTS_EACH // 5)
    gap_ids, late = set(), set()
    for gap in AuditChainGap.objects.all():
        gap_ids.update(range(gap.first_id, gap.last_id + 1))
        late.update(gap.late_ids)
    ids = set(AuditEvent.objects.values_list("id", flat=True))
    start = AuditEvent.objects.get(seq=1).pk  # the chain starts at its first committed event
    assert gap_ids & ids == late  # a gap is a rolled-back id, unless it committed late after all
    assert set(range(start, max(ids) + 1)) - ids <= gap_ids  # every rolled-back id is accounted for
    assert gap_ids  # some writers did roll back
    _assert_linear()


def test_parallel_verification_finds_the_same_first_broken_link():
    from core.audit_db import drop_triggers, install_triggers

    for i in range(60):
        audit.record(action="test.parallel", details={"i": i})
    audit.chain_pending()
    serial = audit.verify_chain(notify_on_failure=False, record_run=False, workers=1)
    parallel = audit.verify_chain(notify_on_failure=False, record_run=False, workers=3)
    assert serial.ok and parallel.ok and parallel.checked == serial.checked == 60
    assert parallel.head_hash == serial.head_hash
    victim = AuditEvent.objects.get(seq=21)  # the first event of the second range
    drop_triggers()
    try:
        with connection.cursor() as cursor:
            cursor.execute("UPDATE core_auditevent SET purpose = 'x' WHERE id = %s", [victim.pk])
            cursor.execute("DELETE FROM core_auditevent WHERE seq = 45")
    finally:
        install_triggers()
    result = audit.verify_chain(notify_on_failure=False, record_run=False, workers=3)
    assert [(p.kind, p.seq) for p in result.problems[:2]] == [("altered", 21), ("missing", 45)]


def test_verification_falls_back_to_one_process_where_it_cannot_fork(monkeypatch):
    for i in range(30):
        audit.record(action="test.fallback", details={"i": i})
    audit.chain_pending()

    def no_children(*args, **kwargs):
        raise AssertionError("daemonic processes are not allowed to have children")

    monkeypatch.setattr(
        "multiprocessing.get_context", lambda method=None: type("Ctx", (), {"Pool": no_children})
    )
    result = audit.verify_chain(notify_on_failure=False, record_run=False, workers=3)
    assert result.ok and result.checked == 30
