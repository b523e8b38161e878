"""Demo data for the demo catalog: generated but valid rows (real check digits), loaded through
the real load path (staging, validation, merge, change log). Called by ``manage.py demo_load``."""

from __future__ import annotations

import io
import json
import random

from stdnum.cn import ric, uscc

from accounts.models import User
from catalog.models import Resource

from . import services

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建文辉玲红梅志鹏飞雪琳晨宇浩然欣怡子涵俊杰佳琪"
STREETS = ["定王台街道", "火星街道", "文艺路街道", "朝阳街道", "韭菜园街道", "五里牌街道"]
ROADS = ["解放西路", "五一大道", "韶山北路", "蔡锷中路", "人民东路", "远大一路", "八一路"]


def id_card(rnd: random.Random) -> tuple[str, str]:
    """A valid 身份证号 of a Furong district resident (area 430102) and the birth date."""
    y, m, d = rnd.randint(1940, 2015), rnd.randint(1, 12), rnd.randint(1, 28)
    body = f"430102{y:04d}{m:02d}{d:02d}{rnd.randint(0, 999):03d}"
    return body + ric.calc_check_digit(body + "0"), f"{y:04d}-{m:02d}-{d:02d}"


def company_code(rnd: random.Random) -> str:
    """A valid 统一社会信用代码 (enterprise, registered in 430102)."""
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    body = "91430102" + "".join(rnd.choice(alphabet) for _ in range(9))
    return body + uscc.calc_check_digit(body)


def _name(rnd: random.Random) -> str:
    return rnd.choice(SURNAMES) + "".join(rnd.choice(GIVEN) for _ in range(rnd.choice((1, 2))))


def _load(resource: Resource, officer: User, rows: list[dict], file_name: str) -> None:
    body = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode()
    upload = io.BytesIO(body)
    upload.size = len(body)
    load = services.load_create(resource=resource, by=officer, upload=upload, file_name=file_name, run=False)
    services.load_run(load_id=load.pk)


def people(rnd: random.Random, n: int) -> list[dict]:
    out, seen = [], set()
    while len(out) < n:
        sfzh, birth = id_card(rnd)
        if sfzh in seen:
            continue
        seen.add(sfzh)
        out.append(
            {
                "sfzh": sfzh,
                "xm": _name(rnd),
                "xb": "男" if int(sfzh[16]) % 2 else "女",
                "csrq": birth,
                "mz": "汉族" if rnd.random() < 0.92 else rnd.choice(["土家族", "苗族", "回族", "瑶族"]),
                "hjdz": f"长沙市芙蓉区{rnd.choice(ROADS)}{rnd.randint(1, 399)}号",
                "jzdz": f"长沙市芙蓉区{rnd.choice(STREETS)}{rnd.choice(ROADS)}{rnd.randint(1, 399)}号",
            }
        )
    return out


def load(stdout) -> None:
    """Load rows into four published resources of the demo catalog."""
    rnd = random.Random(20261126)
    ga = User.objects.get(username="ga.officer")
    scjg = User.objects.get(username="scjg.officer")
    population = people(rnd, 600)
    _load(Resource.objects.get(name="常住人口基本信息"), ga, population, "常住人口基本信息.jsonl")
    permits = [
        {
            "sfzh": p["sfzh"],
            "xm": p["xm"],
            "jzzbh": f"4301{rnd.randint(10**9, 10**10 - 1)}",
            "qfrq": f"2025-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}",
            "yxqz": f"2028-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}",
        }
        for p in population[:120]
    ]
    _load(Resource.objects.get(name="居住证办理信息"), ga, permits, "居住证办理信息.jsonl")
    companies, seen = [], set()
    while len(companies) < 250:
        code = company_code(rnd)
        if code in seen:
            continue
        seen.add(code)
        companies.append(
            {
                "tyshxydm": code,
                "ztmc": f"长沙{rnd.choice(['芙蓉', '星城', '湘江', '岳麓', '橘洲'])}{rnd.choice(['科技', '商贸', '餐饮', '建设', '文化'])}有限公司{len(companies) + 1}",
                "fddbr": _name(rnd),
                "zczb": f"{rnd.randint(10, 5000)}.00",
                "clrq": f"{rnd.randint(2000, 2025)}-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}",
                "jycs": f"长沙市芙蓉区{rnd.choice(ROADS)}{rnd.randint(1, 399)}号",
                "jyfw": rnd.choice(["软件开发", "餐饮服务", "日用百货零售", "建筑工程施工", "文化艺术交流"]),
                "djzt": rnd.choice(["存续", "存续", "存续", "注销"]),
            }
        )
    _load(Resource.objects.get(name="市场主体登记信息"), scjg, companies, "市场主体登记信息.jsonl")
    penalties = [
        {
            "tyshxydm": c["tyshxydm"],
            "cfjdswh": f"芙市监处罚〔2026〕{i + 1}号",
            "cfnr": rnd.choice(["警告", "罚款 5000 元", "没收违法所得"]),
            "cfrq": f"2026-{rnd.randint(1, 10):02d}-{rnd.randint(1, 28):02d}",
        }
        for i, c in enumerate(companies[:30])
    ]
    _load(Resource.objects.get(name="行政处罚信息"), scjg, penalties, "行政处罚信息.jsonl")
    stdout.write("  数据归集：常住人口 600 条、居住证 120 条、市场主体 250 条、行政处罚 30 条。\n")
