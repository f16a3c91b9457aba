"""Decoder-only and encoder-decoder Hugging Face models (tiny, random weights, built locally) through
attnviz's loading code, checked against transformers itself, loaded independently."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from .tiny_models import TINY

transformers = pytest.importorskip("transformers")

from attnviz.hf import (  # noqa: E402
    HFModel,
    HFModelError,
    display_token,
    estimate_bytes,
    hf_document,
    hf_math,
    load_hf_model,
    run_model,
)

TEXT = "hello world\nthe cat"
NEW = 6
NAMES = list(TINY)
AUTO = {"decoder": "AutoModelForCausalLM", "encoder-decoder": "AutoModelForSeq2SeqLM"}
OUT_PROJ = {"gpt2": "c_proj", "llama": "o_proj", "t5": "o", "bart": "out_proj"}


@pytest.fixture(scope="module")
def models(tiny_root: Path) -> dict[str, HFModel]:
    return {name: load_hf_model(tiny_root / "hf" / name) for name in NAMES}


@cache
def reference(model_dir: str, family: str) -> tuple[Any, Any]:
    tok = transformers.AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
    auto = getattr(transformers, AUTO[family])
    model = auto.from_pretrained(model_dir, attn_implementation="eager", local_files_only=True).eval()
    return tok, model


def reference_generate(m: HFModel, text: str, new: int) -> list[int]:
    tok, model = reference(str(m.path), m.family)
    batch = tok(text, return_tensors="pt")
    with torch.no_grad():
        seq = model.generate(**batch, max_new_tokens=new, do_sample=False, pad_token_id=tok.pad_token_id or tok.eos_token_id)
    return [int(i) for i in seq[0]]


def reference_forward(m: HFModel, text: str, tgt: list[int], out_proj_hook: Any = None) -> Any:
    """transformers' own eager forward with ``output_attentions`` on the same sequence."""
    tok, model = reference(str(m.path), m.family)
    batch = tok(text, return_tensors="pt")
    with torch.no_grad():
        if m.family == "decoder":
            return model(input_ids=torch.tensor([tgt]), output_attentions=True)
        return model(**batch, decoder_input_ids=torch.tensor([tgt]), output_attentions=True)


def reference_attentions(out: Any, family: str) -> dict[str, np.ndarray]:
    def stack(a: Any) -> np.ndarray:
        return torch.stack([x[0] for x in a]).numpy()

    if family == "decoder":
        return {"decoder_self": stack(out.attentions)}
    return {
        "encoder_self": stack(out.encoder_attentions),
        "decoder_self": stack(out.decoder_attentions),
        "cross": stack(out.cross_attentions),
    }


# ---- families and the document --------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_family_and_supports(models: dict[str, HFModel], name: str) -> None:
    m = models[name]
    assert m.family == TINY[name]
    assert m.supports == ("attention", "generate", "steps", "math", "ablate", "special_tokens")
    kinds = {"decoder": ["decoder_self"], "encoder-decoder": ["encoder_self", "decoder_self", "cross"]}[m.family]
    assert list(m.sites) == kinds and all(len(m.sites[k]) == 2 for k in kinds)


@pytest.mark.parametrize("name", NAMES)
def test_generation_and_attention_equal_transformers(models: dict[str, HFModel], name: str) -> None:
    m = models[name]
    run = run_model(m, TEXT, NEW)
    expected = reference_generate(m, TEXT, NEW)
    if m.family == "decoder":
        assert run.tgt_ids + run.produced[len(run.tgt_ids) - run.n_prompt :] == expected
        assert run.tgt_ids[: run.n_prompt] == reference(str(m.path), m.family)[0](TEXT)["input_ids"]
    else:
        assert [expected[0], *run.produced] == expected
        assert run.tgt_ids == (expected[:-1] if run.finished else expected)
    ref = reference_attentions(reference_forward(m, TEXT, run.tgt_ids), m.family)
    assert set(run.attentions) == set(ref)
    for kind, w in ref.items():
        np.testing.assert_allclose(run.attentions[kind].numpy(), w, atol=1e-5)
    if "decoder_self" in ref:  # causal: nothing above the diagonal
        assert np.triu(run.attentions["decoder_self"].numpy(), 1).max() == 0.0


