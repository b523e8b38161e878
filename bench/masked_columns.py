"""What the masked text kept by the table costs when rows are written (decision 0010, issue 7).

The batch download reads each masked item's masked text from a stored generated column instead
of masking every value (``exchange.copyout``). PostgreSQL computes those columns whenever a row is
written; this measures that cost: ``INSERT … SELECT`` of the same rows into a table without and
with the generated columns of four masked items (身份证号, name, phone, date — the exchange's own
expressions), alternating, median of ``--runs``.

Uses its own database ``gh_bench_masked`` (dropped and re-created), never the test database.

    .venv/bin/python bench/masked_columns.py [--rows 1000000] [--runs 3] [--no-write]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT / "src"))
ADMIN = "postgres://postgres@127.0.0.1:5432/postgres"
DB = os.environ.get("BENCH_DB", "gh_bench_masked")


def _perfdoc():
    spec = importlib.util.spec_from_file_location("perfdoc", ROOT / "bench" / "perfdoc.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB}"')
        conn.execute(f'CREATE DATABASE "{DB}"')
    os.environ.update(
        DATABASE_URL=ADMIN.rsplit("/", 1)[0] + "/" + DB, DJANGO_SETTINGS_MODULE="govhub.settings.base"
    )
    import django

    django.setup()
    from catalog.models import DataType
    from datastore import tables
    from exchange.copyout import masked_expression
    from exchange.masking import mask_generic, mask_id_card, mask_name, mask_phone

    def col(n: int, data_type: str) -> tables.Column:
        return tables.Column(n, f"c{n}", f"c{n}", f"c_{n}", data_type, None, None, False, False, "")

    items = [
        (col(1, DataType.STRING), mask_id_card),
        (col(2, DataType.STRING), mask_name),
        (col(3, DataType.STRING), mask_phone),
        (col(4, DataType.DATE), mask_generic),
    ]
    data = "c_1 text, c_2 text, c_3 text, c_4 date"
    kept = ", ".join(
        f"d_{c.item_id} text GENERATED ALWAYS AS ({masked_expression(fn, c)}) STORED" for c, fn in items
    )
    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
        conn.execute(
            f"CREATE TABLE src AS SELECT lpad(n::text, 18, '4301021990') AS c_1, '张伟' AS c_2, "
            f"'139' || lpad(n::text, 8, '0') AS c_3, DATE '1950-01-01' + (n % 20000) AS c_4 "
            f"FROM generate_series(1, {int(args.rows)}) AS n"
        )
        conn.execute(f"CREATE TABLE plain ({data})")
        conn.execute(f"CREATE TABLE masked ({data}, {kept})")
        conn.execute("VACUUM ANALYZE src")
        conn.execute("CHECKPOINT")
        times: dict[str, list[float]] = {"plain": [], "masked": []}
        for _ in range(args.runs):
            for name in ("plain", "masked"):
                conn.execute(f"TRUNCATE {name}")
                t0 = time.perf_counter()
                conn.execute(f"INSERT INTO {name} (c_1, c_2, c_3, c_4) SELECT c_1, c_2, c_3, c_4 FROM src")
                times[name].append(time.perf_counter() - t0)
                print(f"  {name}: {times[name][-1]:.2f} s", flush=True)
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB}"')
    plain, masked = statistics.median(times["plain"]), statistics.median(times["masked"])
    per_item = (masked - plain) / len(items) * 1_000_000 / args.rows
    perfdoc = _perfdoc()
    body = f"""## Masked text kept by the table: the cost of writing it (`bench/masked_columns.py`)

Measured {perfdoc.now()} on {perfdoc.machine()}. `INSERT … SELECT` of {args.rows:,} rows into a table
without and with the stored generated columns of 4 masked items (身份证号, name, phone, birth date;
the exchange's own expressions, decision 0010), alternating, median of {args.runs} runs each.

| table | seconds | per masked item and million rows |
|---|---:|---:|
| 4 plain columns | {plain:.2f} | — |
| the same + 4 masked-text columns | {masked:.2f} | {per_item:.2f} s |

This is what a masked item adds to every load and update of its rows; in return the masked batch
download reads the kept text at the speed of a plain one (the exchange section above).
"""
    print(body)
    if not args.no_write:
        perfdoc.write_section("masked_columns", body)


if __name__ == "__main__":
    main()
