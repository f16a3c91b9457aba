"""The decoder-only model against a reference built from ``torch.nn.MultiheadAttention``, the
induction task, its scores, and the checkpoint that records the arch."""

from __future__ import annotations

import dataclasses
import math
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from attnviz.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from attnviz.data import Vocab, induction_batch, induction_text
from attnviz.induction import heldout_batch, induction_scores, previous_token_scores
from attnviz.inference import run_attention, trace_head
from attnviz.model import DecoderLayer, ModelConfig, SmallDecoder, causal_mask
from attnviz.train import TrainConfig, parse_args

from .test_model import torch_mha_like

ATOL = 1e-5


@pytest.fixture(autouse=True)
def _seed() -> Iterator[None]:
    torch.manual_seed(0)
    yield


def decoder(vocab_size: int = 20, **kw: int) -> SmallDecoder:
    config = ModelConfig(vocab_size=vocab_size, d_model=32, n_heads=4, n_layers=2, d_ff=48, dropout=0.0, arch="decoder", **kw)
    return SmallDecoder(config).eval()


def reference_forward(model: SmallDecoder, ids: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """The same computation from PyTorch's own modules: nn.MultiheadAttention with a causal mask,
    LayerNorm(x + Sublayer(x)) after each sub-layer, and the tied output projection."""
    d = model.config.d_model
    T = ids.size(1)
    pe = torch.zeros(T, d)
    pos = torch.arange(T, dtype=torch.float32)[:, None]
    div = torch.exp(torch.arange(0, d, 2, dtype=torch.float32) * (-math.log(10000.0) / d))
    pe[:, 0::2], pe[:, 1::2] = torch.sin(pos * div), torch.cos(pos * div)
    y = F.embedding(ids, model.embedding.weight) * math.sqrt(d) + pe
    blocked = ~torch.tril(torch.ones(T, T, dtype=torch.bool))  # nn.MultiheadAttention: True = may NOT attend
    weights = []
    for layer in model.decoder_layers:
        assert isinstance(layer, DecoderLayer)
        mha = torch_mha_like(layer.self_attn)
        out, w = mha(y, y, y, attn_mask=blocked, need_weights=True, average_attn_weights=False)
        y = F.layer_norm(y + out, (d,), layer.norm1.weight, layer.norm1.bias)
        ff = F.linear(
            F.relu(F.linear(y, layer.feed_forward.w_1.weight, layer.feed_forward.w_1.bias)),
            layer.feed_forward.w_2.weight,
            layer.feed_forward.w_2.bias,
        )
        y = F.layer_norm(y + ff, (d,), layer.norm3.weight, layer.norm3.bias)
        weights.append(w)
    return F.linear(y, model.embedding.weight, model.generator.bias), weights


@torch.no_grad()
def test_decoder_only_model_equals_a_reference_from_nn_multihead_attention() -> None:
    model = decoder()
    for p in model.parameters():  # biases and norms away from their init, so every term counts
        p.add_(0.05 * torch.randn_like(p))
    ids = torch.randint(3, 20, (3, 11))
    logits, attn = model(ids)
    ref_logits, ref_weights = reference_forward(model, ids)
    assert logits.shape == (3, 11, 20) and len(attn["decoder_self"]) == 2 and set(attn) == {"decoder_self"}
    torch.testing.assert_close(logits, ref_logits, atol=ATOL, rtol=0)
    for w, ref_w in zip(attn["decoder_self"], ref_weights, strict=True):
        assert w.shape == (3, 4, 11, 11)
        torch.testing.assert_close(w, ref_w, atol=ATOL, rtol=0)
        above = ~causal_mask(11)[0, 0]
        assert bool((w[:, :, above] == 0).all())  # causal: nothing above the diagonal
        torch.testing.assert_close(w.sum(-1), torch.ones(3, 4, 11), atol=ATOL, rtol=0)


def test_decoder_only_layers_have_no_cross_attention_and_reuse_the_paper_modules() -> None:
    model = decoder()
    keys = set(model.state_dict())
    assert not any("cross_attn" in k or "norm2" in k or "encoder" in k for k in keys)
    assert {"decoder_layers.0.self_attn.w_q.weight", "decoder_layers.1.feed_forward.w_1.weight"} <= keys
    with pytest.raises(ValueError, match="no 'cross' attention"):
        model.attention_module("cross", 0)


def test_induction_sequences_repeat_a_segment_at_once_and_mask_only_the_predictable_tokens() -> None:
    rng = random.Random(3)
    for _ in range(200):
        text, p, k = induction_text(rng)
        assert len(text) == 32 and 5 <= k <= 15 and 0 <= p <= 32 - 2 * k
        assert text[p : p + k] == text[p + k : p + 2 * k]
    vocab = Vocab.default()
    b = induction_batch(8, vocab, random.Random(1))
    assert b.ids.shape == (8, 33) and bool((b.ids[:, 0] == vocab.bos_id).all())
    for row in range(8):
        p, k = int(b.seg_start[row]), int(b.seg_len[row])
        predicted = [t + 1 for t in b.target_mask[row].nonzero().flatten().tolist()]  # the ids positions predicted
        assert predicted == list(range(p + k + 1, p + 2 * k))  # the second copy after its first character
        for t in predicted:
            assert b.ids[row, t] == b.ids[row, t - k]  # each is in context, k back
    again = induction_batch(8, vocab, random.Random(1))
    assert torch.equal(b.ids, again.ids)  # seeded
    assert not torch.equal(heldout_batch(vocab, 8).ids, b.ids)


def test_scores_are_one_for_the_pattern_they_name_and_low_for_others() -> None:
    vocab = Vocab.default()
    b = induction_batch(4, vocab, random.Random(2))
    B, T = b.ids.shape[0], b.ids.shape[1] - 1
    prev = torch.zeros(B, 1, T, T)
    prev[:, 0, 0, 0] = 1.0
    for t in range(1, T):
        prev[:, 0, t, t - 1] = 1.0
    ind = torch.zeros(B, 1, T, T)
    for row in range(B):
        p, k = int(b.seg_start[row]), int(b.seg_len[row])
        for t in range(T):
            key = t - k + 1 if p + k <= t < p + 2 * k else 0  # the token after the earlier occurrence
            ind[row, 0, t, key] = 1.0
    uniform = torch.tril(torch.ones(T, T)) / torch.arange(1, T + 1)[:, None]
    uniform = uniform.expand(B, 1, T, T)
    assert previous_token_scores([prev]) == [[1.0]]
    assert induction_scores([ind], b) == [[1.0]]
    assert induction_scores([prev], b)[0][0] < 0.1 and previous_token_scores([ind])[0][0] < 0.5
    assert 0 < induction_scores([uniform], b)[0][0] < 0.15


def test_checkpoint_records_the_arch_and_refuses_a_task_that_does_not_go_with_it(tmp_path: Path) -> None:
    vocab = Vocab.default()
    model = decoder(len(vocab))
    path = save_checkpoint(tmp_path / "ckpt_epoch1.pt", model, vocab, "induction", 1, {"in_context_accuracy": 0.5})
    ckpt = load_checkpoint(path)
    assert ckpt.arch == "decoder" and ckpt.config.arch == "decoder"
    rebuilt = ckpt.build_model()
    assert isinstance(rebuilt, SmallDecoder)
    ids = torch.tensor([vocab.encode("abcab", add_bos=True)])
    torch.testing.assert_close(rebuilt(ids)[0], model(ids)[0])
    save_checkpoint(tmp_path / "bad.pt", model, vocab, "copy", 1, {})
    with pytest.raises(CheckpointError, match=r"does not go with config\.arch 'decoder'"):
        load_checkpoint(tmp_path / "bad.pt")


@torch.no_grad()
def test_run_attention_of_the_decoder_is_prompt_plus_generated_with_causal_rows() -> None:
    vocab = Vocab.default()
    model = decoder(len(vocab))
    result = run_attention(model, vocab, "abcab", max_new_tokens=4)
    assert result.src_tokens == [] and result.tgt_tokens[:6] == ["<bos>", "a", "b", "c", "a", "b"]
    assert len(result.tgt_tokens) == 6 + 4 and result.output == "".join(result.tgt_tokens[6:])
    w = result.attentions["decoder_self"]
    assert set(result.attentions) == {"decoder_self"} and w.shape == (2, 4, 10, 10)
    assert bool((w.triu(1) == 0).all())
    traced = trace_head(model, result, "decoder_self", 1, 2)
    torch.testing.assert_close(traced["tensors"]["weights"], w[1, 2], atol=ATOL, rtol=0)
    off = run_attention(model, vocab, "abcab", max_new_tokens=4, ablate=[("decoder_self", 1, 2)])
    assert float(off.attentions["decoder_self"][1, 2].abs().sum()) == 0.0
    with pytest.raises(ValueError, match="no cross attention"):
        run_attention(model, vocab, "abcab", ablate=[("cross", 0, 0)])


def test_cli_induction_takes_its_own_recipe_and_refuses_the_wrong_arch() -> None:
    cfg = parse_args(["--task", "induction"])
    assert cfg.model.arch == "decoder" and cfg.lr == TrainConfig.for_task("induction").lr and cfg.min_seg == 5
    assert parse_args(["--task", "induction", "--lr", "0.01"]).lr == 0.01
    assert parse_args([]).model.arch == "encoder-decoder" and parse_args([]).lr == TrainConfig().lr
    with pytest.raises(SystemExit):
        parse_args(["--task", "copy", "--arch", "decoder"])
    with pytest.raises(SystemExit):
        parse_args(["--task", "induction", "--arch", "encoder-decoder"])


def test_a_tiny_induction_run_writes_decoder_checkpoints_with_the_scores(tmp_path: Path) -> None:
    from attnviz.train import train

    cfg = TrainConfig.for_task(
        "induction", epochs=2, save_dir=str(tmp_path), d_model=16, n_heads=2, d_ff=32, n_train=128, n_eval=32, snapshot_every=2
    )
    snapshots: list[int] = []
    history = train(cfg, progress=False, on_snapshot=lambda step, epoch, path: snapshots.append(step))
    assert len(history) == 2 and snapshots == [0, 2, 4]
    for name in ("ckpt_epoch1.pt", "ckpt_epoch2.pt", "snapshots/step000002.pt"):
        ckpt = load_checkpoint(tmp_path / name)
        assert ckpt.arch == "decoder" and ckpt.task == "induction" and ckpt.train["seq_len"] == 32
        assert {"loss", "in_context_accuracy", "best_induction", "best_previous_token"} <= set(ckpt.metrics)
        assert 0.0 <= ckpt.metrics["in_context_accuracy"] <= 1.0 and 0.0 <= ckpt.metrics["best_induction"] <= 1.0
    again = train(dataclasses.replace(cfg, save_dir=str(tmp_path / "again")), progress=False)
    assert again == [{**h, "epoch_seconds": a["epoch_seconds"]} for h, a in zip(history, again, strict=True)]  # seeded
