"""Government cloud (政务云, C§2-20): application systems, products, pools, the application
lifecycle and what was really provisioned. Workflow lives in ``cloud.services``; the one
transition table lives in ``cloud.transitions``; this module holds data and invariants only.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.models import Unit


class CloudStatus(models.TextChoices):
    """On-cloud status of an application system (C§4, C§12-15)."""

    PLANNED = "planned", _("计划上云")
    TESTING = "testing", _("测试中")
    TRIAL = "trial", _("试运行")
    PRODUCTION = "production", _("正式运行")
    EXEMPT = "exempt", _("不上云（例外）")
    RETIRED = "retired", _("已下线")


class SsoStatus(models.TextChoices):
    """C§18: integration with the unified authentication platform."""

    NOT_STARTED = "not_started", _("未接入")
    IN_PROGRESS = "in_progress", _("接入中")
    INTEGRATED = "integrated", _("已接入")


class AppSystem(models.Model):
    """应用系统: a unit's information system, on the cloud or not (C§4-5, C§18, C§34, S§42)."""

    owner = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="app_systems", verbose_name=_("所属单位")
    )
    name = models.CharField(_("系统名称"), max_length=200)
    description = models.TextField(_("系统简介"), blank=True)
    protection_level = models.PositiveSmallIntegerField(
        _("等保级别"), validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    filing_certificate_no = models.CharField(_("等保备案证明编号"), max_length=60, blank=True)
    filing_date = models.DateField(_("备案日期"), null=True, blank=True)
    is_classified = models.BooleanField(_("涉密"), default=False)
    cloud_status = models.CharField(
        _("上云状态"), max_length=20, choices=CloudStatus.choices, default=CloudStatus.PLANNED
    )
    sso_status = models.CharField(
        _("统一认证接入"), max_length=20, choices=SsoStatus.choices, default=SsoStatus.NOT_STARTED
    )
    resources = models.ManyToManyField(
        "catalog.Resource", blank=True, related_name="app_systems", verbose_name=_("关联信息资源")
    )
    created_by = models.ForeignKey(
        "accounts.User", null=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("登记人")
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("应用系统")
        verbose_name_plural = _("应用系统")
        ordering = ["owner", "name"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="cloud_uniq_system_name_per_unit"),
            models.CheckConstraint(
                condition=Q(protection_level__gte=1, protection_level__lte=5),
                name="cloud_protection_level_1_5",
                violation_error_message=_("等保级别应为 1-5 级。"),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.protection_level and self.protection_level >= 4 and not self.filing_certificate_no:
            raise ValidationError(
                {"filing_certificate_no": _("等保四级及以上系统须登记公安机关备案证明编号（C§34）。")}
            )

    @property
    def auto_exempt(self) -> bool:
        """C§4: classified systems and 等保 ≥ 4 stay off the cloud."""
        return self.is_classified or (self.protection_level or 0) >= 4


class ProductKind(models.TextChoices):
    HOST = "host", _("云主机")
    DATABASE = "database", _("云数据库")
    STORAGE = "storage", _("云存储")
    SECURITY = "security", _("云安全")
    BANDWIDTH = "bandwidth", _("带宽")
    IP = "ip", _("公网/外网 IP")


class CloudProduct(models.Model):
    """A product the center offers (C§10), with the pool amounts one unit of it draws."""

    code = models.CharField(_("产品编码"), max_length=40, unique=True)
    name = models.CharField(_("产品名称"), max_length=100)
    kind = models.CharField(_("类别"), max_length=20, choices=ProductKind.choices)
    vcpu = models.PositiveIntegerField(_("vCPU（核）"), default=0)
    memory_gb = models.PositiveIntegerField(_("内存（GB）"), default=0)
    storage_gb = models.PositiveIntegerField(_("存储（GB）"), default=0)
    bandwidth_mbps = models.PositiveIntegerField(_("带宽（Mbps）"), default=0)
    ip_count = models.PositiveIntegerField(_("IP 数量"), default=0)
    spec = models.CharField(
        _("规格说明"), max_length=200, blank=True, help_text=_("如操作系统、数据库引擎、存储类型")
    )
    unit_price_month = models.DecimalField(_("单价（元/月）"), max_digits=12, decimal_places=2)
    is_active = models.BooleanField(_("在售"), default=True)

    class Meta:
        verbose_name = _("云产品")
        verbose_name_plural = _("云产品")
        ordering = ["kind", "code"]

    def __str__(self) -> str:
        return self.name

    def draws(self, quantity: int = 1) -> dict[str, int]:
        """Pool amounts (by pool kind) that ``quantity`` units of this product draw."""
        return {
            PoolKind.COMPUTE: self.vcpu * quantity,
            PoolKind.MEMORY: self.memory_gb * quantity,
            PoolKind.STORAGE: self.storage_gb * quantity,
            PoolKind.NETWORK: self.bandwidth_mbps * quantity,
        }


class PoolKind(models.TextChoices):
    COMPUTE = "compute", _("计算")
    MEMORY = "memory", _("内存")
    STORAGE = "storage", _("存储")
    NETWORK = "network", _("网络")


class ResourcePool(models.Model):
    """A resource pool (C§27): every allocation draws from one; the center watches the 70 % line."""

    name = models.CharField(_("资源池名称"), max_length=100, unique=True)
    kind = models.CharField(_("类别"), max_length=20, choices=PoolKind.choices)
    total = models.PositiveIntegerField(_("总容量"))
    unit_label = models.CharField(_("计量单位"), max_length=20)
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("资源池")
        verbose_name_plural = _("资源池")
        ordering = ["kind", "name"]

    def __str__(self) -> str:
        return self.name


class ApplicationStatus(models.TextChoices):
    """States of the one lifecycle (C§9). Transitions: ``cloud.transitions.TRANSITIONS``."""

    SUBMITTED = "submitted", _("待受理")
    RETURNED = "returned", _("不予受理（待重新提交）")
    ACCEPTED = "accepted", _("已受理（待审核）")
    REJECTED = "rejected", _("审核未通过")
    TESTING = "testing", _("测试中")
    TEST_FAILED = "test_failed", _("测试不合格（待调整）")
    TRIAL = "trial", _("试运行")
    AGREEMENT_SIGNED = "agreement_signed", _("已签托管协议")
    PRODUCTION = "production", _("正式运行")
    CHANGE_PENDING = "change_pending", _("变更待处理")
    CHANGE_TESTING = "change_testing", _("重大变更测试中")
    TERMINATION_PENDING = "termination_pending", _("终止待审核")
    RECLAIMING = "reclaiming", _("待回收资源")
    TERMINATED = "terminated", _("已终止")


class CloudApplication(models.Model):
    """政务云使用申请 (C§9-15): one application follows one system through its whole life."""

    system = models.ForeignKey(
        AppSystem, on_delete=models.PROTECT, related_name="applications", verbose_name=_("应用系统")
    )
    unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="cloud_applications", verbose_name=_("申请单位")
    )
    status = models.CharField(
        _("状态"), max_length=30, choices=ApplicationStatus.choices, default=ApplicationStatus.SUBMITTED
    )
    construction_plan = models.TextField(_("应用系统建设方案"))
    self_test_report = models.TextField(_("性能和安全自测报告"))
    round = models.PositiveIntegerField(_("提交轮次"), default=1)
    submitted_at = models.DateTimeField(_("提交时间"))
    due_at = models.DateTimeField(_("当前环节时限"), null=True, blank=True)
    due_rule = models.CharField(_("当前时限规则"), max_length=40, blank=True)
    review_reasons = models.TextField(_("审核意见"), blank=True)
    trial_started_at = models.DateTimeField(_("试运行开始"), null=True, blank=True)
    production_at = models.DateTimeField(_("正式运行时间"), null=True, blank=True)
    terminated_at = models.DateTimeField(_("终止时间"), null=True, blank=True)
    offboarding_confirmed = models.BooleanField(_("已完成系统下线"), default=False)
    backup_confirmed = models.BooleanField(_("已完成数据迁移备份"), default=False)
    created_by = models.ForeignKey(
        "accounts.User", null=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("申请人")
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("政务云使用申请")
        verbose_name_plural = _("政务云使用申请")
        ordering = ["-id"]
        indexes = [models.Index(fields=["status", "due_at"]), models.Index(fields=["unit", "status"])]

    def __str__(self) -> str:
        return f"YS{self.pk or 0:06d} {self.system.name}" if self.system_id else f"YS{self.pk or 0:06d}"


class RequestLine(models.Model):
    """One line of the resource request (C§10): a product and how many; the reviewer may grant fewer (C§12)."""

    application = models.ForeignKey(CloudApplication, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(
        CloudProduct, on_delete=models.PROTECT, related_name="+", verbose_name=_("产品")
    )
    quantity = models.PositiveIntegerField(_("申请数量"), validators=[MinValueValidator(1)])
    approved_quantity = models.PositiveIntegerField(_("核定数量"), null=True, blank=True)
    is_active = models.BooleanField(_("当前配置"), default=True)

    class Meta:
        verbose_name = _("资源申请项")
        verbose_name_plural = _("资源申请项")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(approved_quantity__isnull=True) | Q(approved_quantity__lte=models.F("quantity")),
                name="cloud_approved_not_above_requested",
                violation_error_message=_("核定数量不能超过申请数量。"),
            )
        ]

    def __str__(self) -> str:
        return f"{self.product} × {self.quantity}"


class ApplicationStep(models.Model):
    """The application's history: one row per transition, never edited (timeline in the UI)."""

    application = models.ForeignKey(CloudApplication, on_delete=models.CASCADE, related_name="steps")
    action = models.CharField(_("动作"), max_length=40)
    from_status = models.CharField(_("原状态"), max_length=30, blank=True)
    to_status = models.CharField(_("新状态"), max_length=30)
    actor = models.ForeignKey("accounts.User", null=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(_("时间"))
    note = models.TextField(_("说明"), blank=True)
    due_at = models.DateTimeField(_("下一环节时限"), null=True, blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.application_id} {self.action}"


class AttachmentKind(models.TextChoices):
    CONSTRUCTION_PLAN = "construction_plan", _("建设方案")
    SELF_TEST_REPORT = "self_test_report", _("自测报告")
    TEST_EVALUATION = "test_evaluation", _("测试评估报告")
    SIGNED_AGREEMENT = "signed_agreement", _("已签托管协议")
    OTHER = "other", _("其他材料")


class CloudAttachment(models.Model):
    """A material file (PDF/DOCX/XLSX only, checked by magic bytes and size)."""

    application = models.ForeignKey(CloudApplication, on_delete=models.CASCADE, related_name="attachments")
    kind = models.CharField(_("类别"), max_length=30, choices=AttachmentKind.choices)
    file = models.FileField(_("文件"), upload_to="cloud/attachments/%Y/%m/")
    filename = models.CharField(_("文件名"), max_length=200)
    file_type = models.CharField(_("类型"), max_length=10)
    size = models.PositiveIntegerField(_("大小（字节）"))
    uploaded_by = models.ForeignKey("accounts.User", null=True, on_delete=models.SET_NULL, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.filename


class TestEvaluation(models.Model):
    """C§19: the center's evaluation of a test round in the test environment."""

    application = models.ForeignKey(CloudApplication, on_delete=models.CASCADE, related_name="evaluations")
    passed = models.BooleanField(_("评估合格"))
    performance = models.TextField(_("性能测试结论"))
    security = models.TextField(_("安全测试结论"))
    evaluated_by = models.ForeignKey("accounts.User", null=True, on_delete=models.SET_NULL, related_name="+")
    evaluated_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.application_id} {'合格' if self.passed else '不合格'}"


class ChangeRequest(models.Model):
    """C§14: a new configuration asked in production; major if it crosses the center's threshold."""

    class Status(models.TextChoices):
        PENDING = "pending", _("待处理")
        TESTING = "testing", _("重大变更测试中")
        DONE = "done", _("已完成")
        REFUSED = "refused", _("未同意")

    application = models.ForeignKey(CloudApplication, on_delete=models.CASCADE, related_name="changes")
    lines = models.JSONField(_("新配置"), default=list)
    reason = models.TextField(_("变更理由"))
    is_major = models.BooleanField(_("重大变更"), default=False)
    major_reasons = models.JSONField(default=list, blank=True)
    construction_plan = models.TextField(_("建设方案（重大变更）"), blank=True)
    self_test_report = models.TextField(_("自测报告（重大变更）"), blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    requested_by = models.ForeignKey("accounts.User", null=True, on_delete=models.SET_NULL, related_name="+")
    requested_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"变更 #{self.pk} ({self.application_id})"


class ProvisionedResource(models.Model):
    """What the cloud platform really provisioned (adapter result), never what was hoped for."""

    application = models.ForeignKey(CloudApplication, on_delete=models.PROTECT, related_name="provisioned")
    product = models.ForeignKey(CloudProduct, on_delete=models.PROTECT, related_name="+")
    external_id = models.CharField(_("平台资源编号"), max_length=100)
    host_name = models.CharField(_("主机名/资源名"), max_length=100)
    ip = models.GenericIPAddressField(_("IP"), null=True, blank=True)
    vcpu = models.PositiveIntegerField(default=0)
    memory_gb = models.PositiveIntegerField(default=0)
    storage_gb = models.PositiveIntegerField(default=0)
    bandwidth_mbps = models.PositiveIntegerField(default=0)
    provisioned_at = models.DateTimeField()
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.host_name


class Allocation(models.Model):
    """An amount drawn from a pool by one provisioned resource; returns when released (C§15)."""

    resource = models.ForeignKey(ProvisionedResource, on_delete=models.PROTECT, related_name="allocations")
    pool = models.ForeignKey(ResourcePool, on_delete=models.PROTECT, related_name="allocations")
    amount = models.PositiveIntegerField()
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["pool", "released_at"])]

    def __str__(self) -> str:
        return f"{self.pool_id}:{self.amount}"


class HostingAgreement(models.Model):
    """《数据资源服务托管协议》 (C§13): generated from the template, then uploaded signed."""

    application = models.ForeignKey(CloudApplication, on_delete=models.CASCADE, related_name="agreements")
    signed_file = models.ForeignKey(CloudAttachment, on_delete=models.PROTECT, related_name="+")
    agreement_no = models.CharField(_("协议编号"), max_length=40, unique=True)
    signed_on = models.DateField(_("签订日期"))
    recorded_by = models.ForeignKey("accounts.User", null=True, on_delete=models.SET_NULL, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.agreement_no


class Exemption(models.Model):
    """不上云例外 / 自建基础设施 (C§3-4): by request with legal basis, or automatic (C§4)."""

    class Kind(models.TextChoices):
        OWN_INFRASTRUCTURE = "own_infrastructure", _("自建基础设施（C§3）")
        STAY_OFF_CLOUD = "stay_off_cloud", _("不迁移上云（C§4）")

    class Status(models.TextChoices):
        PENDING = "pending", _("待审核")
        APPROVED = "approved", _("已批准")
        REJECTED = "rejected", _("未批准")
        AUTOMATIC = "automatic", _("自动例外")

    system = models.ForeignKey(AppSystem, on_delete=models.PROTECT, related_name="exemptions")
    kind = models.CharField(_("类别"), max_length=30, choices=Kind.choices)
    legal_basis = models.TextField(_("法律法规依据"))
    reason = models.TextField(_("理由"), blank=True)
    certificate_no = models.CharField(_("备案证明编号"), max_length=60, blank=True)
    status = models.CharField(_("状态"), max_length=20, choices=Status.choices, default=Status.PENDING)
    requested_by = models.ForeignKey("accounts.User", null=True, on_delete=models.SET_NULL, related_name="+")
    requested_at = models.DateTimeField()
    decided_by = models.ForeignKey("accounts.User", null=True, on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.system} · {self.get_kind_display()}"


class MigrationPlan(models.Model):
    """C§4, C§20: migrating an existing system to the cloud; the old one is kept ≥ 2 months."""

    class Status(models.TextChoices):
        PLANNED = "planned", _("计划中")
        LIVE = "live", _("已迁移上线（保留原系统）")
        RETIRED = "retired", _("原系统已处置")

    system = models.ForeignKey(AppSystem, on_delete=models.PROTECT, related_name="migrations")
    target_date = models.DateField(_("计划迁移日期"))
    backup_plan = models.TextField(_("数据备份措施"))
    status = models.CharField(_("状态"), max_length=20, choices=Status.choices, default=Status.PLANNED)
    went_live_on = models.DateField(_("上线日期"), null=True, blank=True)
    keep_until = models.DateField(_("原系统保留至"), null=True, blank=True)
    retired_resource_list = models.TextField(_("原系统资源清单"), blank=True)
    retired_submitted_at = models.DateTimeField(null=True, blank=True)
    reminded_on = models.DateField(_("最近提醒日期"), null=True, blank=True)
    created_by = models.ForeignKey("accounts.User", null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["target_date", "id"]

    def __str__(self) -> str:
        return f"{self.system} → {self.target_date}"


from .ops_models import *  # noqa
