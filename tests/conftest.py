"""Shared fixtures: one tiny copy run trained by the real ``train()`` for the whole session."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pytest
import torch
from playwright.sync_api import Browser, sync_playwright

from attnviz.checkpoint import Checkpoint, load_checkpoint
from attnviz.export_attention_json import build_document
from attnviz.train import TrainConfig, train

from .chromium import CHROMIUM, CHROMIUM_ARGS


def tiny_config(save_dir: Path | str, **overrides: Any) -> TrainConfig:
    """A model small enough to learn copy on 1-6 characters (~98% exact) in about 6 s."""
    settings: dict[str, Any] = dict(
        task="copy", epochs=3, save_dir=str(save_dir), seed=0, d_model=32, n_heads=4, n_layers=2, d_ff=64,
        lr=5e-3, warmup_steps=40, batch_size=32, min_len=1, max_len=6, n_train=3000, n_eval=200, threads=1,
    )  # fmt: skip
    settings.update(overrides)
    return TrainConfig(**settings)


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
    run_dir = tmp_path_factory.mktemp("tiny_copy")
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


# ---- one headless Chromium for every browser suite ------------------------------------------
# Playwright's sync API allows one running instance per process, so the browser suites
# (tests/e2e*, tests/classroom, tests/hf) all share this session fixture.


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
