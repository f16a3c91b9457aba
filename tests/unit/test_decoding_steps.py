"""The document's optional `steps`: top-k next-token probabilities per greedy decoding step."""

from __future__ import annotations

import pytest
import torch

from attnviz.checkpoint import Checkpoint
from attnviz.export_attention_json import build_document, document_from_result
from attnviz.inference import run_attention
from attnviz.server.schemas import AttentionDocument

from ._tiny import train_tiny


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory: pytest.TempPathFactory) -> Checkpoint:
    return train_tiny(tmp_path_factory.mktemp("steps") / "copy", epochs=2)


@pytest.mark.parametrize("text", ["abc", "hello", "zz"])
def test_top5_are_the_softmax_of_the_logits_and_top1_is_the_decoded_token(ckpt: Checkpoint, text: str) -> None:
    model = ckpt.build_model()
    result = run_attention(model, ckpt.vocab, text)
    doc = document_from_result(ckpt, result, precision=6)
    steps = doc["steps"]
    assert [s["t"] for s in steps] == list(range(len(result.tgt_tokens)))
    probs = torch.softmax(result.logits, dim=-1)
    for s in steps:
        assert len(s["top"]) == 5
        ps = [p["p"] for p in s["top"]]
        assert ps == sorted(ps, reverse=True)
        for p in s["top"]:
            assert p["p"] == pytest.approx(float(probs[s["t"], ckpt.vocab.stoi[p["token"]]]), abs=1e-6)
        assert s["top"][0]["token"] == s["token"]
        expected_best = probs[s["t"]].topk(5).values
        assert ps == pytest.approx(expected_best.tolist(), abs=1e-6)
    # the step tokens are the decoded output (then <eos> when decoding finished)
    produced = [s["token"] for s in steps]
    if result.finished:
        assert produced[-1] == "<eos>"
        produced = produced[:-1]
    assert "".join(produced) == result.output
    # and each step's token is the next decoder input
    assert [s["token"] for s in steps[:-1]] == result.tgt_tokens[1:]
    AttentionDocument.model_validate(doc)


def test_precision_top_k_and_documents_without_steps(ckpt: Checkpoint) -> None:
    doc = build_document(ckpt, "abc", precision=2, top_k=3, encoding="float16")
    assert all(len(s["top"]) == 3 for s in doc["steps"])
    assert all(round(p["p"], 2) == p["p"] for s in doc["steps"] for p in s["top"])
    no_steps = build_document(ckpt, "abc", top_k=0)
    assert "steps" not in no_steps
    AttentionDocument.model_validate(no_steps)  # backward compatible: steps is optional
    with pytest.raises(ValueError, match="top_k"):
        build_document(ckpt, "abc", top_k=-1)
