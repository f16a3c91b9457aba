"""Fixtures for the classroom tests: tiny demo runs (copy, reverse, sort) made by the same code as
``make demo``, a real uvicorn server over them serving the built front end, and headless Chromium.

The runs keep the demo's names, tasks, layer and head counts (the lesson links open layer 1 /
head 2, ...), but are trained on a few hundred examples so the whole set takes seconds."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from attnviz.train import TrainConfig, train

from ..live_server import DIST, REPO, serve

ROOT = REPO  # the checkout (the tests read its docs and Makefile)
DEMO_TASKS = ("copy", "reverse", "sort")
FALLBACK_EPOCHS = 2  # only when attnviz.demo is absent


def tiny(cfg: TrainConfig) -> TrainConfig:
    """``cfg`` (a demo run's settings) shrunk to seconds: same task, epochs, layers and heads."""
    return replace(cfg, d_model=16, d_ff=32, n_train=200, n_eval=20, max_len=12, batch_size=32, warmup_steps=5, threads=1)


def build_tiny_demo(root: Path) -> None:
    """The demo runs into ``root/<task>/``: through ``attnviz.demo.main`` (what ``make demo`` and the
    image run) with its settings shrunk; by ``attnviz.train`` directly where that module is absent."""
    try:
        from attnviz import demo
    except ImportError:
        for task in DEMO_TASKS:
            train(tiny(TrainConfig(task=task, epochs=FALLBACK_EPOCHS, save_dir=str(root / task))), progress=False)
        return
    saved = dict(demo.DEMO_RUNS)
    demo.DEMO_RUNS.update({task: tiny(cfg) for task, cfg in saved.items()})
    try:
        assert demo.main(["--checkpoints", str(root), "--quiet"]) == 0
    finally:
        demo.DEMO_RUNS.clear()
        demo.DEMO_RUNS.update(saved)


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("demo-checkpoints")
    build_tiny_demo(root)
    return root


class Server:
    """A running server (see ``start_server``): its base URL and log."""

    def __init__(self, base: str, log: Path, stack: ExitStack) -> None:
        self.base, self.log, self._stack = base, log, stack


def start_server(checkpoints: Path, log: Path) -> Server:
    """``python -m attnviz.server`` (real uvicorn) on a free loopback port; waits for /api/health."""
    stack = ExitStack()
    base = stack.enter_context(serve(checkpoints, log))
    return Server(base, log, stack)


def stop_server(server: Server) -> None:
    server._stack.close()


@pytest.fixture(scope="session")
def server(demo_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    assert (DIST / "index.html").is_file(), f"{DIST} is not built: run `make frontend` (make test does)"
    srv = start_server(demo_dir, tmp_path_factory.mktemp("server") / "server.log")
    yield srv
    stop_server(srv)


@dataclass
class Tab:
    """A 1280×720 page (a projector) and the console errors / uncaught exceptions it logged."""

    page: Page
    errors: list[str] = field(default_factory=list)


@pytest.fixture
def tab(browser: Browser) -> Iterator[Tab]:
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    t = Tab(context.new_page())
    t.page.on("console", lambda m: t.errors.append(m.text) if m.type == "error" else None)
    t.page.on("pageerror", lambda e: t.errors.append(str(e)))
    yield t
    context.close()


def open_app(page: Page, url: str) -> None:
    """Open ``url`` and wait for the boot (checkpoint list) and, if the URL names a checkpoint and
    text, for the drawn document."""
    page.goto(url)
    page.wait_for_function("() => window.__attnviz && window.__attnviz.isReady")
    wait_drawn(page)


def wait_drawn(page: Page) -> None:
    page.wait_for_function(
        "() => { const s = window.__attnviz.store.get();"
        " return s.status === 'error' || (s.status === 'ready' && s.doc !== null"
        " && s.doc.checkpoint === s.ckpt && s.doc.input === s.text); }",
        timeout=30_000,
    )
    page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")
