"""Units, users and roles (S§11, S§17, S§41; C§6-8)."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser, UserManager
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from stdnum.cn import uscc

from .roles import SEPARATED_ADMIN_ROLES, Role


def validate_uscc(value: str) -> None:
    """统一社会信用代码 per GB 32100-2015, checked with python-stdnum's ``cn.uscc``."""
    if not uscc.is_valid(value or ""):
        raise ValidationError(_("统一社会信用代码无效：应为 18 位且校验位正确。"), code="invalid_uscc")


class Unit(models.Model):
    """A district unit: the center, a department/street, or an oversight office."""

    class Kind(models.TextChoices):
        CENTER = "center", _("区数据资源中心")
        UNIT = "unit", _("区直单位")
        OVERSIGHT = "oversight", _("监督部门")

    name = models.CharField(_("单位名称"), max_length=200, unique=True)
    short_name = models.CharField(_("简称"), max_length=50, blank=True)
    code = models.CharField(
        _("单位代码"),
        max_length=12,
        unique=True,
        help_text=_("用于信息资源代码的单位编码，如 430102001。"),
    )
    kind = models.CharField(_("类别"), max_length=20, choices=Kind.choices, default=Kind.UNIT)
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        verbose_name=_("上级单位"),
    )
    uscc = models.CharField(_("统一社会信用代码"), max_length=18, unique=True, validators=[validate_uscc])
    head_name = models.CharField(_("第一责任人"), max_length=50, blank=True)
    data_officer = models.ForeignKey(
        "accounts.User",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("数据专员"),
    )
    contact_name = models.CharField(_("联系人"), max_length=50, blank=True)
    contact_phone = models.CharField(_("联系电话"), max_length=30, blank=True)
    contact_email = models.EmailField(_("联系邮箱"), blank=True)
    is_active = models.BooleanField(_("启用"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("单位")
        verbose_name_plural = _("单位")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_center(self) -> bool:
        return self.kind == self.Kind.CENTER


class User(AbstractUser):
    """A person who signs in. Belongs to exactly one unit; holds roles via ``RoleAssignment``."""

    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="users", verbose_name=_("所属单位"))
    full_name = models.CharField(_("姓名"), max_length=50)
    phone = models.CharField(_("手机号"), max_length=20, blank=True)
    must_change_password = models.BooleanField(_("首次登录须修改密码"), default=True)
    password_changed_at = models.DateTimeField(_("密码修改时间"), null=True, blank=True)
    is_service_account = models.BooleanField(
        _("接口服务账号"),
        default=False,
        help_text=_("API 客户端专用账号：不能用密码登录，只能通过访问令牌调用接口。"),
    )

    REQUIRED_FIELDS = ["email", "full_name"]
    objects = UserManager()

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")
        ordering = ["username"]

    def __str__(self) -> str:
        return f"{self.full_name}（{self.username}）" if self.full_name else self.username

    @property
    def role_set(self) -> frozenset[str]:
        """The user's roles, cached per instance."""
        cached = getattr(self, "_role_cache", None)
        if cached is None:
            cached = (
                frozenset(self.role_assignments.values_list("role", flat=True)) if self.pk else frozenset()
            )
            self._role_cache = cached
        return cached

    def set_password(self, raw_password: str | None) -> None:
        """Hash and keep the time; ``accounts.passwords`` records the hash in the history on save."""
        super().set_password(raw_password)
        self.password_changed_at = timezone.now()

    def has_role(self, *roles: str) -> bool:
        return bool(self.role_set.intersection(roles))

    def clear_role_cache(self) -> None:
        self.__dict__.pop("_role_cache", None)


class RoleAssignment(models.Model):
    """One role held by one user.

    三员分立 (GB/T 22239 level 3): ``separated_admin`` is set for SYS_ADMIN / SEC_ADMIN /
    AUDIT_ADMIN and NULL otherwise; a unique constraint on (user, separated_admin) means the
    database itself refuses a second separated-administrator role for the same account
    (NULLs never collide). The service ``role_assign`` checks first and explains.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="role_assignments")
    role = models.CharField(_("角色"), max_length=30, choices=Role.choices)
    separated_admin = models.BooleanField(null=True, blank=True, editable=False)
    granted_at = models.DateTimeField(auto_now_add=True)
    granted_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("授权人")
    )

    class Meta:
        verbose_name = _("角色分配")
        verbose_name_plural = _("角色分配")
        ordering = ["user_id", "role"]
        constraints = [
            models.UniqueConstraint(fields=["user", "role"], name="uniq_user_role"),
            models.UniqueConstraint(
                fields=["user", "separated_admin"],
                name="one_separated_admin_role_per_user",
                violation_error_message=_(
                    "三员分立：同一账号不能同时担任系统管理员、安全管理员、审计管理员中的两个。"
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()}"

    def save(self, *args, **kwargs) -> None:
        self.separated_admin = True if self.role in SEPARATED_ADMIN_ROLES else None
        super().save(*args, **kwargs)


class PasswordHistory(models.Model):
    """Earlier password hashes, so a user cannot cycle back to one of the last five."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="password_history")
    password_hash = models.CharField(max_length=256)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.user_id}@{self.created_at:%Y-%m-%d}"


