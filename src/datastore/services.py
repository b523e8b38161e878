"""Every write of the data store: loads (S§23), their runs, retries, the update duty (S§24-25).

A load is applied whole or not at all (DESIGN rule 4): rows are read as a stream, validated in
batches into a staging table (outside any long transaction, so progress is visible), then merged
in ONE transaction together with the change log, the load figures and the audit event. A crash
at any point before that commit leaves the previous version in place and the load failed and
retryable (``load_fail_stale`` marks loads whose worker died).

Into an empty table (a first load) the staging table is the table's next version, swapped in by
that same transaction, so every row is written once; reading and validation run in a worker
thread beside the ``COPY`` (decision 0009).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import queue
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.roles import Role
from catalog.models import Resource, ResourceFormat, ResourceStatus
from core import audit, deadlines, jobs
from core.errors import Conflict, DomainError, Invalid, PermissionDenied
from core.notify import notify
from core.rules import Rule

from . import conf, hooks, sources, tables
from .errors import DatastoreError as E
from .models import DataTable, Load, LoadMode, LoadReject, LoadSource, LoadStatus, SourceChange
from .permissions import can_load

logger = logging.getLogger(__name__)

_SUFFIX = {
    LoadSource.CSV: ".csv",
    LoadSource.XLSX: ".xlsx",
    LoadSource.JSONL: ".jsonl",
    LoadSource.API: ".jsonl",
}


def source_for_filename(name: str) -> str:
    """CSV, XLSX or JSON Lines from the file name (``.txt``/``.tsv`` are read as CSV)."""
    low = (name or "").lower()
    if low.endswith((".xlsx", ".xlsm")):
        return LoadSource.XLSX
    if low.endswith((".jsonl", ".ndjson", ".json")):
        return LoadSource.JSONL
    if low.endswith((".csv", ".txt", ".tsv")):
        return LoadSource.CSV
    raise Invalid(E.BAD_FORMAT, "不支持的文件类型：请上传 CSV、XLSX 或 JSON Lines（.jsonl）文件。")


def _threshold(value: Any) -> Decimal:
    if value is None or value == "":
        return conf.DEFAULT_REJECT_THRESHOLD
    try:
        t = Decimal(str(value))
    except InvalidOperation:
        raise Invalid(E.BAD_THRESHOLD, "拒绝率阈值应为 0 到 1 之间的小数，如 0.01 表示 1%。")
    if not (Decimal(0) <= t <= Decimal(1)) or t.as_tuple().exponent < -4:
        raise Invalid(E.BAD_THRESHOLD, "拒绝率阈值应为 0 到 1 之间的小数（最多 4 位小数），如 0.01 表示 1%。")
    return t


def _store(upload: Any, suffix: str) -> tuple[Path, int, str]:
    """Copy the upload to the load file area in chunks; refuse it past the size limit."""
    folder = conf.files_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{uuid.uuid4().hex}{suffix}"
    limit = conf.max_upload_bytes()
    digest, size = hashlib.sha256(), 0
    declared = getattr(upload, "size", None)
    if declared is not None and declared > limit:
        raise Invalid(E.TOO_LARGE, f"文件超过 {limit // (1024 * 1024)} MB 的上限。", {"limit": limit})
    chunks = upload.chunks() if hasattr(upload, "chunks") else iter(lambda: upload.read(1024 * 1024), b"")
    try:
        with open(path, "wb") as out:
            for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    raise Invalid(
                        E.TOO_LARGE, f"文件超过 {limit // (1024 * 1024)} MB 的上限。", {"limit": limit}
                    )
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path, size, digest.hexdigest()


def _check_loadable(resource: Resource, by: Any, mode: str) -> list[tables.Column]:
    if not can_load(by, resource):
        raise PermissionDenied(E.NOT_ALLOWED, "只有提供单位的数据专员或中心管理员可以加载该资源的数据。")
    if resource.format != ResourceFormat.TABLE:
        raise Invalid(E.NOT_TABLE, "只有“数据库表”格式的信息资源才能加载数据。")
    if resource.status != ResourceStatus.PUBLISHED:
        raise Conflict(E.NOT_PUBLISHED, "信息资源尚未发布，不能加载数据。")
    if mode not in LoadMode.values:
        raise Invalid(E.BAD_MODE, "加载方式应为 append（追加）、upsert（按主键更新）或 replace（全量替换）。")
    cols = tables.columns_of(resource)
    if not cols:
        raise Invalid(E.NO_ITEMS, "信息资源没有信息项，无法加载数据。")
    if mode == LoadMode.UPSERT and not any(c.is_key for c in cols):
        raise Invalid(E.NO_KEY, "该资源没有主键信息项，不能“按主键更新”；请使用追加或全量替换。")
    return cols


def load_create(
    *,
    resource: Resource,
    by: Any,
    upload: Any,
    file_name: str = "",
    mode: str = LoadMode.UPSERT,
    source: str = "",
    sheet: str = "",
    reject_threshold: Any = None,
    run: bool = True,
) -> Load:
    """A provider uploads a file to load (S§23). Checked at once: who (403), the resource, the
    size limit and the file's header; rows are validated by the background run.

    Not one ``@transaction.atomic`` around everything on purpose: the record and its audit event
    are committed first, then the background job is enqueued so a worker can see the record.
    """
    cols = _check_loadable(resource, by, mode)
    threshold = _threshold(reject_threshold)
    file_name = (file_name or getattr(upload, "name", "") or "").rsplit("/", 1)[-1][:255]
    source = source or source_for_filename(file_name)
    if source not in LoadSource.values:
        raise Invalid(E.BAD_FORMAT, "不支持的来源类型。")
    path, size, checksum = _store(upload, _SUFFIX[source])
    try:
        reader = sources.open_source(source=source, path=path, cols=cols, mode=mode, sheet=sheet)
        reader.header()
        with transaction.atomic():
            load = Load.objects.create(
                resource=resource,
                mode=mode,
                source=source,
                file_name=file_name,
                file_path=str(path),
                file_size=size,
                checksum=checksum,
                sheet_name=sheet[:100],
                encoding=reader.encoding,
                delimiter=reader.delimiter,
                reject_threshold=threshold,
                created_by=by,
            )
            audit.record(
                action="datastore.load.create",
                actor=by,
                target=load,
                details={
                    "resource": resource.pk,
                    "mode": mode,
                    "file": file_name,
                    "sha256": checksum,
                    "size": size,
                },
            )
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    if run:
        _enqueue(load)
    return load


def load_push(
    *, resource: Resource, by: Any, rows: list, mode: str = LoadMode.UPSERT, api_client: Any = None
) -> Load:
    """API push (S§23 system integration): a batch of row objects, loaded like a JSON Lines file."""
    import io
    import json

    if not isinstance(rows, list) or not rows:
        raise Invalid(E.BAD_PUSH, "rows 应为非空数组，每个元素是一个以信息项代码为键的对象。")
    if len(rows) > conf.push_max_rows():
        raise Invalid(E.BAD_PUSH, f"每批最多推送 {conf.push_max_rows()} 行。")
    body = "".join(json.dumps(r, ensure_ascii=False, default=str) + "\n" for r in rows).encode("utf-8")
    upload = io.BytesIO(body)
    upload.size = len(body)  # type: ignore[attr-defined]
    name = f"api-push-{timezone.localtime():%Y%m%d%H%M%S}.jsonl"
    return load_create(
        resource=resource, by=by, upload=upload, file_name=name, mode=mode, source=LoadSource.API
    )


def _enqueue(load: Load) -> None:
    """Queue the run through core.jobs: it starts after the caller's transaction commits."""
    from .tasks import load_task

    jobs.enqueue(
        load_task,
        kind="datastore.load",
        by=load.created_by,
        target=load,
        notify_on_finish=False,
        load_id=load.pk,
    )


