"""GovHub's web server: granian (a Rust HTTP server) running ``govhub.wsgi:application``.

One place for the command line that ``make run``, the operator guide's service, the benchmarks
and the server test all use (decision 0012)::

    python src/govhub/server.py [--bind 127.0.0.1:8000] [--workers 2] [--threads 4] [--access-log]

``--workers`` processes each run ``--threads`` blocking threads for the WSGI application (each
thread keeps its own database connection). Failed workers are started again; a worker past
``GOVHUB_WEB_MAX_RSS_MB`` (default 1024) is replaced after its current requests; a stop waits
``--kill-timeout`` seconds (``GOVHUB_WEB_KILL_TIMEOUT``, default 30) for requests in progress. The process
replaces itself with granian (``exec``), so a service manager's signals reach granian directly:
SIGTERM stops it gracefully.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import socket
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent


def argv(
    bind: str = "127.0.0.1:8000",
    workers: int = 2,
    threads: int = 4,
    access_log: bool = False,
    kill_timeout: int = 30,
) -> list[str]:
    """granian's command line for GovHub (run by this Python: ``python -m granian``). granian binds
    IP addresses only: a host name (``localhost``) is resolved here."""
    host, _, port = bind.rpartition(":")
    host = host.strip("[]")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"--bind: HOST:PORT expected, not {bind!r}")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        try:
            host = socket.getaddrinfo(host, int(port), type=socket.SOCK_STREAM)[0][4][0]
        except OSError as exc:
            raise ValueError(f"--bind: unknown host {host!r} ({exc})") from None
    return [
        sys.executable, "-m", "granian",
        "--interface", "wsgi",
        "--working-dir", str(SRC),
        "--host", host,
        "--port", port,
        "--workers", str(workers),
        "--blocking-threads", str(threads),
        "--no-ws",
        "--respawn-failed-workers",
        "--workers-max-rss", os.environ.get("GOVHUB_WEB_MAX_RSS_MB", "1024"),
        # a stop (SIGTERM, Ctrl+C, a replaced worker) waits this long for requests in progress
        "--workers-kill-timeout", str(kill_timeout),
        "--log-level", _log_level(),
        "--access-log" if access_log else "--no-access-log",
        "govhub.wsgi:application",
    ]  # fmt: skip


def _log_level() -> str:
    level = os.environ.get("GOVHUB_LOG_LEVEL", "info").lower()
    level = {"warn": "warning", "fatal": "critical"}.get(level, level)
    return level if level in ("critical", "error", "warning", "info", "debug") else "info"


def main(args: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    env = os.environ.get
    parser.add_argument("--bind", default=env("GOVHUB_BIND", "127.0.0.1:8000"))
    parser.add_argument("--workers", type=int, default=env("GOVHUB_WEB_WORKERS", "2"))
    parser.add_argument("--threads", type=int, default=env("GOVHUB_WEB_THREADS", "4"))
    parser.add_argument(
        "--kill-timeout", type=int, default=env("GOVHUB_WEB_KILL_TIMEOUT", "30"), help="seconds (default 30)"
    )
    parser.add_argument("--access-log", action="store_true")
    opts = parser.parse_args(args)
    if opts.workers < 1 or opts.threads < 1 or opts.kill_timeout < 1:
        parser.error("--workers, --threads and --kill-timeout must be at least 1")
    try:
        command = argv(opts.bind, opts.workers, opts.threads, opts.access_log, opts.kill_timeout)
    except ValueError as exc:
        parser.error(str(exc))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "govhub.settings.base")
    os.execv(command[0], command)  # noqa: S606 (our own fixed command line)


if __name__ == "__main__":
    main()
