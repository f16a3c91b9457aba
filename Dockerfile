# attnviz classroom image.
#   stage 1 (Node) builds the front end with the same `make frontend` as a clone does;
#   stage 2 (slim Python) installs the service with the pinned versions of constraints.txt and
#   the CPU build of torch, then trains the demo runs with the project's own `make demo`.
# Nothing is fetched at run time. Runs trained on the host into ./checkpoints are mounted
# read-only at /app/checkpoints/local (see docker-compose.yml) and appear in the picker; runs
# trained from the page (ATTNVIZ_TRAINING=1) are written to the volume at /app/checkpoints/live.

FROM node:20-bookworm-slim AS frontend
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends make \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY Makefile ./
COPY docs/openapi.json ./docs/openapi.json
COPY frontend/package.json frontend/package-lock.json ./frontend/
RUN make frontend-deps
COPY frontend ./frontend
RUN make frontend

FROM python:3.11-slim-bookworm
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends make \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 attnviz
# The CPU wheel of torch (the default one on PyPI is the multi-GB CUDA build).
ENV PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu \
    PIP_NO_CACHE_DIR=1 \
    PYTHONUNBUFFERED=1 \
    ATTNVIZ_HOST=0.0.0.0
WORKDIR /app
RUN chown attnviz:attnviz /app
USER 10001
COPY --chown=attnviz:attnviz pyproject.toml constraints.txt Makefile README.md ./
COPY --chown=attnviz:attnviz backend ./backend
# checkpoints/live: the mount point of the training volume, owned by the app user so it can write
RUN make setup-py EXTRAS= && make demo && mkdir -p checkpoints/live
COPY --from=frontend --chown=attnviz:attnviz /app/frontend/dist ./frontend/dist
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD [".venv/bin/python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/api/health', timeout=4)"]
CMD [".venv/bin/attnviz", "serve", "--host", "0.0.0.0", "--port", "8000", "--checkpoints", "checkpoints"]
