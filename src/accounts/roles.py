"""Roles (S§11, S§17, S§41; C§6-8; GB/T 22239 level 3 separation of duties).

A user holds one or more roles through ``RoleAssignment``. The three separated administrators
(系统管理员 / 安全管理员 / 审计管理员) are mutually exclusive: no account holds two of them.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    CENTER_ADMIN = "center_admin", _("中心管理员")
    CENTER_REVIEWER = "center_reviewer", _("中心审核员")
    UNIT_ADMIN = "unit_admin", _("单位管理员")
    DATA_OFFICER = "data_officer", _("单位数据专员")
    UNIT_USER = "unit_user", _("单位用户")
    SYSTEM_OWNER = "system_owner", _("系统负责人")
    SECURITY_OFFICER = "security_officer", _("安全员")
    AUDITOR = "auditor", _("审计员")
    SYS_ADMIN = "sys_admin", _("系统管理员")
    SEC_ADMIN = "sec_admin", _("安全管理员")
    AUDIT_ADMIN = "audit_admin", _("审计管理员")


#: 三员分立: an account may hold at most one of these.
SEPARATED_ADMIN_ROLES = frozenset({Role.SYS_ADMIN, Role.SEC_ADMIN, Role.AUDIT_ADMIN})

#: Roles that belong to the center (the district Data Resource Center) only.
CENTER_ROLES = frozenset({Role.CENTER_ADMIN, Role.CENTER_REVIEWER})
