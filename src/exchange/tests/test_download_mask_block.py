"""Masking a CSV download in the server process (``copyout.mask_block``, polars): the same values as
the Python maskers and the same file as the database's own masks (issue 7; S§37)."""

from __future__ import annotations

import polars as pl
import pytest
from django.db import connection
from hypothesis import given, settings
from hypothesis import strategies as st

from datastore import tables
from exchange import copyout, selectors
from exchange.masking import POLARS_MASKS

from .test_download_copy import _download, only_postgresql, typed  # noqa: F401

pytestmark = pytest.mark.django_db

#: Text that stresses character counting and stripping: CJK, emoji (4-byte UTF-8), the whitespace
#: Python strips (incl. \u3000, \u2028, \x1c), stars, CSV specials.
TEXT = st.text(alphabet=st.sampled_from(list('a1X张欧阳😀*,"\n\r \t\u3000\u2028\x1c\u00a0-')), max_size=40)


@settings(max_examples=300, deadline=None)
@given(values=st.lists(st.one_of(st.none(), TEXT), min_size=1, max_size=30))
def test_polars_masks_equal_the_python_maskers(values):
    frame = pl.DataFrame({"c": values}, schema={"c": pl.String})
    for python_mask, polars_mask in POLARS_MASKS.items():
        got = frame.select(polars_mask(pl.col("c")).alias("m"))["m"].to_list()
        assert got == [None if v is None else python_mask(v) for v in values], python_mask.__name__


@only_postgresql
def test_masked_in_process_or_by_the_database_the_file_is_the_same(typed, monkeypatch):  # noqa: F811
    """The typed resource (every type, masked and plain, commas, quotes, line breaks, whitespace-only
    phones) plus a masked value longer than the vectorised limit (its block is masked in Python)."""
    res, user, grant = typed
    monkeypatch.setattr(copyout, "POLARS_MAX_CHARS", 50)  # the column holds 100 characters
    cols = {c.code: tables.q(c.column) for c in tables.columns_of(res)}
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {tables.q(tables.table_ensure(res).table_name)} SET {cols['bzm']} = %s, {cols['sjhm']} = %s "
            f"WHERE {cols['bh']} = 'R03'",
            ["长" * 60, "\u3000\u3000"],
        )
    ctx = selectors.access_check(user=user, resource=res, channel="batch_download", purpose="data_check")
    assert copyout.csv_copy_sql(ctx, {}, grant.download_limit_rows)[2] is not None  # masked here
    _id, in_process = _download(user, res)
    monkeypatch.setattr(copyout, "POLARS_MASKS", {})
    assert copyout.csv_copy_sql(ctx, {}, grant.download_limit_rows)[2] is None  # masked by the database
    _id, by_database = _download(user, res)
    assert in_process == by_database
    assert ("长" * 20 + "*" * 20 + "长" * 20).encode() in in_process
