"""Shared pytest fixtures: units, users with roles, API clients."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient


@pytest.fixture(scope="session", autouse=True)
def _audit_triggers_let_test_flush_through():
    """Transactional tests end with Django's flush; the append-only audit triggers (core.audit_db)
    are dropped for that flush and reinstalled right after."""
    from core.audit_db import allow_test_flush

    allow_test_flush()


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


@pytest.fixture(scope="module")
def browser():
    """Debian chromium for the module's browser tests (see core/tests/browser.py)."""
    from core.tests.browser import launched_chromium

    with launched_chromium() as chromium:
        yield chromium
