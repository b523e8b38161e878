"""Catalog test data: valid resource content, and helpers that go through the services."""

from __future__ import annotations

from typing import Any

from catalog import services
from catalog.models import Resource


def person_items() -> list[dict[str, Any]]:
    return [
        {
            "code": "sfzh",
            "name": "身份证号",
            "data_type": "string",
            "length": 18,
            "required": True,
            "is_key": True,
            "identifier_kind": "id_card",
            "sensitivity": "personal",
        },
        {
            "code": "xm",
            "name": "姓名",
            "data_type": "string",
            "length": 50,
            "required": True,
            "sensitivity": "personal",
        },
        {"code": "hjdz", "name": "户籍地址", "data_type": "string", "length": 200},
    ]


def resource_fields(**overrides: Any) -> dict[str, Any]:
    fields = {
        "name": "常住人口基本信息",
        "summary": "辖区常住人口的基本信息",
        "classification": "11",
        "format": "table",
        "sharing_type": "unconditional",
        "open_attribute": "not_open",
        "update_cycle": "daily",
        "channels": ["online_query", "batch_download"],
        "keywords": "人口,户籍",
    }
    fields.update(overrides)
    return fields


def business_items() -> list[dict[str, Any]]:
    return [
        {"code": "bh", "name": "编号", "data_type": "string", "length": 32, "is_key": True},
        {"code": "mc", "name": "名称", "data_type": "string", "length": 100},
    ]


def register(officer, *, items: list[dict] | None = None, **overrides: Any) -> Resource:
    return services.resource_create(
        by=officer, fields=resource_fields(**overrides), items=items if items is not None else person_items()
    )


def publish(
    officer, reviewer, *, items: list[dict] | None = None, justification: str = "", **overrides: Any
) -> Resource:
    """Register and take a resource all the way to published."""
    resource = register(officer, items=items, **overrides)
    services.resource_submit(resource=resource, by=officer, justification=justification)
    services.resource_secrecy_confirm(resource=resource, by=officer, no_state_secrets=True)
    return services.resource_approve(
        resource=resource, by=reviewer, confirm_legal_basis=resource.sharing_type == "not_shared"
    )
