"""The audit trail (S§35; 等保 level 3): append-only, hash-chained with SM3."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditEvent(models.Model):
    """One recorded act: who did what to which object, when, from where and why.

    Events are inserted without a global lock (``prev_hash``/``hash`` empty); the chainer links
    committed events in id order moments later (see ``core.audit``). Rows are never updated
    except by the chainer filling the two hash columns once, and never deleted.
    """

    id = models.BigAutoField(primary_key=True)
    seq = models.BigIntegerField(_("链序号"), null=True, blank=True, unique=True)
    occurred_at = models.DateTimeField(_("时间"), db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_label = models.CharField(_("操作者"), max_length=150, blank=True)
    api_client_id = models.BigIntegerField(_("接口客户端"), null=True, blank=True)
    api_client_label = models.CharField(max_length=150, blank=True)
    unit_id = models.BigIntegerField(_("单位"), null=True, blank=True, db_index=True)
    unit_label = models.CharField(max_length=200, blank=True)
    ip = models.GenericIPAddressField(_("IP 地址"), null=True, blank=True)
    request_id = models.CharField(_("请求编号"), max_length=64, blank=True)
    action = models.CharField(_("动作"), max_length=100, db_index=True)
    target_type = models.CharField(_("对象类型"), max_length=100, blank=True)
    target_id = models.CharField(_("对象编号"), max_length=64, blank=True)
    target_label = models.CharField(_("对象"), max_length=300, blank=True)
    purpose = models.CharField(_("用途"), max_length=300, blank=True)
    details = models.JSONField(_("详情"), default=dict, blank=True)
    prev_hash = models.CharField(max_length=64, blank=True)
    hash = models.CharField(max_length=64, blank=True)

    class Meta:
        verbose_name = _("审计事件")
        verbose_name_plural = _("审计事件")
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["target_type", "target_id"]),
            models.Index(fields=["actor", "occurred_at"]),
        ]
        default_permissions = ("view",)

    def __str__(self) -> str:
        return f"#{self.pk} {self.action} {self.target_label}"
