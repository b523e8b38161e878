"""Physical tables ``ds_<resource id>``: DDL, staging, merge and the internal read functions.

Every identifier in the SQL here is generated from integer ids (``ds_12``, ``c_345``) and quoted
as ``connection.ops.quote_name`` does (``q``); no user text ever becomes an identifier, and every value is
a bound parameter (DESIGN rule 6). The SQL is the same on SQLite and PostgreSQL apart from the
column types, and stays Citus-compatible: no foreign keys; ``_gh_key_hash`` (the hash of the key
data items) can be the distribution column.

Reading rows is not this app's business (DESIGN rule 2): ``select_rows`` and ``changes_since``
are internal functions for the exchange, which checks grants, purpose, masking and audit.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import io
import itertools
import threading
from collections.abc import Callable, Iterable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import connection, transaction

from catalog.models import DataItem, DataType, Resource, ResourceFormat, ResourceStatus
from core.errors import Conflict, Invalid

from . import hooks
from .errors import DatastoreError
from .models import ChangeLogEntry, DataTable

SYSTEM_COLUMNS = ("_gh_row_id", "_gh_key_hash", "_gh_load_id", "_gh_version", "_gh_changed_at")
#: The row key on PostgreSQL, compared byte by byte: it is an identifier, not text to sort for
#: people, and its unique index builds about a third faster than under a language's collation.
KEY_HASH_PG = 'varchar(32) COLLATE "C"'


@dataclass(frozen=True)
class Column:
    """One data item as a column of the physical table."""

    item_id: int
    code: str
    name: str
    column: str
    data_type: str
    length: int | None
    precision: int | None
    required: bool
    is_key: bool
    identifier_kind: str

    @property
    def label(self) -> str:
        return f"{self.name}（{self.code}）"


def table_name(resource_id: int) -> str:
    return f"ds_{int(resource_id)}"


def column_name(item_id: int) -> str:
    return f"c_{int(item_id)}"


def derived_name(item_id: int) -> str:
    """The stored generated column derived from item ``item_id``'s column (``hooks``)."""
    return f"d_{int(item_id)}"


def derived_digest(expr: str) -> str:
    """What the schema keeps of a derived column's expression: a change of the expression (a
    changed masking rule, a new release) makes the column be computed again."""
    return hashlib.sha256(expr.encode()).hexdigest()[:16]


def _derived(items: Iterable[DataItem]) -> dict[int, str]:
    """Derived columns exist on PostgreSQL only (stored generated columns); elsewhere none."""
    if connection.vendor != "postgresql":
        return {}
    return hooks.derived_expressions(items)


def derived_column(table: DataTable, item_id: int, expr: str) -> str | None:
    """The derived column of ``item_id`` if the live table has one computed by exactly ``expr``
    (as recorded in its schema), else None: the caller then computes the value itself."""
    digest = derived_digest(expr)
    for e in table.schema:
        if e["item"] == item_id and not e.get("removed") and e.get("derived") == digest:
            return derived_name(item_id)
    return None


def _derived_ddl(item_id: int, expr: str) -> str:
    return f"{q(derived_name(item_id))} text GENERATED ALWAYS AS ({expr}) STORED"


def q(name: str) -> str:
    """``connection.ops.quote_name`` — double quotes, on PostgreSQL and SQLite alike — without the
    lookup of the connection it costs on every call (the online query quotes a dozen names)."""
    return name if name.startswith('"') and name.endswith('"') else f'"{name}"'


def columns_of(resource: Resource) -> list[Column]:
    """The resource's data items as columns, in catalog order."""
    items: Iterable[DataItem] = resource.items.order_by("position", "id")
    return [column_of(i) for i in items]


def column_of(item: DataItem) -> Column:
    """One data item as a column (also for items the exchange gateway read without the ORM)."""
    return Column(
        item_id=item.pk,
        code=item.code,
        name=item.name,
        column=column_name(item.pk),
        data_type=item.data_type,
        length=item.length,
        precision=item.precision,
        required=item.required,
        is_key=item.is_key,
        identifier_kind=item.identifier_kind or "",
    )


def sql_type(col: Column) -> str:
    """Column type per database. SQLite keeps dates, times and decimals as ISO/plain text so the
    values read back are identical on both databases (see ``_to_python``)."""
    pg = connection.vendor == "postgresql"
    t = col.data_type
    if t == DataType.INTEGER:
        return "bigint" if pg else "integer"
    if t == DataType.DECIMAL:
        if pg:
            if col.length and col.length <= 1000:
                return f"numeric({int(col.length)}, {int(col.precision or 0)})"
            return "numeric"
        return "text"
    if t == DataType.DATE:
        return "date" if pg else "text"
    if t == DataType.DATETIME:
        return "timestamp" if pg else "text"
    if t == DataType.BOOLEAN:
        return "boolean" if pg else "integer"
    if pg and col.length and col.length <= 10485760:
        return f"varchar({int(col.length)})"
    return "text"


def _system_ddl() -> list[str]:
    if connection.vendor == "postgresql":
        return [
            "_gh_row_id bigint GENERATED BY DEFAULT AS IDENTITY NOT NULL",
            f"_gh_key_hash {KEY_HASH_PG}",
            "_gh_load_id bigint NOT NULL",
            "_gh_version integer NOT NULL",
            "_gh_changed_at timestamptz NOT NULL",
        ]
    return [
        "_gh_row_id integer PRIMARY KEY AUTOINCREMENT",
        "_gh_key_hash text",
        "_gh_load_id integer NOT NULL",
        "_gh_version integer NOT NULL",
        "_gh_changed_at text NOT NULL",
    ]


def _create_table(cursor, name: str, cols: Sequence[Column], derived: dict[int, str] | None = None) -> None:
    parts = _system_ddl() + [f"{q(c.column)} {sql_type(c)}" for c in cols]
    parts += [_derived_ddl(item_id, expr) for item_id, expr in (derived or {}).items()]
    cursor.execute(f"CREATE TABLE {q(name)} ({', '.join(parts)})")
    _create_indexes(cursor, name, cols)


def key_by_hash(cols: Sequence[Column]) -> Column | None:
    """The key item whose values are the rows' key hashes, if there is one: a lone text key
    (``validation`` stores a text key of up to 32 characters as it is, a longer one as its
    ``key_hash``). It needs no index of its own: a lookup by it also looks up ``_gh_key_hash``,
    which the unique key index serves (``select_sql``)."""
    keys = [c for c in cols if c.is_key]
    return keys[0] if len(keys) == 1 and keys[0].data_type == DataType.STRING else None


