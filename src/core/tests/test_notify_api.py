"""Notifications through the HTTP API: a user never sees or touches another's (S§34-36)."""

from __future__ import annotations

import pytest

from accounts.roles import Role
from core.models import Notification, NotificationPreference
from core.notify import notify

pytestmark = pytest.mark.django_db


@pytest.fixture
def me(make_user, make_unit):
    return make_user(roles=[Role.DATA_OFFICER], unit=make_unit())


@pytest.fixture
def other(make_user, me):
    return make_user(roles=[Role.DATA_OFFICER], unit=me.unit)


def test_list_shows_only_own_notifications_newest_first(api, me, other):
    notify(event="cloud.a", title="第一条", users=[me])
    notify(event="cloud.b", title="第二条", users=[me], url="/cloud/2/")
    notify(event="cloud.c", title="别人的", users=[other])
    api.force_login(me)

    body = api.get("/api/v1/core/notifications/").json()

    assert body["count"] == 2
    assert [r["title"] for r in body["results"]] == ["第二条", "第一条"]
    assert body["results"][0]["url"] == "/cloud/2/" and body["results"][0]["is_read"] is False
    assert body["results"][0]["category"] == "cloud"


def test_unread_filter_and_count(api, me):
    notify(event="cloud.a", title="a", users=[me])
    notify(event="cloud.b", title="b", users=[me])
    Notification.objects.filter(title="a").update(read_at="2026-10-09T10:00:00+08:00")
    api.force_login(me)
    assert [r["title"] for r in api.get("/api/v1/core/notifications/?unread=1").json()["results"]] == ["b"]
    assert api.get("/api/v1/core/notifications/unread-count/").json() == {"unread": 1}


def test_marking_another_users_notification_read_is_404_and_changes_nothing(api, me, other):
    notify(event="cloud.c", title="别人的", users=[other])
    theirs = Notification.objects.get()
    api.force_login(me)

    resp = api.post(f"/api/v1/core/notifications/{theirs.pk}/read/")

    assert resp.status_code == 404
    assert resp.json()["error"]["code"] == "notification_not_found"
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_mark_read_and_read_all(api, me, other):
    for i in range(3):
        notify(event="cloud.a", title=f"n{i}", users=[me])
    notify(event="cloud.c", title="别人的", users=[other])
    first = Notification.objects.filter(recipient=me).first()
    api.force_login(me)

    resp = api.post(f"/api/v1/core/notifications/{first.pk}/read/")
    assert resp.status_code == 200 and resp.json()["is_read"] is True
    assert api.post("/api/v1/core/notifications/read-all/").json() == {"marked": 2}
    assert Notification.objects.filter(recipient=other, read_at__isnull=True).count() == 1


def test_preferences_default_email_on_and_can_be_switched_off(api, me):
    api.force_login(me)
    prefs = {p["category"]: p for p in api.get("/api/v1/core/notifications/preferences/").json()}
    assert prefs["cloud"]["email"] is True and prefs["cloud"]["inbox"] is True
    assert prefs["cloud"]["label"] == "政务云"

    resp = api.patch(
        "/api/v1/core/notifications/preferences/", {"category": "cloud", "email": False}, format="json"
    )

    assert resp.status_code == 200
    assert {p["category"]: p["email"] for p in resp.json()}["cloud"] is False
    assert NotificationPreference.objects.get(user=me, category="cloud").email is False


@pytest.mark.parametrize(
    "data",
    [
        {"category": "nope", "email": False},
        {"category": "cloud", "email": "maybe"},
        {"category": "cloud"},
        [],
    ],
)
def test_bad_preference_input_is_a_clear_400_and_writes_nothing(api, me, data):
    api.force_login(me)
    resp = api.patch("/api/v1/core/notifications/preferences/", data, format="json")
    assert resp.status_code == 400
    assert resp.json()["error"]["code"] == "notification_bad_category"
    assert resp.json()["error"]["message"]
    assert NotificationPreference.objects.count() == 0


def test_anonymous_gets_401(api):
    assert api.get("/api/v1/core/notifications/").status_code == 401
