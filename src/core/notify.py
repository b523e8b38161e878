"""Notifications: in-app inbox + email per user preference. Interface used by every app:

    notify(event="cloud.application.accepted", users=[u], roles=[Role.CENTER_REVIEWER],
           unit=unit, title="...", body="...", url="/cloud/applications/3/")

Recipients (de-duplicated, inactive users skipped):

* every active user in ``users``;
* every active user holding any of ``roles``. Center roles (CENTER_ADMIN, CENTER_REVIEWER) always
  resolve to the center unit(s) — they act for the whole district; any other role resolves to
  ``unit`` when given, else to its holders everywhere (e.g. SEC_ADMIN for audit alerts).

The inbox row is written in the caller's transaction (it commits or rolls back with the change it
tells about). Email is sent only after commit (``transaction.on_commit``) through a background
task, and a failure to send is logged, never raised: a broken mail server must not undo a review.

This module also holds the inbox's services (mark read, preferences) and selectors (a user's own
inbox, unread count); a user never sees another's notifications.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from enum import Enum
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core import audit
from core.errors import Invalid, NotFound

logger = logging.getLogger(__name__)


class NotifyError(str, Enum):
    """Stable error codes of the inbox."""

    NOT_FOUND = "notification_not_found"
    BAD_CATEGORY = "notification_bad_category"
    BAD_EVENT = "notification_bad_event"


#: Event categories people can choose email for (first segment of the event code).
CATEGORIES: dict[str, Any] = {
    "deadline": _("办理时限提醒"),
    "catalog": _("资源目录"),
    "datastore": _("数据归集"),
    "exchange": _("共享申请与使用"),
    "quality": _("数据质量与异议"),
    "opendata": _("数据开放"),
    "cloud": _("政务云"),
    "security": _("安全管理"),
    "assessment": _("考核评估"),
    "audit": _("审计与安全告警"),
    "accounts": _("账号与权限"),
    "core": _("系统与后台任务"),
}


def category_label(category: str) -> str:
    return str(CATEGORIES.get(category, category))


# --- recipients -------------------------------------------------------------------------------


def _center_roles() -> frozenset[str]:
    from accounts.roles import CENTER_ROLES

    return frozenset(str(r) for r in CENTER_ROLES)


def resolve_recipients(
    *, users: Iterable[Any] = (), roles: Iterable[str] = (), unit: Any = None
) -> list[Any]:
    """The active users a notification goes to, de-duplicated, in id order."""
    from accounts.models import Unit, User

    ids: set[int] = set()
    for u in users or ():
        pk = getattr(u, "pk", u)
        if pk is not None:
            ids.add(int(pk))
    roles = {str(r) for r in roles or ()}
    unit_id = getattr(unit, "pk", unit)

    center_roles = roles & _center_roles()
    other_roles = roles - center_roles
    if center_roles:
        ids.update(
            User.objects.filter(
                role_assignments__role__in=center_roles, unit__kind=Unit.Kind.CENTER
            ).values_list("pk", flat=True)
        )
    if other_roles:
        qs = User.objects.filter(role_assignments__role__in=other_roles)
        if unit_id is not None:
            qs = qs.filter(unit_id=unit_id)
        ids.update(qs.values_list("pk", flat=True))
    if not ids:
        return []
    return list(User.objects.filter(pk__in=ids, is_active=True).order_by("pk"))


# --- delivery ---------------------------------------------------------------------------------


def notify(
    *,
    event: str,
    title: str,
    body: str = "",
    url: str = "",
    users: Iterable[Any] = (),
    roles: Iterable[str] = (),
    unit: Any = None,
) -> int:
    """Put the message in each recipient's inbox now; email after commit. Returns the count."""
    from core.models import Notification, NotificationPreference, event_category

    event = (event or "").strip()
    if not event:
        raise Invalid(NotifyError.BAD_EVENT, _("通知必须有事件代码。"))
    recipients = resolve_recipients(users=users, roles=roles, unit=unit)
    if not recipients:
        return 0
    title = str(title)[:200]
    rows = Notification.objects.bulk_create(
        [
            Notification(recipient=u, event=event[:100], title=title, body=str(body), url=str(url)[:500])
            for u in recipients
        ]
    )
    category = event_category(event)
    opted_out = set(
        NotificationPreference.objects.filter(
            user__in=recipients, category=category, email=False
        ).values_list("user_id", flat=True)
    )
    # Both supported databases return primary keys from bulk_create (RETURNING).
    to_email = [n.pk for n, u in zip(rows, recipients, strict=True) if u.email and u.pk not in opted_out]
    if to_email:
        transaction.on_commit(lambda: _enqueue_emails(to_email))
    return len(recipients)


def _enqueue_emails(notification_ids: list[int]) -> None:
    """After commit: hand the emails to the worker. Never raises (the caller already committed)."""
    try:
        from core.tasks import send_notification_emails

        send_notification_emails.enqueue(notification_ids=notification_ids)
    except Exception:
        logger.exception("通知邮件未能加入队列，改为直接发送：%s", notification_ids)
        try:
            send_emails(notification_ids)
        except Exception:
            logger.exception("通知邮件发送失败：%s", notification_ids)


