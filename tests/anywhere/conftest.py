"""Fixtures for the single-file and notebook tests: a Chromium in which no host but 127.0.0.1
resolves (so any request to the network fails loudly), pages whose requests and console errors
are recorded, and the real `attnviz html` CLI run over a checkpoint of the real trainer."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from attnviz.html import CHECKOUT_TEMPLATE, PACKAGED_TEMPLATE

from ..chromium import CHROMIUM, CHROMIUM_ARGS
from ..conftest import TinyRun
from ..live_server import REPO

OFFLINE_ARGS = [*CHROMIUM_ARGS, "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]
VIEWPORT = {"width": 1440, "height": 900}


@pytest.fixture(scope="session")
def single_file_build() -> Path:
    """The front end's single-file build: missing is a failure (CI builds it first), never a skip."""
    for path in (CHECKOUT_TEMPLATE, PACKAGED_TEMPLATE):
        if path.is_file():
            return path
    pytest.fail(f"{CHECKOUT_TEMPLATE} is missing: build the front end first with `make frontend` (or `make setup`).")


@pytest.fixture(scope="session")
def offline_browser(browser: Any) -> Iterator[Any]:
    """A second Chromium of the session's Playwright, with every non-local host unresolvable."""
    b = browser.browser_type.launch(executable_path=CHROMIUM, args=OFFLINE_ARGS)
    try:
        yield b
    finally:
        b.close()


@dataclass
class Tab:
    page: Any
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@pytest.fixture
def new_tab(offline_browser: Any) -> Iterator[Callable[[], Tab]]:
    """Fresh-context pages recording every request and every console / page error; errors fail the test."""
    contexts: list[Any] = []
    tabs: list[Tab] = []

    def make() -> Tab:
        context = offline_browser.new_context(viewport=VIEWPORT, accept_downloads=True)
        contexts.append(context)
        tab = Tab(context.new_page())
        tab.page.set_default_timeout(15_000)
        tab.page.on("request", lambda r: tab.requests.append(r.url))
        tab.page.on("console", lambda m: tab.errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
        tab.page.on("pageerror", lambda e: tab.errors.append(f"page error: {e}"))
        tabs.append(tab)
        return tab

    try:
        yield make
    finally:
        for context in contexts:
            context.close()
    bad = [e for t in tabs for e in t.errors]
    if bad:
        pytest.fail("errors in the browser console:\n" + "\n".join(bad))


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """The real `attnviz html` command of this checkout, as a user runs it."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(REPO / "backend"), os.environ.get("PYTHONPATH", "")) if p)}
    cmd = [sys.executable, "-m", "attnviz.cli", "html", *args]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="session")
def lesson_file(tiny_run: TinyRun, single_file_build: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`attnviz html --checkpoint ... --with timeline --with math` over the session's tiny copy run."""
    out = tmp_path_factory.mktemp("lesson") / "lesson.html"
    done = run_cli(
        "--checkpoint", f"{tiny_run.dir.name}/ckpt_epoch3.pt", "--text", "hello", "--checkpoints", str(tiny_run.dir.parent),
        "--with", "timeline", "--with", "math", "--out", str(out),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"wrote {out}" in done.stdout
    return out