def load_retry(*, load: Load, by: Any) -> Load:
    """Run a failed (or interrupted) load again from its stored file."""
    with transaction.atomic():
        load = Load.objects.select_for_update().select_related("resource").get(pk=load.pk)
        if not can_load(by, load.resource):
            raise PermissionDenied(E.NOT_ALLOWED, "只有提供单位的数据专员或中心管理员可以重试加载。")
        if load.status == LoadStatus.RUNNING and _is_stale(load):
            load.status = LoadStatus.FAILED
        if load.status != LoadStatus.FAILED:
            raise Conflict(E.NOT_RETRYABLE, "只有失败的加载可以重试。")
        if not load.file_path or not Path(load.file_path).exists():
            raise Conflict(E.NOT_RETRYABLE, "原始文件已不存在，请重新上传。")
        load.status = LoadStatus.QUEUED
        load.error_code = load.error_message = ""
        load.save(update_fields=["status", "error_code", "error_message"])
        audit.record(action="datastore.load.retry", actor=by, target=load)
    _enqueue(load)
    return load


def _is_stale(load: Load) -> bool:
    beat = load.heartbeat_at or load.started_at or load.created_at
    return beat is not None and timezone.now() - beat > conf.stale_after()


def load_fail_stale() -> int:
    """Mark running loads whose worker stopped (crash, ``kill -9``) as failed and retryable.
    Their staging table is dropped by the retry; the live table was never touched."""
    cutoff = timezone.now() - conf.stale_after()
    n = 0
    for load in Load.objects.filter(status=LoadStatus.RUNNING, heartbeat_at__lt=cutoff):
        with transaction.atomic():
            done = Load.objects.filter(pk=load.pk, status=LoadStatus.RUNNING, heartbeat_at__lt=cutoff).update(
                status=LoadStatus.FAILED,
                error_code=E.INTERNAL.value,
                error_message="加载被中断（处理进程已退出），数据未改变，可以重试。",
                finished_at=timezone.now(),
            )
            if done:
                n += 1
                audit.record(action="datastore.load.interrupted", target=load)
    return n


