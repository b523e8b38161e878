"""The district catalog of government information resources (S§12-18, S§21, S§28-30, S§37).

Fields follow the national 政务信息资源目录编制指南 / GB/T 21063. Workflow lives in
``catalog.services``; this module holds data and its invariants only.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
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
    # Workflow records (S§14, S§15, S§37); the full history is in the audit trail.
    secrecy_reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("保密审查人"),
    )
    secrecy_reviewed_at = models.DateTimeField(_("保密审查时间"), null=True, blank=True)
    submitted_at = models.DateTimeField(_("提交审核时间"), null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("中心审核人"),
    )
    reviewed_at = models.DateTimeField(_("中心审核时间"), null=True, blank=True)
    return_reason = models.TextField(_("退回理由"), blank=True)
    basis_confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("不予共享依据确认人"),
    )
    basis_confirmed_at = models.DateTimeField(_("不予共享依据确认时间"), null=True, blank=True)
    withdrawn_reason = models.TextField(_("撤销理由"), blank=True)
    withdrawn_at = models.DateTimeField(_("撤销时间"), null=True, blank=True)
    last_confirmed_at = models.DateTimeField(_("最近年度确认"), null=True, blank=True)
    project = models.ForeignKey(
        "catalog.ProjectCatalog",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="resources",
        verbose_name=_("所属项目"),
    )

    class Meta:
        verbose_name = _("信息资源")
        verbose_name_plural = _("信息资源")
        ordering = ["-updated_at"]
        indexes = [
            models.Index(fields=["status", "sharing_type"]),
            models.Index(fields=["provider", "status"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="published", is_classified=True),
                name="catalog_classified_never_published",
                violation_error_message=_("涉密资源不得在共享平台登记发布（S§37）。"),
            ),
            models.CheckConstraint(
                condition=~Q(sharing_type="not_shared", not_shared_basis=""),
                name="catalog_not_shared_needs_basis",
                violation_error_message=_("不予共享的资源必须填写法律法规或政策依据（S§14）。"),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_published(self) -> bool:
        return self.status == ResourceStatus.PUBLISHED

    @property
    def channel_labels(self) -> list[str]:
        """The offered channels (S§31) in the user's language."""
        labels = dict(Channel.choices)
        return [str(labels.get(c, c)) for c in self.channels or []]


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


#: A data item code becomes a column of ``ds_<id>`` (datastore): a plain, lower-case identifier.
ITEM_CODE_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
#: Prefixes reserved for system columns the datastore adds (row id, version, load id ...).
SYSTEM_COLUMN_PREFIXES = ("_gh_", "gh_", "ds_", "pg_", "sqlite_")
#: SQL reserved words (SQL:2016 core, PostgreSQL and SQLite) that may not be column names.
SQL_RESERVED_WORDS = frozenset(
    [
        "abort",
        "action",
        "add",
        "all",
        "alter",
        "analyze",
        "and",
        "any",
        "array",
        "as",
        "asc",
        "asymmetric",
        "attach",
        "authorization",
        "autoincrement",
        "before",
        "begin",
        "between",
        "binary",
        "both",
        "by",
        "cascade",
        "case",
        "cast",
        "check",
        "collate",
        "column",
        "commit",
        "conflict",
        "constraint",
        "create",
        "cross",
        "current",
        "current_catalog",
        "current_date",
        "current_role",
        "current_schema",
        "current_time",
        "current_timestamp",
        "current_user",
        "database",
        "default",
        "deferrable",
        "deferred",
        "delete",
        "desc",
        "detach",
        "distinct",
        "do",
        "drop",
        "each",
        "else",
        "end",
        "escape",
        "except",
        "exclusive",
        "exists",
        "explain",
        "fail",
        "false",
        "fetch",
        "filter",
        "first",
        "following",
        "for",
        "foreign",
        "freeze",
        "from",
        "full",
        "glob",
        "grant",
        "group",
        "groups",
        "having",
        "if",
        "ignore",
        "ilike",
        "immediate",
        "in",
        "index",
        "indexed",
        "initially",
        "inner",
        "insert",
        "instead",
        "intersect",
        "into",
        "is",
        "isnull",
        "join",
        "key",
        "last",
        "lateral",
        "leading",
        "left",
        "like",
        "limit",
        "localtime",
        "localtimestamp",
        "match",
        "materialized",
        "natural",
        "no",
        "not",
        "nothing",
        "notnull",
        "null",
        "nulls",
        "of",
        "offset",
        "on",
        "only",
        "or",
        "order",
        "others",
        "outer",
        "over",
        "overlaps",
        "partition",
        "placing",
        "plan",
        "pragma",
        "preceding",
        "primary",
        "query",
        "raise",
        "range",
        "recursive",
        "references",
        "regexp",
        "reindex",
        "release",
        "rename",
        "replace",
        "restrict",
        "returning",
        "right",
        "rollback",
        "row",
        "rowid",
        "rows",
        "savepoint",
        "select",
        "session_user",
        "similar",
        "some",
        "symmetric",
        "table",
        "temp",
        "temporary",
        "then",
        "ties",
        "to",
        "trailing",
        "transaction",
        "trigger",
        "true",
        "unbounded",
        "union",
        "unique",
        "update",
        "user",
        "using",
        "vacuum",
        "values",
        "variadic",
        "verbose",
        "view",
        "virtual",
        "when",
        "where",
        "window",
        "with",
        "without",
        "oid",
        "ctid",
        "xmin",
        "xmax",
        "cmin",
        "cmax",
        "tableoid",
    ]
)


