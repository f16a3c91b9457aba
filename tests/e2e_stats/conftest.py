"""Fixtures for the insight-view browser tests: tiny checkpoints from the real trainer, the real
server (``python -m attnviz.server`` under uvicorn on a free loopback port, serving this checkout's
frontend/dist) and headless Chromium through Playwright. Self-contained on purpose (see PREAMBLE)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page

from attnviz.train import TrainConfig, train

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "frontend" / "dist"
CHROMIUM = os.environ.get("ATTNVIZ_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def tiny_config(task: str, save_dir: Path, epochs: int) -> TrainConfig:
    return TrainConfig(
        task=task,
        epochs=epochs,
        save_dir=str(save_dir),
        d_model=16,
        n_heads=2,
        n_layers=2,
        d_ff=32,
        n_train=300,
        n_eval=50,
        max_len=8,
        batch_size=32,
        warmup_steps=10,
        threads=1,
    )


@pytest.fixture(scope="session")
def stats_ckpts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``copy/ckpt_epoch{1,2}.pt`` and ``sort/ckpt_epoch1.pt`` (2 layers x 2 heads) from the real trainer."""
    root = tmp_path_factory.mktemp("stats-ckpts")
    train(tiny_config("copy", root / "copy", epochs=2), progress=False)
    train(tiny_config("sort", root / "sort", epochs=1), progress=False)
    return root


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def server_url(stats_ckpts: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not (DIST / "index.html").exists():
        subprocess.run(["npm", "run", "build"], cwd=ROOT / "frontend", check=True)
    port = _free_port()
    log = tmp_path_factory.mktemp("server") / "server.log"
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'backend'}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "attnviz.server", "--port", str(port), "--checkpoints", str(stats_ckpts)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, log.read_text()
            try:
                if httpx.get(f"{base}/api/health", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "server did not start:\n" + log.read_text()
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


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
