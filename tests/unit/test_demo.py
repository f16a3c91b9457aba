"""``python -m attnviz.demo`` leaves existing runs alone."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from attnviz.demo import DEMO_RUNS, main
from attnviz.train import TrainConfig

from ..conftest import TinyRun


def test_demo_settings_cover_every_task() -> None:
    assert set(DEMO_RUNS) == {"copy", "reverse", "sort", "induction"}
    toys = {task: cfg for task, cfg in DEMO_RUNS.items() if task != "induction"}
    assert all(cfg.task == task and cfg.model.n_layers == 2 and cfg.model.n_heads == 4 for task, cfg in toys.items())


def test_the_induction_demo_run_is_the_default_recipe_with_snapshots() -> None:
    """The induction lesson's run: the recipe the page's form and the CLI propose (decoder-only, one
    head a layer, 3 epochs of 250 steps, seed 0), with snapshots so the Training tab shows the phase
    change between epoch checkpoints."""
    cfg = DEMO_RUNS["induction"]
    assert replace(cfg, snapshot_every=0) == TrainConfig.for_task("induction")
    assert (cfg.model.arch, cfg.model.n_layers, cfg.model.n_heads, cfg.seed) == ("decoder", 2, 1, 0)
    assert cfg.epochs * -(-cfg.n_train // cfg.batch_size) == 750
    assert 0 < cfg.snapshot_every <= 50


def test_existing_runs_are_skipped(tiny_run: TinyRun, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for task in ("copy", "sort"):
        (tmp_path / task).mkdir()
        shutil.copy(tiny_run.last, tmp_path / task / "ckpt_epoch1.pt")
    assert main(["--checkpoints", str(tmp_path), "--tasks", "copy", "sort", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert out.count("already has checkpoints, skipping") == 2
    assert sorted(p.name for p in (tmp_path / "copy").iterdir()) == ["ckpt_epoch1.pt"]
