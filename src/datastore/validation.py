"""Batch validation with polars expressions (vectorised: no Python call per value).

``validate_batch`` turns one batch of raw text into typed columns, the rejected values (line,
column, reason, value) and per-item quality figures. Rules: required, type, length/precision,
identifiers (S§21: 身份证号, 统一社会信用代码, 不动产单元号), Chinese date formats. Area codes that
are unknown are warnings only (never a rejection).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field

import polars as pl

from catalog.models import DataType, IdentifierKind

from . import identifiers as ids
from .tables import Column, key_hash

_TRUE = ["1", "true", "t", "yes", "y", "是", "√", "对"]
_FALSE = ["0", "false", "f", "no", "n", "否", "×", "错"]
_DECIMAL_RE = r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$"


@dataclass
class Checked:
    frame: pl.DataFrame  # _gh_line, _gh_key_hash, c_<id>... typed, accepted rows only
    rejects: list[tuple[int, str, str, str]]
    rejected_rows: int
    stats: dict[str, dict[str, int]] = field(default_factory=dict)


def _compact(col: Column, v: pl.Expr) -> pl.Expr | None:
    """An identifier as python-stdnum compacts it (None for other columns)."""
    kind = col.identifier_kind
    if kind == IdentifierKind.ID_CARD:
        return ids.compact_id_card(v)
    if kind == IdentifierKind.USCC:
        return ids.compact_uscc(v)
    if kind == IdentifierKind.PROPERTY_UNIT:
        return ids.compact_property_unit(v)
    return None


def _convert(
    col: Column, v: pl.Expr, *, check_length: bool = True, compacted: pl.Expr | None = None
) -> tuple[pl.Expr, pl.Expr, pl.Expr | None]:
    """(typed value, reason or null, warning flag or None) for one column. ``check_length=False``
    when no value of the batch can be too long (see ``validate_batch``); ``compacted``: the
    identifier already compacted into a column of the frame (polars would compact it again for
    each of the checks that use it)."""
    t = col.data_type
    none = pl.lit(None, dtype=pl.String)
    kind = col.identifier_kind
    val = compacted if compacted is not None else _compact(col, v)
    if kind == IdentifierKind.ID_CARD:
        return val, ids.id_card_problem(val), ids.area_code_unknown(val)
    if kind == IdentifierKind.USCC:
        return val, ids.uscc_problem(val), ids.area_code_unknown(val.str.slice(2, 6))
    if kind == IdentifierKind.PROPERTY_UNIT:
        return val, ids.property_unit_problem(val), ids.area_code_unknown(val)
    if t == DataType.INTEGER:
        val = v.str.replace_all(",", "", literal=True).str.to_integer(strict=False)
        return val, pl.when(v.is_not_null() & val.is_null()).then(pl.lit("不是整数")).otherwise(none), None
    if t == DataType.DECIMAL:
        ok = v.str.contains(_DECIMAL_RE)
        frac = v.str.extract(r"\.(\d*)$").str.len_chars().fill_null(0)
        digits = v.str.replace_all(r"[^\d]", "").str.strip_chars_start("0").str.len_chars()
        reason = pl.when(v.is_null()).then(none).when(~ok).then(pl.lit("不是数字"))
        if col.precision is not None:
            reason = reason.when(frac > col.precision).then(pl.lit(f"小数位超过 {col.precision} 位"))
        if col.length:
            reason = reason.when(digits > col.length).then(pl.lit(f"数字位数超过 {col.length} 位"))
        return v, reason.otherwise(none), None
    if t == DataType.DATE:
        val = pl.col(col.column)  # parsed beforehand by _parse_dates
        return (
            val,
            pl.when(v.is_not_null() & val.is_null())
            .then(pl.lit("不是有效日期（如 2026-11-25、2026年11月25日）"))
            .otherwise(none),
            None,
        )
    if t == DataType.DATETIME:
        val = pl.col(col.column)
        return (
            val,
            pl.when(v.is_not_null() & val.is_null())
            .then(pl.lit("不是有效日期时间（如 2026-11-25 08:30:00）"))
            .otherwise(none),
            None,
        )
    if t == DataType.BOOLEAN:
        low = v.str.to_lowercase()
        val = pl.when(low.is_in(_TRUE)).then(True).when(low.is_in(_FALSE)).then(False).otherwise(None)
        return (
            val,
            pl.when(v.is_not_null() & val.is_null()).then(pl.lit("不是布尔值（是/否）")).otherwise(none),
            None,
        )
    reason = none
    if col.length and check_length:
        reason = (
            pl.when(v.str.len_chars() > col.length)
            .then(pl.lit(f"长度超过 {col.length} 个字符"))
            .otherwise(none)
        )
    return v, reason, None


@dataclass(frozen=True)
class _Plan:
    """The expressions that check a batch, built once per load (they depend on the columns only,
    and on which identifier columns were checked once per distinct value)."""

    trim: list
    prepare: list
    checks: list
    bad: pl.Expr
    figures: list


@functools.lru_cache(maxsize=64)
def _plan(cols: tuple[Column, ...], once: frozenset[str], fits: frozenset[str]) -> _Plan:
    # Trim surrounding blanks; an empty cell is null.
    trim = [pl.col("r_" + c.column).str.strip_chars().replace("", None).alias("v_" + c.column) for c in cols]
    exprs, warn_exprs, warned, prepare = [], [], [], []
    for c in cols:
        v = pl.col("v_" + c.column)
        compact = _compact(c, v)
        if compact is not None and c.column not in once:
            prepare.append(compact.alias("k_" + c.column))
        if c.column in once:
            val, reason = pl.col("iv_" + c.column), pl.col("ie_" + c.column)
            warn = pl.col("iw_" + c.column) if _convert(c, v)[2] is not None else None
        else:
            kept = pl.col("k_" + c.column) if compact is not None else None
            val, reason, warn = _convert(c, v, check_length=c.column not in fits, compacted=kept)
        if c.required or c.is_key:
            reason = pl.when(v.is_null()).then(pl.lit("必填项为空")).otherwise(reason)
        exprs += [val.alias(c.column), reason.alias("e_" + c.column)]
        if warn is not None:
            warn_exprs.append((v.is_not_null() & warn).alias("w_" + c.column))
            warned.append(c)
    err_cols = ["e_" + c.column for c in cols]
    bad = pl.any_horizontal([pl.col(e).is_not_null() for e in err_cols]) if err_cols else pl.lit(False)
    figures = [pl.col("v_" + c.column).is_not_null().sum().alias("nn_" + c.column) for c in cols]
    figures += [pl.col("e_" + c.column).is_not_null().sum().alias("inv_" + c.column) for c in cols]
    figures += [pl.col("w_" + c.column).sum().alias("warn_" + c.column) for c in warned]
    return _Plan(
        trim=trim, prepare=prepare, checks=exprs + warn_exprs, bad=bad.alias("_bad"), figures=figures
    )


def _parse_dates(df: pl.DataFrame, cols: Sequence[Column]) -> pl.DataFrame:
    """Date and datetime columns: one fast ISO parse for all rows, the slower parser of the
    Chinese spellings only for the rows the fast one could not read."""
    fast = []
    for c in cols:
        v = pl.col("v_" + c.column)
        if c.data_type == DataType.DATE and not c.identifier_kind:
            fast.append(ids.parse_date_fast(v).alias(c.column))
        elif c.data_type == DataType.DATETIME and not c.identifier_kind:
            fast.append(ids.parse_datetime_fast(v).alias(c.column))
    if not fast:
        return df
    df = df.with_columns(fast)
    for c in cols:
        if c.identifier_kind or c.data_type not in (DataType.DATE, DataType.DATETIME):
            continue
        v = pl.col("v_" + c.column)
        missing = df.select((v.is_not_null() & pl.col(c.column).is_null()).arg_true()).to_series()
        if missing.len():
            slow = ids.parse_date(v) if c.data_type == DataType.DATE else ids.parse_datetime(v)
            # only this column's unread values (gathering whole rows would copy every column)
            fixed = df.select(v.gather(missing)).select(slow).to_series()
            df = df.with_columns(df[c.column].scatter(missing, fixed))
    return df


def _identifiers_once(df: pl.DataFrame, cols: Sequence[Column]) -> tuple[pl.DataFrame, dict]:
    """An identifier column that repeats (the employer's 统一社会信用代码 on every employee's row)
    is checked once per distinct value and the result joined back: the check-character
    arithmetic is the costliest part of validation."""
    done: dict[str, tuple] = {}
    n = df.height
    for c in cols:
        if not c.identifier_kind:
            continue
        name = "v_" + c.column
        if n < 1000 or df[name].n_unique() * 2 > n:
            continue
        # compacted once into a column, as in the row-by-row checks (each check would compact again)
        compact = _compact(c, pl.col(name))
        kept = pl.col("k_") if compact is not None else None
        val, reason, warn = _convert(c, pl.col(name), compacted=kept)
        parts = [val.alias("iv_" + c.column), reason.alias("ie_" + c.column)]
        if warn is not None:
            parts.append(warn.alias("iw_" + c.column))
        once = df.select(pl.col(name).unique())
        if compact is not None:
            once = once.with_columns(compact.alias("k_"))
        once = once.with_columns(parts).drop("k_", strict=False)
        # joined on the one column, then set beside the frame: a join of the whole frame would
        # copy every column of the batch
        looked = df.select(name).join(once, on=name, how="left", nulls_equal=True, maintain_order="left")
        df = df.hstack(looked.drop(name))
        done[c.column] = (
            pl.col("iv_" + c.column),
            pl.col("ie_" + c.column),
            pl.col("iw_" + c.column) if warn is not None else None,
        )
    return df, done


def validate_batch(lines: Sequence[int], values: dict[str, list], cols: Sequence[Column]) -> Checked:
    """Validate one batch; columns absent from the file are null."""
    n = len(lines)
    data = {
        "_gh_line": lines.cast(pl.Int64) if isinstance(lines, pl.Series) else pl.Series(lines, dtype=pl.Int64)
    }
    for c in cols:
        raw = values.get(c.column)
        if isinstance(raw, pl.Series):
            data["r_" + c.column] = raw.cast(pl.String)
        else:
            data["r_" + c.column] = pl.Series(raw if raw is not None else [None] * n, dtype=pl.String)
    df = pl.DataFrame(data)
    cols = tuple(cols)
    plan = _plan(cols, frozenset(), frozenset())
    df = df.with_columns(plan.trim)
    df = _parse_dates(df, cols)
    df, checked_once = _identifiers_once(df, cols)
    # A text of n bytes has at most n characters: a column whose longest raw value fits its length
    # in bytes cannot be too long, and its characters need not be counted (most batches).
    sized = [c for c in cols if c.length and c.data_type == DataType.STRING and not c.identifier_kind]
    fits: frozenset[str] = frozenset()
    if sized and n:
        longest = df.select([pl.col("r_" + c.column).str.len_bytes().max().alias(c.column) for c in sized])
        fits = frozenset(c.column for c in sized if (longest[c.column][0] or 0) <= c.length)
    plan = _plan(cols, frozenset(checked_once), fits)
    if plan.prepare:
        df = df.with_columns(plan.prepare)
    df = df.with_columns(plan.checks).with_columns(plan.bad)

    rejects: list[tuple[int, str, str, str]] = []
    bad_rows = int(df["_bad"].sum()) if n else 0
    for c in cols if bad_rows else ():
        part = df.filter(pl.col("e_" + c.column).is_not_null()).select(
            "_gh_line", "e_" + c.column, "r_" + c.column
        )
        for line, reason, raw in part.iter_rows():
            rejects.append((int(line), c.label, str(reason), (raw or "")[:500]))
    rejects.sort(key=lambda r: r[0])

    stats: dict[str, dict[str, int]] = {}
    figures = df.select(plan.figures).row(0, named=True) if n else {}
    for c in cols:
        stats[str(c.item_id)] = {
            "non_null": int(figures.get("nn_" + c.column, 0) or 0),
            "invalid": int(figures.get("inv_" + c.column, 0) or 0),
            "warnings": int(figures.get("warn_" + c.column, 0) or 0),
        }

    # Only the columns kept are filtered (the frame also holds raw, trimmed and error columns).
    good = df.select(["_gh_line", "_bad"] + [c.column for c in cols])
    if bad_rows:
        good = good.filter(~pl.col("_bad"))
    keys = [c for c in cols if c.is_key]
    if keys:
        joined = pl.concat_str([pl.col(c.column).cast(pl.String) for c in keys], separator="\x1f")
        good = good.with_columns(joined.alias("_gh_key_hash"))
        long = good.select(
            (
                (pl.col("_gh_key_hash").str.len_chars() > 32) | pl.col("_gh_key_hash").str.starts_with("#")
            ).arg_true()
        ).to_series()
        if long.len():
            hashed = pl.Series([key_hash(k) for k in good["_gh_key_hash"][long]], dtype=pl.String)
            good = good.with_columns(good["_gh_key_hash"].scatter(long, hashed))
    else:
        good = good.with_columns(pl.lit(None, dtype=pl.String).alias("_gh_key_hash"))
    frame = good.select(["_gh_line", "_gh_key_hash"] + [c.column for c in cols])
    return Checked(frame=frame, rejects=rejects, rejected_rows=n - good.height, stats=stats)
