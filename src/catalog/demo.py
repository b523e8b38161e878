"""Demo catalog of 芙蓉区: about thirty resources of the demo units, through the real services.

Called by ``manage.py demo_load`` after ``accounts.demo`` (``load(stdout)``). Most resources are
published (so the three catalogs, search and the exchange have content); a few stay in the
workflow so every review step can be shown. Other apps may find resources by name, e.g.
``Resource.objects.get(name="常住人口基本信息")``.
"""

from __future__ import annotations

import datetime as dt

from accounts.demo import (
    UNIT_DWT,
    UNIT_GA,
    UNIT_HX,
    UNIT_JY,
    UNIT_MZ,
    UNIT_RS,
    UNIT_SCJG,
    UNIT_WJ,
    UNIT_ZJ,
    UNIT_ZRZY,
)
from accounts.models import Unit, User

from . import services

OFFICERS = {
    UNIT_GA: "ga.officer",
    UNIT_SCJG: "scjg.officer",
    UNIT_ZJ: "zj.officer",
    UNIT_RS: "rs.officer",
    UNIT_MZ: "mz.officer",
    UNIT_WJ: "wj.officer",
    UNIT_JY: "jy.officer",
    UNIT_ZRZY: "zrzy.officer",
    UNIT_DWT: "dwt.officer",
    UNIT_HX: "hx.officer",
}


def _i(
    code, name, data_type="string", length=None, kind="", sensitivity="internal", key=False, required=False
):
    return {
        "code": code,
        "name": name,
        "data_type": data_type,
        "length": length,
        "identifier_kind": kind,
        "sensitivity": sensitivity,
        "is_key": key,
        "required": required or key,
    }


SFZH = _i("sfzh", "公民身份号码", length=18, kind="id_card", sensitivity="personal", key=True)
XM = _i("xm", "姓名", length=50, sensitivity="personal", required=True)
USCC = _i("tyshxydm", "统一社会信用代码", length=18, kind="uscc", sensitivity="public", key=True)
BDCDYH = _i("bdcdyh", "不动产单元号", length=28, kind="property_unit", sensitivity="internal", key=True)
BJDM = _i("bjdm", "城市部件代码", length=16, kind="city_component", sensitivity="public", key=True)

