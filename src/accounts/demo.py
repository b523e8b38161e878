"""Demo district: 长沙市芙蓉区 — the center, the units that share data, oversight offices, people.

Called by ``manage.py demo_load`` (first of all apps, DESIGN order) inside one transaction.
Other apps' ``demo.py`` find what they need here by short name or username, e.g.
``Unit.objects.get(short_name=UNIT_GA)`` or ``User.objects.get(username="ga.officer")``.

Demo password policy: every demo account starts with the one initial password
``DEMO_PASSWORD`` (it meets the 等保 level 3 policy of ``accounts.passwords``: ≥ 10 characters,
upper and lower case letters, digits and a special character, not containing any demo username)
and ``must_change_password=True``, so the first sign-in forces a personal password.
``manage.py demo_logins`` prints the accounts with this password; never use demo data in production.
"""

from __future__ import annotations

from dataclasses import dataclass

from stdnum.cn import uscc

from accounts.models import RoleAssignment, Unit, User
from accounts.roles import Role

#: The one initial password of all demo accounts (printed by ``demo_logins``; changed at first login).
DEMO_PASSWORD = "Furong@2026"

#: 芙蓉区's administrative division code (GB/T 2260), part of every unit's USCC.
DISTRICT_CODE = "430102"

# Short names other apps' demo data refer to.
UNIT_CENTER = "数据资源中心"
UNIT_GA = "公安分局"
UNIT_SCJG = "市场监管局"
UNIT_ZJ = "住建局"
UNIT_RS = "人社局"
UNIT_MZ = "民政局"
UNIT_WJ = "卫健局"
UNIT_JY = "教育局"
UNIT_ZRZY = "自然资源分局"
UNIT_DWT = "定王台街道"
UNIT_HX = "火星街道"
UNIT_CAC = "区委网信办"
UNIT_SECRECY = "区保密局"
UNIT_AUDIT = "区审计局"

