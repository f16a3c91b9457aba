"""Fixtures for the insight-view browser tests: tiny checkpoints from the real trainer, the real
server (``python -m attnviz.server`` under uvicorn on a free loopback port, serving this checkout's
frontend/dist, see ``tests/live_server.py``) and headless Chromium through Playwright."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page

from attnviz.train import train

from ..live_server import DIST, REPO, serve
from ..tiny_train import tiny_train_config


@pytest.fixture(scope="session")
def stats_ckpts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``copy/ckpt_epoch{1,2}.pt`` and ``sort/ckpt_epoch1.pt`` (2 layers x 2 heads) from the real trainer."""
    root = tmp_path_factory.mktemp("stats-ckpts")
    train(tiny_train_config("copy", root / "copy", epochs=2), progress=False)
    train(tiny_train_config("sort", root / "sort", epochs=1), progress=False)
    return root


@pytest.fixture(scope="session")
def server_url(stats_ckpts: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not (DIST / "index.html").exists():
        subprocess.run(["npm", "run", "build"], cwd=REPO / "frontend", check=True)
    with serve(stats_ckpts, tmp_path_factory.mktemp("server") / "server.log") as base:
        yield base


class ConsoleLog:
    def __init__(self) -> None:
        self.errors: list[str] = []

    def on_console(self, msg: ConsoleMessage) -> None:
        if msg.type == "error":
            self.errors.append(msg.text)

    def on_page_error(self, err: Exception) -> None:
        self.errors.append(str(err))


@pytest.fixture
def console() -> ConsoleLog:
    return ConsoleLog()


@pytest.fixture
def page(browser: Browser, console: ConsoleLog) -> Iterator[Page]:
    pg = browser.new_page(viewport={"width": 1440, "height": 900})
    pg.on("console", console.on_console)
    pg.on("pageerror", console.on_page_error)
    yield pg
    pg.close()
    assert console.errors == [], f"console errors: {console.errors}"
