"""Navigation entries of accounts (shown by role)."""

from django.utils.translation import gettext_lazy as _

from core.navigation import NavItem, register

from . import permissions

GROUP = _("系统管理")

register(NavItem(_("我的登录记录"), "accounts:login_history", group=_("个人"), order=900))
register(NavItem(_("修改密码"), "accounts:password_change", group=_("个人"), order=910))
register(
    NavItem(_("单位管理"), "accounts:unit_list", visible=permissions.can_manage_units, group=GROUP, order=800)
)
register(
    NavItem(_("用户管理"), "accounts:user_list", visible=permissions.can_view_users, group=GROUP, order=810)
)
register(
    NavItem(_("账号锁定"), "accounts:lockout_list", visible=permissions.can_unlock, group=GROUP, order=820)
)
register(
    NavItem(
        _("接口客户端"),
        "accounts:api_client_list",
        visible=permissions.can_view_api_clients,
        group=GROUP,
        order=830,
    )
)
