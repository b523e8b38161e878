from django.utils.translation import gettext_lazy as _

from accounts.roles import Role
from core.navigation import NavItem, register
from exchange.permissions import is_center_staff


def _unit_or_center(user) -> bool:
    return is_center_staff(user) or user.has_role(Role.UNIT_USER, Role.DATA_OFFICER, Role.UNIT_ADMIN)


register(
    NavItem(_("共享授权"), "exchange:grant-list", visible=_unit_or_center, group=_("数据共享"), order=30)
)
register(
    NavItem(_("共享申请"), "exchange:request-list", visible=_unit_or_center, group=_("数据共享"), order=31)
)


def _usage(user) -> bool:
    from accounts.permissions import can_read_audit

    return is_center_staff(user) or can_read_audit(user) or user.has_role(Role.DATA_OFFICER, Role.UNIT_ADMIN)


def _auditor(user) -> bool:
    from accounts.permissions import can_read_audit

    return can_read_audit(user)


register(NavItem(_("使用统计"), "exchange:usage", visible=_usage, group=_("数据共享"), order=32))
register(NavItem(_("记录访问追溯"), "exchange:who-accessed", visible=_auditor, group=_("审计"), order=61))
