"""The inbox in the browser: header badge, list, mark read (HTMX and plain), preferences."""

from __future__ import annotations

import pytest

from accounts.roles import Role
from core.models import Notification, NotificationPreference
from core.notify import notify

pytestmark = pytest.mark.django_db


@pytest.fixture
def me(make_user, make_unit):
    return make_user(roles=[Role.DATA_OFFICER], unit=make_unit())


def test_header_badge_shows_unread_count_on_every_page(client, me):
    notify(event="cloud.a", title="a", users=[me])
    notify(event="cloud.b", title="b", users=[me])
    client.force_login(me)
    page = client.get("/").content.decode()
    assert 'data-testid="notification-badge"' in page
    assert 'data-testid="notification-unread">2<' in page


def test_badge_partial_has_no_count_when_all_read(client, me):
    client.force_login(me)
    html = client.get("/notifications/badge/", HTTP_HX_REQUEST="true").content.decode()
    assert 'data-testid="notification-badge"' in html and "notification-unread" not in html


def test_list_page_shows_own_notifications_only(client, me, make_user):
    other = make_user(unit=me.unit)
    notify(event="cloud.a", title="我的通知甲", users=[me], body="请于 3 个工作日内受理")
    notify(event="cloud.b", title="别人的通知", users=[other])
    client.force_login(me)
    page = client.get("/notifications/").content.decode()
    assert "我的通知甲" in page and "请于 3 个工作日内受理" in page
    assert "别人的通知" not in page


def test_htmx_mark_read_returns_the_row_and_triggers_badge_refresh(client, me):
    notify(event="cloud.a", title="a", users=[me])
    n = Notification.objects.get()
    client.force_login(me)
    resp = client.post(f"/notifications/{n.pk}/read/", HTTP_HX_REQUEST="true")
    assert resp.status_code == 200
    assert resp["HX-Trigger"] == "notifications-changed"
    assert f'id="notification-{n.pk}"' in resp.content.decode()
    assert "notification-mark-read" not in resp.content.decode()
    n.refresh_from_db()
    assert n.read_at is not None


def test_marking_another_users_notification_is_404(client, me, make_user):
    other = make_user(unit=me.unit)
    notify(event="cloud.a", title="a", users=[other])
    n = Notification.objects.get()
    client.force_login(me)
    assert client.post(f"/notifications/{n.pk}/read/").status_code == 404
    n.refresh_from_db()
    assert n.read_at is None


def test_mark_all_read_without_htmx_redirects_with_message(client, me):
    notify(event="cloud.a", title="a", users=[me])
    notify(event="cloud.b", title="b", users=[me])
    client.force_login(me)
    resp = client.post("/notifications/read-all/", follow=True)
    assert "已将 2 条通知标为已读" in resp.content.decode()
    assert not Notification.objects.filter(read_at__isnull=True).exists()


def test_preferences_form_switches_email_per_category(client, me):
    client.force_login(me)
    assert "政务云" in client.get("/notifications/preferences/").content.decode()
    # Everything ticked except "cloud".
    from core.notify import CATEGORIES

    ticked = [c for c in CATEGORIES if c != "cloud"]
    resp = client.post("/notifications/preferences/", {"email": ticked})
    assert resp.status_code == 302
    assert list(NotificationPreference.objects.filter(user=me).values_list("category", "email")) == [
        ("cloud", False)
    ]


def test_pages_require_login(client):
    assert client.get("/notifications/").status_code == 302
    assert client.post("/notifications/read-all/").status_code == 302
