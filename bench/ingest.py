"""Ingestion benchmark (issue 6): raw PostgreSQL COPY vs a GovHub load with full validation.

    .venv/bin/python bench/ingest.py                 # 1,000,000 rows, PostgreSQL + SQLite + XLSX
    .venv/bin/python bench/ingest.py --rows 100000 --no-xlsx --no-write

Generates a 20-column CSV (valid 身份证号 and 统一社会信用代码 with real check characters,
names, addresses, dates), then, each in its own process so peak RSS is measured per phase:

1. raw ``COPY`` of the file into an unvalidated all-text table (the physical limit here);
2. a GovHub load (``datastore.services.load_run``: streaming read, vectorised validation in a
   worker thread beside the ``COPY`` into the table's next version, unique-key check, indexes,
   one transaction with a change-log row per inserted row; decision 0009) on PostgreSQL;
3. the same load on SQLite;
4. optionally an XLSX file of the same rows (``--xlsx-rows``).

Uses its own databases (``gh_bench`` on the local PostgreSQL, a temporary SQLite file), never
the test database. Writes a section to ``docs/PERFORMANCE.md`` unless ``--no-write``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"
PG_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN", "postgres://postgres@127.0.0.1:5432/postgres")
PG_BENCH_DB = os.environ.get("BENCH_PG_DB", "gh_bench")

COLUMNS = [
    # code, name, data_type, length, precision, identifier, key
    ("id_card", "身份证号", "string", 18, None, "id_card", True),
    ("name", "姓名", "string", 50, None, "", False),
    ("gender", "性别", "string", 2, None, "", False),
    ("birth_date", "出生日期", "date", None, None, "", False),
    ("phone", "联系电话", "string", 20, None, "", False),
    ("address", "住址", "string", 200, None, "", False),
    ("employer_uscc", "工作单位统一社会信用代码", "string", 18, None, "uscc", False),
    ("employer_name", "工作单位", "string", 100, None, "", False),
    ("income", "月收入", "decimal", 12, 2, "", False),
    ("children", "子女数", "integer", None, None, "", False),
    ("employed", "是否在职", "boolean", None, None, "", False),
    ("registered_at", "登记时间", "datetime", None, None, "", False),
    ("district_code", "行政区划代码", "string", 12, None, "", False),
    ("street", "街道", "string", 50, None, "", False),
    ("community", "社区", "string", 50, None, "", False),
    ("education", "文化程度", "string", 20, None, "", False),
    ("marital_status", "婚姻状况", "string", 10, None, "", False),
    ("nationality", "民族", "string", 20, None, "", False),
    ("email", "电子邮箱", "string", 100, None, "", False),
    ("remark", "备注", "string", 200, None, "", False),
]

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉兰萍红娥玲芬燕彬鹏辉斌宇浩凯"
STREETS = [
    "定王台街道",
    "文艺路街道",
    "朝阳街街道",
    "韭菜园街道",
    "五里牌街道",
    "火星街道",
    "马王堆街道",
    "东屯渡街道",
    "湘湖街道",
    "东岸街道",
]
ROADS = ["解放西路", "五一大道", "八一路", "韶山北路", "人民东路", "远大一路", "车站北路", "东二环"]
AREAS = ["430102", "430103", "430104", "430105", "430111", "430112", "430121", "430181"]
WEIGHTS = [pow(2, 17 - i, 11) for i in range(17)]
RIC_CHECK = "10X98765432"
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def id_card(rng: random.Random, born: dt.date, seq: int) -> str:
    body = f"{rng.choice(AREAS)}{born:%Y%m%d}{seq % 1000:03d}"
    return body + RIC_CHECK[sum(int(c) * w for c, w in zip(body, WEIGHTS, strict=True)) % 11]


def uscc(rng: random.Random) -> str:
    body = "9143010" + rng.choice("2345") + "".join(rng.choice(USCC_ALPHABET) for _ in range(9))
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(body, USCC_WEIGHTS, strict=True))
    return body + USCC_ALPHABET[(31 - total % 31) % 31]


def generate_csv(path: Path, rows: int, seed: int = 2026) -> None:
    """Unique 身份证号 per row (the key): birth date + sequence make each one distinct."""
    rng = random.Random(seed)
    companies = [(uscc(rng), f"长沙市芙蓉区{rng.choice(ROADS)}{i}号企业有限公司") for i in range(5000)]
    base = dt.date(1940, 1, 1)
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(",".join(c[0] for c in COLUMNS) + "\n")
        for i in range(rows):
            born = base + dt.timedelta(days=i % 25000)
            co = companies[i % len(companies)]
            street = rng.choice(STREETS)
            f.write(
                ",".join(
                    [
                        id_card(rng, born, i // 25000),
                        rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN),
                        "男" if i % 2 else "女",
                        born.isoformat() if i % 3 else born.strftime("%Y年%m月%d日"),
                        f"13{rng.randrange(10**9):09d}",
                        f"湖南省长沙市芙蓉区{street}{rng.choice(ROADS)}{rng.randrange(1, 999)}号{rng.randrange(1, 30)}栋{rng.randrange(101, 2999)}室",
                        co[0],
                        co[1],
                        f"{rng.randrange(2000, 40000)}.{rng.randrange(100):02d}",
                        str(rng.randrange(0, 4)),
                        "是" if i % 5 else "否",
                        f"20{rng.randrange(10, 26)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d} {rng.randrange(24):02d}:{rng.randrange(60):02d}:00",
                        "430102" + f"{rng.randrange(1, 20):03d}000",
                        street,
                        f"{rng.choice('东西南北')}{rng.choice(ROADS)[:2]}社区",
                        rng.choice(["小学", "初中", "高中", "大专", "本科", "研究生"]),
                        rng.choice(["未婚", "已婚", "离异", "丧偶"]),
                        rng.choice(["汉族", "土家族", "苗族", "侗族", "瑶族"]),
                        f"user{i}@example.cn",
                        "",
                    ]
                )
                + "\n"
            )


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- phases (each runs in a child process) -----------------------------------------------------


def phase_raw_copy(csv_path: str) -> dict:
    import psycopg

    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + PG_BENCH_DB
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_raw")
        conn.execute("CREATE TABLE bench_raw (" + ", ".join(f"{c[0]} text" for c in COLUMNS) + ")")
        t = time.perf_counter()
        with (
            conn.cursor() as cur,
            cur.copy("COPY bench_raw FROM STDIN WITH (FORMAT csv, HEADER true)") as copy,
            open(csv_path, "rb") as f,
        ):
            while chunk := f.read(1024 * 1024):
                copy.write(chunk)
        seconds = time.perf_counter() - t
        rows = conn.execute("SELECT COUNT(*) FROM bench_raw").fetchone()[0]
        conn.execute("DROP TABLE bench_raw")
    return {"seconds": seconds, "rows": rows, "rss_mb": peak_rss_mb()}


def _django(database_url: str, var_dir: str, migrate: bool = True) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ["GOVHUB_VAR_DIR"] = var_dir
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "govhub.settings.base")
    sys.path.insert(0, str(SRC))
    import django

    django.setup()
    if not migrate:
        return
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    # Models whose migrations are not generated yet (the integrator regenerates some apps'
    # migrations): create their tables directly so the benchmark runs on any checkout.
    from django.apps import apps
    from django.db import connection

    existing = set(connection.introspection.table_names())
    with connection.schema_editor() as editor:
        for model in apps.get_models():
            if model._meta.managed and not model._meta.proxy and model._meta.db_table not in existing:
                editor.create_model(model)
                existing.add(model._meta.db_table)


def phase_setup(csv_path: str, database_url: str, var_dir: str) -> dict:
    """Migrate, register a published 20-item resource and accept the upload (not measured)."""
    _django(database_url, var_dir)
    from accounts.models import RoleAssignment, Unit, User
    from accounts.roles import Role
    from catalog.models import DataItem, Resource
    from datastore import services

    unit = Unit.objects.filter(code="430102999").first() or Unit.objects.create(
        name="基准测试单位", code="430102999", uscc="11430102000000999Q"[:17] + "0"
    )
    user = User.objects.filter(username="bench").first()
    if user is None:
        user = User.objects.create_user(username="bench", password=None, unit=unit, full_name="基准")
        RoleAssignment.objects.create(user=user, role=Role.DATA_OFFICER)
    res = Resource.objects.create(
        name=f"基准人口库 {time.time():.0f}",
        provider=unit,
        classification="11",
        format="table",
        sharing_type="conditional",
        update_cycle="daily",
        status="published",
        version=1,
    )
    for pos, (code, name, dtype, length, precision, ident, key) in enumerate(COLUMNS):
        DataItem.objects.create(
            resource=res,
            position=pos,
            code=code,
            name=name,
            data_type=dtype,
            length=length,
            precision=precision,
            identifier_kind=ident,
            is_key=key,
            required=key,
        )
    with open(csv_path, "rb") as f:
        load = services.load_create(
            resource=res, by=user, upload=f, file_name=Path(csv_path).name, mode="upsert", run=False
        )
    return {"load": load.pk}


def phase_load(load_id: str, database_url: str, var_dir: str) -> dict:
    """The measured part: one GovHub load run in a fresh process (so peak RSS is its own)."""
    _django(database_url, var_dir, migrate=False)
    from datastore import services

    t = time.perf_counter()
    load = services.load_run(load_id=int(load_id))
    seconds = time.perf_counter() - t
    return {
        "seconds": seconds,
        "status": load.status,
        "error": load.error_message,
        "rows": load.rows_read,
        "accepted": load.rows_accepted,
        "rejected": load.rows_rejected,
        "inserted": load.rows_inserted,
        "rss_mb": peak_rss_mb(),
    }


def phase_make_xlsx(csv_path: str, xlsx_path: str, rows: int) -> dict:
    import csv

    from openpyxl import Workbook

    t = time.perf_counter()
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("数据")
    with open(csv_path, encoding="utf-8", newline="") as f:
        for i, row in enumerate(csv.reader(f)):
            if i > rows:
                break
            ws.append(row)
    wb.save(xlsx_path)
    return {"seconds": time.perf_counter() - t, "rss_mb": peak_rss_mb()}


# --- driver ----------------------------------------------------------------------------------


def govhub(path: Path, database_url: str, var_dir: Path) -> dict:
    load_id = child("setup", str(path), database_url, str(var_dir))["load"]
    return child("load", str(load_id), database_url, str(var_dir))


def phase_loader_cpu(csv_path: str, var_dir: str) -> dict:
    """The loader's own CPU per phase, one thread, no database (``--loader-cpu``): reading the CSV
    (columnar fast path), validating and encoding each batch for PostgreSQL's ``COPY``, as
    ``services._prepared`` does. Process CPU (polars' threads included) is repeatable where the
    load's wall clock moves with the host."""
    _django(f"sqlite:///{var_dir}/unused.sqlite3", var_dir, migrate=False)
    from datastore import sources, tables, validation

    cols = [
        tables.Column(i + 1, code, name, f"c_{i + 1}", dtype, length, precision, key, key, ident)
        for i, (code, name, dtype, length, precision, ident, key) in enumerate(COLUMNS)
    ]
    reader = sources.open_source(source="csv", path=Path(csv_path), cols=cols, mode="upsert", fast=True)
    spent = {"read": 0.0, "validate": 0.0, "encode": 0.0}
    rows, plain, batches = 0, True, reader.batches()
    while True:
        t0 = time.process_time()
        batch = next(batches, None)
        t1 = time.process_time()
        spent["read"] += t1 - t0
        if batch is None:
            break
        checked = validation.validate_batch(batch.lines, batch.values, cols)
        t2 = time.process_time()
        tables.staging_encode(cols, checked.frame, pg=True, first_row_id=rows + 1, plain=batch.plain)
        spent["encode"] += time.process_time() - t2
        spent["validate"] += t2 - t1
        rows += checked.frame.height
        plain = plain and batch.plain
    return {"rows": rows, "plain": plain, **spent}


def child(name: str, *args: str) -> dict:
    out = subprocess.run(  # noqa: S603  (our own script and generated arguments)
        [sys.executable, __file__, "--phase", name, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    if out.returncode != 0:
        raise SystemExit(f"phase {name} failed:\n{out.stderr[-4000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def ensure_pg_db() -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{PG_BENCH_DB}"')
        conn.execute(f'CREATE DATABASE "{PG_BENCH_DB}"')


def machine() -> str:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    return f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GB RAM, Python {platform.python_version()}, {platform.system()} {platform.release()}"


def write_report(text: str) -> None:
    path = ROOT / "docs" / "PERFORMANCE.md"
    marker_start, marker_end = "<!-- bench/ingest.py start -->", "<!-- bench/ingest.py end -->"
    old = path.read_text(encoding="utf-8") if path.exists() else "# Performance\n"
    block = f"{marker_start}\n{text}\n{marker_end}"
    if marker_start in old and marker_end in old:
        new = old[: old.index(marker_start)] + block + old[old.index(marker_end) + len(marker_end) :]
    else:
        new = old.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(new, encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--xlsx-rows", type=int, default=1_000_000)
    ap.add_argument("--no-xlsx", action="store_true")
    ap.add_argument("--no-sqlite", action="store_true")
    ap.add_argument("--no-write", action="store_true", help="do not update docs/PERFORMANCE.md")
    ap.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="raw COPY and the PostgreSQL load, alternating, this many times; medians are reported",
    )
    ap.add_argument(
        "--loader-cpu",
        action="store_true",
        help="only the loader's CPU per phase (read, validate, encode), without a database; prints it",
    )
    ap.add_argument("--phase", help=argparse.SUPPRESS)
    ap.add_argument("args", nargs="*", help=argparse.SUPPRESS)
    opts = ap.parse_args()
    if opts.phase:
        fn = {
            "raw": phase_raw_copy,
            "setup": phase_setup,
            "load": phase_load,
            "xlsx": phase_make_xlsx,
            "loader_cpu": phase_loader_cpu,
        }[opts.phase]
        args = list(opts.args)
        if opts.phase == "xlsx":
            args[-1] = int(args[-1])
        print(json.dumps(fn(*args)))
        return

    if opts.loader_cpu:
        with tempfile.TemporaryDirectory(prefix="gh_bench_") as tmp:
            csv_path = Path(tmp) / "people.csv"
            generate_csv(csv_path, opts.rows)
            r = child("loader_cpu", str(csv_path), tmp)
        per = 1_000_000 / max(r["rows"], 1)
        print(
            f"loader CPU per million rows ({r['rows']:,} rows, {'unquoted' if r['plain'] else 'quoted'} staging CSV): "
            f"read {r['read'] * per:.2f} s, validate {r['validate'] * per:.2f} s, encode {r['encode'] * per:.2f} s"
        )
        return

    load_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="gh_bench_") as tmp:
        csv_path = Path(tmp) / "people.csv"
        t = time.perf_counter()
        generate_csv(csv_path, opts.rows)
        size_mb = csv_path.stat().st_size / 1024**2
        print(f"generated {opts.rows} rows, {size_mb:.0f} MB in {time.perf_counter() - t:.1f}s", flush=True)
        ensure_pg_db()
        pg_url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + PG_BENCH_DB
        # Alternating runs on a shared machine: each pair sees about the same other work.
        raws, ghs = [], []
        for i in range(max(opts.repeat, 1)):
            raws.append(child("raw", str(csv_path)))
            print("raw COPY", raws[-1], flush=True)
            ghs.append(govhub(csv_path, pg_url, Path(tmp) / f"var_pg{i}"))
            print("GovHub PostgreSQL", ghs[-1], flush=True)
        raw = sorted(raws, key=lambda r: r["seconds"])[len(raws) // 2]
        gh = sorted(ghs, key=lambda r: r["seconds"])[len(ghs) // 2]
        gh["rss_mb"] = max(r["rss_mb"] for r in ghs)
        results = {"raw": raw, "pg": gh}
        if not opts.no_sqlite:
            lite = govhub(csv_path, f"sqlite:///{tmp}/bench.sqlite3", Path(tmp) / "var_lite")
            print("GovHub SQLite", lite, flush=True)
            results["sqlite"] = lite
        if not opts.no_xlsx:
            n = min(opts.xlsx_rows, opts.rows)
            xlsx_path = Path(tmp) / "people.xlsx"
            made = child("xlsx", str(csv_path), str(xlsx_path), str(n))
            xl = govhub(xlsx_path, pg_url, Path(tmp) / "var_xlsx")
            xl["make_seconds"] = made["seconds"]
            xl["size_mb"] = xlsx_path.stat().st_size / 1024**2
            print("GovHub XLSX on PostgreSQL", xl, flush=True)
            results["xlsx"] = xl
        ensure_pg_db()  # leave nothing big behind

    def rate(r: dict) -> str:
        return f"{r['rows'] / r['seconds']:,.0f}"

    def runs(rs: list[dict]) -> str:
        return ", ".join(f"{r['seconds']:.1f}" for r in rs)

    ratio = raw["seconds"] / gh["seconds"] if gh["seconds"] else 0
    lines = [
        "## Ingestion (`bench/ingest.py`)",
        "",
        f"Run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on {machine()}; load average {load_start:.1f} at the "
        f"start, {os.getloadavg()[0]:.1f} at the end (other work on the machine slows every row alike); PostgreSQL 15 local, "
        f"{opts.rows:,} rows × {len(COLUMNS)} columns, CSV {size_mb:.0f} MB (valid 身份证号 key, 统一社会信用代码, "
        "dates in two spellings, decimal, integer, boolean, datetime).",
        "",
        "| run | seconds | rows/s | peak RSS (MB) | notes |",
        "|---|---:|---:|---:|---|",
        f"| raw `COPY` into an unvalidated text table, no indexes (PostgreSQL) | {raw['seconds']:.1f} | {rate(raw)} | {raw['rss_mb']:.0f} | the physical limit; median of {runs(raws)} s |",
        f"| GovHub load, full validation, upsert (PostgreSQL) | {gh['seconds']:.1f} | {rate(gh)} | {gh['rss_mb']:.0f} | {gh['status']}, {gh['accepted']:,} accepted, {gh['rejected']} rejected; median of {runs(ghs)} s, highest RSS |",
    ]
    if "sqlite" in results:
        s = results["sqlite"]
        lines.append(
            f"| GovHub load, full validation, upsert (SQLite) | {s['seconds']:.1f} | {rate(s)} | {s['rss_mb']:.0f} | {s['status']} |"
        )
    if "xlsx" in results:
        x = results["xlsx"]
        lines.append(
            f"| GovHub load of an XLSX with {x['rows']:,} rows (PostgreSQL) | {x['seconds']:.1f} | {rate(x)} | {x['rss_mb']:.0f} | {x['size_mb']:.0f} MB file, written in {x['make_seconds']:.0f} s |"
        )
    lines += [
        "",
        f"GovHub reaches **{ratio * 100:.0f} %** of raw `COPY` throughput (goal ≥ 50 %); "
        f"peak RSS {gh['rss_mb']:.0f} MB (goal < 300 MB). The GovHub figure covers reading (columnar CSV "
        "parse), encoding detection, vectorised validation (polars) in a worker thread beside the `COPY` "
        "of typed rows into the table's next version, the unique-key check, the indexes (built by two "
        "connections), and the one transaction that writes the change log (one entry standing for the "
        "first load's rows, decision 0011) and swaps the version in (decision 0009); raw `COPY` of text "
        "into a table without indexes does none of that. What remains is CPU on 2 cores, both busy for "
        "the whole load: the database parses and stores typed rows (more work than the raw `COPY`'s text), "
        "and reading, validating and encoding take the loader about as long on the other core (decision "
        "0011); a second `COPY` connection does not shorten the load. The raw `COPY` itself moves by a "
        "third between runs on this shared host, hence the alternating runs and medians.",
    ]
    report = "\n".join(lines)
    print(report)
    if not opts.no_write:
        write_report(report)


if __name__ == "__main__":
    main()