def _indexed_keys(cols: Sequence[Column]) -> list[Column]:
    """Key items that get an index of their own."""
    by_hash = key_by_hash(cols)
    return [c for c in cols if c.is_key and c is not by_hash]


def _create_indexes(cursor, name: str, cols: Sequence[Column]) -> None:
    if connection.vendor == "postgresql":
        # Not a PRIMARY KEY: with Citus every unique index must contain the distribution column.
        cursor.execute(f"CREATE INDEX {q(name + '_rid')} ON {q(name)} (_gh_row_id)")
    if any(c.is_key for c in cols):
        cursor.execute(f"CREATE UNIQUE INDEX {q(name + '_key')} ON {q(name)} (_gh_key_hash)")
    for c in _indexed_keys(cols):
        cursor.execute(f"CREATE INDEX {q(name + '_' + c.column)} ON {q(name)} ({q(c.column)})")


def _indexes_drop(cursor, name: str, cols: Sequence[Column]) -> bool:
    """Into an empty table, building the indexes after the insert is much faster than keeping
    them up to date row by row. DDL is transactional on both databases: a failed load leaves
    the indexes as they were."""
    cursor.execute(f"DROP INDEX IF EXISTS {q(name + '_rid')}")
    cursor.execute(f"DROP INDEX IF EXISTS {q(name + '_key')}")
    for c in cols:
        cursor.execute(f"DROP INDEX IF EXISTS {q(name + '_' + c.column)}")
    return True


def _schema_entry(c: Column, derived: str | None = None) -> dict:
    entry = {"item": c.item_id, "column": c.column, "type": c.data_type, "sql": sql_type(c), "key": c.is_key}
    if derived:
        entry["derived"] = derived_digest(derived)
    return entry


def table_exists(name: str) -> bool:
    with connection.cursor() as cursor:
        return name in connection.introspection.table_names(cursor)


def _check_resource(resource: Resource) -> None:
    if resource.format != ResourceFormat.TABLE:
        raise Invalid(DatastoreError.NOT_TABLE, "只有“数据库表”格式的信息资源才能加载数据。")
    if resource.status != ResourceStatus.PUBLISHED:
        raise Conflict(DatastoreError.NOT_PUBLISHED, "信息资源尚未发布，不能加载数据。")


@transaction.atomic
def table_ensure(resource: Resource) -> DataTable:
    """Create ``ds_<id>`` for a published table resource or bring it in line with its items.

    A new item adds a column. A changed type or key set builds a new table, copies the rows
    with a cast, verifies the count and keeps the old table as ``previous_table_name`` until
    ``table_drop_previous``. A failing cast (e.g. text that is not a number) raises ``Conflict``
    and leaves the old table untouched.
    """
    _check_resource(resource)
    items = list(resource.items.order_by("position", "id"))
    cols = [column_of(i) for i in items]
    derived = _derived(items)
    if not cols:
        raise Invalid(DatastoreError.NO_ITEMS, "信息资源没有信息项，无法建立数据表。")
    table, created = DataTable.objects.select_for_update().get_or_create(
        resource=resource, defaults={"table_name": table_name(resource.pk)}
    )
    wanted = [_schema_entry(c, derived.get(c.item_id)) for c in cols]
    if created or not table_exists(table.table_name):
        with connection.cursor() as cursor:
            _create_table(cursor, table.table_name, cols, derived)
        table.schema = wanted
        table.save(update_fields=["schema", "updated_at"])
        return table
    if table.schema == wanted:
        return table
    old = {e["item"]: e for e in table.schema}
    changed = [
        e
        for e in wanted
        if e["item"] in old and (old[e["item"]]["sql"] != e["sql"] or old[e["item"]]["key"] != e["key"])
    ]
    if changed:
        _rebuild(table, cols, old, derived)
    else:
        with connection.cursor() as cursor:
            for c in cols:
                if c.item_id not in old:
                    cursor.execute(
                        f"ALTER TABLE {q(table.table_name)} ADD COLUMN {q(c.column)} {sql_type(c)}"
                    )
            _sync_derived(cursor, table.table_name, wanted, old, derived)
    # Items removed from the catalog keep their column (no data is dropped) but leave the schema.
    kept = [e for e in table.schema if e["item"] not in {w["item"] for w in wanted}]
    table.schema = wanted + [dict(e, removed=True) for e in kept if not changed]
    table.save(update_fields=["schema", "previous_table_name", "updated_at"])
    return table


def _sync_derived(
    cursor, name: str, wanted: list[dict], old: dict[int, dict], derived: dict[int, str]
) -> None:
    """Bring the derived columns in line with ``derived``: a column whose expression changed is
    dropped and added again (PostgreSQL computes it for every row, in this transaction)."""
    for e in wanted:
        before = old.get(e["item"], {}).get("derived")
        if before == e.get("derived"):
            continue
        if before:
            cursor.execute(f"ALTER TABLE {q(name)} DROP COLUMN IF EXISTS {q(derived_name(e['item']))}")
        if e.get("derived"):
            cursor.execute(f"ALTER TABLE {q(name)} ADD COLUMN {_derived_ddl(e['item'], derived[e['item']])}")


def _rebuild(table: DataTable, cols: Sequence[Column], old: dict[int, dict], derived: dict[int, str]) -> None:
    """Type change: new table, copy with cast, verify, keep the old one."""
    from core import audit

    name = table.table_name
    keep = f"{name}_v{table.version}_{int(dt.datetime.now().timestamp())}"
    pg = connection.vendor == "postgresql"
    copy_cols = [c for c in cols if c.item_id in old]
    if any(c.is_key for c in cols) and any(old[c.item_id]["key"] != c.is_key for c in copy_cols):
        raise Conflict(
            DatastoreError.TYPE_CHANGE,
            "主键信息项发生变化，已有数据的主键摘要需要重新计算：请以“全量替换”方式重新加载全部数据。",
        )
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE {q(name)} RENAME TO {q(keep)}")
            if pg:
                cursor.execute(f"ALTER INDEX IF EXISTS {q(name + '_key')} RENAME TO {q(keep + '_key')}")
                cursor.execute(f"ALTER INDEX IF EXISTS {q(name + '_rid')} RENAME TO {q(keep + '_rid')}")
                for c in cols:
                    cursor.execute(
                        f"ALTER INDEX IF EXISTS {q(name + '_' + c.column)} RENAME TO {q(keep + '_' + c.column)}"
                    )
            else:
                cursor.execute(f"DROP INDEX IF EXISTS {q(name + '_key')}")
                for c in cols:
                    cursor.execute(f"DROP INDEX IF EXISTS {q(name + '_' + c.column)}")
            _create_table(cursor, name, cols, derived)
            targets = list(SYSTEM_COLUMNS) + [c.column for c in copy_cols]
            sources = list(SYSTEM_COLUMNS) + [_cast(c, old[c.item_id]["sql"]) for c in copy_cols]
            cursor.execute(
                f"INSERT INTO {q(name)} ({', '.join(q(t) for t in targets)}) "
                f"SELECT {', '.join(sources)} FROM {q(keep)}"
            )
            if pg:
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence(%s, '_gh_row_id'), "
                    f"(SELECT COALESCE(MAX(_gh_row_id), 0) + 1 FROM {q(name)}), false)",
                    [name],
                )
            cursor.execute(f"SELECT COUNT(*) FROM {q(name)}")
            new_count = cursor.fetchone()[0]
            cursor.execute(f"SELECT COUNT(*) FROM {q(keep)}")
            old_count = cursor.fetchone()[0]
            if new_count != old_count:
                raise Conflict(DatastoreError.TYPE_CHANGE, "类型变更后复制的记录数与原表不一致，已保留原表。")
    except Conflict:
        raise
    except Exception as exc:  # a failing cast: the rows do not fit the new type
        raise Conflict(
            DatastoreError.TYPE_CHANGE,
            "已有数据无法转换为新的信息项类型，数据表保持不变。请先以“全量替换”方式加载符合新类型的数据。",
            {"detail": str(exc)[:300]},
        )
    table.previous_table_name = keep
    audit.record(action="datastore.table.rebuild", target=table.resource, details={"kept": keep})


