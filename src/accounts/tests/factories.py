"""Factories for units and users. Generated USCCs carry a correct check character."""

from __future__ import annotations

import factory
from stdnum.cn import uscc as uscc_mod

from accounts.models import RoleAssignment, Unit, User

_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def make_uscc(n: int) -> str:
    """A valid 统一社会信用代码 for sequence ``n`` (organ code 11, Furong district 430102)."""
    body = f"11430102{n:09d}"[:17]
    body = "".join(c if c in _ALPHABET else "0" for c in body)
    return body + uscc_mod.calc_check_digit(body)


class UnitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Unit

    name = factory.Sequence(lambda n: f"测试单位{n}")
    short_name = factory.Sequence(lambda n: f"单位{n}")
    code = factory.Sequence(lambda n: f"430102{n:03d}")
    kind = Unit.Kind.UNIT
    uscc = factory.Sequence(lambda n: make_uscc(n + 1))


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    full_name = factory.Sequence(lambda n: f"测试用户{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.gov.cn")
    unit = factory.SubFactory(UnitFactory)
    must_change_password = False
    password = factory.PostGenerationMethodCall("set_password", "Govhub#2026pass")

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        if create and extracted:
            for role in extracted:
                RoleAssignment.objects.create(user=self, role=role)
            self.clear_role_cache()
        if create:
            self.save()


def make_api_client(unit, *, scopes=None, name: str | None = None):
    """An API client of ``unit`` registered through the service, by a unit admin of that unit."""
    from accounts import services
    from accounts.roles import Role

    admin = UserFactory(unit=unit, roles=[Role.UNIT_ADMIN])
    client = services.api_client_create(
        by=admin,
        unit=unit,
        name=name or f"客户端{ApiClientSeq.next()}",
        system_name="业务协同系统",
        scopes=scopes or [],
    )
    return client, admin


def issue_token(client, by, **kwargs):
    """(token, raw secret) issued through the service."""
    from accounts import services

    return services.api_token_issue(client=client, by=by, **kwargs)


class ApiClientSeq:
    n = 0

    @classmethod
    def next(cls) -> int:
        cls.n += 1
        return cls.n


def import_workbook(rows, header=None) -> bytes:
    """An .xlsx like the import template, with ``rows`` below the header."""
    import io

    from openpyxl import Workbook

    from accounts.importing import COLUMNS

    wb = Workbook()
    ws = wb.active
    ws.append(header or [label for _key, label in COLUMNS])
    for row in rows:
        ws.append(list(row))
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