def validate_item_code(value: str) -> None:
    """信息项代码 must be usable as a generated column name (DESIGN.md rule 6)."""
    if not ITEM_CODE_RE.match(value or ""):
        raise ValidationError(
            _("信息项代码须以小写字母开头，只含小写字母、数字和下划线，最长 40 位。"),
            code="item_code_invalid",
        )
    if value in SQL_RESERVED_WORDS:
        raise ValidationError(_("信息项代码不能使用 SQL 保留字。"), code="item_code_reserved")
    if value.startswith(SYSTEM_COLUMN_PREFIXES):
        raise ValidationError(_("信息项代码不能以系统列前缀（如 _gh_）开头。"), code="item_code_reserved")


class DataItem(models.Model):
    """信息项: one field of a resource. ``code`` becomes a column name in ``ds_<id>``, so it is a
    plain identifier (lower-case letters, digits, underscore; starts with a letter)."""

    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveIntegerField(_("序号"), default=0)
    code = models.CharField(_("信息项代码"), max_length=40, validators=[validate_item_code])
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


class ChangeStatus(models.TextChoices):
    """States of a proposed change to a published resource: the same review as a new one."""

    DRAFT = "draft", _("草稿")
    SECRECY_REVIEW = "secrecy_review", _("保密审查中")
    SUBMITTED = "submitted", _("待中心审核")
    RETURNED = "returned", _("已退回")
    PUBLISHED = "published", _("已生效")
    CANCELLED = "cancelled", _("已取消")


OPEN_CHANGE_STATUSES = (
    ChangeStatus.DRAFT,
    ChangeStatus.SECRECY_REVIEW,
    ChangeStatus.SUBMITTED,
    ChangeStatus.RETURNED,
)