def _cast(col: Column, old_sql: str) -> str:
    """SQL expression that converts the old column to the new type; fails on a bad value."""
    new_sql = sql_type(col)
    src = q(col.column)
    if new_sql == old_sql:
        return src
    if connection.vendor == "postgresql":
        return f"CAST({src} AS {new_sql})"
    if col.data_type == DataType.INTEGER:
        # SQLite casts loosely ('abc' -> 0); make a non-integer fail like PostgreSQL does.
        return f"CASE WHEN {src} IS NULL OR CAST({src} AS integer) = {src} THEN CAST({src} AS integer) ELSE json('x') END"
    if col.data_type == DataType.BOOLEAN:
        return f"CASE WHEN {src} IS NULL OR {src} IN (0, 1) THEN {src} ELSE json('x') END"
    return f"CAST({src} AS text)"


@transaction.atomic
def table_drop_previous(table: DataTable) -> None:
    """Drop the table kept after a type change, once the new one has been verified."""
    if table.previous_table_name:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {q(table.previous_table_name)}")
        table.previous_table_name = ""
        table.save(update_fields=["previous_table_name", "updated_at"])


# --- staging ---------------------------------------------------------------------------------


def staging_name(load_id: int) -> str:
    return f"ds_stage_{int(load_id)}"


def staging_create(load_id: int, cols: Sequence[Column]) -> str:
    """A fresh staging table for one load (dropped first if an interrupted attempt left one)."""
    name = staging_name(load_id)
    pg = connection.vendor == "postgresql"
    parts = ["_gh_line bigint NOT NULL", f"_gh_key_hash {KEY_HASH_PG if pg else 'varchar(32)'}"]
    parts += [f"{q(c.column)} {sql_type(c)}" for c in cols]
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {q(name)}")
        cursor.execute(f"CREATE {'UNLOGGED ' if pg else ''}TABLE {q(name)} ({', '.join(parts)})")
    return name


