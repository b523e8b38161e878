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
