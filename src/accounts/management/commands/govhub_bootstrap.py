"""First start of a real installation: the center unit and its first administrators.

``createsuperuser`` cannot work here (every user belongs to a unit, and administration is split
into separate roles), so an operator runs, once::

    manage.py govhub_bootstrap --center-name 芙蓉区数据资源中心 --center-code 430102000 \\
        --center-uscc 11430102MB1234567X

It creates the center (unless one exists), a 中心管理员 and a 系统管理员 (三员分立: the security and
audit administrators are then created by the system administrator through the UI), prints their
initial passwords once, and forces a change at first login. Running it again changes nothing.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.models import RoleAssignment, Unit, User, validate_uscc
from accounts.roles import Role
from accounts.services import generate_initial_password
from core import audit


class Command(BaseCommand):
    help = "首次部署：创建数据资源中心及首批管理员（中心管理员、系统管理员），初始密码只显示一次。"

    def add_arguments(self, parser):
        parser.add_argument("--center-name", required=True)
        parser.add_argument("--center-code", required=True, help="单位代码（资源代码中的单位部分）")
        parser.add_argument("--center-uscc", required=True, help="统一社会信用代码")
        parser.add_argument("--admin-username", default="center.admin")
        parser.add_argument("--sysadmin-username", default="sys.admin")

    @transaction.atomic
    def handle(self, *args, **opts):
        center = Unit.objects.filter(kind=Unit.Kind.CENTER).first()
        if center is not None and center.users.exists():
            self.stdout.write(f"已存在数据资源中心「{center.name}」及其用户，未做任何更改。")
            return
        if center is None:
            try:
                validate_uscc(opts["center_uscc"])
            except ValidationError as exc:
                raise CommandError(exc.messages[0])
            center = Unit(
                name=opts["center_name"],
                code=opts["center_code"],
                uscc=opts["center_uscc"],
                kind=Unit.Kind.CENTER,
            )
            try:
                center.full_clean()
            except ValidationError as exc:
                raise CommandError("; ".join(f"{k}: {', '.join(v)}" for k, v in exc.message_dict.items()))
            center.save()
            audit.record(action="accounts.unit.create", target=center, details={"via": "govhub_bootstrap"})
        rows = []
        for username, role, full_name in (
            (opts["admin_username"], Role.CENTER_ADMIN, "中心管理员"),
            (opts["sysadmin_username"], Role.SYS_ADMIN, "系统管理员"),
        ):
            if User.objects.filter(username=username).exists():
                raise CommandError(f"用户名 {username} 已存在。")
            password = generate_initial_password()
            user = User(username=username, full_name=full_name, unit=center, must_change_password=True)
            user.set_password(password)
            user.save()
            RoleAssignment.objects.create(user=user, role=role)
            audit.record(action="accounts.user.create", target=user, unit=center, details={"role": role})
            rows.append((username, role.label, password))
        self.stdout.write(
            f"已创建数据资源中心「{center.name}」的首批管理员（初始密码仅显示这一次，首次登录须修改）："
        )
        for username, label, password in rows:
            self.stdout.write(f"  {username:<20} {label:<10} {password}")