def staging_drop(load_id: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {q(staging_name(load_id))}")


@dataclass(frozen=True)
class NextVersion:
    """A first load into an empty table (PostgreSQL): the rows are written once, straight into a
    table shaped like the live one (``staging_create_next``), which the merge transaction swaps
    in (``staging_swap``). ``first_row_id`` continues the live table's row ids."""

    name: str
    first_row_id: int
    version: int
    changed_at: dt.datetime


def next_version_possible(table: DataTable) -> bool:
    """The write-once path applies to an empty live table whose schema has no removed columns."""
    if any(e.get("removed") for e in table.schema):
        return False
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT 1 FROM {q(table.table_name)} LIMIT 1")
        return cursor.fetchone() is None


def _next_row_id(cursor, table_name: str) -> int:
    """Row ids only grow, also across an emptied table: past the sequence and the highest id."""
    if connection.vendor == "postgresql":
        cursor.execute(
            "SELECT pg_sequence_last_value(pg_get_serial_sequence(%s, '_gh_row_id'))", [q(table_name)]
        )
    else:
        cursor.execute("SELECT MAX(seq) FROM sqlite_sequence WHERE name = %s", [table_name])
    last = cursor.fetchone()[0]
    cursor.execute(f"SELECT MAX(_gh_row_id) FROM {q(table_name)}")
    high = cursor.fetchone()[0]
    return max(int(last or 0), int(high or 0)) + 1


def staging_create_next(
    load_id: int, table: DataTable, cols: Sequence[Column], *, now: dt.datetime
) -> NextVersion:
    """The next version of an empty live table, built outside any transaction: same columns and
    types, no indexes yet (built after the rows), logged (it becomes the live table). On
    PostgreSQL load id, version and time are column defaults (dropped by the swap), so the rows
    carry only their row id, key and data; SQLite cannot drop a default, so there the rows carry
    them (``staging_encode``)."""
    name = staging_name(load_id)
    version = table.version + 1
    # A default must be a constant in the DDL: an aware datetime's ISO text (digits and -:.+T).
    at = now.isoformat() if isinstance(now, dt.datetime) and now.tzinfo else None
    if at is None:
        raise ValueError("changed_at must be an aware datetime")
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {q(name)}")
        first = _next_row_id(cursor, table.table_name)
        if connection.vendor != "postgresql":
            parts = _system_ddl() + [f"{q(c.column)} {sql_type(c)}" for c in cols]
            cursor.execute(f"CREATE TABLE {q(name)} ({', '.join(parts)})")
            return NextVersion(name=name, first_row_id=first, version=version, changed_at=now)
        parts = [
            "_gh_row_id bigint GENERATED BY DEFAULT AS IDENTITY NOT NULL",
            f"_gh_key_hash {KEY_HASH_PG}",
            f"_gh_load_id bigint NOT NULL DEFAULT {int(load_id)}",
            f"_gh_version integer NOT NULL DEFAULT {int(version)}",
            f"_gh_changed_at timestamptz NOT NULL DEFAULT '{at}'::timestamptz",
        ]
        parts += [f"{q(c.column)} {sql_type(c)}" for c in cols]
        # the live table's derived columns, as PostgreSQL keeps them (their expressions are ours)
        cursor.execute(
            "SELECT a.attname, pg_get_expr(d.adbin, d.adrelid) FROM pg_attribute a "
            "JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
            "WHERE a.attrelid = CAST(%s AS regclass) AND a.attgenerated = 's' AND NOT a.attisdropped "
            "ORDER BY a.attnum",
            [q(table.table_name)],
        )
        parts += [f"{q(col)} text GENERATED ALWAYS AS ({expr}) STORED" for col, expr in cursor.fetchall()]
        cursor.execute(f"CREATE TABLE {q(name)} ({', '.join(parts)})")
    return NextVersion(name=name, first_row_id=first, version=version, changed_at=now)


def staging_finish_next(nv: NextVersion, cols: Sequence[Column]) -> list[tuple[int, int]]:
    """Build the unique key index of the next version. A key seen twice makes it fail: then
    report each later duplicate as (row id, row id of its first occurrence), delete those rows
    and build the index again. No extra pass over the rows when the keys are unique (the usual
    case). The other indexes are built by ``staging_swap``."""
    from django.db import IntegrityError

    dupes: list[tuple[int, int]] = []
    if not any(c.is_key for c in cols):
        return dupes
    # SQLite cannot rename an index: its indexes are built by the swap, under the live names.
    pg = connection.vendor == "postgresql"
    create = f"CREATE UNIQUE INDEX {q(nv.name + '_key')} ON {q(nv.name)} (_gh_key_hash)"
    with connection.cursor() as cursor:
        try:
            if not pg:
                raise IntegrityError("look for duplicates")
            with transaction.atomic():
                cursor.execute(create)
        except IntegrityError:
            cursor.execute(
                f"SELECT s._gh_row_id, m.first_id FROM {q(nv.name)} s JOIN ("
                f"SELECT _gh_key_hash, MIN(_gh_row_id) AS first_id FROM {q(nv.name)} "
                f"GROUP BY _gh_key_hash HAVING COUNT(*) > 1) m ON m._gh_key_hash = s._gh_key_hash "
                f"WHERE s._gh_row_id > m.first_id ORDER BY s._gh_row_id"
            )
            dupes = [(int(a), int(b)) for a, b in cursor.fetchall()]
            ids = [a for a, _ in dupes]
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                cursor.execute(
                    f"DELETE FROM {q(nv.name)} WHERE _gh_row_id IN ({', '.join(['%s'] * len(chunk))})", chunk
                )
            if pg:
                cursor.execute(create)
    return dupes


class DuplicateKeys(Exception):
    """The unique key index of a next version could not be built: some key occurs twice."""


def _other_indexes(
    nv: NextVersion, cols: Sequence[Column], *, build_key: bool = False
) -> tuple[list[str], list[str]]:
    """The next version's indexes still to build: (the unique key index if asked, the others)."""
    key = []
    if build_key and any(c.is_key for c in cols):
        key.append(f"CREATE UNIQUE INDEX {q(nv.name + '_key')} ON {q(nv.name)} (_gh_key_hash)")
    rest = [f"CREATE INDEX {q(nv.name + '_rid')} ON {q(nv.name)} (_gh_row_id)"]
    rest += [
        f"CREATE INDEX {q(nv.name + '_' + c.column)} ON {q(nv.name)} ({q(c.column)})"
        for c in _indexed_keys(cols)
    ]
    return key, rest


class _IndexBuilder(threading.Thread):
    """Builds indexes of the (committed) next version on a connection of its own, so that the
    database builds them on one core while the merge transaction writes the change log on the
    other. Nothing else uses that connection."""

    def __init__(self, statements: list[str]):
        super().__init__(name="datastore-index-builder", daemon=True)
        self.statements, self.error = statements, None
        # Read in the caller's thread: the same database (also a test database) as the caller.
        self.connect = functools.partial(connection.get_new_connection, connection.get_connection_params())

    def run(self) -> None:
        try:
            conn = self.connect()
            try:
                conn.autocommit = True
                for sql in self.statements:
                    conn.execute(sql)
            finally:
                conn.close()
        except BaseException as exc:  # raised by the caller in ``wait``
            self.error = exc

    def wait(self) -> None:
        import psycopg

        self.join()
        if isinstance(self.error, psycopg.errors.UniqueViolation):
            raise DuplicateKeys(str(self.error))
        if self.error is not None:
            raise self.error


def staging_swap(
    *,
    table: DataTable,
    nv: NextVersion,
    cols: Sequence[Column],
    load_id: int,
    parallel: bool = False,
    build_key: bool = False,
) -> MergeResult:
    """Inside the merge transaction, when the live table is still empty: log every row as an
    insert, then put the next version in place of the live table (DDL is transactional: until
    the commit every reader sees the previous, empty version; a crash leaves it).

    ``parallel``: the next version is committed (the run is not inside an outer transaction), so
    a second connection builds some of the indexes while this one writes the change log and
    builds the others;
    with ``build_key`` also the unique key index (``DuplicateKeys`` if a key occurs twice: the
    caller rolls back, rejects the duplicates and comes again)."""
    assert transaction.get_connection().in_atomic_block
    live, name = table.table_name, nv.name
    if connection.vendor != "postgresql":
        return _swap_sqlite(table=table, nv=nv, cols=cols, load_id=load_id)
    key, here = _other_indexes(nv, cols, build_key=build_key)
    # In parallel the indexes are shared between the two connections: the other builds the
    # unique key index, this one the others after the change-log entry.
    builder = _IndexBuilder(key) if parallel and key else None
    with connection.cursor() as cursor:
        if builder is None:
            for sql in key:
                cursor.execute(sql)
        else:
            builder.start()
        try:
            inserted = _log_first_load(cursor, table=table, nv=nv, load_id=load_id)
            for sql in here:
                cursor.execute(sql)
        finally:
            if builder is not None:
                builder.wait()
        cursor.execute("SELECT pg_get_serial_sequence(%s, '_gh_row_id')", [q(name)])
        seq = cursor.fetchone()[0]
        cursor.execute(f"SELECT MAX(_gh_row_id) FROM {q(name)}")
        high = cursor.fetchone()[0]
        if high is not None:
            cursor.execute("SELECT setval(%s, %s)", [seq, int(high)])
        cursor.execute(f"DROP TABLE {q(live)}")
        cursor.execute(f"ALTER TABLE {q(name)} RENAME TO {q(live)}")
        suffixes = ["_rid"] + (["_key"] if any(c.is_key for c in cols) else [])
        suffixes += ["_" + c.column for c in _indexed_keys(cols)]
        for suffix in suffixes:
            cursor.execute(f"ALTER INDEX {q(name + suffix)} RENAME TO {q(live + suffix)}")
        for col in ("_gh_load_id", "_gh_version", "_gh_changed_at"):
            cursor.execute(f"ALTER TABLE {q(live)} ALTER COLUMN {col} DROP DEFAULT")
    return MergeResult(inserted=inserted)


#: Up to this many rows a first load reserves its change-log ids one by one (nextval per id).
_RESERVE_ONE_BY_ONE = 10_000


def _log_first_load(cursor, *, table: DataTable, nv: NextVersion, load_id: int) -> int:
    """One change-log entry for all the rows of a first load (decision 0011), and the ids it
    stands for reserved: the log's id sequence moves past them, so every later entry of the
    resource comes after them. Ids taken meanwhile by other resources' entries may fall inside
    the range: harmless, each resource's log is read on its own. Returns the rows inserted."""
    log_table = ChangeLogEntry._meta.db_table
    cursor.execute(f"SELECT MIN(_gh_row_id), MAX(_gh_row_id), COUNT(*) FROM {q(nv.name)}")
    low, high, inserted = cursor.fetchone()
    if not inserted:
        return 0
    span = int(high) - int(low) + 1
    at = connection.ops.adapt_datetimefield_value(nv.changed_at)
    if span != inserted:  # rows of duplicate keys were taken out: one entry per row, as a merge
        cursor.execute(
            f"INSERT INTO {q(log_table)} (resource_id, row_id, row_key, op, load_id, version, changed_at) "
            f"SELECT %s, _gh_row_id, _gh_key_hash, 'insert', %s, %s, %s FROM {q(nv.name)} ORDER BY _gh_row_id",
            [int(table.resource_id), load_id, nv.version, at],
        )
        return int(inserted)
    cursor.execute(
        f"INSERT INTO {q(log_table)} (resource_id, row_id, span, row_key, op, load_id, version, changed_at) "
        f"VALUES (%s, %s, %s, NULL, 'insert', %s, %s, %s) RETURNING id",
        [int(table.resource_id), int(low), span, load_id, nv.version, at],
    )
    first = int(cursor.fetchone()[0])
    if span > 1 and connection.vendor == "postgresql":
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [q(log_table)])
        seq = cursor.fetchone()[0]
        if span <= _RESERVE_ONE_BY_ONE:
            # span - 1 more values, each greater than ``first``: the last is at least
            # first + span - 1 (other sessions may take values in between; nothing is rewound).
            cursor.execute(
                "SELECT MAX(v) FROM (SELECT nextval(CAST(%s AS regclass)) AS v FROM generate_series(1, %s)) AS s",
                [seq, span - 1],
            )
        else:
            # One step: the next value plus the rest of the range. Other sessions can only take
            # values between the two calls of this one expression; the sequence would move back
            # only if they took more than ``span`` (over 10,000) values in that instant.
            cursor.execute(
                "SELECT setval(CAST(%s AS regclass), nextval(CAST(%s AS regclass)) + %s)",
                [seq, seq, span - 2],
            )
    elif span > 1:  # SQLite: one writer at a time, the AUTOINCREMENT counter moves past the range
        cursor.execute(
            "UPDATE sqlite_sequence SET seq = MAX(seq, %s) WHERE name = %s", [first + span - 1, log_table]
        )
    return int(inserted)


