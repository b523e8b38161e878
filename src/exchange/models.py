"""Access to other units' data (S§28-31, S§34-35): access requests, grants, usage.

DESIGN rule 2: every read of a resource's rows passes ``exchange.access`` against a live grant,
carries a purpose, is limited to the granted data items, masks what is sensitive and is audited.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Unit, User
from catalog.models import Channel, Resource


class PurposeCategory(models.TextChoices):
    """S§31 使用用途."""

    ADMINISTRATIVE_BASIS = "administrative_basis", _("行政依据")
    WORK_REFERENCE = "work_reference", _("工作参考")
    DATA_CHECK = "data_check", _("数据校核")
    BUSINESS_COLLABORATION = "business_collaboration", _("业务协同")


class AccessRequestStatus(models.TextChoices):
    SUBMITTED = "submitted", _("待中心受理")
    PROVIDER_OPINION = "provider_opinion", _("待提供单位意见")
    CENTER_DECISION = "center_decision", _("待中心决定")
    APPROVED = "approved", _("已批准")
    REFUSED = "refused", _("未批准")
    WITHDRAWN = "withdrawn", _("已撤回")


class AccessRequest(models.Model):
    """有条件共享申请 (S§29): consumer applies via the center, which asks the provider's opinion."""

    resource = models.ForeignKey(Resource, on_delete=models.PROTECT, related_name="access_requests")
    consumer = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="access_requests")
    requested_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    purpose_category = models.CharField(_("用途类别"), max_length=30, choices=PurposeCategory.choices)
    purpose = models.CharField(_("用途说明"), max_length=300)
    basis = models.TextField(_("法律或职责依据"))
    items = models.JSONField(_("申请信息项"), default=list)
    api_client_ids = models.JSONField(_("使用系统"), default=list, blank=True)
    channels = models.JSONField(_("共享方式"), default=list)
    valid_from = models.DateField(_("开始日期"))
    valid_to = models.DateField(_("截止日期"))
    status = models.CharField(
        _("状态"), max_length=20, choices=AccessRequestStatus.choices, default=AccessRequestStatus.SUBMITTED
    )
    provider_agrees = models.BooleanField(_("提供单位同意"), null=True, blank=True)
    provider_opinion = models.TextField(_("提供单位意见"), blank=True)
    provider_opinion_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    provider_opinion_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(_("决定理由"), blank=True)
    decided_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("共享申请")
        verbose_name_plural = _("共享申请")
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.consumer} → {self.resource}"


class GrantStatus(models.TextChoices):
    ACTIVE = "active", _("有效")
    SUSPENDED = "suspended", _("已暂停")
    REVOKED = "revoked", _("已撤销")
    EXPIRED = "expired", _("已过期")


class Grant(models.Model):
    """A consumer unit's right to read some items of a resource, for a purpose, through channels,
    in a period. The only thing that opens a resource's rows to another unit."""

    resource = models.ForeignKey(Resource, on_delete=models.PROTECT, related_name="grants")
    consumer = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="grants")
    request = models.OneToOneField(
        AccessRequest, null=True, blank=True, on_delete=models.PROTECT, related_name="grant"
    )
    api_client_ids = models.JSONField(_("限定系统"), default=list, blank=True)
    items = models.JSONField(_("授权信息项"), default=list)
    row_filter = models.JSONField(_("行过滤"), default=dict, blank=True)
    purpose_category = models.CharField(_("用途类别"), max_length=30, choices=PurposeCategory.choices)
    purpose = models.CharField(_("用途说明"), max_length=300)
    channels = models.JSONField(_("共享方式"), default=list)
    allow_plain = models.BooleanField(_("允许明文"), default=False)
    valid_from = models.DateField(_("开始日期"))
    valid_to = models.DateField(_("截止日期"))
    status = models.CharField(
        _("状态"), max_length=20, choices=GrantStatus.choices, default=GrantStatus.ACTIVE
    )
    status_reason = models.CharField(_("状态原因"), max_length=300, blank=True)
    download_limit_rows = models.PositiveIntegerField(_("单次下载行数上限"), default=5_000_000)
    downloads_per_day = models.PositiveIntegerField(_("每日下载次数上限"), default=10)
    expiry_notified_at = models.DateTimeField(null=True, blank=True)
    granted_by = models.ForeignKey(User, null=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("共享授权")
        verbose_name_plural = _("共享授权")
        ordering = ["-id"]
        indexes = [models.Index(fields=["consumer", "resource", "status"])]

    def __str__(self) -> str:
        return f"{self.consumer} · {self.resource}"

    def is_live(self, today=None) -> bool:
        today = today or timezone.localdate()
        return self.status == GrantStatus.ACTIVE and self.valid_from <= today <= self.valid_to

    def allows_channel(self, channel: Channel | str) -> bool:
        return str(channel) in (self.channels or [])


class RecordAccess(models.Model):
    """ "Who accessed this record" (S§35): one row per returned key per audited read.

    Stores a keyed hash (HMAC-SM3 with the installation secret) of the record's identifier,
    never the raw identifier, so the log cannot be mined for identities.
    """

    key_hash = models.CharField(max_length=64)
    audit_event_id = models.BigIntegerField()
    resource_id = models.BigIntegerField()
    accessed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("记录访问")
        verbose_name_plural = _("记录访问")
        # exact lookups only: a plain index, not db_index's second LIKE index on PostgreSQL
        indexes = [models.Index(fields=["key_hash"], name="exchange_recacc_key_hash_idx")]

    def __str__(self) -> str:
        return f"{self.key_hash[:8]}@{self.audit_event_id}"


class UsageDaily(models.Model):
    """Reads per day, resource, consumer unit, purpose and channel (S§38 usage; evaluation input)."""

    day = models.DateField()
    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="+")
    consumer = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="+")
    purpose_category = models.CharField(max_length=30, choices=PurposeCategory.choices)
    channel = models.CharField(max_length=30)
    calls = models.PositiveBigIntegerField(default=0)
    rows = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name = _("共享使用统计")
        verbose_name_plural = _("共享使用统计")
        constraints = [
            models.UniqueConstraint(
                fields=["day", "resource", "consumer", "purpose_category", "channel"], name="uniq_usage_daily"
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.resource_id} {self.consumer_id} {self.calls}"


class Webhook(models.Model):
    """A consumer system's endpoint told about new changes of a granted resource (系统对接).

    Payloads are thin (resource, cursor range, counts): the data itself is pulled from the
    audited change feed, so a webhook never carries rows past the access check.
    """

    grant = models.ForeignKey(Grant, on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField(_("回调地址"), max_length=500)
    secret = models.CharField(_("签名密钥"), max_length=100, editable=False)
    active = models.BooleanField(_("启用"), default=True)
    created_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("回调")
        verbose_name_plural = _("回调")

    def __str__(self) -> str:
        return self.url


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("待发送")
    DELIVERED = "delivered", _("已送达")
    DEAD = "dead", _("已放弃（死信）")


class WebhookDelivery(models.Model):
    """One payload to one webhook, retried with exponential backoff; dead after the last try."""

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=60)
    payload = models.JSONField()
    status = models.CharField(max_length=20, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now, db_index=True)
    last_status_code = models.IntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("回调投递")
        verbose_name_plural = _("回调投递")
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.event} → {self.webhook_id} ({self.status})"
