"""``tables._live_columns``: the columns ``select_sql`` reads, kept on a reused table object (the
exchange gateway's) and read afresh when the schema or the column list is another object."""

from catalog.models import DataType, IdentifierKind
from datastore import tables
from datastore.models import DataTable


def _col(item_id: int, code: str, *, key: bool = False) -> tables.Column:
    return tables.Column(
        item_id, code, code, f"c_{item_id}", DataType.STRING, 18, None, key, key, IdentifierKind.NONE
    )


def test_kept_for_the_same_objects_and_read_afresh_for_a_new_schema_or_column_list():
    known = [_col(1, "sfzh", key=True), _col(2, "xm"), _col(3, "jd")]
    table = DataTable(table_name="ds_x", schema=[{"item": 1, "key": True}, {"item": 2}, {"item": 3}])

    cols, by_hash = tables._live_columns(table, known)
    assert list(cols) == ["sfzh", "xm", "jd"] and by_hash is known[0]
    assert tables._live_columns(table, known)[0] is cols  # the same objects: kept

    # a new catalog version: the table's schema is a new list (item 3 removed, no key index)
    table.schema = [{"item": 1}, {"item": 2}, {"item": 3, "removed": True}]
    cols, by_hash = tables._live_columns(table, known)
    assert list(cols) == ["sfzh", "xm"] and by_hash is None

    # another column list for the same schema object: read afresh
    other = [_col(1, "sfzh"), _col(2, "name", key=True)]
    cols, by_hash = tables._live_columns(table, other)
    assert list(cols) == ["sfzh", "name"] and by_hash is None  # the schema marks no key
    table.schema = [{"item": 1}, {"item": 2, "key": True}]
    assert tables._live_columns(table, other)[1] is other[1]