def _swap_sqlite(*, table: DataTable, nv: NextVersion, cols: Sequence[Column], load_id: int) -> MergeResult:
    live, name = table.table_name, nv.name
    with connection.cursor() as cursor:
        inserted = _log_first_load(cursor, table=table, nv=nv, load_id=load_id)
        cursor.execute(f"DROP TABLE {q(live)}")
        cursor.execute(f"ALTER TABLE {q(name)} RENAME TO {q(live)}")  # sqlite_sequence follows
        _create_indexes(cursor, live, cols)
    return MergeResult(inserted=inserted)


def staging_encode(
    cols: Sequence[Column],
    frame,
    *,
    pg: bool,
    first_row_id: int | None = None,
    system: tuple = (),
    plain: bool = False,
) -> Any:
    """One validated batch in the form ``staging_write`` sends, computed without the database
    (so a reader thread can prepare the next batch while the database stores this one):
    CSV bytes for PostgreSQL ``COPY`` (with ``_gh_row_id`` from ``first_row_id`` for the next
    version, else with ``_gh_line``), row tuples for SQLite. ``plain``: no value holds a comma, a
    quote or a line break (``sources.Batch.plain``), so the CSV is written without looking for
    values to quote (a third of its cost)."""
    import polars as pl

    data = [c.column for c in cols]
    if first_row_id is not None:
        frame = frame.with_columns(
            (pl.int_range(pl.len(), dtype=pl.Int64) + first_row_id).alias("_gh_row_id")
        ).select(["_gh_row_id", "_gh_key_hash"] + data)
    else:
        frame = frame.select(["_gh_line", "_gh_key_hash"] + data)
    if not frame.height:
        return None
    if pg:
        # CSV: quotes, separators, line breaks and backslashes in values are quoted by polars and
        # read back verbatim; a null is an empty unquoted field (validation turns "" into null, so
        # no value is empty). The first field is a number, so no line is COPY's end marker ``\.``.
        buf = io.BytesIO()
        frame.write_csv(
            buf,
            include_header=False,
            datetime_format="%Y-%m-%d %H:%M:%S%.f",
            null_value="",
            quote_style="never" if plain else "necessary",
        )
        return (frame.columns, buf.getbuffer())  # the bytes written, not a copy of them
    casts = []
    for n in frame.columns:
        dtype = frame.schema[n]
        if dtype == pl.Date:
            casts.append(pl.col(n).dt.strftime("%Y-%m-%d"))
        elif dtype == pl.Datetime:
            casts.append(pl.col(n).dt.strftime("%Y-%m-%d %H:%M:%S"))
        elif dtype == pl.Boolean:
            casts.append(pl.col(n).cast(pl.Int64))
        else:
            casts.append(pl.col(n))
    # Rows become Python tuples only while SQLite takes them (``staging_write``): a batch waiting
    # in the queue stays a compact frame. On the next version each row also carries load id,
    # version and time (see ``staging_create_next``), the same three objects for every row.
    names = frame.columns + (["_gh_load_id", "_gh_version", "_gh_changed_at"] if system else [])
    return (names, (frame.select(casts), tuple(system)))