# --- the run ---------------------------------------------------------------------------------


class _Rejects:
    """Collects rejected values; keeps the first ``conf.max_rejects_kept()`` for download."""

    def __init__(self, load: Load):
        self.load, self.kept, self.cap = load, 0, conf.max_rejects_kept()

    def add(self, items: list[tuple[int, str, str, str]]) -> None:
        room = self.cap - self.kept
        if room <= 0 or not items:
            return
        objs = [
            LoadReject(load=self.load, line=line, column=col[:200], reason=reason[:300], value=value)
            for line, col, reason, value in items[:room]
        ]
        LoadReject.objects.bulk_create(objs, batch_size=2000)
        self.kept += len(objs)


@functools.cache
def _return_large_blocks() -> None:
    """glibc keeps freed blocks of a few MB for reuse (its mmap threshold grows to the largest
    block freed), so the pieces and batches of a load, each freed after use, would add up to
    tens of MB that are never returned. A fixed 1 MB threshold maps larger blocks on their own
    and gives them back when freed. Nothing to do on other C libraries."""
    import ctypes
    import platform

    if platform.libc_ver()[0] != "glibc":
        return
    try:
        ctypes.CDLL("libc.so.6").mallopt(-3, 1 << 20)  # M_MMAP_THRESHOLD
    except OSError:  # pragma: no cover - no libc.so.6 on this glibc system
        logger.info("mallopt not available; peak memory of loads may be higher")


