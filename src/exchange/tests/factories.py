"""Published resources with data items, for exchange tests (created directly: the catalog's
own workflow is tested in catalog)."""

from __future__ import annotations

import itertools

from django.utils import timezone

from catalog.models import (
    Channel,
    Classification,
    DataItem,
    DataType,
    IdentifierKind,
    Resource,
    ResourceStatus,
    Sensitivity,
    SharingType,
    UpdateCycle,
)

_seq = itertools.count(1)

POPULATION_ITEMS = [
    ("sfzh", "身份证号", DataType.STRING, IdentifierKind.ID_CARD, Sensitivity.PERSONAL, True),
    ("xm", "姓名", DataType.STRING, IdentifierKind.NONE, Sensitivity.PERSONAL, False),
    ("lxdh", "联系电话", DataType.STRING, IdentifierKind.NONE, Sensitivity.PERSONAL, False),
    ("jd", "所属街道", DataType.STRING, IdentifierKind.NONE, Sensitivity.INTERNAL, False),
    ("csrq", "出生日期", DataType.DATE, IdentifierKind.NONE, Sensitivity.SENSITIVE, False),
]


def published_resource(
    *, provider, sharing_type=SharingType.UNCONDITIONAL, items=POPULATION_ITEMS, **kw
) -> Resource:
    n = next(_seq)
    res = Resource.objects.create(
        code=kw.pop("code", f"11{provider.code}{n:05d}"),
        name=kw.pop("name", f"常住人口基本信息{n}"),
        provider=provider,
        classification=kw.pop("classification", Classification.BASE_POPULATION),
        sharing_type=sharing_type,
        sharing_conditions="仅限履职使用" if sharing_type == SharingType.CONDITIONAL else "",
        not_shared_basis="《中华人民共和国个人信息保护法》第十三条"
        if sharing_type == SharingType.NOT_SHARED
        else "",
        update_cycle=UpdateCycle.DAILY,
        channels=kw.pop("channels", list(Channel.values)),
        status=ResourceStatus.PUBLISHED,
        version=1,
        first_published_at=timezone.now(),
        **kw,
    )
    for pos, (code, name, dtype, ident, sens, key) in enumerate(items):
        DataItem.objects.create(
            resource=res,
            position=pos,
            code=code,
            name=name,
            data_type=dtype,
            length=18 if ident == IdentifierKind.ID_CARD else 100,
            required=key,
            is_key=key,
            identifier_kind=ident,
            sensitivity=sens,
        )
    return res