@contextmanager
def staging_commits_relaxed():
    """While staging on PostgreSQL, a commit does not wait for its WAL flush: staged rows count
    only once the merge transaction commits, and that one waits as always."""
    if connection.vendor != "postgresql":
        yield
        return
    local = connection.in_atomic_block
    with connection.cursor() as cursor:
        cursor.execute(f"SET {'LOCAL ' if local else ''}synchronous_commit TO off")
    try:
        yield
    finally:
        if not local:
            with connection.cursor() as cursor:
                cursor.execute("RESET synchronous_commit")


def staging_write(name: str, encoded: Any) -> None:
    """Write one batch prepared by ``staging_encode``: PostgreSQL ``COPY`` via psycopg 3 (one
    write of the whole block), SQLite ``executemany``."""
    if encoded is None:
        return
    names, data = encoded
    columns = ", ".join(q(n) for n in names)
    if connection.vendor == "postgresql":
        connection.ensure_connection()
        sql = f"COPY {q(name)} ({columns}) FROM STDIN WITH (FORMAT csv)"
        with connection.connection.cursor() as cur, cur.copy(sql) as copy:
            copy.write(data)
        return
    frame, system = data
    rows = frame.iter_rows(buffer_size=2048)
    if system:
        rows = (row + system for row in rows)
    placeholders = ", ".join(["%s"] * len(names))
    sql = f"INSERT INTO {q(name)} ({columns}) VALUES ({placeholders})"
    with connection.cursor() as cursor:
        while part := list(itertools.islice(rows, 2048)):
            cursor.executemany(sql, part)


def staging_index(name: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE INDEX {q(name + '_k')} ON {q(name)} (_gh_key_hash, _gh_line)")
    staging_analyze(name)


def staging_analyze(name: str) -> None:
    """Fresh statistics of the join column, so the merge joins staging and live table well."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"ANALYZE {q(name)} (_gh_key_hash)")
        else:
            cursor.execute(f"ANALYZE {q(name)}")


def staging_duplicates(name: str) -> list[tuple[int, int]]:
    """(line, first line) of every row whose key already appeared earlier in the same load."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT s._gh_line, m.first_line FROM {q(name)} s JOIN ("
            f"SELECT _gh_key_hash, MIN(_gh_line) AS first_line FROM {q(name)} "
            f"GROUP BY _gh_key_hash HAVING COUNT(*) > 1) m ON m._gh_key_hash = s._gh_key_hash "
            f"WHERE s._gh_line > m.first_line ORDER BY s._gh_line"
        )
        return [(int(a), int(b)) for a, b in cursor.fetchall()]


def staging_existing_keys(name: str, target: str) -> list[int]:
    """Lines whose key already exists in the target table (append mode)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT s._gh_line FROM {q(name)} s WHERE EXISTS "
            f"(SELECT 1 FROM {q(target)} t WHERE t._gh_key_hash = s._gh_key_hash) ORDER BY s._gh_line"
        )
        return [int(r[0]) for r in cursor.fetchall()]


def staging_delete_lines(name: str, lines: Sequence[int]) -> None:
    with connection.cursor() as cursor:
        for start in range(0, len(lines), 500):
            chunk = list(lines[start : start + 500])
            cursor.execute(
                f"DELETE FROM {q(name)} WHERE _gh_line IN ({', '.join(['%s'] * len(chunk))})",
                chunk,
            )


def staging_count(name: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {q(name)}")
        return int(cursor.fetchone()[0])


# --- merge -----------------------------------------------------------------------------------


@dataclass
class MergeResult:
    inserted: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0


def merge(
    *,
    table: DataTable,
    staging: str,
    cols: Sequence[Column],
    mode: str,
    load_id: int,
    version: int,
    now: dt.datetime,
) -> MergeResult:
    """Apply the staging rows to the live table and write the change log. Must run inside the
    caller's transaction: either all of it is visible or none of it."""
    assert transaction.get_connection().in_atomic_block
    t, s = q(table.table_name), q(staging)
    log = q(ChangeLogEntry._meta.db_table)
    data = [q(c.column) for c in cols]
    has_key = any(c.is_key for c in cols)
    at = connection.ops.adapt_datetimefield_value(now)
    res = MergeResult()
    rid = int(table.resource_id)
    log_cols = "(resource_id, row_id, row_key, op, load_id, version, changed_at)"
    with connection.cursor() as cursor:
        if mode == "replace":
            if has_key:
                gone = f"NOT EXISTS (SELECT 1 FROM {s} s WHERE s._gh_key_hash = t._gh_key_hash)"
            else:
                gone = "1 = 1"
            cursor.execute(
                f"INSERT INTO {log} {log_cols} SELECT %s, t._gh_row_id, t._gh_key_hash, 'delete', %s, %s, %s "
                f"FROM {t} t WHERE {gone} ORDER BY t._gh_row_id",
                [rid, load_id, version, at],
            )
            cursor.execute(f"DELETE FROM {t} WHERE {gone.replace('t._gh_key_hash', t + '._gh_key_hash')}", [])
            res.deleted = max(cursor.rowcount, 0)
        cursor.execute(f"SELECT MAX(_gh_row_id) FROM {t}")
        before = cursor.fetchone()[0]
        if has_key and before is not None:
            # Changed rows: log them, then update them (keyed by the key hash).
            differs = " OR ".join(f"t.{c} IS DISTINCT FROM s.{c}" for c in data)
            cursor.execute(
                f"INSERT INTO {log} {log_cols} SELECT %s, t._gh_row_id, t._gh_key_hash, 'update', %s, %s, %s "
                f"FROM {s} s JOIN {t} t ON t._gh_key_hash = s._gh_key_hash WHERE {differs}",
                [rid, load_id, version, at],
            )
            sets = ", ".join(f"{c} = src.{c}" for c in data)
            differs_src = " OR ".join(f"{t}.{c} IS DISTINCT FROM src.{c}" for c in data)
            cursor.execute(
                f"UPDATE {t} SET {sets}, _gh_load_id = %s, _gh_version = %s, _gh_changed_at = %s "
                f"FROM {s} src WHERE {t}._gh_key_hash = src._gh_key_hash AND ({differs_src})",
                [load_id, version, at],
            )
            res.updated = max(cursor.rowcount, 0)
            where_new = f"WHERE NOT EXISTS (SELECT 1 FROM {t} t WHERE t._gh_key_hash = s._gh_key_hash)"
        else:
            where_new = ""
        cols_sql = "".join(", " + c for c in data)
        rebuild = before is None and _indexes_drop(cursor, table.table_name, cols)
        cursor.execute(
            f"INSERT INTO {t} (_gh_key_hash, _gh_load_id, _gh_version, _gh_changed_at{cols_sql}) "
            f"SELECT s._gh_key_hash, %s, %s, %s{''.join(', s.' + c for c in data)} FROM {s} s {where_new}",
            [load_id, version, at],
        )
        res.inserted = max(cursor.rowcount, 0)
        if rebuild:
            _create_indexes(cursor, table.table_name, cols)
        # New rows are exactly those above the highest row id before the insert (row ids only
        # grow, and loads of one resource are serialised by the lock on its DataTable row).
        cursor.execute(
            f"INSERT INTO {log} {log_cols} SELECT %s, t._gh_row_id, t._gh_key_hash, 'insert', %s, %s, %s "
            f"FROM {t} t WHERE t._gh_row_id > %s",
            [rid, load_id, version, at, before if before is not None else 0],
        )
    return res


