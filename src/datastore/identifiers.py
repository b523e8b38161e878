"""Vectorised checks of the national identifiers (S§21) and of Chinese date formats.

Every function returns a polars *expression*, so a whole batch is checked at once inside
polars (no Python call per row; python-stdnum's ``cn.ric.is_valid`` costs ~44 s per million
IDs, these expressions well under a second). python-stdnum is the reference the tests compare
against (``datastore/tests/test_identifiers.py``).

Errors (the row is rejected): structure, birth date and check character. Checks against code
tables that change over time (administrative area codes) are *warnings* only: a person born in
a county that was later renamed still has a valid 身份证号, and validation must never reject a
valid real record.
"""

from __future__ import annotations

from functools import lru_cache

import polars as pl

# GB 11643-1999 身份证号: weights 2^(17-i) mod 11, check = (12 - sum mod 11) mod 11, 10 -> "X".
_RIC_WEIGHTS = [pow(2, 17 - i, 11) for i in range(17)]
_RIC_CHECK = "10X98765432"  # index = sum mod 11

# GB 32100-2015 统一社会信用代码.
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC_INDEX = {c: i for i, c in enumerate(USCC_ALPHABET)}

# GB/T 37346-2019 不动产单元号, 28 characters: 6 administrative division + 6 cadastral area and
# sub-area + 2 parcel/sea-area feature code + 5 parcel number + 1 fixture feature code (F 房屋,
# L 林木, Q 其他, W 无定着物) + 8 fixture unit number. The feature letters are kept broad
# (any capital letter) so that codes issued under provincial variants are not rejected.
_PROPERTY_UNIT_RE = r"^[0-9]{12}[A-Z]{2}[0-9]{5}[FLQW][0-9]{8}$"

# 2026-11-25, 2026/11/25, 2026.11.25, 2026年11月25日, 2026-1-5, 20261125
_DATE_RE = r"^([0-9]{4})(?:[-/.年]([0-9]{1,2})[-/.月]([0-9]{1,2})日?|([0-9]{2})([0-9]{2}))$"
# the same date followed by a time: 2026-11-25 08:30, 2026/11/25T08:30:15, 2026年11月25日 8时30分
_DATETIME_RE = r"^([0-9]{4})[-/.年]([0-9]{1,2})[-/.月]([0-9]{1,2})日?(?:[ T]+([0-9]{1,2})[:时]([0-9]{1,2})(?:[:分]([0-9]{1,2})秒?)?分?)?$"


def compact_id_card(expr: pl.Expr) -> pl.Expr:
    """Normalise as python-stdnum does: drop spaces, upper-case (``x`` -> ``X``)."""
    return expr.str.replace_all(" ", "", literal=True).str.strip_chars().str.to_uppercase()


def compact_uscc(expr: pl.Expr) -> pl.Expr:
    """Normalise as python-stdnum does: drop spaces and hyphens, upper-case."""
    return expr.str.replace_all(r"[ \-]", "").str.strip_chars().str.to_uppercase()


def compact_property_unit(expr: pl.Expr) -> pl.Expr:
    return expr.str.replace_all(r"[ \-]", "").str.strip_chars().str.to_uppercase()


def id_card_valid(expr: pl.Expr) -> pl.Expr:
    """True where ``expr`` (already compacted) is a structurally valid 身份证号: 18 characters,
    17 digits, a real birth date (YYYYMMDD at 7-14), ISO 7064 MOD 11-2 check character."""
    return pl.when(expr.is_null()).then(None).otherwise(id_card_problem(expr).is_null())


def uscc_valid(expr: pl.Expr) -> pl.Expr:
    """True where ``expr`` (already compacted) is a valid 统一社会信用代码 (GB 32100-2015): 18
    characters, the first 8 digits, the rest from the GB 32100 alphabet, and the check character."""
    return pl.when(expr.is_null()).then(None).otherwise(uscc_problem(expr).is_null())


def property_unit_valid(expr: pl.Expr) -> pl.Expr:
    """True where ``expr`` (already compacted) has the 28-character structure of GB/T 37346."""
    return pl.when(expr.is_null()).then(None).otherwise(property_unit_problem(expr).is_null())


@lru_cache(maxsize=1)
def known_area_codes() -> frozenset[str]:
    """Six-digit administrative division codes known to python-stdnum's table (past and present)."""
    from stdnum import numdb

    codes: set[str] = set()
    db = numdb.get("cn/loc")
    # numdb keeps a prefix tree; walk it for every six-digit leaf.
    for prefix, _props, children in _walk(db.prefixes, ""):
        if len(prefix) == 6 and not children:
            codes.add(prefix)
    return frozenset(codes)


def _walk(nodes, base: str):
    for width, low, high, props, children in nodes:
        prefixes = [str(n).zfill(width) for n in range(int(low), int(high) + 1)]
        for p in prefixes:
            full = base + p
            yield full, props, children
            if children:
                yield from _walk(children, full)


@lru_cache(maxsize=1)
def _area_code_series() -> pl.Series:
    return pl.Series("area", sorted(known_area_codes()), dtype=pl.String)


def area_code_unknown(expr: pl.Expr) -> pl.Expr:
    """Warning only: the first six characters are not a known administrative division code."""
    return ~expr.str.slice(0, 6).is_in(_area_code_series().implode())


def parse_date_fast(expr: pl.Expr) -> pl.Expr:
    """The common cases (ISO ``2026-11-25``, then ``2026年11月25日``) each in one native parse;
    ``parse_date`` handles the rest."""
    return pl.coalesce(
        expr.str.to_date("%Y-%m-%d", strict=False), expr.str.to_date("%Y年%m月%d日", strict=False)
    )