def load_run(*, load_id: int, run_id: int | None = None) -> Load:
    """Run one load (called by the background job). Never raises for bad data: the outcome is
    recorded on the load (succeeded, or failed with a clear message and nothing applied)."""
    _return_large_blocks()
    now = timezone.now()
    # A queued load, or one whose previous worker died (the job system re-runs it).
    lost = Q(status=LoadStatus.RUNNING, heartbeat_at__lt=now - conf.stale_after())
    claimed = Load.objects.filter(Q(status=LoadStatus.QUEUED) | lost, pk=load_id).update(
        status=LoadStatus.RUNNING,
        started_at=now,
        heartbeat_at=now,
        finished_at=None,
        attempts=F("attempts") + 1,
        progress_rows=0,
        progress_bytes=0,
    )
    load = Load.objects.select_related("resource", "created_by").get(pk=load_id)
    if not claimed:
        return load
    started = time.monotonic()
    figures: dict[str, int] = {"read": 0, "rejected": 0, "staged": 0}
    stats: dict[str, dict[str, int]] = {}
    try:
        resource = load.resource
        table = tables.table_ensure(resource)
        live = {e["item"] for e in table.schema if not e.get("removed")}
        cols = [c for c in tables.columns_of(resource) if c.item_id in live]
        # Into an empty table (a first load) the rows are written once, into the next version.
        next_version = tables.next_version_possible(table)
        try:
            staged = _stage(load, table, cols, figures, stats, run_id, fast=True, next_version=next_version)
        except sources.FastPathFailed:
            # The columnar reader met something it does not handle (e.g. invalid UTF-8 after the
            # first megabyte): start again with the line-by-line reader, which reports the line.
            figures.update(read=0, rejected=0, staged=0)
            stats.clear()
            staged = _stage(load, table, cols, figures, stats, run_id, fast=False, next_version=next_version)
        keys = [c for c in cols if c.is_key]
        key_label = "、".join(c.label for c in keys)
        # Next version, run by a worker (not inside a transaction): the unique key index is built
        # on a second connection while the merge transaction writes the change log; keys are
        # assumed unique, and looked at one by one only if that index cannot be built.
        optimistic = (
            staged.next is not None
            and bool(keys)
            and connection.vendor == "postgresql"
            and not connection.in_atomic_block
        )
        if staged.next is not None:
            if not optimistic:
                _reject_duplicates(staged, cols, key_label, figures)
        elif keys:
            with transaction.atomic():
                _check_staged_keys(load, table, staged, key_label, figures)
        else:
            tables.staging_analyze(staged.name)
        accepted = _accepted(load, staged, figures)
        try:
            _apply(load, table, staged, cols, figures, stats, started, accepted, build_key=optimistic)
        except tables.DuplicateKeys:
            _reject_duplicates(staged, cols, key_label, figures)
            accepted = _accepted(load, staged, figures)
            _apply(load, table, staged, cols, figures, stats, started, accepted, build_key=False)
    except DomainError as exc:
        _fail(load, exc.code, exc.message, figures, stats, started)
    except Exception:
        logger.exception("datastore load %s failed", load_id)
        _fail(
            load,
            E.INTERNAL.value,
            "加载过程中发生内部错误，已回滚，数据未改变，可以重试。",
            figures,
            stats,
            started,
        )
    finally:
        try:
            tables.staging_drop(load.pk)  # also after a failure inside the staging phase
        except Exception:
            logger.exception("could not drop staging of load %s", load_id)
    load.refresh_from_db()
    if load.status == LoadStatus.SUCCEEDED:
        hooks.after_load(load.resource, load)
    return load


def _reject_duplicates(staged: _Staged, cols, key_label: str, figures: dict) -> None:
    """Next version: build its unique key index, rejecting later rows of a key seen before."""
    dupes = tables.staging_finish_next(staged.next, cols)
    if dupes:
        line = staged.line_of_row_id
        staged.rejects.add(
            [(line(rid), key_label, f"主键与第 {line(first)} 行重复", "") for rid, first in dupes]
        )
        figures["rejected"] += len(dupes)
        figures["staged"] -= len(dupes)


def _accepted(load: Load, staged: _Staged, figures: dict) -> int:
    """Rows to apply, after the reject threshold (S§23: over it, nothing is applied)."""
    accepted = figures["staged"] if staged.next is not None else tables.staging_count(staged.name)
    read, rejected = figures["read"], figures["rejected"]
    if read and Decimal(rejected) / Decimal(read) > load.reject_threshold:
        raise Invalid(
            E.REJECT_THRESHOLD,
            f"拒绝 {rejected} 行，占 {rejected * 100 / read:.2f}%，超过阈值 {load.reject_threshold * 100:.2f}%："
            "本次加载未应用任何数据。请下载拒绝明细修正后重新上传。",
            {"read": read, "rejected": rejected},
        )
    if accepted == 0:
        raise Invalid(E.NO_ROWS, "没有可加载的有效数据行，本次加载未应用任何数据。")
    return accepted


def _check_staged_keys(load: Load, table: DataTable, staged: _Staged, key_label: str, figures: dict) -> None:
    """Staging with line numbers (the merge path): reject later duplicates of a key and, when
    appending, keys the table already has."""
    staging, rejects = staged.name, staged.rejects
    tables.staging_index(staging)
    dupes = tables.staging_duplicates(staging)
    if dupes:
        rejects.add([(line, key_label, f"主键与第 {first} 行重复", "") for line, first in dupes])
        tables.staging_delete_lines(staging, [line for line, _ in dupes])
    existing: list[int] = []
    if load.mode == LoadMode.APPEND:
        existing = tables.staging_existing_keys(staging, table.table_name)
        if existing:
            rejects.add(
                [
                    (line, key_label, "主键已存在（追加方式不覆盖已有记录，请用“按主键更新”）", "")
                    for line in existing
                ]
            )
            tables.staging_delete_lines(staging, existing)
    figures["rejected"] += len(dupes) + len(existing)