def count_rows(table: DataTable) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {q(table.table_name)}")
        return int(cursor.fetchone()[0])


def null_counts(table: DataTable, cols: Sequence[Column]) -> dict[int, int]:
    """Nulls per item, in one scan."""
    if not cols:
        return {}
    exprs = ", ".join(f"COUNT(*) - COUNT({q(c.column)})" for c in cols)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {exprs} FROM {q(table.table_name)}")
        row = cursor.fetchone()
    return {c.item_id: int(v or 0) for c, v in zip(cols, row, strict=True)}


# --- internal reads for the exchange (DESIGN rule 2: never a public endpoint) ----------------


def _to_python(col: Column, value: Any) -> Any:
    """Same Python value on SQLite and PostgreSQL."""
    if value is None:
        return None
    t = col.data_type
    if t == DataType.DECIMAL:
        try:
            return Decimal(str(value))
        except InvalidOperation:
            return None
    if t == DataType.DATE and isinstance(value, str):
        return dt.date.fromisoformat(value)
    if t == DataType.DATETIME and isinstance(value, str):
        return dt.datetime.fromisoformat(value)
    if t == DataType.BOOLEAN:
        return bool(value)
    if t == DataType.INTEGER:
        return int(value)
    return value


def _db_value(col: Column, value: Any) -> Any:
    if value is None:
        return None
    if connection.vendor != "postgresql":
        if isinstance(value, dt.datetime):
            return value.strftime("%Y-%m-%d %H:%M:%S")
        if isinstance(value, dt.date):
            return value.isoformat()
        if isinstance(value, Decimal):
            return str(value)
        if isinstance(value, bool):
            return int(value)
    return value


def key_hash(key: str) -> str:
    """The stored key of a row (``_gh_key_hash``): the key text itself when it is short (most
    keys: a 身份证号 or 统一社会信用代码), else ``#`` + 31 hex digits of its BLAKE2b hash.
    Stable across library versions (polars' own hash is not)."""
    if len(key) <= 32 and not key.startswith("#"):
        return key
    return "#" + hashlib.blake2b(key.encode("utf-8"), digest_size=16).hexdigest()[:31]


def coerce(col: Column, value: Any) -> Any:
    """A filter value (often text from a query string) as the column's stored type, read the same
    way a loaded value is (dates in the Chinese spellings, identifiers compacted)."""
    if value is None or not isinstance(value, str):
        return value
    text = value.strip()
    t = col.data_type
    try:
        if col.identifier_kind:
            return (
                text.replace(" ", "").replace("-", "").upper()
                if col.identifier_kind != "id_card"
                else text.replace(" ", "").upper()
            )
        if t == DataType.INTEGER:
            return int(text)
        if t == DataType.DECIMAL:
            return Decimal(text)
        if t in (DataType.DATE, DataType.DATETIME):
            # polars only here: a web worker that never parses a date filter does not load it (≈ 50 MB)
            import polars as pl

            from . import identifiers as ids

            parse = ids.parse_date if t == DataType.DATE else ids.parse_datetime
            parsed = pl.DataFrame({"v": [text]}).select(parse(pl.col("v"))).item()
            if parsed is None:
                raise ValueError(text)
            return parsed
        if t == DataType.BOOLEAN:
            low = text.lower()
            if low in ("1", "true", "t", "yes", "y", "是"):
                return True
            if low in ("0", "false", "f", "no", "n", "否"):
                return False
            raise ValueError(text)
    except (ValueError, InvalidOperation):
        raise Invalid(DatastoreError.BAD_FORMAT, f"查询条件“{col.name}”的取值格式不正确：{text[:50]}")
    return value


def _condition(name: str, col: Column | None, value: Any, params: list) -> str:
    """SQL for one filter: equality, a list (IN), or a dict of ``gte``/``lte``/``in``."""
    conv = (lambda v: int(v)) if col is None else (lambda v: _db_value(col, coerce(col, v)))
    if isinstance(value, dict):
        parts = []
        for op, v in value.items():
            if op == "gte":
                parts.append(f"{name} >= %s")
                params.append(conv(v))
            elif op == "lte":
                parts.append(f"{name} <= %s")
                params.append(conv(v))
            elif op == "in":
                parts.append(_condition(name, col, list(v), params))
            else:
                raise Invalid(DatastoreError.BAD_FORMAT, f"不支持的查询条件：{op}")
        return " AND ".join(parts) if parts else "1 = 1"
    if isinstance(value, list | tuple | set):
        values = list(value)
        if not values:
            return "1 = 0"
        params.extend(conv(v) for v in values)
        return f"{name} IN ({', '.join(['%s'] * len(values))})"
    params.append(conv(value))
    return f"{name} = %s"


def _key_hash_condition(col: Column, value: Any, params: list) -> str:
    """The same lookup by the row's key hash (``key_by_hash``): the value as validation keys it.
    Only narrows what ``_condition`` finds: a row whose key equals the value has its hash."""
    if isinstance(value, dict):
        value = value.get("in")
        if value is None:
            return "1 = 1"  # a range: the column's own condition alone
    values = list(value) if isinstance(value, list | tuple | set) else [value]
    hashes = [key_hash(str(v)) for v in (coerce(col, v) for v in values) if v is not None]
    if not hashes:
        return "1 = 1"
    params.extend(hashes)
    return f"_gh_key_hash IN ({', '.join(['%s'] * len(hashes))})"


_SEEN_TABLES: set[str] = set()


def _known_table(name: str) -> bool:
    """``table_exists`` asks the catalog (slow on PostgreSQL); a table once seen stays: a rebuild
    gets a new name and the old one is no longer referenced by its ``DataTable``."""
    if name in _SEEN_TABLES:
        return True
    if table_exists(name):
        _SEEN_TABLES.add(name)
        return True
    return False


def table_of(resource: Resource) -> DataTable | None:
    """The resource's data table (its schema), or None before the first load. Internal, like
    ``select_sql``: for the exchange, after its access check."""
    return DataTable.objects.filter(resource=resource).first()


