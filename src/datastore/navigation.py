"""Navigation entries of the data store (shown by role)."""

from django.utils.translation import gettext_lazy as _

from accounts.roles import Role
from core.navigation import NavItem, register

from .permissions import is_center_staff

GROUP = _("数据归集")


def _visible(user) -> bool:
    return is_center_staff(user) or user.has_role(Role.DATA_OFFICER, Role.UNIT_ADMIN)


register(NavItem(_("数据加载"), "datastore:home", visible=_visible, group=GROUP, order=300))
