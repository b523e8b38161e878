"""The web server ``make run`` and the operator guide start (``govhub.server``: granian, decision
0012), run for real: it serves the application, hands a refused API call to Django's error shape
and stops on SIGTERM. And the web process stays
lean: polars and openpyxl (≈ 75 MB a worker) are loaded only by the work that needs them.

Each test runs the server (or a fresh interpreter) as a separate process against its own
temporary SQLite database, whatever database the suite runs on: the server is what is tested.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from govhub import server

SRC = Path(__file__).resolve().parents[2]


def _env(tmp_path: Path) -> dict:
    return {
        **os.environ,
        "PYTHONPATH": str(SRC),
        "DJANGO_SETTINGS_MODULE": "govhub.settings.base",
        "DJANGO_DEBUG": "0",
        "GOVHUB_VAR_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'server.sqlite3'}",
        "GOVHUB_LOG_LEVEL": "WARNING",
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _schema(env: dict) -> None:
    """The tables, built from the models as the suite builds them (no migrations: faster)."""
    code = (
        "import django; django.setup()\n"
        "from django.apps import apps; from django.conf import settings\n"
        "from django.core.management import call_command\n"
        "settings.MIGRATION_MODULES = {a.label: None for a in apps.get_app_configs()}\n"
        "call_command('migrate', run_syncdb=True, verbosity=0)\n"
    )
    done = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", code], cwd=SRC, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]


def _get(url: str, headers: dict | None = None, data: bytes | None = None) -> tuple[int, Any, bytes]:
    """Status, headers (case-insensitive: granian sends them in lower case, as HTTP allows), body."""
    request = urllib.request.Request(url, headers=headers or {}, data=data)  # noqa: S310 - loopback
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:  # noqa: S310
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read()


def test_the_command_line_is_granian_wsgi_with_the_given_workers_and_threads():
    argv = server.argv("10.0.0.5:9000", workers=3, threads=5)
    assert Path(argv[0]).name == "granian"
    assert Path(argv[0]).exists()  # installed with GovHub, next to this interpreter

    def value(flag: str) -> str:
        return argv[argv.index(flag) + 1]

    assert value("--interface") == "wsgi"
    assert (value("--host"), value("--port")) == ("10.0.0.5", "9000")
    assert (value("--workers"), value("--blocking-threads")) == ("3", "5")
    assert "--respawn-failed-workers" in argv
    assert argv[-1] == "govhub.wsgi:application"


@pytest.mark.parametrize("bind", ["8000", "localhost:", ":8000x", ""])
def test_a_bind_address_without_host_and_port_is_refused_with_a_message(bind, capsys):
    with pytest.raises(SystemExit) as exit_:
        server.main(["--bind", bind])
    assert exit_.value.code == 2
    assert "HOST:PORT" in capsys.readouterr().err


def test_zero_workers_or_threads_are_refused(capsys):
    for args in (["--workers", "0"], ["--threads", "0"]):
        with pytest.raises(SystemExit) as exit_:
            server.main(args)
        assert exit_.value.code == 2
    assert "at least 1" in capsys.readouterr().err


def test_server_serves_hands_refusals_to_django_and_stops_on_sigterm(tmp_path):
    env = _env(tmp_path)
    _schema(env)
    port = _free_port()
    log = (tmp_path / "server.log").open("wb")
    proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, str(SRC / "govhub" / "server.py"), "--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "2"],
        cwd=SRC, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                status, headers, body = _get(base + "/healthz")
                break
            except OSError:
                assert proc.poll() is None, (tmp_path / "server.log").read_text()[-3000:]
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
        assert status == 200
        health = json.loads(body)
        assert (health["status"], health["database"], health["vendor"]) == ("ok", "ok", "sqlite")

        # an online query with an unknown token: the gateway hands it to Django, which answers 401
        # in the API's one error shape
        status, headers, body = _get(
            base + "/api/v1/exchange/NOPE/records?sfzh=1", {"Authorization": "Bearer not-a-token"}
        )
        assert status == 401
        assert headers["Content-Type"].startswith("application/json")
        error = json.loads(body)["error"]
        assert error["code"] and error["message"]
        assert "X-GovHub-Served-By" not in headers

        # a browser form posted without its CSRF token: Django's refusal, the server keeps serving
        status, _headers, body = _get(
            base + "/accounts/login/", {"Content-Type": "application/x-www-form-urlencoded"}, b"username=a"
        )
        assert status == 403
        assert _get(base + "/healthz")[0] == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
        log.close()
    assert code == 0, (tmp_path / "server.log").read_text()[-3000:]


def test_the_web_process_loads_neither_polars_nor_openpyxl(tmp_path):
    """Every URL's view module imported, the WSGI application built and an online query parsed:
    the data-loading libraries stay out (they cost ≈ 50 and 23 MB in every web worker)."""
    code = (
        "import sys, django; django.setup()\n"
        "import govhub.wsgi\n"
        "from django.urls import get_resolver\n"
        "def walk(patterns):\n"
        "    for p in patterns:\n"
        "        walk(p.url_patterns) if hasattr(p, 'url_patterns') else p.callback\n"
        "walk(get_resolver().url_patterns)\n"
        "from datastore import tables\n"
        "from catalog.models import DataItem\n"
        "col = tables.column_of(DataItem(id=1, code='sfzh', name='身份证号', data_type='string', length=18, "
        "identifier_kind='id_card', is_key=True))\n"
        "tables.coerce(col, ' 430102195001010012 ')\n"
        "print(sorted(m for m in ('polars', 'openpyxl', 'pyarrow') if m in sys.modules))\n"
    )
    done = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", code], cwd=SRC, env=_env(tmp_path), capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"
