"""The demo catalog loads through the real services (``manage.py demo_load``)."""

from __future__ import annotations

import io

import pytest

from catalog.models import Resource, ResourceStatus

pytestmark = pytest.mark.django_db


def test_demo_catalog_loads_published_resources_with_identifiers():
    from accounts import demo as accounts_demo
    from catalog import demo

    accounts_demo.load(io.StringIO())
    out = io.StringIO()
    demo.load(out)
    assert Resource.objects.filter(status=ResourceStatus.PUBLISHED).count() == len(demo.RESOURCES)
    assert len(demo.RESOURCES) + len(demo.IN_PROGRESS) >= 30
    population = Resource.objects.get(name="常住人口基本信息")
    assert population.code.startswith("11430102101")
    assert population.items.filter(identifier_kind="id_card", is_key=True).exists()
    assert Resource.objects.get(name="市场主体登记信息").items.filter(identifier_kind="uscc").exists()
    assert Resource.objects.get(name="房屋基本信息").items.filter(identifier_kind="property_unit").exists()
    assert set(Resource.objects.values_list("status", flat=True)) >= {
        "published",
        "draft",
        "submitted",
        "returned",
    }
    assert "资源目录" in out.getvalue()
