"""Fixtures for the insight-view browser tests: a tiny real run (3 epochs from the real trainer),
a real uvicorn serving this checkout's frontend/dist, and headless Chromium pages that fail the
test on any console error."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from attnviz.train import TrainConfig, train

REPO = Path(__file__).resolve().parents[2]
DIST = REPO / "frontend" / "dist"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def insight_ckpts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("insight-ck")
    cfg = TrainConfig(
        task="copy", epochs=3, save_dir=str(root / "copy"), d_model=32, n_heads=2, n_layers=2, d_ff=64,
        n_train=1500, n_eval=50, max_len=6, batch_size=32, warmup_steps=20, lr=3e-3, threads=1,
    )  # fmt: skip  # ~10 s; decodes a few characters by epoch 1 (d_k = 16)
    train(cfg, progress=False)
    return root


@pytest.fixture(scope="session")
def server(insight_ckpts: Path) -> Iterator[str]:
    if not (DIST / "index.html").exists():
        pytest.fail(f"{DIST} is not built: run `cd frontend && npm run build` (make test does it)")
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": f"{REPO / 'backend'}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
        "ATTNVIZ_FRONTEND_DIST": str(DIST),
    }
    cmd = [sys.executable, "-m", "attnviz.server", "--port", str(port), "--checkpoints", str(insight_ckpts)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(f"{base}/api/health", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("the attnviz server did not start")
        yield base
    finally:
        proc.terminate()
        proc.wait(10)


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
    page.wait_for_function("document.documentElement.dataset.ready === '1' && !!window.__attnviz.store.get().doc")
