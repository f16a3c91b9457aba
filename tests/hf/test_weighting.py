"""Value-norm weighting (Kobayashi et al. 2020) of Hugging Face models of every family against a
reference computed by hand from each model's own value and output projections and the layer
inputs transformers reports (``output_hidden_states``), on tiny models built here: BERT (encoder),
GPT-2 (fused c_attn, Conv1D c_proj), LLaMA with grouped-query attention, T5 (self, cross)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

pytest.importorskip("transformers")

import torch

from attnviz import longctx
from attnviz.encoding import decode_weights
from attnviz.hf import HFModel, encode_text, hf_document, load_hf_model, run_model

from .long_models import build_long_models

TEXT = "the cat sat on the mat"
NAMES = ("bert-long", "gpt2-long", "llama-long", "t5-long")


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, HFModel]:
    dirs = build_long_models(tmp_path_factory.mktemp("weighting-models"), NAMES)
    return {name: load_hf_model(d) for name, d in dirs.items()}


def by_hand(m: HFModel, run: Any) -> dict[str, torch.Tensor]:
    """kind -> ``(L, H, T_k)`` ‖v_j W^O_h‖, written out per architecture from the hidden states."""
    model = m.model
    tgt = torch.tensor([run.tgt_ids])
    out: dict[str, list[torch.Tensor]] = {}

    def norms(v: torch.Tensor, w_o: torch.Tensor, n_heads: int) -> torch.Tensor:
        # v (T, n_kv, d); w_o (d_model, n_heads·d); head h reads value head h // (n_heads / n_kv)
        _, n_kv, d = v.shape
        rows = []
        for h in range(n_heads):
            vh = v[:, h // (n_heads // n_kv)]  # (T, d)
            rows.append((vh @ w_o[:, h * d : (h + 1) * d].T).norm(dim=-1))  # (T,)
        return torch.stack(rows)

    with torch.no_grad():
        if m.model_type == "bert":
            batch = encode_text(m, run.text)
            hs = model(**batch, output_hidden_states=True).hidden_states
            for i, layer in enumerate(model.encoder.layer):
                a = layer.attention
                v = a.self.value(hs[i][0]).view(-1, 4, 8)
                out.setdefault("encoder_self", []).append(norms(v, a.output.dense.weight, 4))
        elif m.model_type == "gpt2":
            hs = model(input_ids=tgt, output_hidden_states=True).hidden_states
            for i, block in enumerate(model.transformer.h):
                x = block.ln_1(hs[i][0])
                v = (x @ block.attn.c_attn.weight + block.attn.c_attn.bias)[:, 64:].view(-1, 4, 8)
                out.setdefault("decoder_self", []).append(norms(v, block.attn.c_proj.weight.T, 4))
        elif m.model_type == "llama":
            hs = model(input_ids=tgt, output_hidden_states=True).hidden_states
            for i, layer in enumerate(model.model.layers):
                x = layer.input_layernorm(hs[i][0])
                v = layer.self_attn.v_proj(x).view(-1, 2, 16)  # 2 key/value heads for 4 query heads
                out.setdefault("decoder_self", []).append(norms(v, layer.self_attn.o_proj.weight, 4))
        else:  # t5
            src = torch.tensor([run.src_ids])
            o = model(input_ids=src, decoder_input_ids=tgt, output_hidden_states=True)
            for i, block in enumerate(model.encoder.block):
                sa = block.layer[0]
                v = sa.SelfAttention.v(sa.layer_norm(o.encoder_hidden_states[i][0])).view(-1, 4, 8)
                out.setdefault("encoder_self", []).append(norms(v, sa.SelfAttention.o.weight, 4))
            memory = o.encoder_last_hidden_state[0]
            for i, block in enumerate(model.decoder.block):
                sa, ca = block.layer[0], block.layer[1]
                v = sa.SelfAttention.v(sa.layer_norm(o.decoder_hidden_states[i][0])).view(-1, 4, 8)
                out.setdefault("decoder_self", []).append(norms(v, sa.SelfAttention.o.weight, 4))
                v = ca.EncDecAttention.v(memory).view(-1, 4, 8)
                out.setdefault("cross", []).append(norms(v, ca.EncDecAttention.o.weight, 4))
    return {k: torch.stack(v) for k, v in out.items()}


def reference(weights: torch.Tensor, norms: torch.Tensor) -> np.ndarray:
    w = weights.double() * norms.double()[:, :, None, :]
    return (w / w.sum(-1, keepdim=True)).numpy()


@pytest.mark.parametrize("name", NAMES)
def test_value_norm_document_equals_the_projections_by_hand(models: dict[str, HFModel], name: str) -> None:
    m = models[name]
    run = run_model(m, TEXT, 4)  # the plain run: its weights and sequence are the reference's
    hand = by_hand(m, run)
    doc = hf_document(m, TEXT, max_new_tokens=4, encoding="float16", weighting="value_norm", precision=8)
    plain = hf_document(m, TEXT, max_new_tokens=4, weighting="attention")
    assert doc["weighting"] == "value_norm" and plain["weighting"] == "attention"
    assert set(doc["attentions"]) == set(run.attentions) == set(hand)
    exact = hf_document(m, TEXT, max_new_tokens=4, encoding="json", precision=8, weighting="value_norm")
    moved = 0.0
    for kind, w in run.attentions.items():
        want = reference(w, hand[kind])
        got = np.asarray(exact["attentions"][kind], dtype=np.float64)
        np.testing.assert_allclose(got, want, atol=1e-5)
        np.testing.assert_allclose(got.sum(-1), 1.0, atol=1e-5)  # every row sums to 1
        moved = max(moved, float(np.abs(got - w.numpy()).max()))
        np.testing.assert_allclose(decode_weights(doc["attentions"][kind]), want, atol=2e-3)  # float16 on the wire
    assert moved > 1e-3  # value norms do move the weights (a kind whose keys are one repeated token may not)


@pytest.mark.parametrize("name", NAMES)
def test_long_run_tiles_and_thumbnails_follow_the_weighting(models: dict[str, HFModel], name: str) -> None:
    m = models[name]
    run = run_model(m, TEXT, 4)
    hand = by_hand(m, run)
    _, long, overviews = longctx.hf_overview(m, TEXT, 4, (), 32, weighting="value_norm")
    for kind, w in run.attentions.items():
        want = reference(w, hand[kind])
        L, H, nq, nk = w.shape
        for layer in range(L):
            for head in range(H):
                t = longctx.tile(long, kind, layer, head, 0, nq, 0, nk, dtype="float16", weighting="value_norm")
                assert t["weighting"] == "value_norm"
                np.testing.assert_allclose(decode_weights(t["weights"]), want[layer, head], atol=2e-3)
        thumbs = decode_weights(overviews[kind].result("float16")["thumbnails"])
        np.testing.assert_allclose(thumbs, want, atol=2e-3)  # short: one cell a weight
        plain = longctx.tile(long, kind, 0, 0, 0, nq, 0, nk, dtype="float16")
        np.testing.assert_allclose(decode_weights(plain["weights"]), w[0, 0].numpy(), atol=2e-3)


def test_ablated_head_rows_stay_zero(models: dict[str, HFModel]) -> None:
    m = models["llama-long"]
    doc = hf_document(m, TEXT, max_new_tokens=2, encoding="float16", weighting="value_norm", ablate=[("decoder_self", 1, 3)])
    w = decode_weights(doc["attentions"]["decoder_self"])
    assert np.all(w[1, 3] == 0.0) and not np.isnan(w).any()
    np.testing.assert_allclose(w[0].sum(-1), 1.0, atol=5e-3)
