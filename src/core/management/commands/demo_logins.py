"""Print the demo accounts: username, name, unit, roles and the initial password."""

from __future__ import annotations

import unicodedata

from django.core.management.base import BaseCommand


def _width(text: str) -> int:
    """Display width in a terminal: CJK characters take two columns."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def render_table(headers: list[str], rows: list[list[str]]) -> str:
    """A plain-text table that lines up with Chinese text."""
    widths = [max(_width(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    line = "  ".join("-" * w for w in widths)
    out = ["  ".join(_pad(h, w) for h, w in zip(headers, widths, strict=True)), line]
    out += ["  ".join(_pad(str(c), w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(out)


class Command(BaseCommand):
    help = "列出演示账号（用户名、姓名、单位、角色、初始密码）。"

    def handle(self, *args, **options):
        from accounts.demo import DEMO_PASSWORD, demo_usernames
        from accounts.models import User

        order = demo_usernames()
        users = {
            u.username: u
            for u in User.objects.filter(username__in=order)
            .select_related("unit")
            .prefetch_related("role_assignments")
        }
        if not users:
            self.stdout.write("没有演示账号（运行 manage.py demo_load 载入演示数据）。")
            return
        rows = []
        for username in order:
            user = users.get(username)
            if user is None:
                continue
            roles = "、".join(str(r.get_role_display()) for r in user.role_assignments.all())
            password = DEMO_PASSWORD if user.must_change_password else "（已修改）"
            rows.append(
                [user.username, user.full_name, user.unit.short_name or user.unit.name, roles, password]
            )
        self.stdout.write("演示账号（首次登录须修改密码；仅用于演示，切勿用于生产环境）：")
        self.stdout.write(render_table(["用户名", "姓名", "单位", "角色", "初始密码"], rows))
        self.stdout.write(
            "新密码规则：至少 10 个字符，含大写字母、小写字母、数字、特殊字符中的至少 3 类，"
            "不含用户名，不与最近 5 次密码相同。"
        )
