"""``python -m attnviz.demo`` leaves existing runs alone."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from attnviz.demo import DEMO_RUNS, main

from ..conftest import TinyRun


def test_demo_settings_cover_every_task() -> None:
    assert set(DEMO_RUNS) == {"copy", "reverse", "sort"}
    assert all(cfg.task == task and cfg.n_layers == 2 and cfg.n_heads == 4 for task, cfg in DEMO_RUNS.items())


def test_existing_runs_are_skipped(tiny_run: TinyRun, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for task in ("copy", "sort"):
        (tmp_path / task).mkdir()
        shutil.copy(tiny_run.last, tmp_path / task / "ckpt_epoch1.pt")
    assert main(["--checkpoints", str(tmp_path), "--tasks", "copy", "sort", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert out.count("already has checkpoints, skipping") == 2
    assert sorted(p.name for p in (tmp_path / "copy").iterdir()) == ["ckpt_epoch1.pt"]