def parse_datetime_fast(expr: pl.Expr) -> pl.Expr:
    return expr.str.to_datetime("%Y-%m-%d %H:%M:%S", strict=False, time_unit="us")


def parse_date(expr: pl.Expr) -> pl.Expr:
    """Parse the common Chinese date spellings to ``pl.Date``; null where not a real date."""
    g = expr.str.strip_chars().str.extract_groups(_DATE_RE)
    y = g.struct.field("1")
    m = pl.coalesce(g.struct.field("2"), g.struct.field("4")).str.zfill(2)
    d = pl.coalesce(g.struct.field("3"), g.struct.field("5")).str.zfill(2)
    return pl.concat_str([y, m, d], separator="-").str.to_date("%Y-%m-%d", strict=False)


def parse_datetime(expr: pl.Expr) -> pl.Expr:
    """Parse ``date [time]`` in the common Chinese spellings to naive local ``pl.Datetime``."""
    g = expr.str.strip_chars().str.extract_groups(_DATETIME_RE)
    parts = [
        g.struct.field("1"),
        g.struct.field("2").str.zfill(2),
        g.struct.field("3").str.zfill(2),
        g.struct.field("4").fill_null("0").str.zfill(2),
        g.struct.field("5").fill_null("0").str.zfill(2),
        g.struct.field("6").fill_null("0").str.zfill(2),
    ]
    text = pl.concat_str(
        [
            parts[0],
            pl.lit("-"),
            parts[1],
            pl.lit("-"),
            parts[2],
            pl.lit(" "),
            parts[3],
            pl.lit(":"),
            parts[4],
            pl.lit(":"),
            parts[5],
        ]
    )
    return text.str.to_datetime("%Y-%m-%d %H:%M:%S", strict=False, time_unit="us")


def id_card_problem(expr: pl.Expr) -> pl.Expr:
    """Why a compacted 身份证号 is invalid (Chinese reason), or null when valid or empty.

    The weighted sum is computed with one base-13 parse of the 17-digit body: 13 ≡ 2 (mod 11),
    so int(body, 13) ≡ Σ d_i·2^(16-i) and the GB 11643 sum Σ d_i·2^(17-i) is twice that (the
    same identity python-stdnum uses)."""
    n = expr.str.slice(0, 17).str.to_integer(base=13, strict=False)
    expected = (12 - (2 * (n % 11)) % 11) % 11
    last = expr.str.slice(17, 1)
    got = pl.when(last == "X").then(pl.lit(10, dtype=pl.Int64)).otherwise(last.str.to_integer(strict=False))
    birth = expr.str.slice(6, 8).str.to_date("%Y%m%d", strict=False)
    return (
        pl.when(expr.is_null())
        .then(None)
        .when(expr.str.len_chars() != 18)
        .then(pl.lit("身份证号应为 18 位"))
        .when(~expr.str.contains(r"^[0-9]{17}[0-9X]$"))
        .then(pl.lit("身份证号前 17 位应为数字，末位为数字或 X"))
        .when(birth.is_null())
        .then(pl.lit("身份证号中的出生日期无效"))
        .when(got != expected)
        .then(pl.lit("身份证号校验位错误"))
        .otherwise(None)
    )


# GB 32100 alphabet index -> the base-34 digit with the same value (J is 18, written "I", ...).
_USCC_TO_BASE34 = (list("JKLMNPQRTUWXY"), list("IJKLMNOPQRSTU"))


def uscc_problem(expr: pl.Expr) -> pl.Expr:
    """Why a compacted 统一社会信用代码 is invalid, or null when valid or empty.

    The weights are 3^i mod 31. Read as base-34 numbers (34 ≡ 3 mod 31), the reversed first 8
    digits and the reversed next 9 characters (letters translated to the base-34 digit of their
    alphabet index) give the weighted sum in two vectorised parses: Σ = n1 + 3^8·n2 (mod 31)."""
    tr = expr.str.replace_many(*_USCC_TO_BASE34)
    n1 = expr.str.slice(0, 8).str.reverse().str.to_integer(base=34, strict=False)
    n2 = tr.str.slice(8, 9).str.reverse().str.to_integer(base=34, strict=False)
    total = (n1 % 31 + pow(3, 8, 31) * (n2 % 31)) % 31
    expected = (31 - total) % 31
    got = tr.str.slice(17, 1).str.to_integer(base=34, strict=False)
    return (
        pl.when(expr.is_null())
        .then(None)
        .when(expr.str.len_chars() != 18)
        .then(pl.lit("统一社会信用代码应为 18 位"))
        .when(~expr.str.contains(r"^[0-9]{8}[0-9A-HJ-NPQRTUWXY]{10}$"))
        .then(pl.lit("统一社会信用代码含有不允许的字符"))
        .when(got != expected)
        .then(pl.lit("统一社会信用代码校验位错误"))
        .otherwise(None)
    )


def property_unit_problem(expr: pl.Expr) -> pl.Expr:
    """Why a compacted 不动产单元号 is invalid, or null when valid or empty."""
    return (
        pl.when(expr.is_null())
        .then(None)
        .when(expr.str.len_chars() != 28)
        .then(pl.lit("不动产单元号应为 28 位"))
        .when(~expr.str.contains(_PROPERTY_UNIT_RE))
        .then(pl.lit("不动产单元号结构不符合 GB/T 37346"))
        .otherwise(None)
    )
