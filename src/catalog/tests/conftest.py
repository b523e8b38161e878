"""Catalog fixtures: two provider units with data officers, the center's reviewer, a plain user."""

from __future__ import annotations

import pytest

from accounts.roles import Role


@pytest.fixture
def unit_a(make_unit):
    return make_unit(name="芙蓉公安分局", short_name="公安分局", code="430199101")


@pytest.fixture
def unit_b(make_unit):
    return make_unit(name="芙蓉区市场监督管理局", short_name="市场监管局", code="430199102")


@pytest.fixture
def officer_a(make_user, unit_a):
    return make_user(roles=[Role.DATA_OFFICER], unit=unit_a)


@pytest.fixture
def officer_b(make_user, unit_b):
    return make_user(roles=[Role.DATA_OFFICER], unit=unit_b)


@pytest.fixture
def user_a(make_user, unit_a):
    """A plain unit user of the provider: not a data officer."""
    return make_user(roles=[Role.UNIT_USER], unit=unit_a)


@pytest.fixture
def user_b(make_user, unit_b):
    return make_user(roles=[Role.UNIT_USER], unit=unit_b)


@pytest.fixture
def reviewer(make_user, center):
    return make_user(roles=[Role.CENTER_REVIEWER], unit=center)


@pytest.fixture
def center_nobody(make_user, center):
    """Works at the center but holds no center role."""
    return make_user(roles=[Role.UNIT_USER], unit=center)
