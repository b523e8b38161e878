"""Shared pytest fixtures: units, users with roles, API clients."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def make_unit(db):
    from accounts.tests.factories import UnitFactory

    return UnitFactory


@pytest.fixture
def make_user(db):
    """``make_user(roles=[Role.DATA_OFFICER], unit=unit)``."""
    from accounts.tests.factories import UserFactory

    return UserFactory


@pytest.fixture
def center(db):
    from accounts.models import Unit
    from accounts.tests.factories import UnitFactory

    return UnitFactory(kind=Unit.Kind.CENTER, name="芙蓉区数据资源中心", short_name="数据中心")