_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def organization_code(body: str) -> str:
    """The 9-character organisation code (GB 11714): 8 characters plus their check character."""
    total = sum(int(c, 36) * w for c, w in zip(body, _ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    return body + {10: "X", 11: "0"}.get(check, str(check))


def make_uscc(kind: str, org_body: str) -> str:
    """A valid 统一社会信用代码 (GB 32100-2015) for a district organ.

    ``kind`` is the registration authority + entity type: ``11`` 机关, ``12`` 事业单位,
    ``13`` 中央编办直接管理机构编制的群众团体 is not used here.
    """
    body = kind + DISTRICT_CODE + organization_code(org_body)
    return body + uscc.calc_check_digit(body)


@dataclass(frozen=True)
class DemoUnit:
    short_name: str
    name: str
    code: str
    kind: str
    uscc_kind: str
    org_body: str
    head: str
    contact: str
    phone: str
    email: str


@dataclass(frozen=True)
class DemoUser:
    username: str
    full_name: str
    unit: str  # short name
    roles: tuple[str, ...]
    phone: str = ""


UNITS: tuple[DemoUnit, ...] = (
    DemoUnit(UNIT_CENTER, "芙蓉区数据资源中心", "430102001", Unit.Kind.CENTER, "12",
             "MB1A2301", "杨光明", "彭晓燕", "0731-84681001", "sjzx@furong.gov.cn"),
    DemoUnit(UNIT_GA, "长沙市公安局芙蓉分局", "430102101", Unit.Kind.UNIT, "11",
             "00615230", "谭志刚", "邓文斌", "0731-84681101", "ga@furong.gov.cn"),
    DemoUnit(UNIT_SCJG, "芙蓉区市场监督管理局", "430102102", Unit.Kind.UNIT, "11",
             "MB0L7215", "罗建华", "曾丽萍", "0731-84681102", "scjg@furong.gov.cn"),
    DemoUnit(UNIT_ZJ, "芙蓉区住房和城乡建设局", "430102103", Unit.Kind.UNIT, "11",
             "00615248", "胡卫平", "蒋雪梅", "0731-84681103", "zjj@furong.gov.cn"),
    DemoUnit(UNIT_RS, "芙蓉区人力资源和社会保障局", "430102104", Unit.Kind.UNIT, "11",
             "00615256", "肖国庆", "唐佳慧", "0731-84681104", "rsj@furong.gov.cn"),
    DemoUnit(UNIT_MZ, "芙蓉区民政局", "430102105", Unit.Kind.UNIT, "11",
             "00615264", "龚德胜", "廖春兰", "0731-84681105", "mzj@furong.gov.cn"),
    DemoUnit(UNIT_WJ, "芙蓉区卫生健康局", "430102106", Unit.Kind.UNIT, "11",
             "MB1C5589", "易红梅", "贺晓东", "0731-84681106", "wjj@furong.gov.cn"),
    DemoUnit(UNIT_JY, "芙蓉区教育局", "430102107", Unit.Kind.UNIT, "11",
             "00615272", "阳立新", "邹文静", "0731-84681107", "jyj@furong.gov.cn"),
    DemoUnit(UNIT_ZRZY, "长沙市自然资源和规划局芙蓉分局", "430102108", Unit.Kind.UNIT, "11",
             "MB1D0634", "戴志勇", "汤慧敏", "0731-84681108", "zrzy@furong.gov.cn"),
    DemoUnit(UNIT_DWT, "芙蓉区定王台街道办事处", "430102109", Unit.Kind.UNIT, "11",
             "00615301", "黎建军", "袁芳", "0731-84681109", "dwt@furong.gov.cn"),
    DemoUnit(UNIT_HX, "芙蓉区火星街道办事处", "430102110", Unit.Kind.UNIT, "11",
             "00615310", "熊卫国", "刘敏", "0731-84681110", "hx@furong.gov.cn"),
    DemoUnit(UNIT_CAC, "中共芙蓉区委网络安全和信息化委员会办公室", "430102201", Unit.Kind.OVERSIGHT, "11",
             "MB1E2217", "朱海波", "方晓琳", "0731-84681201", "wxb@furong.gov.cn"),
    DemoUnit(UNIT_SECRECY, "芙蓉区国家保密局", "430102202", Unit.Kind.OVERSIGHT, "11",
             "00615328", "石永红", "钟丽", "0731-84681202", "bmj@furong.gov.cn"),
    DemoUnit(UNIT_AUDIT, "芙蓉区审计局", "430102203", Unit.Kind.OVERSIGHT, "11",
             "00615336", "万志明", "严秀英", "0731-84681203", "sjj@furong.gov.cn"),
)  # fmt: skip

USERS: tuple[DemoUser, ...] = (
    # 区数据资源中心: center staff and the three separated administrators (三员分立)
    DemoUser("center.admin", "刘建国", UNIT_CENTER, (Role.CENTER_ADMIN,), "13807310001"),
    DemoUser("center.reviewer", "王丽娟", UNIT_CENTER, (Role.CENTER_REVIEWER,), "13807310002"),
    DemoUser("center.reviewer2", "陈志强", UNIT_CENTER, (Role.CENTER_REVIEWER,), "13807310003"),
    DemoUser("sys.admin", "赵磊", UNIT_CENTER, (Role.SYS_ADMIN,), "13807310004"),
    DemoUser("sec.admin", "孙敏", UNIT_CENTER, (Role.SEC_ADMIN,), "13807310005"),
    DemoUser("audit.admin", "周静", UNIT_CENTER, (Role.AUDIT_ADMIN,), "13807310006"),
    # 公安分局: a large provider (人口 base database)
    DemoUser("ga.admin", "李卫东", UNIT_GA, (Role.UNIT_ADMIN,), "13807311001"),
    DemoUser("ga.officer", "张红霞", UNIT_GA, (Role.DATA_OFFICER,), "13807311002"),
    DemoUser("ga.user", "黄俊杰", UNIT_GA, (Role.UNIT_USER,), "13807311003"),
    DemoUser("ga.owner", "何永强", UNIT_GA, (Role.SYSTEM_OWNER,), "13807311004"),
    DemoUser("ga.security", "郭建新", UNIT_GA, (Role.SECURITY_OFFICER,), "13807311005"),
    # 市场监管局: 法人 base database
    DemoUser("scjg.admin", "马晓军", UNIT_SCJG, (Role.UNIT_ADMIN,), "13807312001"),
    DemoUser("scjg.officer", "林小红", UNIT_SCJG, (Role.DATA_OFFICER,), "13807312002"),
    DemoUser("scjg.user", "高文涛", UNIT_SCJG, (Role.UNIT_USER,), "13807312003"),
    DemoUser("scjg.owner", "宋立平", UNIT_SCJG, (Role.SYSTEM_OWNER,), "13807312004"),
    # 住建局: 房产房屋
    DemoUser("zj.officer", "谢国华", UNIT_ZJ, (Role.DATA_OFFICER,), "13807313001"),
    DemoUser("zj.owner", "韩冬梅", UNIT_ZJ, (Role.SYSTEM_OWNER,), "13807313002"),
    # 人社局
    DemoUser("rs.officer", "曹雅琴", UNIT_RS, (Role.DATA_OFFICER,), "13807314001"),
    DemoUser("rs.user", "许志伟", UNIT_RS, (Role.UNIT_USER,), "13807314002"),
    # 民政局
    DemoUser("mz.officer", "邓秀兰", UNIT_MZ, (Role.DATA_OFFICER,), "13807315001"),
    DemoUser("mz.user", "冯家豪", UNIT_MZ, (Role.UNIT_USER,), "13807315002"),
    # 卫健局
    DemoUser("wj.officer", "蔡淑芬", UNIT_WJ, (Role.DATA_OFFICER,), "13807316001"),
    DemoUser("wj.owner", "彭浩然", UNIT_WJ, (Role.SYSTEM_OWNER,), "13807316002"),
    # 教育局
    DemoUser("jy.officer", "潘美玲", UNIT_JY, (Role.DATA_OFFICER,), "13807317001"),
    DemoUser("jy.user", "董子健", UNIT_JY, (Role.UNIT_USER,), "13807317002"),
    # 自然资源分局: 地理空间
    DemoUser("zrzy.officer", "袁振华", UNIT_ZRZY, (Role.DATA_OFFICER,), "13807318001"),
    # 街道办事处: consumers of population and housing data
    DemoUser("dwt.officer", "程晓丽", UNIT_DWT, (Role.DATA_OFFICER,), "13807319001"),
    DemoUser("dwt.user", "罗志成", UNIT_DWT, (Role.UNIT_USER,), "13807319002"),
    DemoUser("hx.officer", "姚佩琪", UNIT_HX, (Role.DATA_OFFICER,), "13807319101"),
    DemoUser("hx.user", "田明辉", UNIT_HX, (Role.UNIT_USER,), "13807319102"),
    # 监督部门 (C§32 security inspections, S§39 secrecy review, S§10 audit)
    DemoUser("cac.security", "吴海燕", UNIT_CAC, (Role.SECURITY_OFFICER,), "13807319201"),
    DemoUser("secrecy.officer", "黄晓梅", UNIT_SECRECY, (Role.SECURITY_OFFICER,), "13807319202"),
    DemoUser("audit.auditor", "郑伟", UNIT_AUDIT, (Role.AUDITOR,), "13807319203"),
)

#: Each unit's 专人 (S§11, S§41): the first data officer of the unit.
_DATA_OFFICER_ROLE = Role.DATA_OFFICER


def demo_usernames() -> list[str]:
    """The usernames this module creates, in display order."""
    return [u.username for u in USERS]


def load(stdout) -> None:
    """Create the demo units and people. Runs inside ``demo_load``'s transaction."""
    units: dict[str, Unit] = {}
    center = None
    for spec in UNITS:
        unit = Unit(
            name=spec.name,
            short_name=spec.short_name,
            code=spec.code,
            kind=spec.kind,
            parent=center if spec.kind == Unit.Kind.UNIT else None,
            uscc=make_uscc(spec.uscc_kind, spec.org_body),
            head_name=spec.head,
            contact_name=spec.contact,
            contact_phone=spec.phone,
            contact_email=spec.email,
        )
        unit.full_clean()
        unit.save()
        units[spec.short_name] = unit
        if spec.kind == Unit.Kind.CENTER:
            center = unit
    stdout.write(f"  单位：{len(units)} 个")

    for spec in USERS:
        user = User(
            username=spec.username,
            full_name=spec.full_name,
            email=f"{spec.username}@furong.gov.cn",
            phone=spec.phone,
            unit=units[spec.unit],
            must_change_password=True,
            is_staff=False,
        )
        user.set_password(DEMO_PASSWORD)
        user.save()
        for role in spec.roles:  # one by one: RoleAssignment.save() marks the 三员分立 roles
            RoleAssignment.objects.create(user=user, role=role)
        unit = units[spec.unit]
        if _DATA_OFFICER_ROLE in spec.roles and unit.data_officer_id is None:
            unit.data_officer = user
            unit.save(update_fields=["data_officer", "updated_at"])
    stdout.write(f"  用户：{len(USERS)} 个（初始密码见 demo_logins，首次登录须修改）")