@pytest.mark.parametrize("name", NAMES)
def test_document_shape_by_family(models: dict[str, HFModel], name: str) -> None:
    m = models[name]
    doc = hf_document(m, TEXT, name=f"hf/{name}", precision=6, max_new_tokens=NEW)
    run = run_model(m, TEXT, NEW)
    tgt = m.show(m.tokenizer.convert_ids_to_tokens(run.tgt_ids))
    assert doc["tokens"]["tgt"] == tgt and len(doc["steps"]) == len(tgt)
    assert [s["t"] for s in doc["steps"]] == list(range(len(tgt)))
    assert all(len(s["top"]) == 5 for s in doc["steps"])
    assert doc["special_tokens"] == sorted(m.tokenizer.all_special_tokens)
    assert doc["output"] == m.tokenizer.decode(run.produced, skip_special_tokens=True)
    if m.family == "decoder":
        assert set(doc["attentions"]) == {"decoder_self"} and doc["tokens"]["src"] == []
        first = run.n_prompt - 1  # the prompt's last row produced the first generated token
        produced = doc["steps"][first : first + len(run.produced)]
        assert [s["token"] for s in produced] == m.show(m.tokenizer.convert_ids_to_tokens(run.produced))
    else:
        assert set(doc["attentions"]) == {"encoder_self", "decoder_self", "cross"}
        assert doc["tokens"]["src"] == m.show(m.tokenizer.convert_ids_to_tokens(run.src_ids))
        produced = doc["steps"][: len(run.produced)]
        assert [s["token"] for s in produced] == m.show(m.tokenizer.convert_ids_to_tokens(run.produced))
        cross = np.asarray(doc["attentions"]["cross"])
        assert cross.shape[2:] == (len(tgt), len(doc["tokens"]["src"]))
    for kind, w in doc["attentions"].items():
        np.testing.assert_allclose(np.asarray(w), run.attentions[kind].numpy(), atol=1e-6)


def test_max_new_tokens_is_bounded_by_the_context(models: dict[str, HFModel]) -> None:
    m = models["gpt2-tiny"]  # 64 positions
    run = run_model(m, TEXT, 500)
    assert len(run.tgt_ids) + (1 if run.finished else 0) <= 64 and any("context" in w for w in run.warnings)
    assert run_model(m, TEXT, 0).tgt_ids == run.tgt_ids[: run.n_prompt] and run_model(m, TEXT, 0).produced == []


# ---- readable tokens -------------------------------------------------------------------------------


def test_one_visible_space_convention(models: dict[str, HFModel]) -> None:
    gpt, llama, t5 = models["gpt2-tiny"], models["llama-gqa-tiny"], models["t5-tiny"]
    raw = gpt.tokenizer.convert_ids_to_tokens(gpt.tokenizer(TEXT)["input_ids"])
    assert "Ċ" in raw and any(t.startswith("Ġ") for t in raw)
    shown = gpt.show(raw)
    assert "↵" in shown and any(t.startswith("␣") for t in shown) and not any("Ġ" in t or "Ċ" in t for t in shown)
    assert "".join(shown).replace("␣", " ").replace("↵", "\n") == TEXT
    lraw = llama.tokenizer.convert_ids_to_tokens(llama.tokenizer(TEXT)["input_ids"])
    assert "<0x0A>" in lraw and any(t.startswith("▁") for t in lraw)  # the newline is a byte token
    lshown = llama.show(lraw)
    assert lshown[0] == "<s>" and "↵" in lshown and not any("▁" in t or t == "<0x0A>" for t in lshown)
    assert "".join(lshown[1:]).replace("␣", " ").replace("↵", "\n").strip() == TEXT
    assert t5.show(["▁the", "</s>"]) == ["␣the", "</s>"]
    assert display_token("<|endoftext|>", "bytelevel", frozenset({"<|endoftext|>"})) == "<|endoftext|>"
    assert display_token("##ing", "plain", frozenset()) == "##ing"