class ResourceVersion(models.Model):
    """One version of a resource's catalog entry (S§16).

    A published version holds the snapshot that was published and the diff from the previous
    one. While ``status`` is not ``published`` it is a proposed change that goes through the
    same secrecy and center review as a new resource; only one change may be open at a time.
    """

    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(_("版本号"), null=True, blank=True)
    status = models.CharField(
        _("状态"), max_length=20, choices=ChangeStatus.choices, default=ChangeStatus.DRAFT
    )
    snapshot = models.JSONField(_("快照"), default=dict)
    diff = models.JSONField(_("变更内容"), default=dict, blank=True)
    reason = models.TextField(_("变更说明"), blank=True)
    return_reason = models.TextField(_("退回理由"), blank=True)
    secrecy_reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(_("生效时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("资源版本")
        verbose_name_plural = _("资源版本")
        ordering = ["resource", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["resource", "number"], name="uniq_resource_version_number"),
            models.UniqueConstraint(
                fields=["resource"],
                condition=Q(status__in=["draft", "secrecy_review", "submitted", "returned"]),
                name="one_open_change_per_resource",
                violation_error_message=_("该资源已有一项未完成的变更。"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.resource} v{self.number or '*'}"


class ResourceCodeSequence(models.Model):
    """Last sequence number used per code prefix (classification + unit code); locked when a
    code is assigned so two publications never get the same code."""

    prefix = models.CharField(max_length=20, unique=True)
    last = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.prefix}:{self.last}"


class ResourceSearchDoc(models.Model):
    """Denormalised search text of one resource, kept current by the services (not by signals).

    ``text`` is lower-cased name + keywords + summary + provider + data item names; PostgreSQL
    indexes it with pg_trgm, SQLite mirrors it in the FTS5 trigram table ``catalog_search_fts``.
    """

    resource = models.OneToOneField(
        Resource, on_delete=models.CASCADE, related_name="search_doc", primary_key=True
    )
    name = models.CharField(max_length=200)
    keywords = models.CharField(max_length=300, blank=True)
    items = models.TextField(blank=True)
    text = models.TextField(blank=True)

    def __str__(self) -> str:
        return self.name


class AuthoritativeConcept(models.Model):
    """一数一源 (S§20, S§26): the center names one authoritative provider for a data concept.

    A resource of another unit *holds* the concept when it has a data item with
    ``identifier_kind`` (if set) and data items named each of ``item_names``.
    """

    name = models.CharField(_("数据概念"), max_length=100, unique=True, help_text=_("如 人口.身份证号+姓名"))
    unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="authoritative_concepts", verbose_name=_("权威来源单位")
    )
    identifier_kind = models.CharField(
        _("标识类型"), max_length=20, choices=IdentifierKind.choices, blank=True
    )
    item_names = models.JSONField(_("信息项名称"), default=list, blank=True)
    description = models.CharField(_("说明"), max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("权威数据概念")
        verbose_name_plural = _("权威数据概念")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ClaimStatus(models.TextChoices):
    PENDING = "pending", _("待中心审核")
    ACCEPTED = "accepted", _("同意")
    REJECTED = "rejected", _("不同意")


class SingleSourceClaim(models.Model):
    """A unit's justification for registering data that duplicates another unit's
    authoritative concept (S§20), and the center's recorded decision (S§26)."""

    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="source_claims")
    concept = models.ForeignKey(AuthoritativeConcept, on_delete=models.CASCADE, related_name="claims")
    justification = models.TextField(_("重复采集理由"))
    status = models.CharField(
        _("状态"), max_length=20, choices=ClaimStatus.choices, default=ClaimStatus.PENDING
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(_("审核意见"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("一数一源说明")
        verbose_name_plural = _("一数一源说明")
        constraints = [
            models.UniqueConstraint(fields=["resource", "concept"], name="uniq_claim_per_resource_concept")
        ]

    def __str__(self) -> str:
        return f"{self.resource} · {self.concept}"


class Purpose(models.TextChoices):
    """S§31 使用用途."""

    ADMINISTRATIVE = "administrative", _("行政依据")
    REFERENCE = "reference", _("工作参考")
    VERIFICATION = "verification", _("数据校核")
    COLLABORATION = "collaboration", _("业务协同")


class DemandStatus(models.TextChoices):
    OPEN = "open", _("待答复")
    ANSWERED = "answered", _("已满足")
    REFUSED = "refused", _("不予满足")


class Demand(models.Model):
    """A unit's published data need (S§11 需求清单): "we need X from unit Y for purpose Z"."""

    requester = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="demands_made", verbose_name=_("需求单位")
    )
    target = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="demands_received", verbose_name=_("提供单位")
    )
    title = models.CharField(_("需求名称"), max_length=200)
    description = models.TextField(_("需求描述"), blank=True)
    purpose = models.CharField(_("使用用途"), max_length=20, choices=Purpose.choices)
    status = models.CharField(
        _("状态"), max_length=20, choices=DemandStatus.choices, default=DemandStatus.OPEN
    )
    resource = models.ForeignKey(
        Resource,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="demands",
        verbose_name=_("对应资源"),
    )
    answer = models.TextField(_("答复"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("数据需求")
        verbose_name_plural = _("数据需求")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.title


class CampaignStatus(models.TextChoices):
    OPEN = "open", _("进行中")
    CLOSED = "closed", _("已结束")


class ReviewCampaign(models.Model):
    """The yearly full review of every unit's catalog in October (S§16)."""

    year = models.PositiveIntegerField(_("年度"), unique=True)
    due_date = models.DateField(_("截止日期"))
    status = models.CharField(
        _("状态"), max_length=20, choices=CampaignStatus.choices, default=CampaignStatus.OPEN
    )
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    opened_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("年度目录梳理")
        verbose_name_plural = _("年度目录梳理")
        ordering = ["-year"]

    def __str__(self) -> str:
        return f"{self.year}"


class EntryStatus(models.TextChoices):
    PENDING = "pending", _("待确认")
    CONFIRMED = "confirmed", _("已确认无变化")
    UPDATED = "updated", _("已提交更新")


class CampaignEntry(models.Model):
    """One resource to confirm or update in a yearly review."""

    campaign = models.ForeignKey(ReviewCampaign, on_delete=models.CASCADE, related_name="entries")
    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="campaign_entries")
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(
        _("状态"), max_length=20, choices=EntryStatus.choices, default=EntryStatus.PENDING
    )
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("梳理事项")
        verbose_name_plural = _("梳理事项")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "resource"], name="uniq_campaign_resource")
        ]

    def __str__(self) -> str:
        return f"{self.campaign} · {self.resource}"


class ProjectCatalog(models.Model):
    """An IT/cloud project's pre-registered resource list (S§42): registered before approval,
    completed (every planned resource published) before acceptance."""

    unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="project_catalogs", verbose_name=_("建设单位")
    )
    name = models.CharField(_("项目名称"), max_length=200)
    project_code = models.CharField(_("项目编号"), max_length=50, blank=True)
    app_system_name = models.CharField(_("关联应用系统"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("项目资源目录")
        verbose_name_plural = _("项目资源目录")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name


class PlannedResource(models.Model):
    """One resource a project plans to produce; linked to the real resource once registered."""

    project = models.ForeignKey(ProjectCatalog, on_delete=models.CASCADE, related_name="planned")
    name = models.CharField(_("资源名称"), max_length=200)
    classification = models.CharField(_("资源分类"), max_length=2, choices=Classification.choices)
    sharing_type = models.CharField(_("共享类型"), max_length=20, choices=SharingType.choices)
    summary = models.TextField(_("资源摘要"), blank=True)
    resource = models.ForeignKey(Resource, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("预登记资源")
        verbose_name_plural = _("预登记资源")

    def __str__(self) -> str:
        return self.name
