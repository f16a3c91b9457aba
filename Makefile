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
# This checkout's package first, even when the venv's editable install points at another clone.
export PYTHONPATH := $(CURDIR)/backend$(if $(PYTHONPATH),:$(PYTHONPATH))
# Python extras to install: dev (tests, linters) by default; HF=1 adds the Hugging Face extra.
comma := ,
EXTRAS ?= dev$(if $(HF),$(comma)hf)
STAMP := $(VENV)/.installed-$(subst $(comma),-,$(or $(EXTRAS),base))

.PHONY: openapi setup setup-py run demo dist test test-py test-js lint bench frontend frontend-deps clean help screenshots

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s $$'\t'

# ---- installation -------------------------------------------------------------------------
$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --disable-pip-version-check -c constraints.txt -e ".$(if $(EXTRAS),[$(EXTRAS)])"
	@touch $@

setup-py: $(STAMP)  ## the venv with pinned Python packages (EXTRAS=dev by default, HF=1 for the hf extra)

frontend/node_modules/.installed: frontend/package.json frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund
	@touch $@

frontend/dist/index.html: frontend/node_modules/.installed $(shell find frontend/src frontend/index.html frontend/vite*.ts -type f 2>/dev/null)
	cd frontend && npm run build
	@# the single-file page (attnviz.show / save_html / `attnviz html`) ships inside the Python package
	mkdir -p backend/attnviz/_static && cp frontend/dist/embed/index.html backend/attnviz/_static/attnviz.html

frontend-deps: frontend/node_modules/.installed

frontend: frontend/dist/index.html  ## build the web visualizer into frontend/dist

setup: setup-py frontend  ## venv + pinned Python packages + front-end build

# ---- using it -----------------------------------------------------------------------------
demo: setup-py  ## train the copy, reverse, sort and induction demo runs into checkpoints/<task>/ if missing
	$(VENV)/bin/attnviz demo --checkpoints $(CHECKPOINTS)

dist: setup-py frontend  ## the wheel and sdist with the built front end inside: dist/attnviz-<version>-py3-none-any.whl
	$(PY) deploy/build_dist.py --out dist

run: setup demo  ## install, train demo runs if needed, build, serve on http://$(HOST):$(PORT)
	$(VENV)/bin/attnviz serve --host $(HOST) --port $(PORT) --checkpoints $(CHECKPOINTS)

# ---- quality ------------------------------------------------------------------------------
test: test-js test-py  ## every test suite: vitest, then pytest (unit, API, browser)

test-py: setup
	$(PY) -m pytest $(PYTEST_ARGS)

test-js: frontend/node_modules/.installed
	cd frontend && npm test

lint: setup  ## ruff, mypy, TypeScript, Biome, API-type drift, Dockerfile and compose checks
	$(VENV)/bin/ruff check backend tests bench
	$(VENV)/bin/ruff format --check backend tests bench
	$(VENV)/bin/mypy
	cd frontend && npm run typecheck
	cd frontend && npm run lint
	$(VENV)/bin/hadolint Dockerfile
	@if command -v docker-compose >/dev/null; then docker-compose -f docker-compose.yml config -q && echo "docker-compose.yml: valid"; \
	 else echo "docker-compose not installed (apt-get install docker-compose): compose file not checked"; fi

screenshots: setup demo  ## refresh the README screenshots docs/img/*.png from the demo runs (headless Chromium)
	ATTNVIZ_SCREENSHOT_DIR=docs/img ATTNVIZ_SCREENSHOT_CHECKPOINTS=$(CHECKPOINTS) $(PY) -m pytest -q -p no:cacheprovider tests/classroom/test_screenshots.py

openapi: setup-py  ## regenerate docs/openapi.json (the front end's API types come from it)
	$(PY) -m attnviz.server.openapi --out docs/openapi.json

bench: setup demo  ## benchmarks: training, inference, service, browser (figures, not pass/fail)
	$(PY) bench/run_all.py

clean:  ## remove build outputs (keeps checkpoints and the venv)
	rm -rf frontend/dist backend/attnviz/_static dist build .pytest_cache .mypy_cache .ruff_cache
