"""The district catalog of government information resources (S§12-18, S§21, S§28-30, S§37).

Fields follow the national 政务信息资源目录编制指南 / GB/T 21063. Workflow lives in
``catalog.services``; this module holds data and its invariants only.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Unit


class SharingType(models.TextChoices):
    UNCONDITIONAL = "unconditional", _("无条件共享")
    CONDITIONAL = "conditional", _("有条件共享")
    NOT_SHARED = "not_shared", _("不予共享")


class OpenAttribute(models.TextChoices):
    OPEN = "open", _("开放")
    CONDITIONAL = "conditional", _("有条件开放")
    NOT_OPEN = "not_open", _("不开放")


class UpdateCycle(models.TextChoices):
    REALTIME = "realtime", _("实时")
    DAILY = "daily", _("每日")
    WEEKLY = "weekly", _("每周")
    MONTHLY = "monthly", _("每月")
    QUARTERLY = "quarterly", _("每季度")
    YEARLY = "yearly", _("每年")


class ResourceFormat(models.TextChoices):
    TABLE = "table", _("数据库表")
    FILE = "file", _("文件")
    INTERFACE = "interface", _("接口")


class Classification(models.TextChoices):
    """S§3: base databases (基础库), thematic databases (主题库), business databases (业务库).

    The two-digit value is the classification part of the resource code.
    """

    BASE_POPULATION = "11", _("基础库·人口")
    BASE_LEGAL_ENTITY = "12", _("基础库·法人")
    BASE_ECONOMY = "13", _("基础库·经济")
    BASE_GEOSPATIAL = "14", _("基础库·地理空间")
    BASE_CITY_COMPONENT = "15", _("基础库·城市部件")
    BASE_HOUSING = "16", _("基础库·房产房屋")
    THEME_E_LICENCE = "21", _("主题库·电子证照")
    THEME_CREDIT = "22", _("主题库·社会诚信")
    THEME_CITY_MANAGEMENT = "23", _("主题库·城市管理")
    THEME_HUMAN_RESOURCES = "24", _("主题库·人力资源")
    THEME_OTHER = "29", _("主题库·其他")
    BUSINESS = "31", _("业务库")


class Channel(models.TextChoices):
    """S§31 共享方式."""

    SYSTEM_FEED = "system_feed", _("系统对接")
    EXCHANGE_NODE = "exchange_node", _("前置机交换")
    ONLINE_QUERY = "online_query", _("联机查询")
    BATCH_DOWNLOAD = "batch_download", _("批量下载")


class ResourceStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    SECRECY_REVIEW = "secrecy_review", _("保密审查中")
    SUBMITTED = "submitted", _("待中心审核")
    RETURNED = "returned", _("已退回")
    PUBLISHED = "published", _("已发布")
    WITHDRAWN = "withdrawn", _("已撤销")


class Resource(models.Model):
    """One government information resource (政务信息资源) registered by its provider unit."""

    code = models.CharField(_("信息资源代码"), max_length=40, unique=True, null=True, blank=True)
    name = models.CharField(_("资源名称"), max_length=200)
    provider = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="resources", verbose_name=_("提供单位")
    )
    summary = models.TextField(_("资源摘要"), blank=True)
    classification = models.CharField(_("资源分类"), max_length=2, choices=Classification.choices)
    format = models.CharField(
        _("资源格式"), max_length=20, choices=ResourceFormat.choices, default=ResourceFormat.TABLE
    )
    sharing_type = models.CharField(_("共享类型"), max_length=20, choices=SharingType.choices)
    sharing_conditions = models.TextField(_("共享条件"), blank=True)
    not_shared_basis = models.TextField(
        _("不予共享依据"), blank=True, help_text=_("须引用法律、行政法规或政策依据。")
    )
    open_attribute = models.CharField(
        _("开放属性"), max_length=20, choices=OpenAttribute.choices, default=OpenAttribute.NOT_OPEN
    )
    update_cycle = models.CharField(_("更新周期"), max_length=20, choices=UpdateCycle.choices)
    channels = models.JSONField(_("共享方式"), default=list, blank=True)
    app_system_name = models.CharField(_("关联应用系统"), max_length=200, blank=True)
    keywords = models.CharField(_("关键词"), max_length=300, blank=True)
    contact_name = models.CharField(_("联系人"), max_length=50, blank=True)
    contact_phone = models.CharField(_("联系电话"), max_length=30, blank=True)
    is_classified = models.BooleanField(_("涉密"), default=False)
    status = models.CharField(
        _("状态"), max_length=20, choices=ResourceStatus.choices, default=ResourceStatus.DRAFT
    )
    version = models.PositiveIntegerField(_("版本"), default=0)
    first_published_at = models.DateTimeField(_("首次发布时间"), null=True, blank=True)
    data_updated_at = models.DateTimeField(_("数据最近更新"), null=True, blank=True)
    created_by = models.ForeignKey(
        "accounts.User", null=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("登记人")
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("信息资源")
        verbose_name_plural = _("信息资源")
        ordering = ["-updated_at"]
        indexes = [
            models.Index(fields=["status", "sharing_type"]),
            models.Index(fields=["provider", "status"]),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_published(self) -> bool:
        return self.status == ResourceStatus.PUBLISHED


class DataType(models.TextChoices):
    STRING = "string", _("字符串")
    INTEGER = "integer", _("整数")
    DECIMAL = "decimal", _("小数")
    DATE = "date", _("日期")
    DATETIME = "datetime", _("日期时间")
    BOOLEAN = "boolean", _("布尔")


class IdentifierKind(models.TextChoices):
    """S§21: the national identifiers used to match records across units."""

    NONE = "", _("无")
    ID_CARD = "id_card", _("身份证号")
    USCC = "uscc", _("统一社会信用代码")
    PROPERTY_UNIT = "property_unit", _("不动产单元号")
    CITY_COMPONENT = "city_component", _("城市部件代码")


class Sensitivity(models.TextChoices):
    """Drives masking in the exchange."""

    PUBLIC = "public", _("公开")
    INTERNAL = "internal", _("内部")
    SENSITIVE = "sensitive", _("敏感")
    PERSONAL = "personal", _("个人隐私")


class DataItem(models.Model):
    """信息项: one field of a resource. ``code`` becomes a column name in ``ds_<id>``, so it is a
    plain identifier (lower-case letters, digits, underscore; starts with a letter)."""

    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveIntegerField(_("序号"), default=0)
    code = models.CharField(_("信息项代码"), max_length=40)
    name = models.CharField(_("信息项名称"), max_length=100)
    data_type = models.CharField(
        _("数据类型"), max_length=20, choices=DataType.choices, default=DataType.STRING
    )
    length = models.PositiveIntegerField(_("长度"), null=True, blank=True)
    precision = models.PositiveIntegerField(_("精度"), null=True, blank=True)
    required = models.BooleanField(_("必填"), default=False)
    is_key = models.BooleanField(_("主键项"), default=False)
    identifier_kind = models.CharField(
        _("标识类型"), max_length=20, choices=IdentifierKind.choices, default=IdentifierKind.NONE, blank=True
    )
    sensitivity = models.CharField(
        _("敏感级别"), max_length=20, choices=Sensitivity.choices, default=Sensitivity.INTERNAL
    )
    description = models.CharField(_("说明"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("信息项")
        verbose_name_plural = _("信息项")
        ordering = ["resource", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["resource", "code"], name="uniq_item_code_per_resource"),
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.code}）"
