# GovHub — the two commands: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
MANAGE := $(PY) src/manage.py
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint format install install-test migrate static demo worker serve bench clean chromium messages

$(VENV)/bin/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "需要 Python 3.11 (python3.11)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(VENV)/bin/python
	$(PIP) install --quiet -e .
	touch $@

$(TEST_STAMP): pyproject.toml | $(VENV)/bin/python
	$(PIP) install --quiet -e '.[test]'
	touch $(STAMP) $@

install: $(STAMP)
install-test: $(TEST_STAMP)

migrate: install
	$(MANAGE) migrate --noinput

# Static files are served by GovHub itself (whitenoise, DEBUG off) from GOVHUB_VAR_DIR/static.
static: install
	$(MANAGE) collectstatic --noinput --verbosity 0

## make demo: load the demo district if the database has no unit yet, then print the demo logins
demo: migrate
	$(MANAGE) demo_load --if-empty
	@$(MANAGE) demo_logins

## make worker: the background worker alone (make run starts it for you)
worker: migrate
	$(MANAGE) govhub_worker

## make run: install, migrate, load the demo district once, start the worker and serve on :8000
run: static demo
	@echo "GovHub: http://$(HOST):$(PORT)/  (API docs: http://$(HOST):$(PORT)/api/docs/)"
	@# The worker runs in the background of this shell; Ctrl+C stops the server, and the trap
	@# stops the worker with it (no job control: everything stays in the terminal's process group).
	@$(MANAGE) govhub_worker & WORKER=$$!; \
	  trap 'kill $$WORKER 2>/dev/null' EXIT INT TERM; \
	  $(VENV)/bin/python src/govhub/server.py --bind $(HOST):$(PORT) --workers 2 --threads 4 --kill-timeout 5 --access-log

chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
	  echo "安装 Debian chromium（浏览器测试需要）..."; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk) \
	  || echo "WARNING: chromium could not be installed; browser tests will be skipped"; \
	fi

lint: install-test
	$(VENV)/bin/ruff check src bench
	$(VENV)/bin/ruff format --check src bench

format: install-test
	$(VENV)/bin/ruff format src bench
	$(VENV)/bin/ruff check --fix src bench

## make test: lint, then the whole suite (SQLite by default; PostgreSQL with DATABASE_URL=postgres://...)
# pytest exits 5 when no test ran: that is a failure too, never a pass.
test: install-test chromium lint
	@$(VENV)/bin/pytest $(PYTEST_ARGS); rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "FAILED: no tests ran"; exit 1; fi; exit $$rc

## make messages: refresh the English catalogue (src/locale/en) and compile it; the .mo is committed
messages: install-test
	cd src && ../$(PY) manage.py makemessages -l en --ignore '*/tests/*' --no-obsolete
	cd src && ../$(PY) manage.py compilemessages -l en

bench: install-test
	@for f in bench/*.py; do echo "== $$f"; $(PY) $$f || exit 1; done
	@if command -v valgrind >/dev/null; then \
	  echo "== bench/exchange.py --only instructions"; $(PY) bench/exchange.py --only instructions --rows 100000; \
	else echo "valgrind not installed: instructions per online query not counted"; fi

clean:
	rm -rf $(VENV) var/static
