# The two commands: `make run` (set up and serve on the embedded defaults) and `make test` (lint, types, tests).
# Only python3 (>= 3.11) and make are needed; everything else is installed into .venv.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run serve test lint typecheck pytest migrate seed clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is required (found %s)" % sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

migrate: install
	$(BIN)/python manage.py migrate --noinput

seed: migrate
	$(BIN)/python manage.py seed_demo --base-url http://$(HOST):$(PORT)

run: seed
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	@# No Celery beat on the embedded defaults: the periodic jobs run in a thread of the server (PERIODIC_JOBS_IN_SERVER).
	$(BIN)/uvicorn config.asgi:application --host $(HOST) --port $(PORT) --lifespan on

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy .

pytest: install
	$(BIN)/pytest

test: lint typecheck pytest

clean:
	rm -rf $(VENV) staticfiles .mypy_cache .ruff_cache .pytest_cache
