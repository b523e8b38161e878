"""Benchmark: verify a chain of 1,000,000 audit events (issue 4; goal < 10 s on this machine).

Builds the chain in a database of its own (never the application's or the test databases),
runs ``core.audit.verify_chain`` and writes/replaces this database's block in
``docs/PERFORMANCE.md``.

    .venv/bin/python bench/audit_verify.py                        # SQLite file var/bench/audit_verify.sqlite3
    .venv/bin/python bench/audit_verify.py --database-url postgres://postgres@127.0.0.1:5432/gh_bench_audit
    .venv/bin/python bench/audit_verify.py --events 100000 --no-write   # a quick look

The events are realistic: shared-data reads with a purpose and a query in ``details``, and
changes with before/after values, from a few hundred actors in 40 units.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import re
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOAL_SECONDS = 10.0
DOC = ROOT / "docs" / "PERFORMANCE.md"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "BENCH_DATABASE_URL", f"sqlite:///{ROOT / 'var' / 'bench' / 'audit_verify.sqlite3'}"
        ),
        help="a database used only by this benchmark (default: a SQLite file under var/bench/)",
    )
    parser.add_argument("--runs", type=int, default=2, help="verification runs (all are reported)")
    parser.add_argument("--no-write", action="store_true", help="do not touch docs/PERFORMANCE.md")
    parser.add_argument(
        "--reuse", action="store_true", help="keep a chain of the same size built by an earlier run"
    )
    return parser.parse_args()


def setup_django(url: str) -> None:
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    elif url.startswith("postgres"):
        ensure_postgres_database(url)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "govhub.settings.base")
    sys.path.insert(0, str(ROOT / "src"))
    import django

    django.setup()


def ensure_postgres_database(url: str) -> None:
    import dj_database_url
    import psycopg
    from psycopg import sql

    cfg = dj_database_url.parse(url)
    name = cfg["NAME"]
    if name.startswith("test_") or name in {"govhub", "postgres"}:
        raise SystemExit(f"refusing to benchmark in database {name!r}: use a database of its own")
    conninfo = {
        "host": cfg["HOST"] or "127.0.0.1",
        "port": cfg["PORT"] or 5432,
        "user": cfg["USER"] or "postgres",
    }
    if cfg.get("PASSWORD"):
        conninfo["password"] = cfg["PASSWORD"]
    with psycopg.connect(dbname="postgres", autocommit=True, **conninfo) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def prepare_schema() -> None:
    """Migrate the benchmark database; create the audit tables a stale migration may lack."""
    from django.core.management import call_command
    from django.db import connection

    from core.models import AuditEvent
    from core.models.audit import AuditChainGap, AuditChainState

    call_command("migrate", verbosity=0, interactive=False)
    existing = set(connection.introspection.table_names())
    with connection.schema_editor() as editor:
        for model in (AuditEvent, AuditChainState, AuditChainGap):
            if model._meta.db_table not in existing:
                editor.create_model(model)


def reset(connection) -> None:
    from core.audit_db import drop_triggers

    drop_triggers()
    with connection.cursor() as cursor:
        for table in ("core_auditevent", "core_auditchaingap", "core_auditchainstate"):
            if connection.vendor == "postgresql":
                cursor.execute(f"TRUNCATE {connection.ops.quote_name(table)}")
            else:
                cursor.execute(f"DELETE FROM {connection.ops.quote_name(table)}")


ACTIONS_READ = ["exchange.query.read", "exchange.download.read", "exchange.feed.read"]
ACTIONS_CHANGE = [
    "catalog.resource.update",
    "cloud.application.accept",
    "datastore.load.finish",
    "accounts.user.login",
]
PURPOSES = ["行政依据", "工作参考", "数据校核", "业务协同"]
RESOURCES = ["企业登记信息", "人口基础信息", "不动产登记信息", "城市部件信息", "社会信用信息"]


def generate(connection, n: int) -> tuple[float, float, str]:
    """Insert ``n`` chained events (ids and seq 1..n). Returns (hash seconds, insert seconds, head)."""
    import orjson

    from core import audit
    from core.models.audit import GENESIS_HASH, AuditChainState

    rnd = random.Random(20261009)
    start = datetime(2026, 10, 9, 1, 0, tzinfo=UTC)
    units = [(i, f"芙蓉区第{i}单位") for i in range(1, 41)]
    prev = GENESIS_HASH
    t_hash = t_insert = 0.0
    batch: list[tuple] = []
    columns = [*audit.HASH_COLUMNS, "hash"]
    sqlite = connection.vendor == "sqlite"

    def flush() -> None:
        nonlocal t_insert
        t0 = time.perf_counter()
        with connection.cursor() as cursor:
            if sqlite:
                marks = ", ".join(["%s"] * len(columns))
                cursor.executemany(
                    f"INSERT INTO core_auditevent ({', '.join(columns)}) VALUES ({marks})", batch
                )
            else:
                raw = cursor.cursor  # psycopg: COPY is the fast path
                with raw.copy(f"COPY core_auditevent ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in batch:
                        copy.write_row(row)
        batch.clear()
        t_insert += time.perf_counter() - t0

    for i in range(1, n + 1):
        t0 = time.perf_counter()
        at = start + timedelta(microseconds=37_123 * i)
        unit_id, unit_label = units[i % len(units)]
        actor = 100 + i % 700
        if i % 5:
            action = ACTIONS_READ[i % 3]
            res = rnd.randrange(1, 500)
            purpose = PURPOSES[i % 4]
            details = {
                "rows": rnd.randrange(0, 200),
                "query": {
                    "uscc": f"91430102MA4L{i % 100000:05d}X",
                    "fields": ["name", "address", "legal_person"],
                },
                "grant": res * 3,
            }
            target = ("catalog.resource", str(res), RESOURCES[res % 5])
        else:
            action = ACTIONS_CHANGE[i % 4]
            purpose = ""
            details = {"before": {"status": "submitted"}, "after": {"status": "accepted"}, "note": "按期受理"}
            target = ("cloud.cloudapplication", str(i % 9000), f"云资源申请 {i % 9000}")
        details_text = orjson.dumps(details).decode()
        row = [
            i,  # id
            i,  # seq
            at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            None,  # actor_id: no FK rows needed; the label carries the name
            f"user{actor}",
            None,
            "",
            unit_id,
            unit_label,
            f"10.{unit_id}.{i % 250}.{actor % 250}",
            f"{i:032x}",
            action,
            *target,
            purpose,
            details_text,
            prev,
        ]
        digest = audit.event_hash(row)
        stored_time = at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else at
        batch.append((*row[:2], stored_time, *row[3:], digest))
        prev = digest
        t_hash += time.perf_counter() - t0
        if len(batch) >= 50_000:
            flush()
    if batch:
        flush()
    AuditChainState.objects.update_or_create(pk=1, defaults={"last_seq": n, "last_hash": prev, "last_id": n})
    if not sqlite:
        with connection.cursor() as cursor:
            cursor.execute("SELECT setval(pg_get_serial_sequence('core_auditevent', 'id'), %s)", [n + 1])
    return t_hash, t_insert, prev


CHAINER_EVENTS = 20_000


def measure_chainer(connection, n: int, head: str) -> float:
    """Events/s that ``chain_pending`` links: ``CHAINER_EVENTS`` new unchained events on top of the
    chain, chained, then removed again so the benchmark chain stays reusable."""
    from core import audit
    from core.audit_db import drop_triggers, install_triggers
    from core.models import AuditEvent
    from core.models.audit import AuditChainGap, AuditChainState

    at = datetime.now(UTC)
    AuditEvent.objects.bulk_create(
        AuditEvent(
            id=n + i,
            occurred_at=at,
            actor_label=f"user{i % 700}",
            unit_id=i % 40,
            unit_label="芙蓉区市场监督管理局",
            ip="10.1.2.3",
            action="exchange.query.read",
            target_type="catalog.resource",
            target_id=str(i % 500),
            target_label="企业登记信息",
            purpose="数据校核",
            details={"rows": i % 100, "query": {"uscc": f"91430102MA4L{i:05d}X"}},
        )
        for i in range(1, CHAINER_EVENTS + 1)
    )
    t0 = time.perf_counter()
    run = audit.chain_pending()
    rate = run.chained / (time.perf_counter() - t0)
    drop_triggers()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM core_auditevent WHERE id > %s", [n])
    AuditChainGap.objects.all().delete()
    AuditChainState.objects.filter(pk=1).update(last_seq=n, last_hash=head, last_id=n)
    install_triggers()
    return rate


def machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
        ram = f"{mem_kb / 1024 / 1024:.1f} GiB"
    except OSError:
        ram = "unknown"
    import ssl

    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "ram": ram,
        "python": platform.python_version(),
        "openssl": ssl.OPENSSL_VERSION,
    }


def scheduling_priority(vendor: str) -> str:
    """How this run was prioritised over other work on the machine ("" when it was not)."""
    parts = []
    try:
        group = Path("/proc/self/autogroup").read_text().split()
        if len(group) >= 3 and int(group[2]) < 0:
            parts.append(f"autogroup nice {group[2]}")
    except (OSError, ValueError):
        pass
    if os.nice(0) < 0:
        parts.append(f"nice {os.nice(0)}")
    if not parts:
        return ""
    text = f"run with CPU priority ({', '.join(parts)}) over the other sessions' work"
    return text + (", the database server at normal priority" if vendor == "postgresql" else "")


def write_doc(vendor: str, block: str) -> None:
    start, end = f"<!-- audit_verify:{vendor} -->", f"<!-- /audit_verify:{vendor} -->"
    text = (
        DOC.read_text()
        if DOC.exists()
        else "# GovHub — performance\n\nEach section is written by a script in `bench/`.\n"
    )
    section = "## 审计链校验 · Audit chain verification (`bench/audit_verify.py`)"
    if section not in text:
        text = (
            text.rstrip("\n")
            + f"\n\n{section}\n\n"
            + "Goal (issue 4): `manage.py audit_verify` checks 1,000,000 chained events in < 10 s on this "
            "machine. Every event's SM3 hash is recomputed over its canonical JSON and every link "
            "and sequence number is checked (`core.audit.verify_chain`: keyset-paged raw rows, "
            "orjson, OpenSSL SM3, one worker process per CPU by seq range).\n\n"
            + "<!-- audit_verify:sqlite -->\n<!-- /audit_verify:sqlite -->\n\n"
            + "<!-- audit_verify:postgresql -->\n<!-- /audit_verify:postgresql -->\n"
        )
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    if not pattern.search(text):
        text = text.rstrip("\n") + f"\n\n{start}\n{end}\n"
    text = pattern.sub(lambda _m: f"{start}\n{block.rstrip()}\n{end}", text)
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(text)


def main() -> None:
    args = parse_args()
    setup_django(args.database_url)
    from django.db import connection

    from core import audit
    from core.audit_db import install_triggers

    prepare_schema()
    vendor = connection.vendor
    with connection.cursor() as cursor:
        cursor.execute("SELECT version()" if vendor == "postgresql" else "SELECT sqlite_version()")
        db_version = cursor.fetchone()[0].split(" on ")[0]
    print(f"database: {vendor} {db_version}  events: {args.events:,}")

    from django.db import transaction

    from core.models.audit import AuditChainState

    state = AuditChainState.objects.filter(pk=1).first()
    if args.reuse and state is not None and state.last_seq == args.events:
        t_hash = t_insert = 0.0
        head = state.last_hash
        print("reusing the chain built by an earlier run")
    else:
        with transaction.atomic():
            reset(connection)
            t_hash, t_insert, head = generate(connection, args.events)
    install_triggers()
    if vendor == "postgresql":
        connection.close()
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE core_auditevent")
    print(f"built chain: hashing {t_hash:.1f} s, inserting {t_insert:.1f} s, head {head[:16]}…")

    chainer_rate = measure_chainer(connection, args.events, head)
    print(f"chainer: {chainer_rate:,.0f} events/s")

    import resource

    def cpu_seconds() -> float:
        own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime

    runs, cpus, loads = [], [], []
    for i in range(args.runs):
        loads.append(os.getloadavg()[0])
        t0, c0 = time.perf_counter(), cpu_seconds()
        result = audit.verify_chain(notify_on_failure=False, record_run=False)
        elapsed, cpu = time.perf_counter() - t0, cpu_seconds() - c0
        runs.append(elapsed)
        cpus.append(cpu)
        print(
            f"verify run {i + 1}: {elapsed:.2f} s wall, {cpu:.2f} s CPU (GovHub processes), load {loads[-1]:.1f}"
        )
        print(f"  checked={result.checked:,} ok={result.ok}")
        if not result.ok or result.checked != args.events or result.head_hash != head:
            raise SystemExit(f"verification disagrees with the generated chain: {result.message}")

    m = machine()
    priority = scheduling_priority(vendor)
    worst = max(runs)
    verdict = "meets the goal" if worst < GOAL_SECONDS else "MISSES the goal"
    nproc = os.cpu_count() or 1
    busy = min(loads) > nproc and worst >= GOAL_SECONDS
    if busy:
        verdict = f"MISSES the goal on a busy machine (load {min(loads):.0f} on {nproc} CPUs)"
    rate = args.events / worst
    block = "\n".join(
        [
            f"### {'SQLite' if vendor == 'sqlite' else 'PostgreSQL'} — {verdict}",
            "",
            "| | |",
            "|---|---|",
            f"| date | {datetime.now(UTC):%Y-%m-%d %H:%M} UTC |",
            f"| machine | {m['nproc']} CPUs ({m['cpu']}), {m['ram']} RAM |",
            f"| software | Python {m['python']}, {m['openssl']}, "
            f"{db_version if vendor == 'postgresql' else 'SQLite ' + db_version} |",
            f"| events | {args.events:,} (reads with purpose and query, changes with before/after) |",
            f"| verify runs (wall) | {', '.join(f'{r:.2f} s' for r in runs)} (slowest {worst:.2f} s ≈ {rate:,.0f} events/s) |",
            f"| CPU time of the verifying processes | {', '.join(f'{c:.1f} s' for c in cpus)} "
            + (
                "(database server not included) |"
                if vendor == "postgresql"
                else "(SQLite runs inside them) |"
            ),
            f"| machine load (1-min load average at start) | {', '.join(f'{x:.1f}' for x in loads)}"
            + (f"; {priority} |" if priority else " |"),
            f"| goal | < {GOAL_SECONDS:.0f} s for 1,000,000 events → **{verdict}** |",
            f"| chainer (`chain_pending`, {CHAINER_EVENTS:,} new events) | {chainer_rate:,.0f} events/s |",
            *(
                [
                    f"| note | other sessions kept the machine busy; the verifying processes needed "
                    f"{min(cpus):.1f} s of CPU, i.e. about {min(cpus) / nproc:.1f} s on {nproc} idle CPUs"
                    + (" plus the database server's share" if vendor == "postgresql" else "")
                    + ": rerun `bench/audit_verify.py --reuse` on a quiet machine |"
                ]
                if busy
                else []
            ),
            *(
                [
                    f"| building the chain | hashing {t_hash:.1f} s, inserting {t_insert:.1f} s (not part of the goal) |"
                ]
                if t_hash
                else []
            ),
        ]
    )
    print(block)
    if not args.no_write and args.events >= 1_000_000:
        write_doc(vendor, block)
        print(f"wrote {DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
