"""Demo exchange: grants of both sharing types, a pending conditional request, and a few audited
reads so the usage page and "who accessed" have content. Called by ``manage.py demo_load``."""

from __future__ import annotations

from datetime import date, timedelta

from django.utils import timezone

from accounts.models import User
from catalog.models import Resource

from . import reading, selectors, services


def load(stdout) -> None:
    today = timezone.localdate()
    mz_officer = User.objects.get(username="mz.officer")
    mz_user = User.objects.get(username="mz.user")
    rs_user = User.objects.get(username="rs.user")
    ga_officer = User.objects.get(username="ga.officer")
    reviewer = User.objects.get(username="center.reviewer")
    population = Resource.objects.get(name="常住人口基本信息")
    companies = Resource.objects.get(name="市场主体登记信息")

    # 有条件共享: 民政局 applies for population data to check 低保 eligibility (S§29, S§31).
    req = services.access_request_submit(
        resource=population,
        by=mz_officer,
        purpose_category="data_check",
        purpose="最低生活保障对象家庭成员身份核对",
        basis="《社会救助暂行办法》第十一条、《湖南省最低生活保障办法》",
        items=["sfzh", "xm", "xb", "csrq", "jzdz"],
        channels=["online_query", "system_feed"],
        valid_from=today,
        valid_to=today + timedelta(days=365),
    )
    services.access_request_provider_opinion(
        access_request=req, by=ga_officer, agrees=True, opinion="同意，居住地址仅用于核对，不得对外提供。"
    )
    services.access_request_decide(
        access_request=req,
        by=reviewer,
        approve=True,
        items=["sfzh", "xm", "xb", "csrq"],
        reason="居住地址非核对必需，按最小必要原则不予提供。",
    )
    # 无条件共享: 人社局 obtains company registrations directly.
    services.grant_obtain_unconditional(
        resource=companies,
        by=rs_user,
        items=["tyshxydm", "ztmc", "fddbr", "djzt"],
        purpose_category="business_collaboration",
        purpose="用人单位参保登记信息比对",
        channels=["online_query", "batch_download"],
        valid_to=date(today.year + 1, 12, 31),
    )
    # A request still waiting for the provider's opinion (10 working days, 国发〔2016〕51号).
    services.access_request_submit(
        resource=population,
        by=User.objects.get(username="wj.officer"),
        purpose_category="administrative_basis",
        purpose="出生医学证明签发前的父母身份核验",
        basis="《中华人民共和国母婴保健法》第二十三条",
        items=["sfzh", "xm", "csrq"],
        channels=["online_query"],
    )
    # A few audited reads by 民政局, as its 低保 system would make them.
    from datastore import tables

    ctx = selectors.access_check(
        user=mz_user, resource=population, channel="online_query", purpose="data_check"
    )
    for row in tables.select_rows(population, ["sfzh"], None, None, 5):
        reading.online_query(ctx=ctx, user=mz_user, params={"sfzh": row["sfzh"]})
    stdout.write("  共享交换：2 个授权、1 个待答复申请、5 次联机查询（均已审计）。\n")
