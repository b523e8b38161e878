"""Masking of sensitive and personal-privacy items (S§37): applied on every read unless the
grant allows plain values.

    身份证号 430102********1234   names 张*  /  欧阳** kept first char   phones 138****5678
"""

from __future__ import annotations

from typing import Any

from catalog.models import IdentifierKind, Sensitivity

MASKED_SENSITIVITIES = frozenset({Sensitivity.SENSITIVE, Sensitivity.PERSONAL})


def mask_id_card(value: str) -> str:
    """Keep the 6-digit area code and the last 4 characters: ``430102********1234``."""
    if len(value) <= 10:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask_name(value: str) -> str:
    """Keep the first character: ``张*``, ``欧阳**`` → ``欧**``."""
    if not value:
        return value
    return value[0] + "*" * max(1, len(value) - 1)


def mask_phone(value: str) -> str:
    """Keep the first 3 and last 4 digits: ``138****5678``."""
    digits = value.strip()
    if len(digits) < 8:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def mask_generic(value: str) -> str:
    """Keep one third at each end."""
    n = len(value)
    if n <= 2:
        return "*" * n
    keep = max(1, n // 3)
    return value[:keep] + "*" * (n - 2 * keep) + value[-keep:]


def masker_for(item) -> Any:
    """The function that masks values of ``item`` (a DataItem), or None if it is shown plain."""
    if item.sensitivity not in MASKED_SENSITIVITIES:
        return None
    if item.identifier_kind == IdentifierKind.ID_CARD:
        return mask_id_card
    code = item.code.lower()
    name = item.name
    if "phone" in code or "mobile" in code or "tel" in code or "电话" in name or "手机" in name:
        return mask_phone
    if code in {"name", "xm"} or code.endswith("_name") or name in {"姓名", "名称"} or name.endswith("姓名"):
        return mask_name
    return mask_generic


def mask_row(row: dict, maskers: dict) -> dict:
    """Apply ``{column: masker}`` to one row; ``None`` values stay ``None``."""
    for col, fn in maskers.items():
        v = row.get(col)
        if v is not None and fn is not None:
            row[col] = fn(str(v))
    return row
