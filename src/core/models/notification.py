"""Notifications: the in-app inbox and each user's email preferences (issue 4)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

__all__ = ["Notification", "NotificationPreference", "event_category"]


def event_category(event: str) -> str:
    """The category of an event code: its first segment (``cloud.application.accepted`` → ``cloud``)."""
    return (event or "").split(".", 1)[0] or "other"


class Notification(models.Model):
    """One message in one person's inbox. The inbox always receives it; email follows preference."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notifications",
        verbose_name=_("接收人"),
    )
    event = models.CharField(_("事件"), max_length=100, db_index=True)
    title = models.CharField(_("标题"), max_length=200)
    body = models.TextField(_("内容"), blank=True)
    url = models.CharField(_("链接"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("时间"), auto_now_add=True, db_index=True)
    read_at = models.DateTimeField(_("已读时间"), null=True, blank=True)
    emailed_at = models.DateTimeField(_("邮件发送时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("通知")
        verbose_name_plural = _("通知")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["recipient", "read_at"], name="core_notif_recipient_read")]

    def __str__(self) -> str:
        return f"{self.recipient_id}: {self.title}"

    @property
    def is_read(self) -> bool:
        return self.read_at is not None

    @property
    def category(self) -> str:
        return event_category(self.event)


class NotificationPreference(models.Model):
    """Whether a user also gets email for one event category. No row means email on (the default)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notification_preferences",
        verbose_name=_("用户"),
    )
    category = models.CharField(_("事件类别"), max_length=50)
    email = models.BooleanField(_("发送邮件"), default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("通知偏好")
        verbose_name_plural = _("通知偏好")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "category"],
                name="core_notif_pref_unique",
                violation_error_message=_("该类别的通知偏好已存在。"),
            )
        ]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.category}={'email' if self.email else 'inbox'}"