def send_emails(notification_ids: Iterable[int]) -> int:
    """Send the emails for these notifications (once each). Failures are logged; returns sent count."""
    from django.core.mail import EmailMultiAlternatives
    from django.template.loader import render_to_string

    from core.models import Notification

    sent = 0
    rows = Notification.objects.filter(pk__in=list(notification_ids), emailed_at__isnull=True).select_related(
        "recipient"
    )
    site = getattr(settings, "GOVHUB_SITE_URL", "").rstrip("/")
    for n in rows:
        if not n.recipient.email or not n.recipient.is_active:
            continue
        ctx = {
            "notification": n,
            "recipient": n.recipient,
            "link": f"{site}{n.url}" if n.url.startswith("/") else n.url,
            "category": category_label(n.category),
        }
        try:
            subject = " ".join(render_to_string("emails/notification_subject.txt", ctx).split())
            message = EmailMultiAlternatives(
                subject=subject,
                body=render_to_string("emails/notification.txt", ctx),
                from_email=settings.DEFAULT_FROM_EMAIL,
                to=[n.recipient.email],
            )
            message.attach_alternative(render_to_string("emails/notification.html", ctx), "text/html")
            message.send(fail_silently=False)
        except Exception:
            logger.exception("通知邮件发送失败：notification=%s to=%s", n.pk, n.recipient.email)
            continue
        Notification.objects.filter(pk=n.pk).update(emailed_at=timezone.now())
        sent += 1
    return sent


# --- selectors --------------------------------------------------------------------------------


def notification_list(*, user: Any, unread_only: bool = False) -> QuerySet:
    """The user's own inbox, newest first. Nobody sees anyone else's notifications."""
    from core.models import Notification

    if user is None or not user.is_authenticated:
        return Notification.objects.none()
    qs = Notification.objects.filter(recipient=user)
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
    return qs


def notification_unread_count(*, user: Any) -> int:
    return notification_list(user=user, unread_only=True).count()


def notification_get(*, user: Any, pk: Any) -> Any:
    """One of the user's own notifications; another person's is "not found" (no existence leak)."""
    from core.models import Notification

    try:
        return notification_list(user=user).get(pk=int(pk))
    except (Notification.DoesNotExist, TypeError, ValueError):
        raise NotFound(NotifyError.NOT_FOUND, _("未找到该通知。"))


def notification_preferences(*, user: Any) -> list[dict]:
    """Every category with the user's email choice (default on)."""
    from core.models import NotificationPreference

    chosen = dict(NotificationPreference.objects.filter(user=user).values_list("category", "email"))
    return [
        {"category": code, "label": str(label), "inbox": True, "email": chosen.get(code, True)}
        for code, label in CATEGORIES.items()
    ]


# --- services ---------------------------------------------------------------------------------


@transaction.atomic
def notification_mark_read(*, notification: Any, by: Any) -> Any:
    """The recipient marks one notification read (idempotent)."""
    from core.models import Notification

    n = notification_get(user=by, pk=getattr(notification, "pk", notification))
    n = Notification.objects.select_for_update().get(pk=n.pk)
    if n.read_at is None:
        n.read_at = timezone.now()
        n.save(update_fields=["read_at"])
        audit.record(action="core.notification.read", actor=by, target=n)
    return n


@transaction.atomic
def notification_mark_all_read(*, by: Any) -> int:
    """The user marks their whole inbox read; returns how many changed."""
    qs = notification_list(user=by, unread_only=True)
    ids = list(qs.select_for_update().values_list("pk", flat=True))
    if not ids:
        return 0
    changed = qs.filter(pk__in=ids).update(read_at=timezone.now())
    audit.record(
        action="core.notification.read_all",
        actor=by,
        target_type="core.notification",
        target_label=str(_("全部通知")),
        details={"count": changed},
    )
    return changed


@transaction.atomic
def notification_preference_set(*, by: Any, category: str, email: bool) -> Any:
    """The user switches email for one category on or off (the inbox always receives)."""
    from core.models import NotificationPreference

    if category not in CATEGORIES:
        raise Invalid(
            NotifyError.BAD_CATEGORY,
            _("未知的通知类别。"),
            {"category": category, "allowed": sorted(CATEGORIES)},
        )
    if not isinstance(email, bool):
        raise Invalid(NotifyError.BAD_CATEGORY, _("邮件开关必须为 true 或 false。"))
    pref, created = NotificationPreference.objects.select_for_update().get_or_create(
        user=by, category=category, defaults={"email": email}
    )
    before = None if created else pref.email
    if pref.email != email:
        pref.email = email
        pref.save(update_fields=["email", "updated_at"])
    if before != email:
        audit.record(
            action="core.notification_preference.set",
            actor=by,
            target=pref,
            details={"category": category, "email": {"before": before, "after": email}},
        )
    return pref
