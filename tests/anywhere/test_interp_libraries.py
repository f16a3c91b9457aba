"""``document_from`` / ``save_html`` on what interpretability libraries hand back: a TransformerLens
``ActivationCache`` (``blocks.{l}.attn.hook_pattern``, ``[batch, heads, q, k]``), a plain mapping of
the same hook names, and nnsight's saved values. Both libraries are in the dev extra (pinned in
constraints.txt), so a real ``HookedTransformer`` built from a config (no download) and a real
nnsight trace run here; the mapping and the ``.value`` holder, which are what attnviz reads by duck
typing, are tested without them too. attnviz itself never imports either library."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import attnviz
from attnviz.anywhere import AttentionInputError
from attnviz.encoding import decode_weights

TOKENS = ["<s>", "the", "cat", "sat", "."]
BACKEND = Path(attnviz.__file__).resolve().parents[1]


def weights(doc: dict[str, Any], kind: str) -> np.ndarray:
    return decode_weights(doc["attentions"][kind])


def softmax(shape: tuple[int, ...], seed: int = 0, causal: bool = False) -> torch.Tensor:
    scores = torch.randn(*shape, generator=torch.Generator().manual_seed(seed))
    if causal:
        n = shape[-1]
        scores = scores.masked_fill(~torch.ones(n, n, dtype=torch.bool).tril(), float("-inf"))
    return scores.softmax(-1)


# ---- TransformerLens ------------------------------------------------------------------------------


def tiny_lens_model() -> Any:
    """A 2-layer, 4-head causal model built from a config, offline: ``HookedTransformer`` (up to
    TransformerLens 3) or ``TransformerBridge.boot_native`` (TransformerLens 4, which removed it)."""
    import transformer_lens as tl  # the dev extra: missing is a failure, not a skip

    cfg = {"n_layers": 2, "d_model": 32, "n_ctx": 16, "d_head": 8, "n_heads": 4, "d_vocab": 50, "act_fn": "gelu"}
    torch.manual_seed(0)
    try:
        from transformer_lens import HookedTransformer, HookedTransformerConfig
    except ImportError:
        return tl.TransformerBridge.boot_native(cfg).eval()
    return HookedTransformer(HookedTransformerConfig(**cfg)).eval()


def test_transformer_lens_cache_is_shown_as_causal_self_attention(tmp_path: Path) -> None:
    model = tiny_lens_model()
    ids = torch.tensor([[1, 5, 7, 3, 9], [2, 4, 6, 8, 10]])
    with torch.no_grad():
        _, cache = model.run_with_cache(ids)
    patterns = torch.stack([cache[f"blocks.{layer}.attn.hook_pattern"] for layer in range(2)], dim=1)  # [b, L, h, q, k]
    assert patterns.shape == (2, 2, 4, 5, 5)

    doc = attnviz.document_from(cache, TOKENS, batch_index=1, encoding="json")
    assert list(doc["attentions"]) == ["decoder_self"]  # the model's cfg says causal
    assert doc["tokens"] == {"src": [], "tgt": TOKENS} and doc["model"]["n_layers"] == 2 and doc["model"]["n_heads"] == 4
    np.testing.assert_allclose(weights(doc, "decoder_self"), patterns[1].numpy(), atol=1e-4)
    assert np.triu(weights(doc, "decoder_self"), 1).max() == 0.0
    with pytest.raises(AttentionInputError, match="batch of 2"):
        attnviz.document_from(cache, TOKENS)

    path = attnviz.save_html(cache, tmp_path / "lens.html", TOKENS, batch_index=0)
    assert '<script type="application/json" id="attnviz-document">' in path.read_text(encoding="utf-8")

    with torch.no_grad():
        _, one = model.run_with_cache(ids[:1], remove_batch_dim=True)  # [heads, q, k] per layer
    np.testing.assert_allclose(
        weights(attnviz.document_from(one, TOKENS, encoding="json"), "decoder_self"), patterns[0].numpy(), atol=1e-4
    )
    with torch.no_grad():
        _, part = model.run_with_cache(ids[:1], names_filter=lambda name: name == "blocks.1.attn.hook_pattern")
    with pytest.raises(AttentionInputError, match=r"holds layers \[1\] only"):
        attnviz.document_from(part, TOKENS)


def test_attnviz_does_not_import_the_libraries() -> None:
    code = (
        "import sys, torch, attnviz\n"
        "cache = {f'blocks.{l}.attn.hook_pattern': torch.full((1, 2, 3, 3), 1 / 3) for l in range(2)}\n"
        "attnviz.document_from(cache, list('abc'))\n"
        "print(sorted(m for m in ('transformer_lens', 'nnsight') if m in sys.modules))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env={"PYTHONPATH": str(BACKEND)})
    assert r.stdout.strip() == "[]"


def test_a_mapping_of_hook_names_is_read_like_a_cache() -> None:
    enc = [softmax((1, 4, 5, 5), seed) for seed in range(3)]
    cache = {f"blocks.{layer}.attn.hook_pattern": enc[layer] for layer in range(3)}
    cache |= {"blocks.0.attn.hook_attn_scores": torch.zeros(1, 4, 5, 5), "hook_embed": torch.zeros(1, 5, 32)}
    doc = attnviz.document_from(cache, TOKENS, encoding="json")
    assert list(doc["attentions"]) == ["encoder_self"]  # no model to say it is causal: the default kind
    np.testing.assert_allclose(weights(doc, "encoder_self"), torch.cat(enc).numpy(), atol=1e-4)
    dec = attnviz.document_from(cache, TOKENS, kind="decoder_self", encoding="json")
    assert list(dec["attentions"]) == ["decoder_self"] and dec["tokens"]["tgt"] == TOKENS

    seq2seq = {
        **{f"encoder.{layer}.attn.hook_pattern": softmax((1, 2, 4, 4), layer) for layer in range(2)},
        **{f"decoder.{layer}.attn.hook_pattern": softmax((1, 2, 3, 3), 10 + layer, causal=True) for layer in range(2)},
        **{f"decoder.{layer}.cross_attn.hook_pattern": softmax((1, 2, 3, 4), 20 + layer) for layer in range(2)},
    }
    doc = attnviz.document_from(seq2seq, list("abcd"), tgt_tokens=list("xyz"), encoding="json")
    assert set(doc["attentions"]) == {"encoder_self", "decoder_self", "cross"}
    want = torch.cat([seq2seq[f"decoder.{layer}.cross_attn.hook_pattern"] for layer in range(2)]).numpy()
    np.testing.assert_allclose(weights(doc, "cross"), want, atol=1e-4)

    with pytest.raises(AttentionInputError, match=r"x\['blocks\.\{l\}\.attn\.hook_pattern'\] holds layers \[0, 2\] only"):
        attnviz.document_from({k: v for k, v in cache.items() if not k.startswith("blocks.1.")}, TOKENS)


# ---- nnsight ---------------------------------------------------------------------------------------


class Saved:
    """What ``.save()`` handed back before nnsight 0.4: a proxy holding the tensor in ``.value``."""

    def __init__(self, value: torch.Tensor) -> None:
        self.value = value


def test_saved_values_are_unwrapped() -> None:
    layers = [softmax((1, 4, 5, 5), seed, causal=True) for seed in range(2)]
    doc = attnviz.document_from([Saved(t) for t in layers], TOKENS, kind="decoder_self", encoding="json")
    np.testing.assert_allclose(weights(doc, "decoder_self"), torch.cat(layers).numpy(), atol=1e-4)
    one = attnviz.document_from(Saved(layers[0][0]), TOKENS, encoding="json")  # a single [heads, q, k]
    np.testing.assert_allclose(weights(one, "encoder_self")[0], layers[0][0].numpy(), atol=1e-4)


def test_nnsight_saved_attention_of_a_real_model() -> None:
    import nnsight  # the dev extra

    tf = pytest.importorskip("transformers")
    cfg = tf.GPT2Config(vocab_size=50, n_positions=16, n_embd=32, n_layer=2, n_head=4, bos_token_id=0, eos_token_id=0)
    torch.manual_seed(0)
    hf = tf.GPT2LMHeadModel(cfg).eval()
    hf.config._attn_implementation = "eager"  # the weights are returned by eager attention only
    model = nnsight.NNsight(hf)
    ids = torch.tensor([[1, 5, 7, 3, 9]])
    with model.trace(ids, output_attentions=True):
        first = model.transformer.h[0].attn.output[1].save()
        second = model.transformer.h[1].attn.output[1].save()
    with torch.no_grad():
        ref = torch.cat(hf(ids, output_attentions=True).attentions).numpy()
    doc = attnviz.document_from([first, second], TOKENS, kind="decoder_self", encoding="json")
    np.testing.assert_allclose(weights(doc, "decoder_self"), ref, atol=1e-4)
