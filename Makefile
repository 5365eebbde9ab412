# Two commands set everything up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: install run topology test lint format bench clean
PORT ?= 8000

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

run: install ## serve on 127.0.0.1:$(PORT) with demo data (embedded PostgreSQL + localstripe by default)
	$(PY) manage.py run_local --port $(PORT)

topology: install ## production-shaped stack on this machine: PgBouncer, HAProxy + 2 app servers, Celery on RabbitMQ
	$(PY) -m deploy.topology --port $(if $(filter command line,$(origin PORT)),$(PORT),8080)

test: install ## the whole suite against real PostgreSQL, localstripe, Redis (worker test), chromium
	$(PY) -m pytest

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: install
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) .kassa .kassa-topology .pytest_cache .mypy_cache .ruff_cache
