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
import sqlite3
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


def _world(env: dict) -> dict:
    """Build the schema (from the models, as the suite does) and a small district in the server's
    database: a resource with 5 loaded rows, a grant and an API token of the consumer. Runs this
    module's ``world_driver`` in a fresh interpreter; returns what it prints."""
    done = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-c", "from core.tests.test_server import world_driver; world_driver()"],
        cwd=SRC, env=env, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def world_driver() -> None:
    from core.tests.processes import build_schema

    build_schema()
    from datetime import timedelta

    from django.utils import timezone

    from accounts import services as accounts
    from accounts.roles import Role
    from accounts.tests.factories import UnitFactory, UserFactory
    from exchange.models import Grant
    from exchange.tests.factories import published_resource
    from exchange.tests.test_reading import PEOPLE, _load

    provider = UnitFactory(name="芙蓉公安分局")
    resource = published_resource(provider=provider)
    _load(resource, UserFactory(unit=provider, roles=[Role.DATA_OFFICER]), PEOPLE)
    consumer = UnitFactory(name="芙蓉区民政局")
    admin = UserFactory(unit=consumer, roles=[Role.UNIT_ADMIN])
    today = timezone.localdate()
    Grant.objects.create(
        resource=resource, consumer=consumer, items=["sfzh", "xm", "jd", "csrq"], purpose_category="data_check",
        purpose="低保资格核对", channels=["online_query", "batch_download"], valid_from=today,
        valid_to=today + timedelta(days=30),
    )  # fmt: skip
    client = accounts.api_client_create(
        by=admin, unit=consumer, name="核对系统", system_name="低保核对",
        scopes=["exchange.query", "exchange.download"],
    )  # fmt: skip
    _tok, token = accounts.api_token_issue(client=client, by=admin)
    print(json.dumps({"token": token, "code": resource.code, "sfzh": PEOPLE[0]["sfzh"]}))


def _get(url: str, headers: dict | None = None, data: bytes | None = None) -> tuple[int, Any, bytes]:
    """Status, headers (case-insensitive: granian sends them in lower case, as HTTP allows), body."""
    request = urllib.request.Request(url, headers=headers or {}, data=data)  # noqa: S310 - loopback
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:  # noqa: S310
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read()


def test_the_command_line_is_granian_wsgi_with_the_given_workers_and_threads():
    argv = server.argv("10.0.0.5:9000", workers=3, threads=5, kill_timeout=7)
    assert argv[:3] == [sys.executable, "-m", "granian"]  # granian installed with GovHub, in this Python

    def value(flag: str) -> str:
        return argv[argv.index(flag) + 1]

    assert value("--interface") == "wsgi"
    assert (value("--host"), value("--port")) == ("10.0.0.5", "9000")
    assert (value("--workers"), value("--blocking-threads")) == ("3", "5")
    assert value("--workers-kill-timeout") == "7"
    assert "--respawn-failed-workers" in argv
    assert argv[-1] == "govhub.wsgi:application"


def test_a_host_name_is_resolved_for_granian_which_binds_addresses_only():
    argv = server.argv("localhost:8000")
    assert argv[argv.index("--host") + 1] in ("127.0.0.1", "::1")
    assert server.argv("[::1]:8000")[server.argv("[::1]:8000").index("--host") + 1] == "::1"


@pytest.mark.parametrize(
    "bind", ["8000", "localhost:", ":8000x", "", "127.0.0.1:70000", "no-such-host.invalid:8000"]
)
def test_a_bind_address_without_host_and_port_is_refused_with_a_message(bind, capsys):
    with pytest.raises(SystemExit) as exit_:
        server.main(["--bind", bind])
    assert exit_.value.code == 2
    assert "--bind" in capsys.readouterr().err


