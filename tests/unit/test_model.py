"""The attention math against PyTorch's reference implementations and the paper's formulas."""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest
import torch
import torch.nn.functional as F

from attnviz.checkpoint import Checkpoint
from attnviz.document import KINDS
from attnviz.inference import run_attention, trace_head
from attnviz.model import (
    DecoderLayer,
    EncoderLayer,
    FeedForward,
    ModelConfig,
    MultiHeadAttention,
    PositionalEncoding,
    ScaledDotProductAttention,
    SmallTransformer,
    causal_mask,
    padding_mask,
)

ATOL = 1e-5


@pytest.fixture(autouse=True)
def _seed_no_grad() -> Iterator[None]:
    torch.manual_seed(0)
    with torch.no_grad():
        yield


def torch_mha_like(ours: MultiHeadAttention) -> torch.nn.MultiheadAttention:
    """A ``torch.nn.MultiheadAttention`` holding exactly our W^Q, W^K, W^V, W^O."""
    ref = torch.nn.MultiheadAttention(ours.d_model, ours.n_heads, batch_first=True)
    with torch.no_grad():
        ref.in_proj_weight.copy_(torch.cat([ours.w_q.weight, ours.w_k.weight, ours.w_v.weight]))
        ref.in_proj_bias.copy_(torch.cat([ours.w_q.bias, ours.w_k.bias, ours.w_v.bias]))
        ref.out_proj.weight.copy_(ours.w_o.weight)
        ref.out_proj.bias.copy_(ours.w_o.bias)
    return ref.eval()


def test_multi_head_attention_matches_torch_without_mask() -> None:
    mha = MultiHeadAttention(32, 4).eval()
    ref = torch_mha_like(mha)
    q, kv = torch.randn(3, 5, 32), torch.randn(3, 7, 32)
    out, w = mha(q, kv, kv)
    ref_out, ref_w = ref(q, kv, kv, need_weights=True, average_attn_weights=False)
    assert w.shape == (3, 4, 5, 7)
    torch.testing.assert_close(out, ref_out, atol=ATOL, rtol=0)
    torch.testing.assert_close(w, ref_w, atol=ATOL, rtol=0)


def test_multi_head_attention_matches_torch_with_padding_and_causal_masks() -> None:
    mha = MultiHeadAttention(32, 4).eval()
    ref = torch_mha_like(mha)
    x = torch.randn(2, 6, 32)
    ids = torch.tensor([[5, 6, 7, 8, 9, 2], [5, 6, 2, 0, 0, 0]])  # second row padded
    ours_mask = padding_mask(ids, 0) & causal_mask(6)  # (2, 1, 6, 6), True = may attend
    out, w = mha(x, x, x, ours_mask)
    # torch: bool masks mean True = NOT allowed
    ref_out, ref_w = ref(
        x, x, x, key_padding_mask=ids == 0, attn_mask=~causal_mask(6)[0, 0], need_weights=True, average_attn_weights=False
    )
    torch.testing.assert_close(out, ref_out, atol=ATOL, rtol=0)
    torch.testing.assert_close(w, ref_w, atol=ATOL, rtol=0)
    assert float(w[1, :, :, 3:].abs().max()) == 0.0  # padded keys get no weight


def test_scaled_dot_product_attention_matches_torch() -> None:
    sdpa = ScaledDotProductAttention()
    q, k, v = torch.randn(2, 3, 5, 8), torch.randn(2, 3, 7, 8), torch.randn(2, 3, 7, 8)
    out, w = sdpa(q, k, v)
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v), atol=ATOL, rtol=0)
    torch.testing.assert_close(w, torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(8), -1), atol=ATOL, rtol=0)
    mask = torch.rand(2, 1, 5, 7) > 0.4
    mask[..., 0] = True  # every query keeps at least one key
    out, w = sdpa(q, k, v, mask)
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v, attn_mask=mask), atol=ATOL, rtol=0)
    assert bool((w[~mask.expand_as(w)] == 0).all())


