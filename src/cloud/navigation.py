"""Navigation entries of the cloud app."""

from django.utils.translation import gettext_lazy as _

from cloud.permissions import can_review, sees_all
from core.navigation import NavItem, register


def _unit_member(user) -> bool:
    return user.unit.kind == "unit" or sees_all(user)


register(NavItem(_("我的政务云"), "cloud:home", visible=_unit_member, group=_("政务云"), order=60))
register(NavItem(_("政务云管理"), "cloud:center", visible=can_review, group=_("政务云"), order=61))
register(NavItem(_("资源池与容量"), "cloud:ops-pools", visible=can_review, group=_("政务云"), order=62))
register(
    NavItem(_("资源使用效率"), "cloud:ops-efficiency", visible=_unit_member, group=_("政务云"), order=63)
)
register(NavItem(_("年度计划"), "cloud:ops-plans", visible=_unit_member, group=_("政务云"), order=64))
register(NavItem(_("资源结算"), "cloud:ops-settlements", visible=_unit_member, group=_("政务云"), order=65))
