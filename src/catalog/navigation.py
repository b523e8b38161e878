"""Navigation entries of the catalog (shown by role)."""

from django.utils.translation import gettext_lazy as _

from accounts.roles import Role
from core.navigation import NavItem, register

from . import permissions

GROUP = _("资源目录")


def _officer(user) -> bool:
    return user.has_role(Role.DATA_OFFICER)


def _reviewer_or_officer(user) -> bool:
    return permissions.is_center_staff(user) or user.has_role(Role.DATA_OFFICER, Role.UNIT_ADMIN)


register(NavItem(_("目录检索"), "catalog:search", group=GROUP, order=200))
register(NavItem(_("无条件共享目录"), "catalog:catalog_unconditional", group=GROUP, order=201))
register(NavItem(_("有条件共享目录"), "catalog:catalog_conditional", group=GROUP, order=202))
register(NavItem(_("不予共享目录"), "catalog:catalog_not_shared", group=GROUP, order=203))
register(NavItem(_("本单位目录"), "catalog:mine", visible=_reviewer_or_officer, group=GROUP, order=210))
register(NavItem(_("登记资源"), "catalog:resource_new", visible=_officer, group=GROUP, order=211))
register(NavItem(_("批量导入"), "catalog:import", visible=_officer, group=GROUP, order=212))
register(NavItem(_("目录审核"), "catalog:review", visible=_reviewer_or_officer, group=GROUP, order=213))
register(NavItem(_("一数一源"), "catalog:concepts", group=GROUP, order=220))
register(NavItem(_("数据需求"), "catalog:demands", group=GROUP, order=221))
register(NavItem(_("年度梳理"), "catalog:campaigns", visible=_reviewer_or_officer, group=GROUP, order=222))
register(NavItem(_("项目资源目录"), "catalog:projects", visible=_reviewer_or_officer, group=GROUP, order=223))
