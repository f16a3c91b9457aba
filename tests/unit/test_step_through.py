"""The step-through numbers (trace_head) recombine into what the model really computes, for every
attention kind, layer and head, and trace_head is safe to call while other threads run the model."""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import torch
from torch import Tensor

from attnviz.checkpoint import Checkpoint
from attnviz.document import KINDS
from attnviz.inference import AttentionResult, run_attention, trace_head
from attnviz.model import SmallTransformer

from ._tiny import train_tiny

TEXT = "abcab"
ATOL = 1e-5


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory: pytest.TempPathFactory) -> Checkpoint:
    return train_tiny(tmp_path_factory.mktemp("step") / "copy")


@pytest.fixture(scope="module")
def model(ckpt: Checkpoint) -> SmallTransformer:
    return ckpt.build_model()


@pytest.fixture(scope="module")
def result(ckpt: Checkpoint, model: SmallTransformer) -> AttentionResult:
    return run_attention(model, ckpt.vocab, TEXT)


def module_output(model: SmallTransformer, result: AttentionResult, kind: str, layer: int) -> Tensor:
    """The attention module's real output (after W^O) in the model's own forward pass (a test-only
    hook: single-threaded here)."""
    captured: list[Tensor] = []
    module = model.attention_module(kind, layer)
    handle = module.register_forward_hook(lambda _m, _args, out: captured.append(out[0]))
    try:
        with torch.no_grad():
            model(torch.tensor([result.src_ids]), torch.tensor([result.tgt_ids]))
    finally:
        handle.remove()
    return captured[0][0]  # (T_q, d_model)


@pytest.mark.parametrize("kind", KINDS)
def test_softmax_of_scaled_scores_times_v_is_the_head_output(model: SmallTransformer, result: AttentionResult, kind: str) -> None:
    c = model.config
    for layer in range(c.n_layers):
        heads = []
        for head in range(c.n_heads):
            traced = trace_head(model, result, kind, layer, head)
            t: dict[str, Tensor] = traced["tensors"]
            q, k, v = t["q"], t["k"], t["v"]
            assert q.shape == (len(traced["query_tokens"]), c.d_k) and k.shape == v.shape == (len(traced["key_tokens"]), c.d_k)
            scores = q @ k.T / math.sqrt(c.d_k)
            torch.testing.assert_close(t["scores"], scores, atol=ATOL, rtol=0)
            mask = t["mask"]
            if kind == "decoder_self":
                assert torch.equal(mask, torch.tril(torch.ones_like(mask)))
            else:
                assert bool(mask.all())
            weights = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)
            torch.testing.assert_close(t["weights"], weights, atol=ATOL, rtol=0)
            # the weights are the ones the document shows
            torch.testing.assert_close(t["weights"], result.attentions[kind][layer, head], atol=ATOL, rtol=0)
            torch.testing.assert_close(t["output"], weights @ v, atol=ATOL, rtol=0)
            heads.append(t["output"])
        # Concat(head_1..head_h) W^O + b equals the module's output in the real forward pass
        w_o = model.attention_module(kind, layer).w_o
        recombined = torch.cat(heads, dim=-1) @ w_o.weight.T + w_o.bias
        torch.testing.assert_close(recombined, module_output(model, result, kind, layer), atol=ATOL, rtol=0)


def test_trace_head_labels_the_axes(model: SmallTransformer, result: AttentionResult) -> None:
    enc = trace_head(model, result, "encoder_self", 0, 0)
    assert enc["query_tokens"] == enc["key_tokens"] == result.src_tokens
    cross = trace_head(model, result, "cross", 1, 1)
    assert cross["query_tokens"] == result.tgt_tokens and cross["key_tokens"] == result.src_tokens
    assert cross["d_k"] == model.config.d_k == 16
    with pytest.raises(ValueError, match=r"no head 2\.0"):
        trace_head(model, result, "cross", 2, 0)
    with pytest.raises(ValueError, match="unknown attention kind"):
        trace_head(model, result, "self", 0, 0)


def test_trace_head_is_thread_safe_on_a_shared_model(ckpt: Checkpoint, model: SmallTransformer, result: AttentionResult) -> None:
    """No hook on the shared modules: traces interleaved with other texts' forward passes (and
    other traces) give exactly the serial answers."""
    jobs = [(kind, layer, head) for kind in KINDS for layer in range(2) for head in range(2)]
    serial = {job: trace_head(model, result, *job)["tensors"]["weights"] for job in jobs}

    def trace(job: tuple[str, int, int]) -> tuple[tuple[str, int, int], Tensor]:
        return job, trace_head(model, result, *job)["tensors"]["weights"]

    def other(i: int) -> Any:
        return run_attention(model, ckpt.vocab, "cab" * (1 + i % 2)).output

    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = [pool.submit(trace, job) for job in jobs * 3] + [pool.submit(other, i) for i in range(12)]
        for f in futures:
            out = f.result()
            if isinstance(out, tuple):
                assert torch.equal(out[1], serial[out[0]])
