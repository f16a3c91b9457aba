"""Shared fixtures: tiny runs trained by the real ``train()`` once for the whole session, the real
server over them, one headless Chromium and the pages of every browser suite (tests/browser.py
holds the helpers). Suites with special needs (classroom's demo runs, hf's models, train's
training server, anywhere's offline browser) build only those, on these pieces."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from contextlib import ExitStack, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pytest
import torch
from playwright.sync_api import Browser, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from attnviz.checkpoint import Checkpoint, load_checkpoint
from attnviz.export_attention_json import build_document
from attnviz.train import TrainConfig, train

from .browser import CHROMIUM, CHROMIUM_ARGS, VIEWPORT, ConsoleLog, Server, artifact_path, serve_app
from .tiny_train import tiny_train_config


def tiny_config(save_dir: Path | str, **overrides: Any) -> TrainConfig:
    """A model small enough to learn copy on 1-6 characters (~98% exact) in about 6 s."""
    settings: dict[str, Any] = dict(
        task="copy", epochs=3, save_dir=str(save_dir), seed=0, d_model=32, n_heads=4, n_layers=2, d_ff=64,
        lr=5e-3, warmup_steps=40, batch_size=32, min_text_len=1, max_text_len=6, n_train=3000, n_eval=200, threads=1,
    )  # fmt: skip
    settings.update(overrides)
    return TrainConfig.for_task(settings.pop("task"), **settings)


@dataclass
class TinyRun:
    dir: Path
    config: TrainConfig
    history: list[dict[str, float]]

    @property
    def last(self) -> Path:
        return self.dir / f"ckpt_epoch{self.config.epochs}.pt"


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> TinyRun:
    run_dir = tmp_path_factory.mktemp("tiny-copy") / "copy"
    cfg = tiny_config(run_dir)
    history = train(cfg, progress=False)
    torch.set_num_threads(1)
    return TinyRun(run_dir, cfg, history)


@pytest.fixture(scope="session")
def tiny_ckpt(tiny_run: TinyRun) -> Checkpoint:
    return load_checkpoint(tiny_run.last)


@pytest.fixture(scope="session")
def tiny_doc(tiny_ckpt: Checkpoint) -> dict[str, Any]:
    return build_document(tiny_ckpt, "hello", checkpoint_name="copy/ckpt_epoch3.pt")


# ---- one headless Chromium for every browser suite, and its pages ----------------------------
# Playwright's sync API allows one running instance per process, so the browser suites
# (tests/e2e*, tests/classroom, tests/hf, tests/train, tests/anywhere) all share this session fixture.


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's /usr/bin/chromium (`.ci/run` installs it); missing is a failure, never a skip."""
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"Chromium not found at {CHROMIUM}: install it (`apt-get install chromium`) or set ATTNVIZ_CHROMIUM.")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield cast(Browser, BypassCspBrowser(b))
        finally:
            b.close()


class BypassCspBrowser:
    """The shared browser, whose pages bypass the app's Content-Security-Policy by default:
    Playwright evaluates string predicates (``wait_for_function("() => ...")``) with ``eval``, which
    ``script-src 'self'`` forbids. tests/api/test_csp_browser.py opens its pages with
    ``bypass_csp=False`` to check the policy itself."""

    def __init__(self, browser: Browser) -> None:
        self._browser = browser

    def new_context(self, **kwargs: Any) -> Any:
        kwargs.setdefault("bypass_csp", True)
        return self._browser.new_context(**kwargs)

    def new_page(self, **kwargs: Any) -> Any:
        kwargs.setdefault("bypass_csp", True)
        return self._browser.new_page(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._browser, name)


