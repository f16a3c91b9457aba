"""Real (tiny) training runs: the copy task is learned, and runs repeat exactly by seed."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from attnviz.checkpoint import load_checkpoint
from attnviz.train import TrainConfig, lr_at, parse_args, train

from ..conftest import TinyRun, tiny_config


def test_tiny_model_learns_copy(tiny_run: TinyRun) -> None:
    first, last = tiny_run.history[0], tiny_run.history[-1]
    assert last["sequence_accuracy"] >= 0.8  # chance is about 1 / 50^length
    assert last["token_accuracy"] >= 0.95
    assert last["loss"] < first["loss"]


def test_same_seed_same_weights(tmp_path: Path) -> None:
    runs = []
    for name in ("a", "b"):
        cfg = tiny_config(tmp_path / name, epochs=1, n_train=300, n_eval=20)
        train(cfg, progress=False)
        runs.append(load_checkpoint(tmp_path / name / "ckpt_epoch1.pt").state_dict)
    assert runs[0].keys() == runs[1].keys()
    for key in runs[0]:
        assert torch.equal(runs[0][key], runs[1][key]), key
    train(tiny_config(tmp_path / "c", epochs=1, n_train=300, n_eval=20, seed=1), progress=False)
    other = load_checkpoint(tmp_path / "c" / "ckpt_epoch1.pt").state_dict
    assert not all(torch.equal(runs[0][k], other[k]) for k in runs[0])


def test_learning_rate_schedule() -> None:
    cfg = TrainConfig(lr=1e-3, warmup_steps=10)
    assert lr_at(0, 100, cfg) == pytest.approx(1e-4)
    assert lr_at(9, 100, cfg) == pytest.approx(1e-3)
    assert lr_at(100, 100, cfg) == pytest.approx(1e-4)  # cosine down to 10%


def test_cli_rejects_bad_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse_args(["--d_model", "30", "--n_heads", "4"])
    assert "divisible" in capsys.readouterr().err
    assert parse_args(["--task", "sort", "--epochs", "2"]).task == "sort"