@dataclass
class _Staged:
    """The staged rows of one run: the staging table, or the next version of an empty table."""

    name: str
    rejects: _Rejects
    next: tables.NextVersion | None = None
    lines: list = field(default_factory=list)  # next version: source line of each row id, per batch

    def line_of_row_id(self, row_id: int) -> int:
        import polars as pl

        if not isinstance(self.lines, pl.Series):
            self.lines = pl.concat(self.lines) if self.lines else pl.Series([], dtype=pl.Int64)
        return int(self.lines[row_id - self.next.first_row_id])


_DONE = object()
_PROGRESS_EVERY = 1.0  # seconds between progress reports (and heartbeats) while staging


def _prepared(reader, cols, *, pg: bool, first_row_id: int | None, system: tuple = ()) -> Iterator[tuple]:
    """(batch, checked, encoded) for every batch, read, validated and encoded by a worker thread
    while the caller writes the previous batch: polars and the database then use both cores.
    The worker touches no database connection; errors it meets are raised here, in order."""
    # imported here, in the caller's thread (polars: loaded by the process that loads data, not by
    # every web worker); a failing import fails the load instead of leaving the worker silent
    from . import validation

    out: queue.Queue = queue.Queue(maxsize=1)
    stop = threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                out.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        try:
            next_id = first_row_id
            for batch in reader.batches():
                checked = validation.validate_batch(batch.lines, batch.values, cols)
                encoded = tables.staging_encode(
                    cols, checked.frame, pg=pg, first_row_id=next_id, system=system, plain=batch.plain
                )
                if next_id is not None:
                    next_id += checked.frame.height
                # what waits in the queue is the encoded rows: the raw and typed values are done with
                batch.values = {}
                checked.frame = checked.frame.select("_gh_line")
                if not put((batch, checked, encoded)):
                    return
            put(_DONE)
        except BaseException as exc:  # handed to the caller, which raises it
            put(exc)

    worker = threading.Thread(target=work, name="datastore-load-reader", daemon=True)
    worker.start()
    try:
        while True:
            item = out.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        worker.join()


def _stage(
    load: Load, table: DataTable, cols, figures: dict, stats: dict, run_id, *, fast: bool, next_version: bool
) -> _Staged:
    """Read, validate and write every batch into a fresh staging table (or next version)."""
    from django.db import connection

    LoadReject.objects.filter(load=load).delete()
    rejects = _Rejects(load)
    if next_version:
        nv = tables.staging_create_next(load.pk, table, cols, now=timezone.now())
        staged = _Staged(name=nv.name, rejects=rejects, next=nv)
    else:
        staged = _Staged(name=tables.staging_create(load.pk, cols), rejects=rejects)
    reader = sources.open_source(
        source=load.source,
        path=Path(load.file_path),
        cols=cols,
        mode=load.mode,
        sheet=load.sheet_name,
        fast=fast,
    )
    pg = connection.vendor == "postgresql"
    first = staged.next.first_row_id if staged.next else None
    system: tuple = ()
    if staged.next is not None and not pg:
        nv = staged.next
        system = (load.pk, nv.version, connection.ops.adapt_datetimefield_value(nv.changed_at))
    reported = 0.0
    prepared = _prepared(reader, cols, pg=pg, first_row_id=first, system=system)
    # closing: on any error here the worker thread is stopped at once, not when collected
    with tables.staging_commits_relaxed(), contextlib.closing(prepared):
        for batch, checked, encoded in prepared:
            if pg:
                tables.staging_write(staged.name, encoded)  # one COPY, its own transaction
            else:
                with transaction.atomic():
                    tables.staging_write(staged.name, encoded)
            if staged.next is not None:
                staged.lines.append(checked.frame["_gh_line"])
            rejects.add(sorted(batch.rejects + checked.rejects, key=lambda r: r[0]))
            figures["read"] += len(batch.lines) + batch.rejected_lines
            figures["rejected"] += batch.rejected_lines + checked.rejected_rows
            figures["staged"] += checked.frame.height
            for item, s in checked.stats.items():
                acc = stats.setdefault(item, {"non_null": 0, "invalid": 0, "warnings": 0})
                for k, v in s.items():
                    acc[k] += v
            if time.monotonic() - reported >= _PROGRESS_EVERY:  # a heartbeat too
                reported = time.monotonic()
                Load.objects.filter(pk=load.pk).update(
                    progress_rows=figures["read"],
                    progress_bytes=batch.bytes_done,
                    heartbeat_at=timezone.now(),
                )
                if run_id is not None:
                    jobs.progress(run_id, batch.bytes_done, load.file_size, f"已校验 {figures['read']} 行")
    return staged


