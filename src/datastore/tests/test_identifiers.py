"""The vectorised identifier and date checks agree with python-stdnum (the reference) on valid
and corrupted inputs (S§21). Property-based with hypothesis, plus fixed cases."""

from __future__ import annotations

import datetime as dt
import random

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum import exceptions as stdnum_exc
from stdnum.cn import ric, uscc

from datastore import identifiers as ids

from .factories import USCC_ALPHABET, make_id_card, make_uscc


def ric_structurally_valid(number: str) -> bool:
    """python-stdnum's ``cn.ric.validate`` step by step, without its birth-place lookup: area
    codes change over time, so an unknown one must never reject a record (warning only). (The
    lookup also raises KeyError for some province-level codes in stdnum 2.2.)"""
    number = ric.compact(number)
    if len(number) != 18 or not number[:-1].isdigit() or not number[:-1].isascii():
        return False
    if number[-1] != ric.calc_check_digit(number):
        return False
    try:
        ric.get_birth_date(number)
    except stdnum_exc.ValidationError:
        return False
    return True


def vector(fn, compact, values: list[str]) -> list[bool]:
    s = pl.DataFrame({"v": pl.Series(values, dtype=pl.String)})
    return s.select(fn(compact(pl.col("v")))).to_series().to_list()


def corrupt(rng: random.Random, value: str, alphabet: str) -> str:
    chars = list(value)
    op = rng.randrange(4)
    i = rng.randrange(len(chars))
    if op == 0:
        chars[i] = rng.choice(alphabet)
    elif op == 1 and len(chars) > 1:
        j = rng.randrange(len(chars))
        chars[i], chars[j] = chars[j], chars[i]
    elif op == 2:
        del chars[i]
    else:
        chars.insert(i, rng.choice(alphabet))
    return "".join(chars)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_id_card_check_agrees_with_stdnum_on_valid_and_corrupted_numbers_s21(seed):
    rng = random.Random(seed)
    valid = [make_id_card(rng, area=rng.choice(["430102", "110101", "999999", "440305"])) for _ in range(30)]
    corrupted = [corrupt(rng, v, "0123456789X") for v in valid]
    values = (
        valid + corrupted + [v.lower() for v in valid[:5]] + [v[:6] + "19990230" + v[14:] for v in valid[:5]]
    )
    got = vector(ids.id_card_valid, ids.compact_id_card, values)
    assert got == [ric_structurally_valid(v) for v in values]
    assert all(got[:30])  # even an unknown area code (999999) is valid


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_uscc_check_agrees_with_stdnum_on_valid_and_corrupted_codes_s21(seed):
    rng = random.Random(seed)
    valid = [make_uscc(rng) for _ in range(30)]
    corrupted = [corrupt(rng, v, USCC_ALPHABET + "IOZSV") for v in valid]
    values = valid + corrupted + [v.lower() for v in valid[:5]] + [v[:9] + "-" + v[9:] for v in valid[:3]]
    got = vector(ids.uscc_valid, ids.compact_uscc, values)
    assert got == [uscc.is_valid(v) for v in values]
    assert all(got[:30])


@given(st.text(alphabet="0123456789XxABCDEFGHJKLMNPQRTUWXY -", min_size=1, max_size=22))
@settings(max_examples=150, deadline=None)
def test_arbitrary_strings_agree_with_stdnum(text):
    assert vector(ids.uscc_valid, ids.compact_uscc, [text]) == [uscc.is_valid(text)]
    assert vector(ids.id_card_valid, ids.compact_id_card, [text]) == [ric_structurally_valid(text)]


def test_id_card_reasons_name_the_problem():
    good = "11010119900307447" + ric.calc_check_digit("110101199003074470")
    wrong = good[:-1] + ("0" if good[-1] != "0" else "1")
    frame = pl.DataFrame({"v": [good, wrong, "1234", "11010119900230447X", "1101011990030744A7", None]})
    reasons = frame.select(ids.id_card_problem(ids.compact_id_card(pl.col("v")))).to_series().to_list()
    assert reasons == [
        None,
        "身份证号校验位错误",
        "身份证号应为 18 位",
        "身份证号中的出生日期无效",
        "身份证号前 17 位应为数字，末位为数字或 X",
        None,
    ]


def test_unknown_area_code_is_only_a_warning():
    rng = random.Random(1)
    old_county = make_id_card(rng, area="110103")  # 崇文区, abolished 2010: still a real person
    unknown = make_id_card(rng, area="999999")
    frame = pl.DataFrame({"v": [old_county, unknown]})
    out = frame.select(
        ids.id_card_valid(pl.col("v")).alias("ok"), ids.area_code_unknown(pl.col("v")).alias("warn")
    )
    assert out["ok"].to_list() == [True, True]
    assert out["warn"].to_list() == [False, True]