# (unit, name, classification, sharing type, update cycle, keywords, summary, items, extra fields)
RESOURCES: list[tuple] = [
    (
        UNIT_GA,
        "常住人口基本信息",
        "11",
        "conditional",
        "daily",
        "人口,户籍,常住",
        "辖区常住人口的身份、户籍与居住信息，供各单位核验身份。",
        [
            SFZH,
            XM,
            _i("xb", "性别", length=2),
            _i("csrq", "出生日期", "date"),
            _i("mz", "民族", length=20),
            _i("hjdz", "户籍地址", length=200, sensitivity="personal"),
            _i("jzdz", "居住地址", length=200, sensitivity="personal"),
        ],
        {
            "sharing_conditions": "仅限依法履职中的身份核验，须说明使用用途。",
            "channels": ["online_query", "system_feed"],
        },
    ),
    (
        UNIT_GA,
        "户籍人口变动信息",
        "11",
        "conditional",
        "daily",
        "人口,户籍,迁入,迁出",
        "出生、死亡、迁入、迁出等户籍变动记录。",
        [
            SFZH,
            XM,
            _i("bdlx", "变动类型", length=10),
            _i("bdrq", "变动日期", "date"),
            _i("bdyy", "变动原因", length=100),
        ],
        {"sharing_conditions": "用于社会保障、民政救助等业务协同。"},
    ),
    (
        UNIT_GA,
        "居住证办理信息",
        "11",
        "unconditional",
        "daily",
        "流动人口,居住证",
        "辖区居住证申领与签注信息。",
        [
            SFZH,
            XM,
            _i("jzzbh", "居住证编号", length=30),
            _i("qfrq", "签发日期", "date"),
            _i("yxqz", "有效期至", "date"),
        ],
        {},
    ),
    (
        UNIT_GA,
        "在逃人员信息",
        "11",
        "not_shared",
        "realtime",
        "公安,在逃",
        "公安机关内部使用的在逃人员信息。",
        [SFZH, XM, _i("ajlb", "案件类别", length=50)],
        {"not_shared_basis": "《中华人民共和国人民警察法》第二十二条及公安部相关规定", "channels": []},
    ),
    (
        UNIT_GA,
        "机动车驾驶人信息",
        "12",
        "conditional",
        "weekly",
        "驾驶证,交通",
        "辖区驾驶人及驾驶证状态（按法人/单位名下车辆汇总）。",
        [USCC, _i("dwmc", "单位名称", length=200, sensitivity="public"), _i("clsl", "名下车辆数", "integer")],
        {"sharing_conditions": "用于交通安全监管协同。"},
    ),
    (
        UNIT_SCJG,
        "市场主体登记信息",
        "12",
        "unconditional",
        "daily",
        "企业,法人,工商登记",
        "辖区企业、个体工商户、农民专业合作社的登记信息。",
        [
            USCC,
            _i("ztmc", "市场主体名称", length=200, sensitivity="public", required=True),
            _i("fddbr", "法定代表人", length=50, sensitivity="public"),
            _i("zczb", "注册资本（万元）", "decimal"),
            _i("clrq", "成立日期", "date"),
            _i("jycs", "经营场所", length=200, sensitivity="public"),
            _i("jyfw", "经营范围", length=2000, sensitivity="public"),
            _i("djzt", "登记状态", length=20, sensitivity="public"),
        ],
        {"open_attribute": "open", "channels": ["online_query", "batch_download", "system_feed"]},
    ),
    (
        UNIT_SCJG,
        "行政处罚信息",
        "22",
        "unconditional",
        "daily",
        "信用,处罚",
        "市场监管领域行政处罚决定信息。",
        [
            USCC,
            _i("cfjdswh", "处罚决定书文号", length=50, sensitivity="public"),
            _i("cfnr", "处罚内容", length=500, sensitivity="public"),
            _i("cfrq", "处罚日期", "date"),
        ],
        {"open_attribute": "open"},
    ),
    (
        UNIT_SCJG,
        "食品经营许可证信息",
        "21",
        "unconditional",
        "daily",
        "电子证照,食品,许可",
        "食品经营许可证电子证照信息。",
        [USCC, _i("xkzbh", "许可证编号", length=30, sensitivity="public"), _i("yxqz", "有效期至", "date")],
        {"open_attribute": "open"},
    ),
    (
        UNIT_SCJG,
        "经营异常名录信息",
        "22",
        "unconditional",
        "daily",
        "信用,异常名录",
        "列入、移出经营异常名录的市场主体。",
        [USCC, _i("lryy", "列入原因", length=200, sensitivity="public"), _i("lrrq", "列入日期", "date")],
        {},
    ),
    (
        UNIT_ZJ,
        "房屋基本信息",
        "16",
        "conditional",
        "monthly",
        "房屋,不动产,住房",
        "辖区房屋的坐落、结构、面积与用途。",
        [
            BDCDYH,
            _i("fwzl", "房屋坐落", length=200),
            _i("jzmj", "建筑面积", "decimal"),
            _i("fwyt", "房屋用途", length=20),
            _i("jgrq", "竣工日期", "date"),
        ],
        {"sharing_conditions": "用于住房保障、征收补偿等业务。"},
    ),
    (
        UNIT_ZJ,
        "商品房网签备案信息",
        "16",
        "conditional",
        "daily",
        "房屋,网签,备案",
        "新建商品房买卖合同网签备案。",
        [
            BDCDYH,
            SFZH,
            XM,
            _i("htbh", "合同编号", length=30),
            _i("baje", "合同金额", "decimal"),
            _i("basj", "备案时间", "datetime"),
        ],
        {"sharing_conditions": "仅限不动产登记、税务协同核验。"},
    ),
    (
        UNIT_ZJ,
        "建筑施工企业资质信息",
        "21",
        "unconditional",
        "monthly",
        "资质,建筑,电子证照",
        "建筑业企业资质证书信息。",
        [
            USCC,
            _i("zzzsbh", "资质证书编号", length=30, sensitivity="public"),
            _i("zzdj", "资质等级", length=20, sensitivity="public"),
        ],
        {},
    ),
    (
        UNIT_RS,
        "社会保险参保信息",
        "24",
        "conditional",
        "monthly",
        "社保,参保,人力资源",
        "职工养老、医疗、失业、工伤保险参保状态。",
        [
            SFZH,
            XM,
            _i("cbxz", "参保险种", length=20),
            _i("cbzt", "参保状态", length=10),
            _i("cbdw", "参保单位", length=200),
        ],
        {"sharing_conditions": "用于就业、救助资格核验。"},
    ),
    (
        UNIT_RS,
        "就业登记信息",
        "24",
        "unconditional",
        "monthly",
        "就业,失业,人力资源",
        "就业与失业登记信息。",
        [SFZH, XM, _i("jyzt", "就业状态", length=10), _i("djrq", "登记日期", "date")],
        {},
    ),
    (
        UNIT_RS,
        "用人单位劳动保障信用信息",
        "22",
        "unconditional",
        "quarterly",
        "信用,劳动保障",
        "用人单位劳动保障守法诚信等级。",
        [USCC, _i("xydj", "信用等级", length=5, sensitivity="public")],
        {"open_attribute": "open"},
    ),
    (
        UNIT_MZ,
        "最低生活保障对象信息",
        "11",
        "conditional",
        "monthly",
        "低保,救助,民政,人口",
        "城乡低保对象及保障金额。",
        [
            SFZH,
            XM,
            _i("bzlb", "保障类别", length=20),
            _i("bzje", "保障金额", "decimal"),
            _i("bzqsrq", "保障起始日期", "date"),
        ],
        {"sharing_conditions": "用于社会救助协同与资格核验。"},
    ),
    (
        UNIT_MZ,
        "婚姻登记信息",
        "11",
        "conditional",
        "daily",
        "婚姻,民政",
        "结婚、离婚登记信息。",
        [SFZH, XM, _i("djlx", "登记类型", length=10), _i("djrq", "登记日期", "date")],
        {"sharing_conditions": "用于公积金、住房保障等业务核验。"},
    ),
    (
        UNIT_MZ,
        "社会组织登记信息",
        "12",
        "unconditional",
        "monthly",
        "社会组织,法人",
        "社会团体、民办非企业单位登记。",
        [
            USCC,
            _i("zzmc", "组织名称", length=200, sensitivity="public"),
            _i("zzlx", "组织类型", length=20, sensitivity="public"),
        ],
        {"open_attribute": "open"},
    ),
    (
        UNIT_WJ,
        "出生医学证明信息",
        "11",
        "conditional",
        "daily",
        "出生,医学证明,卫健",
        "新生儿出生医学证明签发信息。",
        [
            SFZH,
            XM,
            _i("csyxzmbh", "出生医学证明编号", length=20),
            _i("csrq", "出生日期", "date"),
            _i("csdd", "出生地点", length=200),
        ],
        {"sharing_conditions": "用于户籍登记、入学、医保等业务。"},
    ),
    (
        UNIT_WJ,
        "医疗机构执业许可信息",
        "21",
        "unconditional",
        "monthly",
        "医疗机构,许可",
        "医疗机构执业许可证信息。",
        [
            USCC,
            _i("jgmc", "机构名称", length=200, sensitivity="public"),
            _i("xkzh", "许可证号", length=30, sensitivity="public"),
        ],
        {"open_attribute": "open"},
    ),
    (
        UNIT_JY,
        "中小学学籍信息",
        "11",
        "conditional",
        "yearly",
        "学籍,教育,学生",
        "辖区中小学在籍学生信息。",
        [SFZH, XM, _i("xxmc", "学校名称", length=100), _i("nj", "年级", length=10)],
        {"sharing_conditions": "用于入学资格、教育资助核验。"},
    ),
    (
        UNIT_JY,
        "民办学校办学许可信息",
        "21",
        "unconditional",
        "yearly",
        "办学许可,教育",
        "民办学校办学许可证信息。",
        [USCC, _i("xxmc", "学校名称", length=100, sensitivity="public")],
        {"open_attribute": "open"},
    ),
    (
        UNIT_ZRZY,
        "国土空间规划地块信息",
        "14",
        "unconditional",
        "quarterly",
        "地理空间,规划,地块",
        "控制性详细规划地块及用地性质。",
        [
            _i("dkbh", "地块编号", length=30, key=True),
            _i("ydxz", "用地性质", length=20),
            _i("dkmj", "地块面积", "decimal"),
            _i("jwfw", "经纬度范围", length=500),
        ],
        {},
    ),
    (
        UNIT_ZRZY,
        "不动产登记信息",
        "16",
        "conditional",
        "daily",
        "不动产,登记,房屋",
        "不动产权利登记信息。",
        [
            BDCDYH,
            _i("qlr", "权利人", length=100, sensitivity="personal"),
            _i("qllx", "权利类型", length=20),
            _i("djsj", "登记时间", "datetime"),
        ],
        {"sharing_conditions": "用于住房保障、司法协助等业务。"},
    ),
    (
        UNIT_DWT,
        "定王台街道城市部件普查信息",
        "15",
        "unconditional",
        "yearly",
        "城市部件,井盖,路灯",
        "井盖、路灯、垃圾箱等城市部件普查信息。",
        [
            BJDM,
            _i("bjlx", "部件类型", length=20, sensitivity="public"),
            _i("wz", "位置", length=200, sensitivity="public"),
        ],
        {},
    ),
    (
        UNIT_DWT,
        "定王台街道网格事件信息",
        "23",
        "unconditional",
        "realtime",
        "网格,城市管理,事件",
        "网格员上报的城市管理事件及处置情况。",
        [
            _i("sjbh", "事件编号", length=30, key=True),
            _i("sjlx", "事件类型", length=20),
            _i("sbsj", "上报时间", "datetime"),
            _i("czzt", "处置状态", length=10),
        ],
        {},
    ),
    (
        UNIT_HX,
        "火星街道高龄津贴发放信息",
        "31",
        "conditional",
        "monthly",
        "高龄津贴,老年人",
        "80 岁以上老年人高龄津贴发放。",
        [SFZH, XM, _i("ffje", "发放金额", "decimal"), _i("ffyf", "发放月份", length=7)],
        {"sharing_conditions": "用于养老服务补贴核验。"},
    ),
    (
        UNIT_HX,
        "火星街道城市部件巡查信息",
        "15",
        "unconditional",
        "weekly",
        "城市部件,巡查",
        "城市部件日常巡查与损坏上报。",
        [BJDM, _i("xcrq", "巡查日期", "date"), _i("shqk", "损坏情况", length=200)],
        {},
    ),
]

