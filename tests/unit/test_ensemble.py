"""Stacked models (the timeline's epochs run as one batch) compute what each model computes alone."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from attnviz.checkpoint import load_checkpoint
from attnviz.ensemble import stack_models
from attnviz.inference import run_attention, run_attention_stacked
from attnviz.model import ModelConfig, SmallTransformer
from attnviz.train import train

from ..tiny_train import tiny_train_config


@pytest.fixture(scope="module")
def epochs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    root = tmp_path_factory.mktemp("stacked")
    train(tiny_train_config("copy", root, epochs=3, d_model=32, d_ff=64, n_train=400), progress=False)
    return [root / f"ckpt_epoch{e}.pt" for e in (1, 2, 3)]


def test_each_row_equals_its_model_alone(epochs: list[Path]) -> None:
    ckpts = [load_checkpoint(p) for p in epochs]
    vocab = ckpts[0].vocab
    torch.manual_seed(7)
    untrained = SmallTransformer(ckpts[0].config).eval()  # rarely emits <eos>: decodes to the limit
    models = [c.build_model() for c in ckpts] + [untrained]
    limits = [c.max_text_len for c in ckpts] + [3]  # the last one warns: trained on at most 3 characters
    stacked = stack_models(models)
    for text in ("abc", "hello", "zz a"):
        together = run_attention_stacked(stacked, vocab, text, limits)
        alone = [run_attention(m, vocab, text, max_text_len=lim) for m, lim in zip(models, limits, strict=True)]
        for a, t in zip(alone, together, strict=True):
            assert (t.output, t.tgt_ids, t.src_ids, t.finished, t.warnings) == (
                a.output,
                a.tgt_ids,
                a.src_ids,
                a.finished,
                a.warnings,
            )
            for kind, w in a.attentions.items():
                assert t.attentions[kind].shape == w.shape
                torch.testing.assert_close(t.attentions[kind], w, atol=1e-5, rtol=0)
            torch.testing.assert_close(t.logits, a.logits, atol=1e-5, rtol=1e-5)


def test_rows_of_different_lengths_and_an_unfinished_row(epochs: list[Path]) -> None:
    ckpts = [load_checkpoint(p) for p in epochs]
    torch.manual_seed(7)
    models = [ckpts[-1].build_model(), SmallTransformer(ckpts[0].config).eval()]
    rows = run_attention_stacked(stack_models(models), ckpts[0].vocab, "hello", [None, None])
    assert rows[0].finished and not rows[1].finished  # the trained epoch stops, the untrained one runs to the limit
    assert len(rows[0].tgt_ids) < len(rows[1].tgt_ids)
    assert rows[1].attentions["decoder_self"].shape[-1] == len(rows[1].tgt_ids)
    assert rows[0].attentions["cross"].shape[-2:] == (len(rows[0].tgt_ids), len(rows[0].src_ids))


def test_refuses_nothing_and_mixed_architectures() -> None:
    with pytest.raises(ValueError, match="no models"):
        stack_models([])
    a = SmallTransformer(ModelConfig(vocab_size=10, d_model=16, n_heads=2))
    b = SmallTransformer(ModelConfig(vocab_size=10, d_model=32, n_heads=2))
    with pytest.raises(ValueError, match="different architecture"):
        stack_models([a, b])