# ---- the step-through --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_math_recombines_to_the_models_weights_for_every_kind_layer_and_head(models: dict[str, HFModel], name: str) -> None:
    m = models[name]
    run = run_model(m, TEXT, NEW)
    ref = reference_attentions(reference_forward(m, TEXT, run.tgt_ids), m.family)
    for kind in m.sites:
        for layer in range(2):
            for head in range(4):
                r = hf_math(m, TEXT, kind, layer, head, NEW)
                t = {k: v.double() for k, v in r["tensors"].items() if k != "mask"}
                np.testing.assert_allclose(t["weights"].numpy(), ref[kind][layer, head], atol=1e-4)
                assert r["max_abs_diff"] < 1e-4
                # the steps recombine: softmax(masked scores), weights · V
                masked = t["scores"].masked_fill(~r["tensors"]["mask"], float("-inf"))
                np.testing.assert_allclose(torch.softmax(masked, -1).numpy(), t["weights"].numpy(), atol=1e-6)
                np.testing.assert_allclose((t["weights"] @ t["v"]).numpy(), t["output"].numpy(), atol=1e-6)
                qk = t["q"] @ t["k"].T * r["scale"]
                bias = t.get("position_bias")
                np.testing.assert_allclose((qk if bias is None else qk + bias).numpy(), t["scores"].numpy(), atol=1e-5)
                causal = kind == "decoder_self"
                assert bool(r["tensors"]["mask"].triu(1).any()) is not causal
                assert r["rope"] is (name == "llama-gqa-tiny")
                assert r["kv_head"] == (head // 2 if name == "llama-gqa-tiny" else head)
                assert r["scale"] == (1.0 if name == "t5-tiny" else pytest.approx(8**-0.5))
                # T5: the relative position bias is part of the self-attention scores, not of cross
                assert ("position_bias" in r["tensors"]) is (name == "t5-tiny" and kind != "cross")
                assert len(r["query_tokens"]) == t["q"].shape[0] and len(r["key_tokens"]) == t["k"].shape[0]


def test_llama_keys_are_grouped_and_rotated(models: dict[str, HFModel]) -> None:
    """Query heads 0 and 1 read one key/value head; the keys are the rotated k_proj output."""
    m = models["llama-gqa-tiny"]
    a, b = (hf_math(m, TEXT, "decoder_self", 1, h, 0) for h in (0, 1))
    assert m.sites["decoder_self"][1].n_kv_heads == 2 and a["n_kv_heads"] == 2
    assert torch.equal(a["tensors"]["k"], b["tensors"]["k"]) and torch.equal(a["tensors"]["v"], b["tensors"]["v"])
    site = m.sites["decoder_self"][0]
    run = run_model(m, TEXT, 0, capture=[site])
    args, kwargs, _ = run.captured[id(site.module)]
    x = args[0] if args else kwargs["hidden_states"]
    raw_k = site.module.k_proj(x)[0, :, :8]  # kv head 0 before RoPE
    k0 = hf_math(m, TEXT, "decoder_self", 0, 0, 0)["tensors"]["k"]
    assert torch.allclose(k0[0], raw_k[0], atol=1e-6)  # position 0 is not rotated
    assert not torch.allclose(k0[1:], raw_k[1:], atol=1e-3)  # later positions are


# ---- ablation ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_ablation_logits_equal_a_hand_zeroed_reference(models: dict[str, HFModel], name: str) -> None:
    m = models[name]
    kind = "cross" if m.family == "encoder-decoder" else "decoder_self"
    layer, head, d = 0, 1, m.sites[kind][0].head_dim
    ablated = run_model(m, TEXT, NEW, ablate=[(kind, layer, head)])
    plain = run_model(m, TEXT, NEW)
    _, ref_model = reference(str(m.path), m.family)
    modules = dict(ref_model.named_modules())
    proj = getattr(modules[m.sites[kind][layer].name], OUT_PROJ[name.split("-")[0]])

    def zero(module: Any, args: tuple[Any, ...]) -> tuple[Any, ...]:
        x = args[0].clone()
        x[..., head * d : (head + 1) * d] = 0
        return (x,)

    handle = proj.register_forward_pre_hook(zero)
    try:
        out = reference_forward(m, TEXT, ablated.tgt_ids)
        expected_ids = reference_generate(m, TEXT, NEW)
    finally:
        handle.remove()
    np.testing.assert_allclose(ablated.logits.numpy(), out.logits[0].numpy(), atol=1e-5)
    start = ablated.n_prompt if m.family == "decoder" else 1
    assert ablated.produced == expected_ids[start:]
    later = reference_attentions(out, m.family)["decoder_self"][1]  # the next layer sees the change
    np.testing.assert_allclose(ablated.attentions["decoder_self"][1].numpy(), later, atol=1e-5)
    assert ablated.attentions[kind][layer, head].abs().max() == 0  # shown switched off
    same_len = min(len(plain.tgt_ids), len(ablated.tgt_ids))
    plain_logits = run_model(m, TEXT, 0).logits if m.family == "decoder" else plain.logits
    assert not torch.allclose(plain_logits[:1], ablated.logits[:1], atol=1e-4) or same_len == 0
    assert torch.equal(run_model(m, TEXT, NEW).logits, plain.logits)  # nothing left switched off


# ---- directories that cannot be used ----------------------------------------------------------------------


def copy_model(src: Path, dst: Path, skip: tuple[str, ...] = ()) -> Path:
    dst.mkdir(parents=True)
    for f in src.iterdir():
        if f.name not in skip:
            (dst / f.name).write_bytes(f.read_bytes())
    return dst


def test_auto_map_is_refused(tiny_root: Path, tmp_path: Path) -> None:
    d = copy_model(tiny_root / "hf" / "gpt2-tiny", tmp_path / "remote")
    config = json.loads((d / "config.json").read_text())
    (d / "config.json").write_text(json.dumps({**config, "auto_map": {"AutoModelForCausalLM": "modeling_x.X"}}))
    with pytest.raises(HFModelError, match="auto_map"):
        load_hf_model(d)


def test_pickle_only_weights_load_only_through_weights_only(tiny_root: Path, tmp_path: Path) -> None:
    src = tiny_root / "hf" / "gpt2-tiny"
    plain = copy_model(src, tmp_path / "bin", skip=("model.safetensors",))
    from safetensors.torch import load_file

    torch.save(load_file(src / "model.safetensors"), plain / "pytorch_model.bin")  # tensors only: loads
    assert load_hf_model(plain).family == "decoder"
    evil = copy_model(src, tmp_path / "evil", skip=("model.safetensors",))
    torch.save({"w": torch.zeros(1), "x": Path("/tmp")}, evil / "pytorch_model.bin")  # an arbitrary object
    with pytest.raises(HFModelError, match="cannot load the model"):
        load_hf_model(evil)


def test_too_big_for_the_budget_is_refused_before_loading(tiny_root: Path) -> None:
    d = tiny_root / "hf" / "llama-gqa-tiny"
    need = estimate_bytes(d)
    m = load_hf_model(d)
    assert need <= m.nbytes <= need * 1.01  # float32 parameters from the safetensors header (+ buffers)
    with pytest.raises(HFModelError, match="ATTNVIZ_MODEL_CACHE_BYTES"):
        load_hf_model(d, max_bytes=need - 1)


def test_concurrent_requests_share_a_model_without_leaking_ablation(models: dict[str, HFModel]) -> None:
    """The hooks read per-thread state: an ablated run beside plain runs on one model changes only itself."""
    from concurrent.futures import ThreadPoolExecutor

    m = models["bart-tiny"]
    off = [("decoder_self", 1, 0), ("encoder_self", 0, 2)]
    plain, ablated = run_model(m, TEXT, NEW).logits, run_model(m, TEXT, NEW, ablate=off).logits
    with ThreadPoolExecutor(4) as pool:
        jobs = [pool.submit(run_model, m, TEXT, NEW, off if i % 2 else ()) for i in range(8)]
        for i, job in enumerate(jobs):
            assert torch.equal(job.result().logits, ablated if i % 2 else plain)
    assert not torch.equal(plain, ablated)
