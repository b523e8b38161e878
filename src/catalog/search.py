"""Full-text search for Chinese catalog entries (S§12-14: units find what others provide).

Chinese has no spaces, so words are matched as substrings:

* SQLite: an FTS5 virtual table ``catalog_search_fts`` with the ``trigram`` tokenizer
  (rowid = resource id). Trigram needs at least three characters, so 1–2 character terms
  (``人口``) fall back to ``LIKE`` on :class:`~catalog.models.ResourceSearchDoc`.
* PostgreSQL: a ``pg_trgm`` GIN index on ``ResourceSearchDoc.text``; ``LIKE '%term%'`` uses it.

The structures are created idempotently by :func:`ensure_search_structures` (called from a
``post_migrate`` handler), so they exist with and without migrations. The index is kept
current by the services through :func:`index_resource` — never through workflow signals.
"""

from __future__ import annotations

import logging

from django.db import DatabaseError, connection, transaction
from django.db.models import Q
from django.db.models.expressions import RawSQL

logger = logging.getLogger(__name__)

FTS_TABLE = "catalog_search_fts"
PG_INDEX = "catalog_search_text_trgm"
MAX_TERMS = 5


def ensure_search_structures(using_connection=None) -> None:
    """Create the FTS5 table (SQLite) or the pg_trgm extension and index (PostgreSQL).

    Without the right to create the extension (a non-superuser database role), search still
    works — by sequential scan — and a warning tells the operator what to run.
    """
    conn = using_connection or connection
    if conn.vendor == "sqlite":
        try:
            with conn.cursor() as cursor:
                cursor.execute(
                    f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5(body, tokenize='trigram')"
                )
        except DatabaseError:  # SQLite before 3.34 has no trigram tokenizer
            logger.warning("catalog search: SQLite without FTS5 trigram; searching by substring scan")
    elif conn.vendor == "postgresql":
        try:
            with transaction.atomic(using=conn.alias), conn.cursor() as cursor:
                cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
                cursor.execute(
                    f"CREATE INDEX IF NOT EXISTS {PG_INDEX} ON catalog_resourcesearchdoc "
                    "USING gin (text gin_trgm_ops)"
                )
        except DatabaseError:
            logger.warning(
                "catalog search: could not create the pg_trgm index; run as a superuser: "
                "CREATE EXTENSION pg_trgm; CREATE INDEX %s ON catalog_resourcesearchdoc "
                "USING gin (text gin_trgm_ops);",
                PG_INDEX,
            )


def fts_available() -> bool:
    """Whether this SQLite database has the FTS5 trigram table (cached on the connection)."""
    if connection.vendor != "sqlite":
        return False
    cached = getattr(connection, "_gh_catalog_fts", None)
    if cached is None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = %s", [FTS_TABLE])
            cached = cursor.fetchone() is not None
        connection._gh_catalog_fts = cached
    return cached


def _document(resource) -> tuple[str, str]:
    items = " ".join(f"{i.name} {i.code}" for i in resource.items.all())
    parts = [
        resource.name,
        resource.keywords,
        resource.summary,
        resource.provider.name,
        resource.provider.short_name,
        resource.code or "",
        items,
    ]
    return items, " ".join(p for p in parts if p).lower()


def index_resource(resource) -> None:
    """(Re)index one resource. Called by every service that changes searchable content."""
    from .models import ResourceSearchDoc

    items, text = _document(resource)
    ResourceSearchDoc.objects.update_or_create(
        resource=resource,
        defaults={
            "name": resource.name.lower(),
            "keywords": resource.keywords.lower(),
            "items": items.lower(),
            "text": text,
        },
    )
    if fts_available():
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {FTS_TABLE} WHERE rowid = %s", [resource.pk])
            cursor.execute(f"INSERT INTO {FTS_TABLE}(rowid, body) VALUES (%s, %s)", [resource.pk, text])


def unindex_resource(resource_id: int) -> None:
    if fts_available():
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {FTS_TABLE} WHERE rowid = %s", [resource_id])


def terms(query: str) -> list[str]:
    """Split a query on white space; lower-case; at most ``MAX_TERMS`` terms."""
    return [t for t in (query or "").lower().split() if t][:MAX_TERMS]


def _fts_phrase(term: str) -> str:
    # A double-quoted FTS5 string is matched literally; embedded quotes are doubled.
    return '"' + term.replace('"', '""') + '"'


def match_q(term: str) -> Q:
    """A filter on ``Resource`` for resources whose search text contains ``term``."""
    if connection.vendor == "sqlite":
        if len(term) >= 3 and fts_available():
            # The table name is a constant; the user's term is a bound parameter.
            sql = f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s"
            return Q(pk__in=RawSQL(sql, [_fts_phrase(term)]))  # noqa: S611
        # Short terms: one sequential scan of the documents, then primary-key look-ups of the
        # matches only (cheaper than probing every visible resource's document).
        from .models import ResourceSearchDoc

        return Q(pk__in=ResourceSearchDoc.objects.filter(text__contains=term).values("resource_id"))
    # PostgreSQL: LIKE on the joined document (pg_trgm GIN index for selective terms of three
    # or more characters); ranking reuses the same join, so the documents are read once.
    return Q(search_doc__text__contains=term)


def doc_match_q(term: str) -> Q:
    """The same match as :func:`match_q`, as a filter on ``ResourceSearchDoc``."""
    if connection.vendor == "sqlite" and len(term) >= 3 and fts_available():
        sql = f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s"
        return Q(resource_id__in=RawSQL(sql, [_fts_phrase(term)]))  # noqa: S611
    return Q(text__contains=term)


def reindex_all(batch_size: int = 500) -> int:
    """Rebuild the whole index in bulk (after a restore or a bulk load); returns the count.

    Same documents as :func:`index_resource`, written with bulk inserts.
    """
    from .models import Resource, ResourceSearchDoc

    ResourceSearchDoc.objects.all().delete()
    if fts_available():
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {FTS_TABLE}")
    count = 0
    qs = Resource.objects.select_related("provider").prefetch_related("items").order_by("pk")
    batch: list = []

    def flush() -> None:
        ResourceSearchDoc.objects.bulk_create([doc for doc, _ in batch])
        if fts_available():
            with connection.cursor() as cursor:
                cursor.executemany(
                    f"INSERT INTO {FTS_TABLE}(rowid, body) VALUES (%s, %s)",
                    [(doc.resource_id, text) for doc, text in batch],
                )
        batch.clear()

    for resource in qs.iterator(chunk_size=batch_size):
        items, text = _document(resource)
        doc = ResourceSearchDoc(
            resource=resource,
            name=resource.name.lower(),
            keywords=resource.keywords.lower(),
            items=items.lower(),
            text=text,
        )
        batch.append((doc, text))
        count += 1
        if len(batch) >= batch_size:
            flush()
    if batch:
        flush()
    return count
