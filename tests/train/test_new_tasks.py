"""The shift and swap tasks: their targets, their expected alignment (the overlay's rule), and a
small model trained by the real trainer whose heads show that alignment."""

from __future__ import annotations

from pathlib import Path

import torch

from attnviz.checkpoint import load_checkpoint
from attnviz.data import TASK_NAMES, Vocab, expected_origins, make_splits, target_for
from attnviz.inference import run_attention
from attnviz.train import train

from ..tiny_train import tiny_train_config

VOCAB = Vocab.default()


def test_targets_and_origins() -> None:
    assert set(TASK_NAMES) == {"copy", "reverse", "sort", "shift", "swap"}
    assert target_for("shift", "abcdef", VOCAB) == "--abcd"
    assert expected_origins("shift", "abcdef", VOCAB) == [-1, -1, 0, 1, 2, 3]
    assert target_for("shift", "a", VOCAB) == "-"
    assert target_for("swap", "abcdef", VOCAB) == "badcfe"
    assert expected_origins("swap", "abcdef", VOCAB) == [1, 0, 3, 2, 5, 4]  # the zig-zag: t ^ 1
    assert target_for("swap", "abcde", VOCAB) == "badce"  # an odd last character stays
    assert expected_origins("swap", "abcde", VOCAB) == [1, 0, 3, 2, 4]
    assert target_for("swap", "a", VOCAB) == "a" and expected_origins("swap", "a", VOCAB) == [0]
    assert target_for("swap", "", VOCAB) == "" and expected_origins("swap", "", VOCAB) == []
    assert expected_origins("copy", "abc", VOCAB) == [0, 1, 2]
    assert expected_origins("reverse", "abc", VOCAB) == [2, 1, 0]
    assert expected_origins("sort", "cab", VOCAB) == [1, 2, 0]
    # every origin points at the character the output holds
    for task in TASK_NAMES:
        for text in ("hello world", "a1b2c3d4", "banana"):
            out = target_for(task, text, VOCAB)
            for t, k in enumerate(expected_origins(task, text, VOCAB)):
                assert k == -1 or text[k] == out[t], (task, text, t)


def head_agreement(ckpt_path: Path, task: str, kind: str, n: int = 40) -> torch.Tensor:
    """Mean attention weight each head puts on the expected key, over held-out texts."""
    ckpt = load_checkpoint(ckpt_path)
    model = ckpt.build_model()
    _, texts = make_splits(task, ckpt.vocab, 10, n, 1, ckpt.max_text_len or 8, seed=99)
    total = torch.zeros(ckpt.config.n_layers, ckpt.config.n_heads)
    count = 0
    for example in texts:
        result = run_attention(model, ckpt.vocab, example.src)
        weights = result.attentions[kind]  # (layers, heads, queries, keys)
        for t, k in enumerate(expected_origins(task, example.src, ckpt.vocab)):
            if k >= 0 and t < weights.shape[2]:
                total += weights[:, :, t, k]
                count += 1
    return total / max(count, 1)


def test_a_trained_shift_model_looks_two_back(tmp_path: Path) -> None:
    cfg = tiny_train_config(
        "shift", tmp_path, epochs=3, d_model=32, d_ff=64, n_train=3000, max_text_len=10, lr=1e-2, warmup_steps=30
    )
    history = train(cfg, progress=False)
    assert history[-1]["token_accuracy"] > 0.9
    agreement = head_agreement(tmp_path / "ckpt_epoch3.pt", "shift", "cross")
    # chance is about 1 / 6 of the weight on any one key; a head doing the task puts most of it two back
    assert float(agreement.max()) > 0.6, agreement


def test_a_trained_swap_model_looks_at_the_pair_partner(tmp_path: Path) -> None:
    # the parity of a position is harder to learn than a fixed offset: twice the shift test's epochs
    cfg = tiny_train_config(
        "swap", tmp_path, epochs=6, d_model=32, d_ff=64, n_train=3000, max_text_len=10, lr=1e-2, warmup_steps=30
    )
    history = train(cfg, progress=False)
    assert history[-1]["token_accuracy"] > 0.9
    agreement = head_agreement(tmp_path / "ckpt_epoch6.pt", "swap", "cross")
    # a head doing the task puts most of each row's weight on the partner key: the zig-zag
    assert float(agreement.max()) > 0.6, agreement