def test_zero_or_non_numeric_workers_threads_or_timeouts_are_refused(capsys, monkeypatch):
    for args in (["--workers", "0"], ["--threads", "0"], ["--kill-timeout", "0"]):
        with pytest.raises(SystemExit) as exit_:
            server.main(args)
        assert exit_.value.code == 2
    assert "at least 1" in capsys.readouterr().err
    monkeypatch.setenv("GOVHUB_WEB_WORKERS", "four")
    with pytest.raises(SystemExit) as exit_:
        server.main([])
    assert exit_.value.code == 2
    assert "invalid int value" in capsys.readouterr().err


def test_server_answers_a_query_a_download_and_refusals_and_stops_on_sigterm(tmp_path):
    env = _env(tmp_path)
    world = _world(env)
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

        # an online query that succeeds: answered by the exchange gateway, audited with the
        # caller's address as the server gave it (granian's REMOTE_ADDR)
        auth = {"Authorization": f"Bearer {world['token']}", "X-Purpose": "data_check"}
        status, headers, body = _get(
            f"{base}/api/v1/exchange/{world['code']}/records?sfzh={world['sfzh']}", auth
        )
        assert status == 200, body[:500]
        assert headers["X-GovHub-Served-By"] == "exchange-gateway"
        answer = json.loads(body)
        assert answer["returned"] == 1
        assert answer["results"][0]["xm"] != "张三"  # personal data masked (no plain grant)
        with sqlite3.connect(tmp_path / "server.sqlite3") as db:
            ip, action = db.execute(
                "SELECT ip, action FROM core_auditevent WHERE id = ?", [answer["audit_id"]]
            ).fetchone()
        assert (ip, action) == ("127.0.0.1", "exchange.read.query")

        # a batch download streamed through the server: the header and the five rows
        status, headers, body = _get(f"{base}/api/v1/exchange/{world['code']}/download?format=csv", auth)
        assert status == 200, body[:500]
        assert headers["Content-Type"].startswith("text/csv")
        lines = body.decode("utf-8-sig").splitlines()
        assert len(lines) == 6 and "sfzh" in lines[0]

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


def test_the_server_process_environment_is_removed_from_each_request():
    """granian starts every environ from a copy of ``os.environ``: secrets would reach
    ``request.META`` and a variable named like a header would pass for one (decision 0012)."""
    from govhub.wsgi import WithoutProcessEnvironment

    seen = {}

    def app(environ, start_response):
        seen.clear()
        seen.update(environ)
        return [b""]

    env = {
        "DATABASE_URL": "postgres://govhub:secret@db/govhub",
        "HTTP_X_FORWARDED_FOR": "10.9.9.9",
        "SERVER_NAME": "govhub.local",
        "PATH": "/usr/bin",
    }
    wrapped = WithoutProcessEnvironment(app, env=env)
    request = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/",
        "SERVER_NAME": "govhub.local",
        "wsgi.url_scheme": "http",
    }

    wrapped(env | request, None)  # as granian builds it: the process's variables, then the request's
    assert "DATABASE_URL" not in seen and "PATH" not in seen
    assert "HTTP_X_FORWARDED_FOR" not in seen  # the client sent no such header
    assert seen["SERVER_NAME"] == "govhub.local" and seen["REQUEST_METHOD"] == "GET"

    wrapped(env | request | {"HTTP_X_FORWARDED_FOR": "172.16.0.7"}, None)  # the client's own header stays
    assert seen["HTTP_X_FORWARDED_FOR"] == "172.16.0.7"


@pytest.mark.parametrize(
    ("value", "expected"), [("true", "('HTTP_X_FORWARDED_PROTO', 'https')"), ("", "None")]
)
def test_x_forwarded_proto_is_trusted_only_when_configured(tmp_path, value, expected):
    code = (
        "import django; django.setup()\n"
        "from django.conf import settings\n"
        "print(getattr(settings, 'SECURE_PROXY_SSL_HEADER', None))\n"
    )
    env = _env(tmp_path) | {"GOVHUB_TRUST_X_FORWARDED_PROTO": value}
    done = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", code], cwd=SRC, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == expected
