# The two commands: `make run` (set up and serve on the embedded defaults) and `make test` (lint, types, tests).
# Only python3 (>= 3.11) and make are needed; everything else is installed into .venv.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install browser run serve test lint typecheck pytest migrate seed clean

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

# The browser tests drive Debian's Chromium (Playwright never downloads a browser here). Installed when missing and
# this is root; otherwise those tests are skipped with a message saying so.
browser:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "Installing Chromium from Debian's packages, for the browser tests"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	    || echo "Chromium could not be installed: the browser tests will be skipped"; \
	else echo "Chromium is missing (/usr/bin/chromium) and this is not root: the browser tests will be skipped"; fi

pytest: install browser
	$(BIN)/pytest

test: lint typecheck pytest

clean:
	rm -rf $(VENV) staticfiles .mypy_cache .ruff_cache .pytest_cache