def _apply(load, table, staged: _Staged, cols, figures, stats, started, accepted, *, build_key: bool) -> None:
    """The one merge transaction: rows, change log, version, figures, duty clocks, audit."""
    read, rejected = figures["read"], figures["rejected"]
    now = timezone.now()
    schema = table.schema
    # The next version is committed, so a second connection can see it (PostgreSQL only).
    parallel = connection.vendor == "postgresql" and not connection.in_atomic_block
    with transaction.atomic():
        table = DataTable.objects.select_for_update().get(pk=table.pk)
        version = table.version + 1
        nv = staged.next
        if nv is not None and (
            nv.version != version or table.schema != schema or not tables.next_version_possible(table)
        ):
            # Another load filled the table meanwhile: merge the next version like a staging table,
            # once its keys are known to be unique.
            if build_key:
                raise tables.DuplicateKeys("keys not checked yet")
            if load.mode == LoadMode.APPEND:
                raise Conflict(E.INTERNAL, "加载期间数据表已被另一次加载更新，本次未应用任何数据，请重试。")
            nv = None
        if nv is not None:
            res = tables.staging_swap(
                table=table, nv=nv, cols=cols, load_id=load.pk, parallel=parallel, build_key=build_key
            )
            table.row_count = res.inserted
        else:
            res = tables.merge(
                table=table,
                staging=staged.name,
                cols=cols,
                mode=load.mode,
                load_id=load.pk,
                version=version,
                now=now,
            )
            table.row_count = tables.count_rows(table)
        table.version = version
        table.last_loaded_at = now
        table.last_load = load
        table.overdue_since = None
        table.save(
            update_fields=[
                "version",
                "row_count",
                "last_loaded_at",
                "last_load",
                "overdue_since",
                "updated_at",
            ]
        )
        Load.objects.filter(pk=load.pk).update(
            status=LoadStatus.SUCCEEDED,
            rows_read=read,
            rows_accepted=accepted,
            rows_rejected=rejected,
            rows_inserted=res.inserted,
            rows_updated=res.updated,
            rows_deleted=res.deleted,
            rows_unchanged=max(accepted - res.inserted - res.updated, 0),
            progress_rows=read,
            progress_bytes=load.file_size,
            version=version,
            stats=stats,
            finished_at=now,
            heartbeat_at=now,
            duration_ms=int((time.monotonic() - started) * 1000),
            error_code="",
            error_message="",
        )
        # Freshness on the catalog entry (S§24). catalog exposes no service for this field yet.
        Resource.objects.filter(pk=load.resource_id).update(data_updated_at=now)
        for change in SourceChange.objects.select_for_update().filter(
            resource_id=load.resource_id, met_by_load=None
        ):
            change.met_by_load, change.met_at = load, now
            change.save(update_fields=["met_by_load", "met_at"])
            deadlines.meet(target=change, rule=Rule.DATA_UPDATE, at=now)
        audit.record(
            action="datastore.load.apply",
            actor=load.created_by,
            target=load,
            details={
                "resource": load.resource_id,
                "version": version,
                "read": read,
                "accepted": accepted,
                "rejected": rejected,
                "inserted": res.inserted,
                "updated": res.updated,
                "deleted": res.deleted,
            },
        )
        if load.created_by_id:
            notify(
                event="datastore.load.succeeded",
                users=[load.created_by],
                title=f"数据加载完成：{load.resource.name}",
                body=f"新增 {res.inserted} 行，更新 {res.updated} 行，删除 {res.deleted} 行，拒绝 {rejected} 行。",
                url=f"/datastore/loads/{load.pk}/",
            )


