"""``attnviz.document_from``: every input form against hand-built expectations, every bad input its named error."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import attnviz
from attnviz.anywhere import AttentionInputError, AttentionInputWarning
from attnviz.encoding import decode_weights


def softmax_weights(*shape: int, seed: int = 0) -> np.ndarray:
    """Rows that sum to 1, values exactly representable as float16 would not matter: compare at 1e-3."""
    rng = np.random.default_rng(seed)
    w = rng.random(shape) + 0.05
    return w / w.sum(axis=-1, keepdims=True)


def weights_of(doc: dict[str, Any], kind: str) -> np.ndarray:
    return decode_weights(doc["attentions"][kind]).astype(np.float64)


def test_numpy_array_layers_heads_q_k() -> None:
    w = softmax_weights(2, 3, 4, 4)
    doc = attnviz.document_from(w, ["a", "b", "c", "d"])
    assert doc["schema_version"] == 1
    assert doc["tokens"] == {"src": ["a", "b", "c", "d"]}
    assert doc["checkpoint"] is None and doc["output"] is None and doc["input"] == "a b c d"
    assert doc["model"]["n_layers"] == 2 and doc["model"]["n_heads"] == 3
    assert doc["encoding"] == "float16" and doc["attentions"]["encoder_self"]["shape"] == [2, 3, 4, 4]
    assert set(doc["attentions"]) == {"encoder_self"}
    np.testing.assert_allclose(weights_of(doc, "encoder_self"), w, atol=1e-3)
    assert doc["warnings"] == []


def test_torch_tensor_with_a_leading_batch_of_one_and_json_encoding() -> None:
    w = softmax_weights(1, 2, 2, 3, 3, seed=1)
    doc = attnviz.document_from(torch.tensor(w, dtype=torch.bfloat16), ["x", "y", "z"], encoding="json")
    got = np.asarray(doc["attentions"]["encoder_self"])
    assert got.shape == (2, 2, 3, 3)
    np.testing.assert_allclose(got, w[0], atol=1e-2)  # bfloat16 keeps ~3 significant digits


def test_list_of_per_layer_tensors_like_hugging_face_outputs_attentions() -> None:
    per_layer = [torch.tensor(softmax_weights(1, 4, 5, 5, seed=i), dtype=torch.float32) for i in range(3)]
    doc = attnviz.document_from(tuple(per_layer), list("hello"))
    got = weights_of(doc, "encoder_self")
    assert got.shape == (3, 4, 5, 5)
    for i, t in enumerate(per_layer):
        np.testing.assert_allclose(got[i], t[0].numpy(), atol=1e-3)


def test_batch_index_chooses_one_sequence_of_a_batch() -> None:
    batch = softmax_weights(3, 2, 2, 4, 4, seed=2)  # [batch, layers, heads, q, k]
    per_layer = [torch.tensor(batch[:, layer]) for layer in range(2)]  # HF: [batch, heads, q, k] per layer
    for x in (batch, per_layer):
        doc = attnviz.document_from(x, list("abcd"), batch_index=2)
        np.testing.assert_allclose(weights_of(doc, "encoder_self"), batch[2], atol=1e-3)


def test_decoder_only_stack_is_causal_self_attention_on_the_target_side() -> None:
    w = np.tril(softmax_weights(1, 2, 3, 3, seed=3))
    w /= w.sum(axis=-1, keepdims=True)
    doc = attnviz.document_from(w, ["The", "cat", "sat"], kind="decoder_self")
    assert doc["tokens"] == {"src": [], "tgt": ["The", "cat", "sat"]}
    assert set(doc["attentions"]) == {"decoder_self"} and doc["input"] == "The cat sat"
    np.testing.assert_allclose(weights_of(doc, "decoder_self"), w, atol=1e-3)


def test_explicit_kinds_of_a_seq2seq_model() -> None:
    enc = softmax_weights(2, 2, 4, 4, seed=4)
    dec = softmax_weights(2, 2, 3, 3, seed=5)
    cross = softmax_weights(2, 2, 3, 4, seed=6)
    doc = attnviz.document_from(
        encoder_self=enc, decoder_self=dec, cross=cross, tokens=list("abcd"), tgt_tokens=["<s>", "x", "y"]
    )
    assert doc["tokens"] == {"src": list("abcd"), "tgt": ["<s>", "x", "y"]}
    assert doc["output"] == "<s> x y"
    for kind, w in (("encoder_self", enc), ("decoder_self", dec), ("cross", cross)):
        np.testing.assert_allclose(weights_of(doc, kind), w, atol=1e-3)


def test_document_dict_and_path_come_back_as_they_are(tiny_doc: dict[str, Any], tmp_path: Path) -> None:
    assert attnviz.document_from(tiny_doc) == tiny_doc
    path = tmp_path / "doc.json"
    path.write_text(json.dumps(tiny_doc), encoding="utf-8")
    assert attnviz.document_from(path) == json.loads(json.dumps(tiny_doc))
    assert attnviz.document_from(str(path))["tokens"] == tiny_doc["tokens"]


def test_missing_tokens_are_numbered_with_a_warning() -> None:
    doc = attnviz.document_from(softmax_weights(1, 1, 3, 3))
    assert doc["tokens"]["src"] == ["0", "1", "2"]
    assert any("no tokens given" in w for w in doc["warnings"])


def test_rows_not_summing_to_one_are_warned_about_not_renormalised() -> None:
    w = softmax_weights(1, 2, 3, 3, seed=7)
    w[0, 1, 2] *= 0.5
    with pytest.warns(AttentionInputWarning):
        doc = attnviz.document_from(w, list("abc"))
    assert len(doc["warnings"]) == 1 and "1 of 6 query rows do not sum to 1" in doc["warnings"][0]
    assert "[0, 1, 2]" in doc["warnings"][0]
    np.testing.assert_allclose(weights_of(doc, "encoder_self"), w, atol=1e-3)  # as given


def test_a_well_formed_input_gives_no_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        attnviz.document_from(softmax_weights(1, 1, 2, 2), ["a", "b"])


@pytest.mark.parametrize(
    ("call", "named"),
    [
        (lambda: attnviz.document_from(softmax_weights(1, 1, 3, 3), ["a", "b"]), "tokens has 2 tokens but the attention has 3"),
        (lambda: attnviz.document_from([torch.ones(1, 2, 3, 3) / 3, torch.ones(1, 2, 4, 4) / 4], list("abc")), "x is ragged"),
        (lambda: attnviz.document_from(softmax_weights(2, 1, 1, 3, 3), list("abc")), "pass batch_index"),
        (lambda: attnviz.document_from([torch.ones(2, 1, 3, 3) / 3], list("abc")), "x[0] has a batch of 2"),
        (lambda: attnviz.document_from(softmax_weights(1, 1, 2, 2), ["a", "b"], batch_index=5), "batch_index=5"),
        (lambda: attnviz.document_from(np.full((1, 1, 2, 2), np.nan), ["a", "b"]), "NaN or infinite"),
        (lambda: attnviz.document_from(np.full((1, 1, 2, 2), np.inf), ["a", "b"]), "NaN or infinite"),
        (lambda: attnviz.document_from(np.full((1, 1, 2, 2), -2.0), ["a", "b"]), "outside [0, 1]"),
        (lambda: attnviz.document_from(softmax_weights(1, 1, 2, 3), ["a", "b"]), "self-attention is square"),
        (lambda: attnviz.document_from(np.ones((2, 2, 2, 2, 2, 2)), ["a", "b"]), "expected [layers, heads, queries, keys]"),
        (lambda: attnviz.document_from(softmax_weights(1, 1, 2, 2), "ab"), "not one string"),
        (lambda: attnviz.document_from(softmax_weights(1, 1, 2, 2), [101, 102]), "convert_ids_to_tokens"),
        (lambda: attnviz.document_from([[0.5, 0.5], [1.0]], ["a", "b"]), "not a rectangular array"),
        (lambda: attnviz.document_from(), "nothing to show"),
        (lambda: attnviz.document_from(softmax_weights(1, 1, 2, 2), cross=softmax_weights(1, 1, 2, 2)), "not both"),
        (
            lambda: attnviz.document_from(
                encoder_self=softmax_weights(1, 1, 3, 3), cross=softmax_weights(1, 1, 2, 4), tokens=list("abc")
            ),
            "4 source positions but another kind has 3",
        ),
        (lambda: attnviz.document_from({"schema_version": 2}), "schema_version 2"),
        (lambda: attnviz.document_from("/nonexistent/doc.json"), "no such file"),
        (lambda: attnviz.document_from(softmax_weights(1, 1, 2, 2), ["a", "b"], kind="cross"), "kind must be"),
        (lambda: attnviz.document_from(np.eye(2, dtype=complex)[None, None], ["a", "b"]), "complex values"),
        (lambda: attnviz.document_from(torch.eye(2, dtype=torch.complex64)[None, None], ["a", "b"]), "complex values"),
        (lambda: attnviz.document_from(torch.empty(1, 1, 2, 2, device="meta"), ["a", "b"]), "cannot be read on the CPU"),
        # too large for a full document: refused from the shape, before any copy (a meta tensor holds no memory)
        (lambda: attnviz.document_from(torch.empty(64, 64, 4096, 4096, device="meta"), detail="full"), "attnviz shows at most"),
        (lambda: attnviz.document_from([torch.empty(1, 16, 2048, 2048, device="meta")] * 2, detail="full"), "shows at most"),
        (lambda: attnviz.document_from(np.broadcast_to(np.float32(0.5), (16, 16, 1024, 1024)), detail="full"), "shows at most"),
        # an overview reads the values where they are: a meta tensor has none
        (lambda: attnviz.document_from(torch.empty(64, 64, 4096, 4096, device="meta")), "a meta tensor holds no values"),
        (lambda: attnviz.document_from(softmax_weights(1, 1, 2, 2), detail="some"), "detail must be"),
        (lambda: attnviz.document_from(softmax_weights(1, 1, 2, 2), max_bytes=0), "max_bytes must be"),
    ],
)
def test_bad_input_gets_a_named_error(call: Any, named: str) -> None:
    with pytest.raises(AttentionInputError) as err:
        call()
    assert named in str(err.value)
    assert isinstance(err.value, ValueError)


def test_a_document_whose_weights_do_not_match_its_tokens(tiny_doc: dict[str, Any]) -> None:
    bad = dict(tiny_doc, tokens={"src": ["a"], "tgt": tiny_doc["tokens"]["tgt"]})
    with pytest.raises(AttentionInputError, match=r"attentions\.encoder_self has shape"):
        attnviz.document_from(bad)


# ---- real Hugging Face models, built locally (no hub), eager attention ----------------------


@pytest.fixture(scope="module")
def transformers_mod() -> Any:
    return pytest.importorskip("transformers")


def test_hugging_face_encoder_outputs_attentions(transformers_mod: Any) -> None:
    tf = transformers_mod
    cfg = tf.BertConfig(
        vocab_size=50, hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32,
        max_position_embeddings=32,
    )  # fmt: skip
    torch.manual_seed(0)
    model = tf.BertModel(cfg, add_pooling_layer=False).eval()
    model.set_attn_implementation("eager")
    ids = torch.tensor([[2, 7, 9, 11, 3]])
    with torch.no_grad():
        out = model(ids, output_attentions=True)
    tokens = ["[CLS]", "the", "cat", "sat", "[SEP]"]
    # BertViz's call shape: the per-layer tuple; and the whole output object
    for x in (out.attentions, out):
        doc = attnviz.document_from(x, tokens)
        got = weights_of(doc, "encoder_self")
        assert got.shape == (2, 2, 5, 5)
        np.testing.assert_allclose(got, torch.stack(out.attentions)[:, 0].numpy(), atol=1e-3)
        assert doc["warnings"] == []


def test_hugging_face_seq2seq_output(transformers_mod: Any) -> None:
    tf = transformers_mod
    cfg = tf.BartConfig(
        vocab_size=60, d_model=16, encoder_layers=2, decoder_layers=2, encoder_attention_heads=2, decoder_attention_heads=2,
        encoder_ffn_dim=32, decoder_ffn_dim=32, max_position_embeddings=32,
    )  # fmt: skip
    torch.manual_seed(0)
    model = tf.BartModel(cfg).eval()
    model.set_attn_implementation("eager")
    src, tgt = torch.tensor([[0, 10, 11, 12, 2]]), torch.tensor([[2, 0, 20, 21]])
    with torch.no_grad():
        out = model(input_ids=src, decoder_input_ids=tgt, output_attentions=True)
    doc = attnviz.document_from(out, ["<s>", "a", "b", "c", "</s>"], tgt_tokens=["</s>", "<s>", "x", "y"])
    assert doc["tokens"] == {"src": ["<s>", "a", "b", "c", "</s>"], "tgt": ["</s>", "<s>", "x", "y"]}
    pairs = (("encoder_self", "encoder_attentions"), ("decoder_self", "decoder_attentions"), ("cross", "cross_attentions"))
    for kind, name in pairs:
        np.testing.assert_allclose(weights_of(doc, kind), torch.stack(getattr(out, name))[:, 0].numpy(), atol=1e-3)
    dec = weights_of(doc, "decoder_self")
    assert np.all(dec[:, :, 0, 1:] < 1e-6)  # the decoder's mask came through
    with pytest.raises(AttentionInputError, match="tgt_tokens has 3 tokens but the attention has 4 target positions"):
        attnviz.document_from(out, ["<s>", "a", "b", "c", "</s>"], tgt_tokens=["a", "b", "c"])


def test_import_attnviz_stays_light() -> None:
    import subprocess
    import sys

    code = "import sys, attnviz; print(sorted(m for m in ('torch', 'matplotlib', 'anywidget', 'numpy') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout.strip()
    assert out == "[]"


def test_batch_index_converts_only_the_chosen_sequence() -> None:
    """A batch too large to show as a whole is fine when one sequence of it is chosen."""
    w = torch.from_numpy(softmax_weights(1, 1, 1, 3, 3)).expand(20_000, 1, 1, 3, 3)  # a view: one sequence of memory
    big = torch.empty(20_000, 64, 4096, 4096, device="meta")
    with pytest.raises(AttentionInputError, match="attnviz shows at most"):
        attnviz.document_from(big[:, :1], list("abc"), batch_index=0, detail="full")  # the chosen sequence alone is too large
    doc = attnviz.document_from(w, list("abc"), batch_index=-1, encoding="json")
    np.testing.assert_allclose(np.asarray(doc["attentions"]["encoder_self"]), w[-1].numpy(), atol=1e-4)  # JSON keeps 4 decimals
