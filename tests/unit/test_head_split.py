"""d_k = d_model / h is checked in one place (model.head_dim): the model, the checkpoint loader,
the trainer's command line and the training API refuse the same widths with the same sentence,
and a width the trainer accepts is one the loader accepts (an odd d_model the heads divide was
trained and then refused as "not even")."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from attnviz.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from attnviz.data import Vocab
from attnviz.errors import InvalidModelSize
from attnviz.model import ModelConfig, MultiHeadAttention, build_model, head_dim
from attnviz.server.schemas import TrainSpecOut
from attnviz.server.training import Limits, check_spec
from attnviz.train import parse_args

SENTENCE = "d_model (10) must be divisible by n_heads (4): each head gets d_model / n_heads dimensions"


def test_head_dim_is_d_model_over_h() -> None:
    assert head_dim(64, 4) == 16 and head_dim(9, 3) == 3
    for d_model, n_heads in [(10, 4), (8, 0), (3, 4)]:
        with pytest.raises(ValueError, match="must be divisible"):
            head_dim(d_model, n_heads)


def test_every_place_refuses_the_same_widths_with_the_same_sentence(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ValueError) as model_error:
        ModelConfig(vocab_size=20, d_model=10, n_heads=4)
    assert str(model_error.value) == SENTENCE
    with pytest.raises(ValueError) as module_error:
        MultiHeadAttention(10, 4)
    assert str(module_error.value) == SENTENCE

    with pytest.raises(SystemExit):
        parse_args(["--d_model", "10", "--n_heads", "4"])
    assert f"--{SENTENCE}" in capsys.readouterr().err

    limits = Limits(max_layers=4, max_heads=8, max_d_model=128, max_epochs=10, max_seconds=60, snapshot_every=0, examples=100)
    spec = TrainSpecOut(task="copy", epochs=1, n_layers=1, n_heads=4, d_model=10, lr=1e-3, seed=0, name="odd")
    with pytest.raises(InvalidModelSize) as api_error:
        check_spec(spec, limits)
    assert api_error.value.detail == f"{SENTENCE}." and api_error.value.extra == {"field": "d_model"}

    good = ModelConfig(vocab_size=len(Vocab.default()), d_model=12, n_heads=4, n_layers=1, d_ff=16)
    path = save_checkpoint(tmp_path / "c.pt", build_model(good), Vocab.default(), "copy", 1, {})
    raw = torch.load(path, weights_only=True)
    raw["config"].update(d_model=10, n_heads=4)
    torch.save(raw, path)
    with pytest.raises(CheckpointError) as file_error:
        load_checkpoint(path)
    assert f"config.{SENTENCE}" in str(file_error.value)


def test_an_odd_width_the_heads_divide_saves_loads_and_runs(tmp_path: Path) -> None:
    vocab = Vocab.default()
    config = ModelConfig(vocab_size=len(vocab), d_model=9, n_heads=3, n_layers=1, d_ff=16, max_len=16)
    model = build_model(config)
    path = save_checkpoint(tmp_path / "odd.pt", model, vocab, "copy", 1, {})
    ckpt = load_checkpoint(path)
    assert ckpt.config == config
    again = ckpt.build_model()
    src = torch.tensor([vocab.encode("abc")])
    tgt = torch.tensor([[vocab.bos_id]])
    logits, weights = again(src, tgt)
    assert weights["encoder_self"][0].shape == (1, 3, 3, 3)  # (B, h, T_s, T_s)
    assert logits.shape[:2] == (1, 1) and torch.isfinite(logits).all()