def test_positional_encoding_is_the_papers_formula() -> None:
    d_model = 16
    pe = PositionalEncoding(d_model, max_len=60)
    out = pe(torch.zeros(1, 60, d_model))[0]  # (60, d_model): just PE
    for pos in (0, 1, 7, 33, 59):
        for i in range(d_model // 2):
            angle = pos / 10000 ** (2 * i / d_model)
            assert out[pos, 2 * i].item() == pytest.approx(math.sin(angle), abs=1e-5)
            assert out[pos, 2 * i + 1].item() == pytest.approx(math.cos(angle), abs=1e-5)
    with pytest.raises(ValueError, match="longer than the positional table"):
        pe(torch.zeros(1, 61, d_model))


def test_shapes_through_every_module() -> None:
    B, T_s, T_t, d, h = 2, 5, 4, 32, 4
    x, y = torch.randn(B, T_s, d), torch.randn(B, T_t, d)
    assert FeedForward(d, 64)(x).shape == (B, T_s, d)
    src_mask = torch.ones(B, 1, 1, T_s, dtype=torch.bool)
    enc_out, enc_w = EncoderLayer(d, h, 64)(x, src_mask)
    assert enc_out.shape == (B, T_s, d) and enc_w.shape == (B, h, T_s, T_s)
    dec_out, self_w, cross_w = DecoderLayer(d, h, 64)(y, enc_out, causal_mask(T_t), src_mask)
    assert dec_out.shape == (B, T_t, d) and self_w.shape == (B, h, T_t, T_t) and cross_w.shape == (B, h, T_t, T_s)
    model = SmallTransformer(ModelConfig(vocab_size=20, d_model=d, n_heads=h, n_layers=3, d_ff=64))
    logits, attn = model(torch.randint(3, 20, (B, T_s)), torch.randint(3, 20, (B, T_t)))
    assert logits.shape == (B, T_t, 20)
    assert set(attn) == set(KINDS)
    assert [w.shape for w in attn["encoder_self"]] == [(B, h, T_s, T_s)] * 3
    assert [w.shape for w in attn["decoder_self"]] == [(B, h, T_t, T_t)] * 3
    assert [w.shape for w in attn["cross"]] == [(B, h, T_t, T_s)] * 3


def test_rows_sum_to_one_and_decoder_cannot_look_ahead() -> None:
    model = SmallTransformer(ModelConfig(vocab_size=20, d_model=32, n_heads=4, n_layers=2, dropout=0.0)).eval()
    src = torch.tensor([[5, 6, 7, 2, 0], [8, 9, 10, 11, 2]])
    tgt = torch.tensor([[1, 5, 6, 7], [1, 8, 9, 10]])
    _, attn = model(src, tgt)
    for kind in KINDS:
        for w in attn[kind]:
            torch.testing.assert_close(w.sum(-1), torch.ones(w.shape[:-1]), atol=1e-6, rtol=0)
    for w in attn["decoder_self"]:
        above = torch.triu(torch.ones(4, 4, dtype=torch.bool), diagonal=1)
        assert float(w[..., above].abs().max()) == 0.0


@pytest.mark.parametrize("kind", KINDS)
def test_trace_recombines_into_the_head_output(tiny_ckpt: Checkpoint, kind: str) -> None:
    model = tiny_ckpt.build_model()
    result = run_attention(model, tiny_ckpt.vocab, "abcab")
    for layer in range(model.config.n_layers):
        for head in range(model.config.n_heads):
            t = trace_head(model, result, kind, layer, head)["tensors"]
            masked = t["scores"].masked_fill(~t["mask"], float("-inf"))
            torch.testing.assert_close(torch.softmax(masked, -1), t["weights"], atol=ATOL, rtol=0)
            torch.testing.assert_close(t["weights"] @ t["v"], t["output"], atol=ATOL, rtol=0)
            torch.testing.assert_close(t["scores"], t["q"] @ t["k"].T / math.sqrt(model.config.d_k), atol=ATOL, rtol=0)
            torch.testing.assert_close(t["weights"], result.attentions[kind][layer, head], atol=ATOL, rtol=0)


def test_head_mask_equals_zeroing_the_head_by_hand() -> None:
    mha = MultiHeadAttention(32, 4).eval()
    x = torch.randn(2, 5, 32)
    out, w = mha(x, x, x, head_mask=torch.tensor([1.0, 1.0, 0.0, 1.0]))
    q, k, v = mha.project(x, x, x)
    heads = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(mha.d_k), -1) @ v  # (B, h, T, d_k)
    heads[:, 2] = 0.0
    by_hand = mha.w_o(heads.transpose(1, 2).reshape(2, 5, 32))
    torch.testing.assert_close(out, by_hand, atol=ATOL, rtol=0)
    assert float(w[:, 2].abs().max()) == 0.0


def test_ablating_a_cross_head_equals_a_hook_zeroing_its_slice(tiny_ckpt: Checkpoint) -> None:
    model = tiny_ckpt.build_model()
    src = torch.tensor([tiny_ckpt.vocab.encode("abcd", add_eos=True)])
    tgt = torch.tensor([[tiny_ckpt.vocab.bos_id, *tiny_ckpt.vocab.encode("abcd")]])
    layer, head, d_k = 1, 3, model.config.d_k
    masks: dict[str, list[torch.Tensor | None]] = {"cross": [None, torch.tensor([1.0, 1.0, 1.0, 0.0])]}
    ablated, _ = model(src, tgt, masks)

    def zero_head(_module: torch.nn.Module, args: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor]:
        concat = args[0].clone()  # (B, T_q, h·d_k), the input of W^O
        concat[..., head * d_k : (head + 1) * d_k] = 0.0
        return (concat,)

    handle = model.decoder_layers[layer].cross_attn.w_o.register_forward_pre_hook(zero_head)
    try:
        hooked, _ = model(src, tgt)
    finally:
        handle.remove()
    normal, _ = model(src, tgt)
    torch.testing.assert_close(ablated, hooked, atol=ATOL, rtol=0)
    assert not torch.allclose(ablated, normal)
