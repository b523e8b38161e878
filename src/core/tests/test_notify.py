"""Notifications: recipients by role and unit, inbox, email after commit, preferences (issue 4)."""

from __future__ import annotations

import logging

import pytest
from django.core import mail
from django.db import transaction

from accounts.roles import Role
from core import notify as notify_mod
from core.errors import Invalid, NotFound
from core.models import AuditEvent, Notification, NotificationPreference
from core.notify import (
    notification_list,
    notification_mark_all_read,
    notification_mark_read,
    notification_preference_set,
    notification_unread_count,
    notify,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def units(center, make_unit):
    return {"center": center, "a": make_unit(), "b": make_unit()}


def test_center_roles_resolve_to_center_staff_even_when_a_unit_is_given_c11(units, make_user):
    reviewer = make_user(roles=[Role.CENTER_REVIEWER], unit=units["center"])
    admin = make_user(roles=[Role.CENTER_ADMIN], unit=units["center"])
    make_user(roles=[Role.CENTER_REVIEWER], unit=units["a"])  # misplaced role outside the center
    applicant = make_user(roles=[Role.SYSTEM_OWNER], unit=units["a"])

    count = notify(
        event="cloud.application.submitted",
        title="新的政务云申请",
        users=[applicant],
        roles=[Role.CENTER_REVIEWER, Role.CENTER_ADMIN],
        unit=units["a"],
    )

    assert count == 3
    assert set(Notification.objects.values_list("recipient_id", flat=True)) == {
        reviewer.pk,
        admin.pk,
        applicant.pk,
    }


def test_unit_roles_resolve_inside_the_given_unit_only_s11(units, make_user):
    officer_a = make_user(roles=[Role.DATA_OFFICER], unit=units["a"])
    make_user(roles=[Role.DATA_OFFICER], unit=units["b"])
    make_user(roles=[Role.UNIT_USER], unit=units["a"])

    assert (
        notify(
            event="catalog.resource.returned", title="目录被退回", roles=[Role.DATA_OFFICER], unit=units["a"]
        )
        == 1
    )
    assert list(Notification.objects.values_list("recipient_id", flat=True)) == [officer_a.pk]


def test_unit_role_without_unit_reaches_every_holder(units, make_user):
    a = make_user(roles=[Role.SEC_ADMIN], unit=units["center"])
    b = make_user(roles=[Role.SEC_ADMIN], unit=units["a"])
    assert notify(event="audit.chain.broken", title="审计链断裂", roles=[Role.SEC_ADMIN]) == 2
    assert set(Notification.objects.values_list("recipient_id", flat=True)) == {a.pk, b.pk}


def test_recipients_are_deduplicated_and_inactive_users_skipped(units, make_user):
    officer = make_user(roles=[Role.DATA_OFFICER, Role.UNIT_ADMIN], unit=units["a"])
    gone = make_user(roles=[Role.DATA_OFFICER], unit=units["a"], is_active=False)

    count = notify(
        event="exchange.request.submitted",
        title="新的共享申请",
        users=[officer, gone, officer],
        roles=[Role.DATA_OFFICER, Role.UNIT_ADMIN],
        unit=units["a"],
    )

    assert count == 1
    assert list(Notification.objects.values_list("recipient_id", flat=True)) == [officer.pk]


def test_nobody_to_notify_returns_zero_and_writes_nothing(units):
    assert notify(event="cloud.x", title="t", roles=[Role.AUDITOR], unit=units["b"]) == 0
    assert Notification.objects.count() == 0


def test_notify_without_event_code_is_refused():
    with pytest.raises(Invalid):
        notify(event="  ", title="t")


def test_email_is_sent_only_after_commit_with_chinese_template(
    units, make_user, django_capture_on_commit_callbacks
):
    user = make_user(roles=[Role.DATA_OFFICER], unit=units["a"], full_name="张三")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        notify(
            event="catalog.resource.published",
            title="资源已发布",
            body="人口基础信息",
            users=[user],
            url="/catalog/1/",
        )
        assert mail.outbox == []  # nothing leaves before the caller commits
    assert len(callbacks) == 1
    callbacks[0]()

    assert len(mail.outbox) == 1
    msg = mail.outbox[0]
    assert msg.to == [user.email]
    assert "资源已发布" in msg.subject
    assert "张三，您好" in msg.body and "人口基础信息" in msg.body and "/catalog/1/" in msg.body
    assert msg.alternatives and "资源已发布" in msg.alternatives[0][0]
    assert Notification.objects.get().emailed_at is not None


def test_rolled_back_change_sends_no_email_and_leaves_no_inbox_row(
    units, make_user, django_capture_on_commit_callbacks
):
    user = make_user(unit=units["a"])
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        notify(event="cloud.application.accepted", title="已受理", users=[user])
        raise RuntimeError("the review failed")
    assert callbacks == []
    assert Notification.objects.count() == 0
    assert mail.outbox == []


def test_email_preference_off_keeps_inbox_but_sends_no_email(
    units, make_user, django_capture_on_commit_callbacks
):
    user = make_user(unit=units["a"])
    notification_preference_set(by=user, category="cloud", email=False)
    with django_capture_on_commit_callbacks(execute=True):
        notify(event="cloud.application.accepted", title="已受理", users=[user])
        notify(event="catalog.resource.published", title="已发布", users=[user])
    assert Notification.objects.filter(recipient=user).count() == 2
    assert [m.subject for m in mail.outbox] == ["【政务数据与云管理平台】已发布"]


def test_mail_server_failure_is_logged_never_raised(
    units, make_user, django_capture_on_commit_callbacks, settings, caplog
):
    settings.EMAIL_BACKEND = "core.tests.test_notify.BrokenEmailBackend"
    user = make_user(unit=units["a"])
    with (
        caplog.at_level(logging.ERROR, logger="core.notify"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert notify(event="cloud.application.accepted", title="已受理", users=[user]) == 1
    assert Notification.objects.get().emailed_at is None  # the inbox still has it
    assert "通知邮件发送失败" in caplog.text


def test_user_without_email_gets_inbox_only(units, make_user, django_capture_on_commit_callbacks):
    user = make_user(unit=units["a"], email="")
    with django_capture_on_commit_callbacks(execute=True):
        assert notify(event="cloud.x", title="t", users=[user]) == 1
    assert mail.outbox == []


class BrokenEmailBackend:
    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise ConnectionRefusedError("SMTP down")


# --- inbox ------------------------------------------------------------------------------------


def test_inbox_shows_only_own_notifications_and_unread_count(units, make_user):
    me, other = make_user(unit=units["a"]), make_user(unit=units["a"])
    notify(event="cloud.a", title="mine", users=[me])
    notify(event="cloud.b", title="theirs", users=[other])
    assert [n.title for n in notification_list(user=me)] == ["mine"]
    assert notification_unread_count(user=me) == 1


def test_user_cannot_mark_another_users_notification_read(units, make_user):
    me, other = make_user(unit=units["a"]), make_user(unit=units["a"])
    notify(event="cloud.b", title="theirs", users=[other])
    theirs = Notification.objects.get()
    with pytest.raises(NotFound):
        notification_mark_read(notification=theirs, by=me)
    theirs.refresh_from_db()
    assert theirs.read_at is None
    assert not AuditEvent.objects.filter(action="core.notification.read").exists()


def test_mark_read_is_idempotent_and_audited_once(units, make_user):
    me = make_user(unit=units["a"])
    notify(event="cloud.a", title="mine", users=[me])
    n = Notification.objects.get()
    first = notification_mark_read(notification=n, by=me).read_at
    again = notification_mark_read(notification=n, by=me).read_at
    assert first is not None and first == again
    assert AuditEvent.objects.filter(action="core.notification.read").count() == 1


def test_mark_all_read_touches_only_own_unread(units, make_user):
    me, other = make_user(unit=units["a"]), make_user(unit=units["a"])
    for i in range(3):
        notify(event="cloud.a", title=f"m{i}", users=[me])
    notify(event="cloud.b", title="theirs", users=[other])
    assert notification_mark_all_read(by=me) == 3
    assert notification_unread_count(user=me) == 0
    assert notification_unread_count(user=other) == 1
    assert notification_mark_all_read(by=me) == 0


def test_unknown_preference_category_is_a_clear_error(units, make_user):
    me = make_user(unit=units["a"])
    with pytest.raises(Invalid) as err:
        notification_preference_set(by=me, category="no-such", email=False)
    assert err.value.code == notify_mod.NotifyError.BAD_CATEGORY.value
    assert NotificationPreference.objects.count() == 0
