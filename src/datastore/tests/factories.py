"""Published table resources with data items, and valid identifiers, for datastore tests.

Resources are created directly with the ORM in the published state (the catalog workflow is
tested by the catalog app)."""

from __future__ import annotations

import datetime as dt
import random

from stdnum.cn import ric, uscc

from catalog.models import DataItem, DataType, IdentifierKind, Resource, ResourceFormat, ResourceStatus

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def make_id_card(rng: random.Random, area: str = "430102") -> str:
    """A valid 身份证号 (real birth date, correct MOD 11-2 check character)."""
    born = dt.date(1950, 1, 1) + dt.timedelta(days=rng.randrange(0, 365 * 70))
    body = f"{area}{born:%Y%m%d}{rng.randrange(0, 1000):03d}"
    return body + ric.calc_check_digit(body + "0")


def make_uscc(rng: random.Random) -> str:
    body = "91430102" + "".join(rng.choice(USCC_ALPHABET) for _ in range(9))
    return body + uscc.calc_check_digit(body)


def person_resource(
    provider, *, update_cycle: str = "monthly", name: str = "人口基础信息", key: str = "id_card"
) -> Resource:
    """身份证号 (key), 姓名, 出生日期, 统一社会信用代码 of the employer, 月收入, 是否在职."""
    resource = Resource.objects.create(
        name=name,
        provider=provider,
        classification="11",
        format=ResourceFormat.TABLE,
        sharing_type="conditional",
        update_cycle=update_cycle,
        status=ResourceStatus.PUBLISHED,
        version=1,
    )
    specs = [
        dict(
            code="id_card",
            name="身份证号",
            data_type=DataType.STRING,
            length=18,
            required=True,
            identifier_kind=IdentifierKind.ID_CARD,
        ),
        dict(code="name", name="姓名", data_type=DataType.STRING, length=50, required=True),
        dict(code="birth_date", name="出生日期", data_type=DataType.DATE),
        dict(
            code="employer",
            name="工作单位代码",
            data_type=DataType.STRING,
            length=18,
            identifier_kind=IdentifierKind.USCC,
        ),
        dict(code="income", name="月收入", data_type=DataType.DECIMAL, length=12, precision=2),
        dict(code="employed", name="是否在职", data_type=DataType.BOOLEAN),
        dict(code="children", name="子女数", data_type=DataType.INTEGER),
    ]
    for pos, spec in enumerate(specs):
        DataItem.objects.create(resource=resource, position=pos, is_key=(spec["code"] == key), **spec)
    return resource


def csv_text(rows: list[list[str]], header: list[str] | None = None, sep: str = ",") -> str:
    header = header or ["id_card", "name", "birth_date", "employer", "income", "employed", "children"]
    return "\n".join(sep.join(r) for r in [header, *rows]) + "\n"
