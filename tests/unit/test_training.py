"""Real (tiny) training runs: the copy task is learned, and runs repeat exactly by seed."""

from __future__ import annotations

import re
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


# The options users type (README, docs, scripts): the CLI builds them from the fields, so a renamed
# or added field must not change them unnoticed.
OPTIONS = [
    "--task", "--arch", "--epochs", "--save_dir", "--seed", "--d_model", "--n_heads", "--n_layers", "--d_ff", "--dropout",
    "--lr", "--warmup_steps", "--batch_size", "--min_len", "--max_len", "--n_train", "--n_eval", "--label_smoothing",
    "--threads", "--snapshot_every",
]  # fmt: skip


def _options(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[list[str], str]:
    with pytest.raises(SystemExit):
        parse_args([*argv, "--help"])
    out = capsys.readouterr().out
    return sorted(re.findall(r"^  (--\w+)", out, re.M)), " ".join(out.split())


def test_cli_options_are_the_fields_under_the_names_users_type(capsys: pytest.CaptureFixture[str]) -> None:
    options, text = _options([], capsys)
    assert options == sorted(OPTIONS)
    assert "--d_model D_MODEL width of every token representation (paper: 512) (default: 64)" in text  # ModelConfig's comment
    assert "--d_ff D_FF inner width of the position-wise feed-forward network (paper: 2048) (default: 128)" in text
    assert "--min_len MIN_LEN shortest training input (characters) (default: 1)" in text
    options, text = _options(["--task", "induction"], capsys)
    assert options == sorted([*OPTIONS, "--seq_len"])  # the induction task's sequence length besides its segment's
    assert "--max_len MAX_LEN induction: longest repeated segment (default: 15)" in text
    assert "--n_heads N_HEADS h, attention heads per attention module (paper: 8) (default: 1)" in text  # its recipe's

    copy, induction = parse_args(["--min_len", "2", "--max_len", "9"]), parse_args(["--task", "induction", "--max_len", "9"])
    assert (copy.min_text_len, copy.max_text_len, copy.model.max_len) == (2, 9, 128)  # the positions stay the model's
    assert (induction.min_seg, induction.max_seg, induction.max_text_len) == (5, 9, 32)
    assert parse_args(["--d_model", "32", "--n_heads", "2"]).model == TrainConfig.for_task("copy", d_model=32, n_heads=2).model
