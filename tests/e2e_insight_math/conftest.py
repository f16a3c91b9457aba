"""Fixtures for the insight-view browser tests: a tiny real run (3 epochs from the real trainer),
a real uvicorn serving this checkout's frontend/dist, and headless Chromium pages that fail the
test on any console error."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from attnviz.train import train

from ..live_server import DIST, serve
from ..tiny_train import tiny_train_config


@pytest.fixture(scope="session")
def insight_ckpts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("insight-ck")
    # ~10 s; decodes a few characters by epoch 1 (d_k = 16)
    cfg = tiny_train_config("copy", root / "copy", 3, d_model=32, d_ff=64, n_train=1500, max_len=6, warmup_steps=20, lr=3e-3)
    train(cfg, progress=False)
    return root


@pytest.fixture(scope="session")
def server(insight_ckpts: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not (DIST / "index.html").exists():
        pytest.fail(f"{DIST} is not built: run `cd frontend && npm run build` (make test does it)")
    with serve(insight_ckpts, tmp_path_factory.mktemp("insight-server") / "server.log") as base:
        yield base


@pytest.fixture
def page(browser: Browser, server: str) -> Iterator[Page]:
    ctx = browser.new_context(viewport={"width": 1400, "height": 900}, base_url=server)
    pg = ctx.new_page()
    errors: list[str] = []
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: errors.append(str(e)))
    # offline: nothing may leave the app's own origin (KaTeX fonts and CSS are bundled)
    outside: list[str] = []
    pg.on("request", lambda r: None if r.url.startswith(server) or r.url.startswith("data:") else outside.append(r.url))
    yield pg
    ctx.close()
    assert errors == [], f"console errors: {errors}"
    assert outside == [], f"requests outside the app: {outside}"


def open_app(page: Page, query: str) -> None:
    page.goto(f"/{query}")
    page.wait_for_function(
        "() => document.documentElement.dataset.ready === '1' && window.__attnviz.store.get().status === 'ready'"
    )
