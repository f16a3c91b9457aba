"""Fixtures for the end-to-end tests: real checkpoints from the real trainer, a real uvicorn server
on a free loopback port serving the built front end, and one headless Chromium per session.

These tests FAIL (never skip) when Chromium or the built front end is missing: CI must run them.
Each test gets a fresh browser context; its console errors and page errors fail the test, and a
screenshot of the page is written to ``test-artifacts/e2e/<test>.png``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from attnviz.train import TrainConfig, train

from ..live_server import DIST, REPO, serve
from ..tiny_train import tiny_train_config

ARTIFACTS = REPO / "test-artifacts" / "e2e"
VIEWPORT = {"width": 1440, "height": 900}


def tiny_config(task: str, save_dir: Path, epochs: int) -> TrainConfig:
    """A small model that trains in a couple of seconds; 4 heads so head navigation is visible, and
    a high learning rate so it already emits characters (a decoder side longer than ``<bos>``)."""
    return tiny_train_config(task, save_dir, epochs, n_heads=4, n_train=1000, lr=1e-2)


@pytest.fixture(scope="session")
def checkpoint_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``copy/ckpt_epoch{1,2}.pt`` and ``reverse/ckpt_epoch1.pt`` written by ``attnviz.train.train``."""
    root = tmp_path_factory.mktemp("e2e-checkpoints")
    train(tiny_config("copy", root / "copy", epochs=2), progress=False)
    train(tiny_config("reverse", root / "reverse", epochs=1), progress=False)
    return root


@dataclass
class Server:
    url: str
    checkpoint_dir: Path

    def api(self, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        """Call the real API like the page does (POST with a JSON body, or GET)."""
        with httpx.Client(base_url=self.url, timeout=30) as c:
            return c.post(path, json=body) if body is not None else c.get(path)


def start_server(checkpoints: Path, log: Path) -> Iterator[Server]:
    if not (DIST / "index.html").is_file():
        pytest.fail(f"{DIST / 'index.html'} is missing: build the front end first with `make frontend` (or `make setup`).")
    with serve(checkpoints, log, env={"ATTNVIZ_INFERENCE_THREADS": "1"}) as url:
        yield Server(url, checkpoints)


@pytest.fixture(scope="session")
def server(checkpoint_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A real uvicorn subprocess over the trained checkpoints, serving frontend/dist."""
    yield from start_server(checkpoint_dir, tmp_path_factory.mktemp("server-log") / "server.log")


@pytest.fixture(scope="session")
def empty_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A real server over an empty checkpoint directory."""
    empty = tmp_path_factory.mktemp("empty-checkpoints")
    yield from start_server(empty, tmp_path_factory.mktemp("empty-server-log") / "server.log")


@dataclass
class ConsoleLog:
    """Console errors and uncaught page errors of one test; ``allow`` takes a justified regex."""

    errors: list[str] = field(default_factory=list)
    allowed: list[re.Pattern[str]] = field(default_factory=list)

    def allow(self, pattern: str) -> None:
        self.allowed.append(re.compile(pattern))

    def unexpected(self) -> list[str]:
        return [e for e in self.errors if not any(p.search(e) for p in self.allowed)]


@pytest.fixture
def console() -> ConsoleLog:
    return ConsoleLog()


def artifact_name(nodeid: str) -> str:
    return re.sub(r"[^\w.-]+", "_", nodeid.split("::", 1)[-1]).strip("_")


@pytest.fixture
def new_page(browser: Any, console: ConsoleLog, request: pytest.FixtureRequest) -> Iterator[Callable[[], Any]]:
    """Pages in fresh contexts (a fresh browser profile each: nothing shared but the server).
    Their console errors and page errors fail the test; a screenshot of each is kept."""
    contexts: list[Any] = []

    def make() -> Any:
        context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
        contexts.append(context)
        pg = context.new_page()
        pg.set_default_timeout(15_000)
        pg.on(
            "console",
            lambda m: (
                console.errors.append(f"console.{m.type}: {m.text} ({m.location.get('url', '')})") if m.type == "error" else None
            ),
        )
        pg.on("pageerror", lambda e: console.errors.append(f"page error: {e}"))
        return pg

    try:
        yield make
    finally:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        name = artifact_name(request.node.nodeid)
        for i, context in enumerate(contexts):
            try:
                for pg in context.pages:
                    pg.screenshot(path=str(ARTIFACTS / f"{name}{f'-{i + 1}' if i else ''}.png"), full_page=True)
            finally:
                context.close()
    bad = console.unexpected()
    if bad:
        pytest.fail("errors in the browser console:\n" + "\n".join(bad))


@pytest.fixture
def page(new_page: Callable[[], Any]) -> Any:
    """A page in a fresh context (see ``new_page``)."""
    return new_page()
