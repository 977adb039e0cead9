# The two commands: `make run` (set up and serve on the embedded defaults) and `make test` (lint, types, tests).
# Only python3 (>= 3.11) and make are needed; everything else is installed into .venv.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install browser node-sdk run serve test lint typecheck pytest migrate seed clean

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

# The Node SDK tests (tests/sdk_node) drive the official @schematichq/schematic-typescript-node, pinned in
# tests/sdk_node/package-lock.json and installed with npm into $(NODE_SDK) (git-ignored), again whenever the lock
# changes. Without node and npm, or when npm fails (offline), those tests are skipped with a message saying so; npm's
# output is then kept in $(NODE_SDK)/install-failed.
NODE_SDK := .cache/node-sdk
NODE_SDK_PINS := tests/sdk_node/package.json tests/sdk_node/package-lock.json

node-sdk:
	@if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then \
	  echo "node or npm is missing: the Node SDK tests will be skipped (install Node.js 18+ and npm, then make node-sdk)"; \
	elif [ -f $(NODE_SDK)/.installed-stamp ] && cmp -s tests/sdk_node/package-lock.json $(NODE_SDK)/package-lock.json \
	  && cmp -s tests/sdk_node/package.json $(NODE_SDK)/package.json; then :; \
	else \
	  echo "Installing the Node SDK (npm ci) into $(NODE_SDK), for the Node SDK tests"; \
	  rm -rf $(NODE_SDK) && mkdir -p $(NODE_SDK) && cp $(NODE_SDK_PINS) $(NODE_SDK)/ && \
	  if (cd $(NODE_SDK) && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) >$(NODE_SDK)/npm.log 2>&1; \
	  then touch $(NODE_SDK)/.installed-stamp; \
	  else mv $(NODE_SDK)/npm.log $(NODE_SDK)/install-failed; \
	    echo "npm could not install the Node SDK (see $(NODE_SDK)/install-failed): the Node SDK tests will be skipped"; fi; \
	fi

pytest: install browser node-sdk
	$(BIN)/pytest

test: lint typecheck pytest

clean:
	rm -rf $(VENV) staticfiles .mypy_cache .ruff_cache .pytest_cache $(NODE_SDK)
