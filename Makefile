# attnviz — one-command setup, demo, run, test, lint and benchmarks.
# Every target installs what it needs first, so each works on a fresh clone.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000
CHECKPOINTS ?= checkpoints
PYTEST_ARGS ?=

.PHONY: setup run demo test test-py test-js lint bench frontend clean help

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s $$'\t'

# ---- installation -------------------------------------------------------------------------
$(VENV)/.installed: pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --disable-pip-version-check -c constraints.txt -e ".[dev]"
	@touch $@

frontend/node_modules/.installed: frontend/package.json frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund
	@touch $@

frontend/dist/index.html: frontend/node_modules/.installed $(shell find frontend/src frontend/index.html -type f 2>/dev/null)
	cd frontend && npm run build

frontend: frontend/dist/index.html  ## build the web visualizer into frontend/dist

setup: $(VENV)/.installed frontend  ## venv + pinned Python packages + front-end build

# ---- using it -----------------------------------------------------------------------------
demo: $(VENV)/.installed  ## train the copy, reverse and sort demo runs into checkpoints/<task>/ if missing
	$(PY) -m attnviz.demo --checkpoints $(CHECKPOINTS)

run: setup demo  ## install, train demo runs if needed, build, serve on http://$(HOST):$(PORT)
	$(VENV)/bin/attnviz serve --host $(HOST) --port $(PORT) --checkpoints $(CHECKPOINTS)

# ---- quality ------------------------------------------------------------------------------
test: test-js test-py  ## every test suite: vitest, then pytest (unit, API, browser)

test-py: setup
	$(PY) -m pytest $(PYTEST_ARGS)

test-js: frontend/node_modules/.installed
	cd frontend && npm test

lint: setup  ## ruff, mypy, TypeScript, Dockerfile and compose checks
	$(VENV)/bin/ruff check backend tests bench
	$(VENV)/bin/ruff format --check backend tests bench
	$(VENV)/bin/mypy
	cd frontend && npm run typecheck

bench: setup demo  ## benchmarks: training, inference, service, browser (figures, not pass/fail)
	$(PY) bench/run_all.py

clean:  ## remove build outputs (keeps checkpoints and the venv)
	rm -rf frontend/dist .pytest_cache .mypy_cache .ruff_cache