# Left in the workflow so each review step can be shown: (unit, name, stop) — stop is the
# last step taken: "draft", "secrecy_review", "submitted" or "returned".
IN_PROGRESS = [
    (UNIT_GA, "流动人口登记信息", "submitted"),
    (UNIT_SCJG, "双随机抽查结果信息", "secrecy_review"),
    (UNIT_WJ, "预防接种信息", "draft"),
    (UNIT_RS, "职业技能等级证书信息", "returned"),
]


def _fields(name, classification, sharing, cycle, keywords, summary, extra) -> dict:
    fields = {
        "name": name,
        "summary": summary,
        "classification": classification,
        "format": "table",
        "sharing_type": sharing,
        "open_attribute": "not_open",
        "update_cycle": cycle,
        "channels": ["online_query", "batch_download"],
        "keywords": keywords,
    }
    fields.update(extra)
    return fields


def load(stdout) -> None:
    """Register the demo catalog, designate authoritative sources, and add a demand and a project."""
    officers = {u: User.objects.get(username=name) for u, name in OFFICERS.items()}
    reviewer = User.objects.get(username="center.reviewer")
    by_name = {}
    for unit, name, cls, sharing, cycle, keywords, summary, items, extra in RESOURCES:
        officer = officers[unit]
        resource = services.resource_create(
            by=officer, fields=_fields(name, cls, sharing, cycle, keywords, summary, extra), items=items
        )
        services.resource_submit(
            resource=resource, by=officer, justification="本单位法定职责内采集，非重复采集。"
        )
        services.resource_secrecy_confirm(resource=resource, by=officer, no_state_secrets=True)
        for claim in resource.source_claims.all():
            services.single_source_claim_decide(claim=claim, by=reviewer, accept=True, note="演示：同意")
        by_name[name] = services.resource_approve(
            resource=resource, by=reviewer, confirm_legal_basis=sharing == "not_shared"
        )
    ga, scjg = Unit.objects.get(short_name=UNIT_GA), Unit.objects.get(short_name=UNIT_SCJG)
    services.concept_create(
        by=reviewer,
        name="人口.身份证号+姓名",
        unit=ga,
        identifier_kind="id_card",
        item_names=["姓名"],
        description="自然人身份信息以公安分局常住人口库为准（S§20）。",
    )
    services.concept_create(
        by=reviewer,
        name="法人.统一社会信用代码",
        unit=scjg,
        identifier_kind="uscc",
        description="市场主体身份信息以市场监管局登记信息为准。",
    )
    for unit, name, stop in IN_PROGRESS:
        officer = officers[unit]
        items = [
            _i("bh", "编号", length=32, key=True),
            _i("mc", "名称", length=100),
            _i("rq", "日期", "date"),
        ]
        resource = services.resource_create(
            by=officer,
            fields=_fields(name, "31", "unconditional", "monthly", "", "演示：审核中的资源", {}),
            items=items,
        )
        if stop == "draft":
            continue
        services.resource_submit(resource=resource, by=officer)
        if stop == "secrecy_review":
            continue
        services.resource_secrecy_confirm(resource=resource, by=officer, no_state_secrets=True)
        if stop == "returned":
            services.resource_return(
                resource=resource, by=reviewer, reason="请补充信息项说明和更新周期依据。"
            )
    dwt = officers[UNIT_DWT]
    services.demand_create(
        by=dwt,
        target=ga,
        title="辖区独居老人户籍信息",
        purpose="collaboration",
        description="用于独居老人关爱走访（业务协同）。",
    )
    services.project_catalog_create(
        by=officers[UNIT_HX],
        name="火星街道智慧社区平台建设项目",
        project_code="FR-2026-XM-017",
        app_system_name="智慧社区平台",
        planned=[
            {"name": "社区居民健康档案摘要", "classification": "31", "sharing_type": "conditional"},
            {"name": "社区养老服务记录", "classification": "31", "sharing_type": "unconditional"},
        ],
    )
    stdout.write(
        f"  资源目录：已发布 {len(by_name)} 个资源，审核流程中 {len(IN_PROGRESS)} 个（截至 {dt.date.today()}）"
    )
