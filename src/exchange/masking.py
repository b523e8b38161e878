"""Masking of sensitive and personal-privacy items (S§37): applied on every read unless the
grant allows plain values.

    身份证号 430102********1234   names 张*  /  欧阳** kept first char   phones 138****5678
"""

from __future__ import annotations

import functools
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


# --- the same masks as SQL, for the streaming download on PostgreSQL --------------------------
#
# A mask in SQL is two expressions over SQL the exchange generates from a column (never user text):
# ``prepare(x)``, the text the mask works on, and ``mask(v, n)`` over that prepared text ``v`` and
# its length ``n = char_length(v)``. char_length and overlay count characters (code points), as
# Python's len and slices do. Every mask gives NULL for NULL and for '' (the CSV writes an empty
# text like a NULL: nothing) and a non-empty text for a non-empty one.


@functools.cache
def py_whitespace_sql() -> str:
    """The characters Python's ``str.strip()`` removes (``str.isspace``), as a PostgreSQL literal."""
    return "U&'" + "".join(f"\\+{c:06X}" for c in range(0x110000) if chr(c).isspace()) + "'"


def _stars(n: str) -> str:
    return f"repeat('*', {n})"


def _by_length(v: str, n: str, common: tuple[int, ...], stars, general: str) -> str:
    """For the usual lengths ``common`` (most frequent first), the stars as a constant: one
    ``overlay`` per value instead of five calls, and a download masks millions of values.
    ``stars(k) -> (count, from)``; ``general`` for every other length."""
    cases = "".join(
        f" WHEN {k} THEN overlay({v} placing '{'*' * count}' from {start} for {count})"
        for k in common
        for count, start in [stars(k)]
    )
    return f"(CASE {n}{cases} WHEN 0 THEN NULL ELSE {general} END)"


def sql_mask_id_card(v: str, n: str) -> str:
    """``mask_id_card``: 6 + stars + 4 (overlay from 7 replaces exactly the n - 10 middle ones)."""
    general = (
        f"CASE WHEN {n} <= 10 THEN {_stars(n)} ELSE overlay({v} placing {_stars(f'{n} - 10')} from 7) END"
    )
    return _by_length(v, n, (18, 15), lambda k: (k - 10, 7), general)


def sql_mask_name(v: str, n: str) -> str:
    """``mask_name``: the first character, then at least one star (a 1-character name gets one)."""
    general = f"overlay({v} placing {_stars(f'greatest(1, {n} - 1)')} from 2)"
    return _by_length(v, n, (3, 2, 4), lambda k: (k - 1, 2), general)


def sql_mask_phone(v: str, n: str) -> str:
    """``mask_phone`` over the stripped text: 3 + stars + 4."""
    general = f"CASE WHEN {n} < 8 THEN {_stars(n)} ELSE overlay({v} placing {_stars(f'{n} - 7')} from 4) END"
    return _by_length(v, n, (11, 12), lambda k: (k - 7, 4), general)


def sql_mask_generic(v: str, n: str) -> str:
    """``mask_generic``: a third (at least one) at each end. Dates (10) and times (19) first."""
    general = (
        f"CASE WHEN {n} <= 2 THEN {_stars(n)} "
        f"ELSE overlay({v} placing {_stars(f'{n} - 2 * ({n} / 3)')} from {n} / 3 + 1) END"
    )
    common = (10, 19, *range(3, 10), *range(11, 19), 20)
    return _by_length(v, n, common, lambda k: (k - 2 * (k // 3), k // 3 + 1), general)


def _strip(x: str) -> str:
    return f"btrim({x}, {py_whitespace_sql()})"


def _same(x: str) -> str:
    return x


#: masker → (prepare, mask) in SQL.
SQL_MASKS = {
    mask_id_card: (_same, sql_mask_id_card),
    mask_name: (_same, sql_mask_name),
    mask_phone: (_strip, sql_mask_phone),
    mask_generic: (_same, sql_mask_generic),
}


def sql_mask(fn) -> tuple | None:
    """``(prepare, mask)`` for masker ``fn`` (see above), or None if it has no SQL form (the caller
    then masks in Python)."""
    return SQL_MASKS.get(fn)