def _fail(load: Load, code: str, message: str, figures: dict, stats: dict, started: float) -> None:
    now = timezone.now()
    with transaction.atomic():
        Load.objects.filter(pk=load.pk).update(
            status=LoadStatus.FAILED,
            error_code=code,
            error_message=message,
            rows_read=figures.get("read", 0),
            rows_rejected=figures.get("rejected", 0),
            rows_accepted=0,
            rows_inserted=0,
            rows_updated=0,
            rows_deleted=0,
            stats=stats,
            finished_at=now,
            heartbeat_at=now,
            duration_ms=int((time.monotonic() - started) * 1000),
        )
        audit.record(
            action="datastore.load.fail",
            actor=load.created_by,
            target=load,
            details={"code": code, "message": message},
        )
        if load.created_by_id:
            notify(
                event="datastore.load.failed",
                users=[load.created_by],
                title=f"数据加载失败：{load.resource.name}",
                body=message,
                url=f"/datastore/loads/{load.pk}/",
            )


# --- update duty (S§24-25) --------------------------------------------------------------------


@transaction.atomic
def source_change_report(*, resource: Resource, by: Any, note: str = "") -> SourceChange:
    """S§25: the provider records that its source data changed; the platform copy must be
    updated within 2 working days (clock ``Rule.DATA_UPDATE``), met by the next successful load."""
    resource = Resource.objects.select_for_update().get(pk=resource.pk)
    if not can_load(by, resource):
        raise PermissionDenied(E.NOT_ALLOWED, "只有提供单位的数据专员或中心管理员可以登记源数据变更。")
    if resource.status != ResourceStatus.PUBLISHED:
        raise Conflict(E.NOT_PUBLISHED, "信息资源尚未发布。")
    change = SourceChange.objects.create(
        resource=resource, note=(note or "")[:500], reported_by=by, reported_at=timezone.now()
    )
    deadlines.start(
        target=change,
        rule=Rule.DATA_UPDATE,
        responsible_unit=resource.provider,
        started_at=change.reported_at,
    )
    audit.record(
        action="datastore.source_change.report",
        actor=by,
        target=resource,
        details={"change": change.pk, "note": note[:500]},
    )
    notify(
        event="datastore.source_change.reported",
        roles=[Role.CENTER_ADMIN],
        title=f"源数据变更：{resource.name}",
        body=note[:500],
        url=f"/datastore/resources/{resource.pk}/",
    )
    return change


def resource_overdue_sweep(*, now=None) -> int:
    """S§24: flag every published table resource not loaded within its update cycle and tell its
    data officer once; clear the flag when it is current again. Returns how many were flagged."""
    now = now or timezone.now()
    flagged = 0
    qs = Resource.objects.filter(status=ResourceStatus.PUBLISHED, format=ResourceFormat.TABLE).select_related(
        "provider"
    )
    for resource in qs:
        window = conf.UPDATE_CYCLE_WINDOW.get(resource.update_cycle)
        if window is None:
            continue
        with transaction.atomic():
            table = DataTable.objects.select_for_update().filter(resource=resource).first()
            last = (
                (table.last_loaded_at if table else None)
                or resource.first_published_at
                or resource.created_at
            )
            overdue = now - last > window
            if table is None:
                if not overdue:
                    continue
                table = DataTable.objects.create(
                    resource=resource, table_name=tables.table_name(resource.pk), schema=[]
                )
            if overdue and table.overdue_since is None:
                table.overdue_since = now
                table.save(update_fields=["overdue_since", "updated_at"])
                audit.record(
                    action="datastore.resource.overdue",
                    target=resource,
                    unit=resource.provider,
                    details={"last": last.isoformat()},
                )
                officer = resource.provider.data_officer
                notify(
                    event="datastore.resource.overdue",
                    users=[officer] if officer else [],
                    roles=[Role.DATA_OFFICER],
                    unit=resource.provider,
                    title=f"数据逾期未更新：{resource.name}",
                    body=f"更新周期为{resource.get_update_cycle_display()}，最近一次更新：{timezone.localtime(last):%Y-%m-%d %H:%M}。",
                    url=f"/datastore/resources/{resource.pk}/",
                )
                flagged += 1
            elif not overdue and table.overdue_since is not None:
                table.overdue_since = None
                table.save(update_fields=["overdue_since", "updated_at"])
    return flagged
