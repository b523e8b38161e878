"""The audit trail (S§35; 等保 level 3): append-only, hash-chained with SM3.

``AuditEvent`` rows are inserted by ``core.audit.record`` without any global lock (``seq`` NULL,
``prev_hash``/``hash`` empty). The chainer (``core.audit.chain_pending``) links committed events
in id order moments later, filling those three columns exactly once. Database triggers
(``core.audit_db``) and this model refuse every other UPDATE and every DELETE.
"""

from __future__ import annotations

from enum import Enum

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.errors import Conflict

__all__ = ["GENESIS_HASH", "AuditChainGap", "AuditChainState", "AuditError", "AuditEvent"]

#: ``prev_hash`` of the first event in the chain (seq 1).
GENESIS_HASH = "0" * 64


class AuditError(str, Enum):
    """Stable error codes of the audit trail."""

    APPEND_ONLY = "audit_append_only"
    NOT_ALLOWED = "audit_not_allowed"
    NOT_FOUND = "audit_not_found"
    BAD_FILTER = "audit_bad_filter"
    EXPORT_TOO_LARGE = "audit_export_too_large"


def _append_only() -> Conflict:
    return Conflict(AuditError.APPEND_ONLY, _("审计记录只能追加，不能修改或删除（S§35）。"))


class AuditEventQuerySet(models.QuerySet):
    """Bulk ``update()`` and ``delete()`` are refused: the trail is append-only."""

    def update(self, **kwargs):  # noqa: D401
        raise _append_only()

    def delete(self):
        raise _append_only()

    update.queryset_only = True
    delete.queryset_only = True

    def chained(self) -> AuditEventQuerySet:
        return self.filter(seq__isnull=False)

    def pending(self) -> AuditEventQuerySet:
        return self.filter(seq__isnull=True)


class AuditEvent(models.Model):
    """One recorded act: who did what to which object, when, from where and why.

    ``seq`` is the position in the hash chain (1, 2, 3 … without gaps); ``hash`` is SM3 over the
    canonical serialisation of the event and ``prev_hash`` (see ``core.audit.event_hash``).
    """

    id = models.BigAutoField(primary_key=True)
    seq = models.BigIntegerField(_("链序号"), null=True, blank=True, unique=True)
    occurred_at = models.DateTimeField(_("时间"), db_index=True)
    # Indexed with occurred_at (Meta): an index on actor alone would only cost every insert. No
    # database constraint: its check at every commit locks the actor's row (FOR KEY SHARE), and
    # every audited read of one API client would queue on its service user's row. Users are never
    # deleted (deactivated instead); PROTECT still stops a deletion through the ORM.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    actor_label = models.CharField(_("操作者"), max_length=150, blank=True)
    api_client_id = models.BigIntegerField(_("接口客户端"), null=True, blank=True)
    api_client_label = models.CharField(max_length=150, blank=True)
    unit_id = models.BigIntegerField(_("单位"), null=True, blank=True, db_index=True)
    unit_label = models.CharField(max_length=200, blank=True)
    ip = models.GenericIPAddressField(_("IP 地址"), null=True, blank=True)
    request_id = models.CharField(_("请求编号"), max_length=64, blank=True)
    action = models.CharField(_("动作"), max_length=100)  # indexed in Meta (no LIKE index needed)
    target_type = models.CharField(_("对象类型"), max_length=100, blank=True)
    target_id = models.CharField(_("对象编号"), max_length=64, blank=True)
    target_label = models.CharField(_("对象"), max_length=300, blank=True)
    purpose = models.CharField(_("用途"), max_length=300, blank=True)
    details = models.JSONField(_("详情"), default=dict, blank=True)
    prev_hash = models.CharField(_("前一哈希"), max_length=64, blank=True)
    hash = models.CharField(_("哈希"), max_length=64, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("审计事件")
        verbose_name_plural = _("审计事件")
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["target_type", "target_id"]),
            models.Index(fields=["actor", "occurred_at"]),
            models.Index(fields=["action"], name="core_audit_action_idx"),
        ]
        default_permissions = ("view",)

    def __str__(self) -> str:
        return f"#{self.pk} {self.action} {self.target_label}"

    def save(self, *args, **kwargs) -> None:
        """Insert only: an event that exists is never saved again."""
        if not self._state.adding:
            raise _append_only()
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise _append_only()

    @property
    def is_chained(self) -> bool:
        return self.seq is not None


class AuditChainState(models.Model):
    """The head of the chain (a single row, pk=1): the chainer's lock row and watermark.

    ``last_id`` is the highest event id that was chained or declared a rolled-back gap; every
    event with a larger id is still pending. ``last_seq``/``last_hash`` let ``verify_chain``
    notice events cut off the end of the chain. The ``verified_*`` fields keep the last result of
    ``verify_chain`` for the auditor's page.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_seq = models.BigIntegerField(_("最后链序号"), default=0)
    last_hash = models.CharField(_("最后哈希"), max_length=64, default=GENESIS_HASH)
    last_id = models.BigIntegerField(_("已处理的最大事件编号"), default=0)
    chained_at = models.DateTimeField(_("最近链接时间"), null=True, blank=True)
    verified_at = models.DateTimeField(_("最近校验时间"), null=True, blank=True)
    verified_ok = models.BooleanField(_("最近校验结果"), null=True, blank=True)
    verified_count = models.BigIntegerField(_("最近校验事件数"), default=0)
    verified_message = models.TextField(_("最近校验说明"), blank=True)

    class Meta:
        verbose_name = _("审计链状态")
        verbose_name_plural = _("审计链状态")
        default_permissions = ("view",)

    def __str__(self) -> str:
        return f"audit chain @ {self.last_seq}"


class AuditChainGap(models.Model):
    """Event ids the chainer passed because their transaction never committed (rolled back).

    Database sequences hand out ids that a rolled-back transaction never uses; after a grace
    period the chainer records the range here and moves on. This is not tampering: the chain
    itself (``seq``) has no gap. If such an event commits after all (a very long transaction), it
    is chained later at the end of the chain and its id is listed in ``late_ids``.
    """

    first_id = models.BigIntegerField(_("起始编号"))
    last_id = models.BigIntegerField(_("结束编号"))
    after_seq = models.BigIntegerField(_("出现在链序号之后"))
    detected_at = models.DateTimeField(_("发现时间"))
    late_ids = models.JSONField(_("迟到提交的编号"), default=list, blank=True)

    class Meta:
        verbose_name = _("审计链编号空缺")
        verbose_name_plural = _("审计链编号空缺")
        ordering = ["first_id"]
        default_permissions = ("view",)
        constraints = [
            models.CheckConstraint(
                condition=models.Q(last_id__gte=models.F("first_id")), name="auditgap_range_ordered"
            )
        ]

    def __str__(self) -> str:
        return f"{self.first_id}-{self.last_id}"
