"""Database triggers that make ``core_auditevent`` append-only (S§35; 等保 level 3).

On PostgreSQL and SQLite the database itself rejects:

* every DELETE (and, on PostgreSQL, TRUNCATE);
* every UPDATE, except the chainer's one-time fill of ``seq``/``prev_hash``/``hash`` on a row
  whose three columns are still empty, with every other column unchanged.

The triggers are (re)installed idempotently by a ``post_migrate`` handler (``core.apps``), so
they exist after ``manage.py migrate`` and in test databases built with ``--no-migrations``.
Identifiers come from the model's metadata, never from user input.

Operators who must really remove audit rows (e.g. a court-ordered purge on a copy) drop the
triggers first with ``drop_triggers`` — the hash chain then reports the removal.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

logger = logging.getLogger(__name__)

TRIGGER_PREFIX = "govhub_auditevent"
PG_FUNCTION = f"{TRIGGER_PREFIX}_append_only"
#: Columns the chainer fills once; every other column must never change.
CHAIN_COLUMNS = ("seq", "prev_hash", "hash")
MESSAGE = "core_auditevent is append-only (S35): UPDATE and DELETE are not allowed"


def _table_and_columns() -> tuple[str, list[str]]:
    from core.models import AuditEvent

    columns = [f.column for f in AuditEvent._meta.concrete_fields if f.column not in CHAIN_COLUMNS]
    return AuditEvent._meta.db_table, columns


def _table_exists(connection: BaseDatabaseWrapper, table: str) -> bool:
    with connection.cursor() as cursor:
        return table in connection.introspection.table_names(cursor)


def _one_time_fill_condition(connection: BaseDatabaseWrapper, columns: list[str], same: str) -> str:
    """SQL that is true only for the chainer's fill: empty → filled, nothing else changed."""
    qn = connection.ops.quote_name
    unchanged = " AND ".join(f"NEW.{qn(c)} {same} OLD.{qn(c)}" for c in columns)
    return (
        f"OLD.{qn('seq')} IS NULL AND OLD.{qn('prev_hash')} = '' AND OLD.{qn('hash')} = '' "
        f"AND NEW.{qn('seq')} IS NOT NULL AND NEW.{qn('prev_hash')} <> '' AND NEW.{qn('hash')} <> '' "
        f"AND {unchanged}"
    )


def _postgresql_sql(connection: BaseDatabaseWrapper, table: str, columns: list[str]) -> list[str]:
    qn = connection.ops.quote_name
    fill = _one_time_fill_condition(connection, columns, "IS NOT DISTINCT FROM")
    return [
        f"""
        CREATE OR REPLACE FUNCTION {PG_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $body$
        BEGIN
            IF TG_OP = 'UPDATE' THEN
                IF {fill} THEN
                    RETURN NEW;
                END IF;
            END IF;
            RAISE EXCEPTION '{MESSAGE} (%)', TG_OP USING ERRCODE = 'insufficient_privilege';
        END
        $body$
        """,
        f"DROP TRIGGER IF EXISTS {TRIGGER_PREFIX}_no_change ON {qn(table)}",
        f"CREATE TRIGGER {TRIGGER_PREFIX}_no_change BEFORE UPDATE OR DELETE ON {qn(table)} "
        f"FOR EACH ROW EXECUTE FUNCTION {PG_FUNCTION}()",
        f"DROP TRIGGER IF EXISTS {TRIGGER_PREFIX}_no_truncate ON {qn(table)}",
        f"CREATE TRIGGER {TRIGGER_PREFIX}_no_truncate BEFORE TRUNCATE ON {qn(table)} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {PG_FUNCTION}()",
    ]


def _sqlite_sql(connection: BaseDatabaseWrapper, table: str, columns: list[str]) -> list[str]:
    qn = connection.ops.quote_name
    fill = _one_time_fill_condition(connection, columns, "IS")
    return [
        f"DROP TRIGGER IF EXISTS {TRIGGER_PREFIX}_no_update",
        f"CREATE TRIGGER {TRIGGER_PREFIX}_no_update BEFORE UPDATE ON {qn(table)} "
        f"WHEN NOT ({fill}) BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END",
        f"DROP TRIGGER IF EXISTS {TRIGGER_PREFIX}_no_delete",
        f"CREATE TRIGGER {TRIGGER_PREFIX}_no_delete BEFORE DELETE ON {qn(table)} "
        f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END",
    ]


def install_triggers(using: str = "default") -> bool:
    """Create or replace the append-only triggers. Returns False when the table does not exist yet."""
    connection = connections[using]
    table, columns = _table_and_columns()
    if not _table_exists(connection, table):
        return False
    if connection.vendor == "postgresql":
        statements = _postgresql_sql(connection, table, columns)
    elif connection.vendor == "sqlite":
        statements = _sqlite_sql(connection, table, columns)
    else:  # pragma: no cover - GovHub supports SQLite and PostgreSQL only
        logger.warning("no append-only audit triggers for database vendor %s", connection.vendor)
        return False
    with transaction.atomic(using=using), connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)
    return True


def drop_triggers(using: str = "default") -> None:
    """Remove the triggers (tests that simulate tampering; operators, deliberately)."""
    connection = connections[using]
    table, _columns = _table_and_columns()
    qn = connection.ops.quote_name
    with transaction.atomic(using=using), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            if _table_exists(connection, table):
                cursor.execute(f"DROP TRIGGER IF EXISTS {TRIGGER_PREFIX}_no_change ON {qn(table)}")
                cursor.execute(f"DROP TRIGGER IF EXISTS {TRIGGER_PREFIX}_no_truncate ON {qn(table)}")
            cursor.execute(f"DROP FUNCTION IF EXISTS {PG_FUNCTION}()")
        elif connection.vendor == "sqlite":
            cursor.execute(f"DROP TRIGGER IF EXISTS {TRIGGER_PREFIX}_no_update")
            cursor.execute(f"DROP TRIGGER IF EXISTS {TRIGGER_PREFIX}_no_delete")


def triggers_installed(using: str = "default") -> bool:
    connection = connections[using]
    table, _columns = _table_and_columns()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT count(*) FROM pg_trigger WHERE tgrelid = %s::regclass AND tgname LIKE %s",
                [table, f"{TRIGGER_PREFIX}%"],
            )
            return cursor.fetchone()[0] == 2
        cursor.execute(
            "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s AND name LIKE %s",
            [table, f"{TRIGGER_PREFIX}%"],
        )
        return cursor.fetchone()[0] == 2


def install_on_post_migrate(sender: Any, using: str = "default", **kwargs: Any) -> None:
    """``post_migrate`` handler (connected in ``core.apps``): idempotent."""
    install_triggers(using)


def allow_test_flush() -> None:
    """Test suites only (called from ``src/conftest.py``): transactional tests end with Django's
    ``flush``, which must empty every table. Wrap it: drop the triggers, flush, reinstall."""
    from django.core.management.commands import flush

    if getattr(flush.Command.handle, "_govhub_audit_wrapped", False):
        return
    original = flush.Command.handle

    def handle(self, **options):
        using = options.get("database") or "default"
        drop_triggers(using)
        try:
            return original(self, **options)
        finally:
            install_triggers(using)

    handle._govhub_audit_wrapped = True
    flush.Command.handle = handle
