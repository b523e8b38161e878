"""Update duty (S§24-25): overdue flag per update cycle, notification, after-load hook."""

from __future__ import annotations

import datetime as dt
import random

import pytest
import time_machine

from core.models import AuditEvent
from datastore import hooks, services
from datastore.models import DataTable, LoadStatus

from .factories import csv_text, make_id_card, person_resource

pytestmark = pytest.mark.django_db

RNG = random.Random(2425)
IDS = [make_id_card(RNG) for _ in range(2)]


def load_once(resource, officer, upload, run_load):
    return run_load(
        resource=resource, by=officer, upload=upload(csv_text([[IDS[0], "张三"]], ["id_card", "name"]))
    )


def test_resource_not_loaded_within_its_cycle_is_flagged_and_officer_notified_s24(
    provider, officer, upload, run_load
):
    from core.models import Notification

    provider.data_officer = officer
    provider.save()
    with time_machine.travel(dt.datetime(2026, 11, 2, 9, tzinfo=dt.UTC)):
        resource = person_resource(provider, update_cycle="weekly")
        assert load_once(resource, officer, upload, run_load).status == LoadStatus.SUCCEEDED
    with time_machine.travel(dt.datetime(2026, 11, 8, 9, tzinfo=dt.UTC)):
        assert services.resource_overdue_sweep() == 0
    with time_machine.travel(dt.datetime(2026, 11, 12, 9, tzinfo=dt.UTC)):
        assert services.resource_overdue_sweep() == 1
        assert services.resource_overdue_sweep() == 0  # told once
    table = DataTable.objects.get(resource=resource)
    assert table.overdue_since is not None
    assert Notification.objects.filter(recipient=officer, event="datastore.resource.overdue").count() == 1
    assert AuditEvent.objects.filter(action="datastore.resource.overdue").count() == 1
    with time_machine.travel(dt.datetime(2026, 11, 13, 9, tzinfo=dt.UTC)):
        load_once(resource, officer, upload, run_load)
    table.refresh_from_db()
    assert table.overdue_since is None


def test_never_loaded_resource_becomes_overdue_after_its_cycle_from_publication(provider, officer):
    with time_machine.travel(dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC)):
        resource = person_resource(provider, update_cycle="daily")
    with time_machine.travel(dt.datetime(2026, 1, 9, 9, tzinfo=dt.UTC)):
        assert services.resource_overdue_sweep() == 1
    assert DataTable.objects.get(resource=resource).overdue_since is not None


def test_after_load_hook_is_called_once_per_successful_load_only(resource, officer, upload, run_load):
    calls = []

    def receiver(*, resource, load):
        calls.append((resource.pk, load.pk, load.status))

    hooks.connect_after_load(receiver)
    try:
        ok = load_once(resource, officer, upload, run_load)
        bad = run_load(
            resource=resource, by=officer, upload=upload(csv_text([["123", "张三"]], ["id_card", "name"]))
        )
    finally:
        hooks.disconnect_after_load(receiver)
    assert bad.status == LoadStatus.FAILED
    assert calls == [(resource.pk, ok.pk, LoadStatus.SUCCEEDED)]


def test_a_failing_hook_receiver_does_not_undo_the_load(resource, officer, upload, run_load):
    def broken(**kwargs):
        raise RuntimeError("exchange down")

    hooks.connect_after_load(broken)
    try:
        load = load_once(resource, officer, upload, run_load)
    finally:
        hooks.disconnect_after_load(broken)
    assert load.status == LoadStatus.SUCCEEDED


def test_source_change_only_by_the_provider(resource, make_user):
    from accounts.roles import Role
    from core.errors import PermissionDenied
    from datastore.models import SourceChange

    with pytest.raises(PermissionDenied):
        services.source_change_report(resource=resource, by=make_user(roles=[Role.DATA_OFFICER]), note="x")
    assert not SourceChange.objects.exists()
