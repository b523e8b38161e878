"""What every benchmark shares: the machine description and its section in docs/PERFORMANCE.md.

Each benchmark owns one section between ``<!-- bench:NAME -->`` and ``<!-- /bench:NAME -->``
markers and replaces only that, so the benchmarks can run in any order.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "PERFORMANCE.md"
HEADER = (
    "# Performance\n\nEvery figure below is printed and written here by a script under `bench/` "
    "(`make bench` runs them all). Each section names the machine and the date it was measured on.\n"
)


def machine() -> str:
    """One line: CPU model, cores, memory, OS, Python, and the PostgreSQL server if reachable."""
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{kb / 1024 / 1024:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    pg = ""
    try:
        out = subprocess.run(  # noqa: S603
            [shutil.which("psql") or "psql", "--version"], capture_output=True, text=True, timeout=5
        ).stdout.strip()
        pg = out.replace("psql (PostgreSQL) ", "PostgreSQL ")
    except (OSError, subprocess.SubprocessError):
        pass
    parts = [
        cpu,
        f"{os.cpu_count()} cores",
        mem,
        platform.platform(terse=True),
        f"Python {platform.python_version()}",
        pg,
    ]
    return ", ".join(p for p in parts if p)


def now() -> str:
    return datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M %Z")


def load_note() -> str:
    """The 1-minute load average when measuring: other work on the machine skews timings."""
    try:
        return f"load average {os.getloadavg()[0]:.1f} at start"
    except OSError:
        return ""


def write_section(name: str, body: str) -> None:
    """Replace (or append) the section ``name`` of docs/PERFORMANCE.md."""
    DOC.parent.mkdir(parents=True, exist_ok=True)
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else HEADER
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    block = f"{start}\n{body.strip()}\n{end}"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    text = (
        pattern.sub(lambda _m: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block + "\n"
    )
    DOC.write_text(text, encoding="utf-8")