@pytest.mark.parametrize(
    "value,ok",
    [
        ("430102001001GB00001F00010001", True),
        ("430102001001JC00023W00000000", True),
        ("430102001001GB00001F0001000", False),  # 27
        ("430102001001GB00001X00010001", False),  # fixture code not F/L/Q/W
        ("43010200100IGB00001F00010001", False),
    ],
)
def test_property_unit_number_has_gbt_37346_structure(value, ok):
    frame = pl.DataFrame({"v": [value]})
    assert frame.select(ids.property_unit_valid(ids.compact_property_unit(pl.col("v")))).item() is ok


@pytest.mark.parametrize(
    "text,expected",
    [
        ("2026-11-25", dt.date(2026, 11, 25)),
        ("2026/11/25", dt.date(2026, 11, 25)),
        ("2026年11月25日", dt.date(2026, 11, 25)),
        ("20261125", dt.date(2026, 11, 25)),
        ("2026.1.5", dt.date(2026, 1, 5)),
        (" 2026-1-05 ", dt.date(2026, 1, 5)),
        ("2026-02-29", None),
        ("2024-02-29", dt.date(2024, 2, 29)),
        ("25/11/2026", None),
        ("2026-13-01", None),
    ],
)
def test_dates_in_common_chinese_formats(text, expected):
    frame = pl.DataFrame({"v": [text]})
    assert frame.select(ids.parse_date(pl.col("v"))).item() == expected


@settings(max_examples=100, deadline=None)
@given(
    st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 12, 31)),
    st.sampled_from(["%Y-%m-%d", "%Y/%m/%d", "%Y年%m月%d日", "%Y%m%d"]),
)
def test_every_real_date_parses_in_every_format(day, fmt):
    frame = pl.DataFrame({"v": [day.strftime(fmt)]})
    assert frame.select(ids.parse_date(pl.col("v"))).item() == day


def test_datetimes():
    frame = pl.DataFrame(
        {"v": ["2026-11-25 08:30:00", "2026/11/25T8:30", "2026年11月25日 08时30分", "2026-11-25 25:00"]}
    )
    got = frame.select(ids.parse_datetime(pl.col("v"))).to_series().to_list()
    assert got == [
        dt.datetime(2026, 11, 25, 8, 30),
        dt.datetime(2026, 11, 25, 8, 30),
        dt.datetime(2026, 11, 25, 8, 30),
        None,
    ]


def test_million_ids_check_in_well_under_the_stdnum_time():
    """The reason for vectorising: stdnum takes ~44 s per million; a batch here is sub-second."""
    import time

    rng = random.Random(2)
    sample = [make_id_card(rng) for _ in range(2000)]
    frame = pl.DataFrame({"v": sample * 100})  # 200 000 values
    t = time.perf_counter()
    assert frame.select(ids.id_card_valid(pl.col("v")).all()).item()
    assert time.perf_counter() - t < 5


@settings(max_examples=300, deadline=None)
@given(
    day=st.dates(min_value=dt.date(1000, 1, 1), max_value=dt.date(9999, 12, 31)),
    spelling=st.sampled_from(
        ["%Y-%m-%d", "%Y年%m月%d日", "{y}年{m}月{d}日", "%Y/%m/%d", "%Y%m%d", "{y}-{m}-{d}"]
    ),
    noise=st.sampled_from(["", "x", " 日", "年", "-0"]),
)
def test_the_fast_date_parse_reads_only_what_the_full_parse_reads_and_the_same_day(day, spelling, noise):
    """The native parses tried first (ISO, 2026年11月25日) never read a text differently from the
    full parser of the Chinese spellings: where they read a day it is the same day."""
    text = day.strftime(spelling) if "%" in spelling else spelling.format(y=day.year, m=day.month, d=day.day)
    frame = pl.DataFrame({"v": [text + noise]})
    fast, full = frame.select(ids.parse_date_fast(pl.col("v")), ids.parse_date(pl.col("v")).alias("f")).row(0)
    assert fast is None or fast == full
    if not noise:
        assert full == day


def test_text_length_counts_characters_not_bytes_and_is_checked_whenever_a_value_could_be_too_long():
    """Length in characters (S§21 items): 3 Chinese characters fit a length of 3 though they are
    9 bytes; the check is skipped only for batches whose longest raw value fits in bytes."""
    from datastore import tables, validation

    col = tables.Column(1, "name", "姓名", "c_1", "string", 3, None, False, False, "")

    def reasons(values):
        checked = validation.validate_batch(list(range(2, 2 + len(values))), {"c_1": values}, [col])
        return [(line, reason) for line, _label, reason, _raw in checked.rejects]

    assert reasons(["张三丰", "李四", "abc"]) == []
    assert reasons(["张三丰四", "李四", " ab "]) == [(2, "长度超过 3 个字符")]
    assert reasons(["abcd", "ab"]) == [(2, "长度超过 3 个字符")]
    assert reasons(["ab", "c", None]) == []
