"""Two center decisions on one access request at the same time: exactly one wins, one grant."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
from django.db import connection, connections

from accounts.roles import Role
from catalog.models import SharingType
from core.errors import Conflict
from exchange import services
from exchange.models import AccessRequest, Grant

from .factories import published_resource


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_decisions_on_one_request_give_one_outcome(make_unit, make_user, center):
    if connection.vendor != "postgresql":
        pytest.skip("row locks: PostgreSQL (SQLite's IMMEDIATE transactions serialise writers)")
    provider = make_unit()
    res = published_resource(provider=provider, sharing_type=SharingType.CONDITIONAL)
    consumer = make_user(unit=make_unit(), roles=[Role.UNIT_USER])
    req = services.access_request_submit(
        resource=res, by=consumer, purpose_category="administrative_basis", purpose="社会救助核对",
        basis="《社会救助暂行办法》第十一条", items=["sfzh", "jd"], channels=["online_query"],
        valid_from=date.today(), valid_to=date.today() + timedelta(days=30),
    )  # fmt: skip
    reviewers = [make_user(unit=center, roles=[Role.CENTER_REVIEWER]) for _ in range(2)]
    barrier, outcomes = threading.Barrier(2), []

    def decide(by, approve):
        try:
            barrier.wait()
            services.access_request_decide(
                access_request=AccessRequest.objects.get(pk=req.pk), by=by, approve=approve, reason="依据充分"
            )
            outcomes.append("ok")
        except Conflict:
            outcomes.append("conflict")
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=decide, args=(r, a)) for r, a in zip(reviewers, (True, False), strict=True)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(outcomes) == ["conflict", "ok"]
    req.refresh_from_db()
    assert Grant.objects.filter(request=req).count() == (1 if req.status == "approved" else 0)


@pytest.mark.django_db(transaction=True)
def test_simultaneous_downloads_do_not_exceed_the_daily_limit_of_the_grant(make_unit, make_user):
    if connection.vendor != "postgresql":
        pytest.skip("row locks: PostgreSQL (SQLite's IMMEDIATE transactions serialise writers)")
    from datetime import timedelta as td

    from django.utils import timezone

    from exchange import reading, selectors

    consumer = make_user(unit=make_unit(), roles=[Role.UNIT_USER])
    res = published_resource(provider=make_unit())
    today = timezone.localdate()
    Grant.objects.create(
        resource=res, consumer=consumer.unit, items=["jd"], purpose_category="data_check", purpose="核对数据",
        channels=["batch_download"], valid_from=today, valid_to=today + td(days=3), downloads_per_day=1,
    )  # fmt: skip
    barrier, outcomes = threading.Barrier(4), []

    def download():
        try:
            ctx = selectors.access_check(
                user=consumer, resource=res, channel="batch_download", purpose="data_check"
            )
            barrier.wait()
            reading.start_download(ctx=ctx, user=consumer, params={}, fmt="csv")
            outcomes.append("ok")
        except Exception as exc:  # noqa: BLE001
            outcomes.append(type(exc).__name__)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=download) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert outcomes.count("ok") == 1, outcomes