@pytest.fixture(scope="session")
def trained_runs(tiny_run: TinyRun, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's checkpoint directory of real runs: ``copy/ckpt_epoch{1,2,3}.pt`` (the tiny copy
    run above: 2 layers x 4 heads, it learns copy), ``reverse/ckpt_epoch1.pt`` and
    ``sort/ckpt_epoch1.pt`` (2 layers x 2 heads, seconds each). Every suite that just needs "some
    trained runs" shares it, so each run is trained once per session."""
    root = tmp_path_factory.mktemp("trained-runs")
    shutil.copytree(tiny_run.dir, root / "copy")
    for task in ("reverse", "sort"):
        train(tiny_train_config(task, root / task, epochs=1), progress=False)
    return root


# ---- the real server ------------------------------------------------------------------------


@pytest.fixture(scope="session")
def start_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Server]]:
    """``start_server(checkpoints, env=None, timeout=60)``: a real server (tests/browser.py
    ``serve_app``) over ``checkpoints``, its log in a fresh temporary directory; every server
    started is stopped at the end of the session."""
    with ExitStack() as stack:

        def start(checkpoints: Path, *, env: dict[str, str] | None = None, timeout: float = 60) -> Server:
            log = tmp_path_factory.mktemp("server-log") / "server.log"
            return stack.enter_context(serve_app(checkpoints, log, env=env, timeout=timeout))

        yield start


@pytest.fixture(scope="session")
def trained_server(trained_runs: Path, start_server: Callable[..., Server]) -> Server:
    """The real server over ``trained_runs``."""
    return start_server(trained_runs)


@pytest.fixture(scope="session")
def server(trained_server: Server) -> Server:
    """The server a browser test talks to: ``trained_server`` unless the suite names another."""
    return trained_server


@pytest.fixture(scope="session")
def empty_server(tmp_path_factory: pytest.TempPathFactory, start_server: Callable[..., Server]) -> Server:
    """A real server over an empty checkpoint directory."""
    return start_server(tmp_path_factory.mktemp("empty-checkpoints"))


@pytest.fixture
def console() -> ConsoleLog:
    """This test's console errors, page errors and (``local_only`` pages) requests off the machine;
    any not allowed fails the test. ``console.allow(pattern, why)`` for an error the test causes."""
    return ConsoleLog()


@pytest.fixture
def page_options() -> dict[str, Any]:
    """Options of the ``page`` fixture (see ``new_page``); a suite overrides this for its own."""
    return {}


@pytest.fixture
def new_page(browser: Any, console: ConsoleLog, request: pytest.FixtureRequest) -> Iterator[Callable[..., Any]]:
    """``new_page(viewport=VIEWPORT, local_only=False, in_browser=None, **context options)``: a page
    in a fresh browser context (nothing shared but the server). Its console errors and page errors
    fail the test (unless ``console.allow``-ed); ``local_only``: so does any request that leaves
    127.0.0.1. On teardown each page's screenshot goes to test-artifacts/<suite>/<test>.png."""
    contexts: list[Any] = []

    def make(*, viewport: dict[str, int] | None = None, local_only: bool = False, in_browser: Any = None, **options: Any) -> Any:
        context = (in_browser or browser).new_context(viewport=viewport or VIEWPORT, accept_downloads=True, **options)
        contexts.append(context)
        pg = context.new_page()
        pg.set_default_timeout(15_000)
        console.watch(pg, local_only=local_only)
        return pg

    try:
        yield make
    finally:
        try:
            for i, pg in enumerate(pg for c in contexts for pg in c.pages):
                path = artifact_path(request.node.nodeid, i)
                path.parent.mkdir(parents=True, exist_ok=True)
                with suppress(PlaywrightError):  # a crashed page has no picture; the others are still kept
                    pg.screenshot(path=str(path), full_page=True)
        finally:
            for context in contexts:
                context.close()
    bad = console.unexpected()
    if bad:
        pytest.fail("errors in the browser console:\n" + "\n".join(bad))
    if console.outside:
        pytest.fail("requests that left 127.0.0.1:\n" + "\n".join(console.outside))


@pytest.fixture
def page(new_page: Callable[..., Any], page_options: dict[str, Any]) -> Any:
    """A page in a fresh context (see ``new_page``), opened with the suite's ``page_options``."""
    return new_page(**page_options)
