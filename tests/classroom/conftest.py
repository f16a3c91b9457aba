"""The classroom suite's one special need: tiny demo runs (copy, reverse, sort, induction) made by the same
code as ``make demo``, and the real server over them as its ``server``. Pages, the app helpers and
the session's trained runs are the shared ones (tests/conftest.py, tests/browser.py).

The runs keep the demo's names, tasks, layer and head counts (the lesson links open layer 1 /
head 2, ...), but are trained on a few hundred examples so the whole set takes seconds."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from attnviz.data import LM_TASKS
from attnviz.train import TrainConfig, train

from ..browser import Server
from ..live_server import REPO

ROOT = REPO  # the checkout (the tests read its docs and Makefile)
DEMO_TASKS = ("copy", "reverse", "sort", "induction")
FALLBACK_EPOCHS = 2  # only when attnviz.demo is absent
PROJECTOR = {"width": 1280, "height": 720}


def tiny(cfg: TrainConfig) -> TrainConfig:
    """``cfg`` (a demo run's settings) shrunk to seconds: same task, epochs, layers and heads."""
    longest = {"max_seg": 12} if cfg.task in LM_TASKS else {"max_text_len": 12}  # the segment's, or the input's
    model = replace(cfg.model, d_model=16, d_ff=32)
    return replace(cfg, model=model, n_train=200, n_eval=20, batch_size=32, warmup_steps=5, threads=1, **longest)


def build_tiny_demo(root: Path) -> None:
    """The demo runs into ``root/<task>/``: through ``attnviz.demo.main`` (what ``make demo`` and the
    image run) with its settings shrunk; by ``attnviz.train`` directly where that module is absent."""
    try:
        from attnviz import demo
    except ImportError:
        for task in DEMO_TASKS:
            train(tiny(TrainConfig.for_task(task, epochs=FALLBACK_EPOCHS, save_dir=str(root / task))), progress=False)
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


@pytest.fixture(scope="session")
def server(demo_dir: Path, start_server: Callable[..., Server]) -> Server:
    """The real server over the tiny demo runs (the lesson's links name their runs and heads)."""
    return start_server(demo_dir)


@pytest.fixture
def page_options() -> dict[str, Any]:
    return {"viewport": PROJECTOR}  # a classroom projector