class LoginRecord(models.Model):
    """One sign-in attempt, successful or not (我的登录记录; 等保 level 3 security audit)."""

    class Outcome(models.TextChoices):
        SUCCESS = "success", _("成功")
        BAD_PASSWORD = "bad_password", _("用户名或密码错误")
        LOCKED = "locked", _("账号已锁定")
        INACTIVE = "inactive", _("账号已停用")
        LOGOUT = "logout", _("退出登录")
        IDLE_TIMEOUT = "idle_timeout", _("超时退出")

    user = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="login_records"
    )
    username = models.CharField(_("用户名"), max_length=150, db_index=True)
    outcome = models.CharField(_("结果"), max_length=20, choices=Outcome.choices)
    ip = models.GenericIPAddressField(_("IP 地址"), null=True, blank=True)
    user_agent = models.CharField(_("浏览器"), max_length=300, blank=True)
    occurred_at = models.DateTimeField(_("时间"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("登录记录")
        verbose_name_plural = _("登录记录")
        ordering = ["-occurred_at", "-id"]
        indexes = [models.Index(fields=["username", "ip", "occurred_at"])]

    def __str__(self) -> str:
        return f"{self.username} {self.outcome} {self.occurred_at:%Y-%m-%d %H:%M}"

    @property
    def success(self) -> bool:
        return self.outcome == self.Outcome.SUCCESS


class Lockout(models.Model):
    """An account+IP pair locked after repeated failures (GOVHUB_LOCKOUT_FAILURES within
    GOVHUB_LOCKOUT_MINUTES); ends at ``locked_until`` or when a security admin releases it."""

    username = models.CharField(_("用户名"), max_length=150, db_index=True)
    ip = models.GenericIPAddressField(_("IP 地址"), null=True, blank=True)
    user = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="lockouts")
    locked_at = models.DateTimeField(_("锁定时间"), default=timezone.now)
    locked_until = models.DateTimeField(_("锁定至"))
    released_at = models.DateTimeField(_("解锁时间"), null=True, blank=True)
    released_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("解锁人")
    )

    class Meta:
        verbose_name = _("账号锁定")
        verbose_name_plural = _("账号锁定")
        ordering = ["-locked_at", "-id"]

    def __str__(self) -> str:
        return f"{self.username}@{self.ip}"

    def is_active(self, at=None) -> bool:
        return self.released_at is None and self.locked_until > (at or timezone.now())


class Scope(models.TextChoices):
    """What an API client's token may be used for (checked by the endpoints that need it)."""

    CATALOG_READ = "catalog.read", _("目录查询")
    EXCHANGE_QUERY = "exchange.query", _("联机查询")
    EXCHANGE_DOWNLOAD = "exchange.download", _("批量下载")
    EXCHANGE_FEED = "exchange.feed", _("变更订阅")
    DATASTORE_PUSH = "datastore.push", _("数据归集推送")
    CLOUD_READ = "cloud.read", _("政务云信息查询")
    CLOUD_METRICS = "cloud.metrics", _("政务云监测数据推送")


class ApiClient(models.Model):
    """An application system of a unit registered to call the API (系统对接, S§31).

    Each client has a dedicated service ``User`` (``api-<id>``, unusable password, same unit)
    so every foreign key to a user works for machine calls too (docs/decisions/0002).
    """

    unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="api_clients", verbose_name=_("所属单位")
    )
    name = models.CharField(_("客户端名称"), max_length=100)
    system_name = models.CharField(_("应用系统名称"), max_length=200)
    description = models.CharField(_("说明"), max_length=300, blank=True)
    scopes = models.JSONField(_("授权范围"), default=list, blank=True)
    is_active = models.BooleanField(_("启用"), default=True)
    service_user = models.OneToOneField(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="api_client", editable=False
    )
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("接口客户端")
        verbose_name_plural = _("接口客户端")
        ordering = ["unit_id", "name"]
        constraints = [models.UniqueConstraint(fields=["unit", "name"], name="uniq_api_client_name_per_unit")]

    def __str__(self) -> str:
        return f"{self.name}（{self.system_name}）"

    def clean(self) -> None:
        unknown = sorted(set(self.scopes or []) - set(Scope.values))
        if unknown:
            raise ValidationError({"scopes": _("未知的授权范围：%(s)s") % {"s": "、".join(unknown)}})


class ApiToken(models.Model):
    """An access token of an API client. Only the SHA-256 hash and a short prefix are stored;
    the token itself is shown once when issued."""

    client = models.ForeignKey(ApiClient, on_delete=models.CASCADE, related_name="tokens")
    name = models.CharField(_("令牌名称"), max_length=100, blank=True)
    prefix = models.CharField(_("前缀"), max_length=12, db_index=True)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    scopes = models.JSONField(_("授权范围"), default=list, blank=True)
    expires_at = models.DateTimeField(_("到期时间"))
    revoked_at = models.DateTimeField(_("吊销时间"), null=True, blank=True)
    revoked_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    last_used_at = models.DateTimeField(_("最近使用时间"), null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(_("最近使用 IP"), null=True, blank=True)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("访问令牌")
        verbose_name_plural = _("访问令牌")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.prefix}…"

    def is_usable(self, at=None) -> bool:
        return self.revoked_at is None and self.expires_at > (at or timezone.now())

    @property
    def status(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        return "active" if self.expires_at > timezone.now() else "expired"