def _live_columns(table: DataTable, known: Sequence[Column]) -> tuple[dict[str, Column], Column | None]:
    """The table's live columns by item code, and its key-by-hash column (``key_by_hash``). Kept on
    the table object for the same columns and schema objects (the exchange gateway reuses both
    from call to call); a new schema or column list is read afresh."""
    kept = getattr(table, "_gh_live_columns", None)
    if kept is not None and kept[0] is known and kept[1] is table.schema:
        return kept[2], kept[3]
    live = {e["item"] for e in table.schema if not e.get("removed")}
    cols = {c.code: c for c in known if c.item_id in live}
    keyed = {e["item"] for e in table.schema if e.get("key") and not e.get("removed")}
    by_hash = key_by_hash([c for c in cols.values() if c.item_id in keyed])
    table._gh_live_columns = (known, table.schema, cols, by_hash)
    return cols, by_hash


def select_sql(
    resource: Resource,
    columns: Sequence[str] | None = None,
    filters: dict[str, Any] | None = None,
    after: int | None = None,
    limit: int | None = None,
    *,
    render: Callable[[Column, str], str] | None = None,
    table: DataTable | None = None,
    all_columns: Sequence[Column] | None = None,
    system: bool = True,
) -> tuple[str, list, list[Column]] | None:
    """The ``SELECT`` behind ``select_rows``: ``(sql, params, columns)``, or None when the resource
    has no table yet. ``_gh_row_id`` and ``_gh_version`` come first, then each column as
    ``render(column, quoted name)`` (default: the column itself) named by its column name, in
    ``_gh_row_id`` order. Identifiers are generated and values bound (DESIGN rule 6); ``render``
    must build its SQL from the column it is given, never from user text. ``system=False`` leaves
    out the two system columns (the rows are still in ``_gh_row_id`` order). Internal, like
    ``select_rows``: the exchange's streaming download runs it through ``COPY``."""
    if table is None:  # callers that already hold the table and columns (exchange.gateway) pass them
        table = table_of(resource)
    if table is None or not _known_table(table.table_name):
        return None
    known = columns_of(resource) if all_columns is None else all_columns
    cols, by_hash = _live_columns(table, known)
    unknown = [
        code
        for code in list(columns or []) + list(filters or {})
        if code not in cols and code != "_gh_row_id"
    ]
    if unknown:
        raise Invalid(DatastoreError.UNKNOWN_COLUMNS, "未知信息项：" + "、".join(unknown))
    wanted = [cols[code] for code in (columns or list(cols)) if code != "_gh_row_id"]
    where, params = [], []
    for code, value in (filters or {}).items():
        if code == "_gh_row_id":
            where.append(_condition("_gh_row_id", None, value, params))
        else:
            name = q(cols[code].column)
            if connection.vendor == "sqlite" and cols[code].data_type == DataType.DECIMAL:
                # decimals are text on SQLite: NUMERIC affinity makes =, IN and ranges compare numbers
                name = f"CAST({name} AS NUMERIC)"
            where.append(_condition(name, cols[code], value, params))
            if cols[code] is by_hash:
                where.append(_key_hash_condition(cols[code], value, params))
    if after is not None:
        where.append("_gh_row_id > %s")
        params.append(int(after))
    shown = (q(c.column) if render is None else f"{render(c, q(c.column))} AS {q(c.column)}" for c in wanted)
    shown = (["_gh_row_id", "_gh_version"] if system else []) + list(shown)
    sql = f"SELECT {', '.join(shown) or '_gh_row_id'} FROM {q(table.table_name)}"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY _gh_row_id"
    if limit is not None:
        sql += " LIMIT %s"
        params.append(max(0, int(limit)))
    return sql, params, wanted


def select_rows(
    resource: Resource,
    columns: Sequence[str] | None = None,
    filters: dict[str, Any] | None = None,
    after: int | None = None,
    limit: int = 100,
    *,
    table: DataTable | None = None,
    all_columns: Sequence[Column] | None = None,
    run: Callable[[str, list], list[tuple]] | None = None,
) -> list[dict[str, Any]]:
    """Rows of a resource in ``_gh_row_id`` order (keyset pagination: pass the last ``_gh_row_id``
    as ``after``). ``columns`` and ``filters`` use data item codes (plus ``_gh_row_id``); a
    filter is a value (equality), a list (IN) or ``{"gte": .., "lte": .., "in": [..]}``; text
    values are read like loaded values. Values are always bound. Internal: the exchange calls
    this after its access check (DESIGN rule 2)."""
    query = select_sql(
        resource,
        columns,
        filters,
        after,
        max(0, min(int(limit), 10_000)),
        table=table,
        all_columns=all_columns,
    )
    if query is None:
        return []
    sql, params, wanted = query
    if run is not None:  # e.g. the exchange gateway's prepared statements
        rows = run(sql, params)
    else:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
    out = []
    for row in rows:
        rec = {"_gh_row_id": int(row[0]), "_gh_version": int(row[1])}
        for c, v in zip(wanted, row[2:], strict=True):
            rec[c.code] = _to_python(c, v)
        out.append(rec)
    return out


def changes_since(resource: Resource, after: int = 0, limit: int = 1000) -> list[ChangeLogEntry]:
    """The change log of a resource after entry id ``after`` (the exchange's feed cursor), one
    entry per row change: an entry that stands for the rows of a first load (``span`` > 1) is
    handed out as the entries it stands for (unsaved, ids ``id`` … ``id + span - 1``)."""
    limit = max(0, min(limit, 10_000))
    out: list[ChangeLogEntry] = []
    if not limit:
        return out
    mine = ChangeLogEntry.objects.filter(resource_id=resource.pk)
    # The cursor may point inside the range of the last entry at or before it (no later entry of
    # the resource has an id inside that range).
    entries = []
    current = mine.filter(id__lte=after).order_by("-id").first() if after > 0 else None
    if current is not None and current.id + current.span - 1 > after:
        entries.append(current)
    entries += list(mine.filter(id__gt=after).order_by("id")[:limit])
    for e in entries:
        if e.span <= 1:
            out.append(e)
        else:
            start = max(e.id, after + 1)
            for vid in range(start, min(e.id + e.span, start + limit - len(out))):
                out.append(
                    ChangeLogEntry(
                        id=vid, resource_id=e.resource_id, row_id=e.row_id + (vid - e.id), row_key=None,
                        op=e.op, span=1, load_id=e.load_id, version=e.version, changed_at=e.changed_at,
                    )
                )  # fmt: skip
        if len(out) >= limit:
            break
    return out[:limit]
