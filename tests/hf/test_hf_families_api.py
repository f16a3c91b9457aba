"""Every Hugging Face family through the HTTP API of a real uvicorn (tiny local models, random
weights), compared with transformers itself."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient

from attnviz.document import FIELDS, check
from attnviz.encoding import decode_weights

from ..browser import Server
from .conftest import link_or_copy, make_app
from .tiny_models import TINY

transformers = pytest.importorskip("transformers")

TEXT = "the cat sat on the mat"
GENERATING = ["attention", "generate", "steps", "math", "ablate", "special_tokens"]


def post(base: str, path: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{base}{path}", json=body, timeout=60)


def listed(base: str) -> dict[str, dict[str, Any]]:
    runs = httpx.get(f"{base}/api/checkpoints", timeout=60).json()["runs"]
    return {c["name"]: {**c, "run_family": r["family"]} for r in runs for c in r["checkpoints"]}


def test_every_family_is_listed_with_what_it_supports(tiny_server: Server) -> None:
    models = listed(tiny_server.url)
    for name, family in TINY.items():
        entry = models[f"hf/{name}"]
        assert entry["usable"], entry["error"]
        assert entry["family"] == entry["run_family"] == family and entry["kind"] == "huggingface"
        assert entry["supports"] == GENERATING and "timeline" not in entry["supports"]
        assert entry["config"]["n_layers"] == 2 and entry["config"]["n_heads"] == 4
    if "hf/all-MiniLM-L6-v2" in models:
        assert models["hf/all-MiniLM-L6-v2"]["family"] == "encoder"
        assert models["hf/all-MiniLM-L6-v2"]["supports"] == ["attention", "math", "ablate", "special_tokens"]


def reference(d: Path, family: str) -> tuple[Any, Any]:
    tok = transformers.AutoTokenizer.from_pretrained(d, local_files_only=True)
    auto = transformers.AutoModelForCausalLM if family == "decoder" else transformers.AutoModelForSeq2SeqLM
    return tok, auto.from_pretrained(d, attn_implementation="eager", local_files_only=True).eval()


@pytest.mark.parametrize("name", list(TINY))
def test_documents_by_family_equal_transformers(tiny_server: Server, tiny_root: Path, name: str) -> None:
    family = TINY[name]
    r = post(tiny_server.url, "/api/attention", {"checkpoint": f"hf/{name}", "text": TEXT, "max_new_tokens": 4, "precision": 8})
    assert r.status_code == 200, r.text
    doc = r.json()
    assert check(doc, name) and list(doc)[: len(FIELDS)] == list(FIELDS)  # the one document shape
    tok, model = reference(tiny_root / "hf" / name, family)
    batch = tok(TEXT, return_tensors="pt")
    with torch.no_grad():
        seq = model.generate(**batch, max_new_tokens=4, do_sample=False, pad_token_id=tok.pad_token_id or tok.eos_token_id)[0]
    eos = tok.eos_token_id
    fed = seq[:-1] if int(seq[-1]) == eos and len(seq) > (batch["input_ids"].shape[1] if family == "decoder" else 1) else seq
    assert len(doc["tokens"]["tgt"]) == len(fed) and len(doc["steps"]) == len(fed)
    assert doc["special_tokens"] == sorted(tok.all_special_tokens)
    with torch.no_grad():
        if family == "decoder":
            out = model(input_ids=fed[None], output_attentions=True)
            expected = {"decoder_self": out.attentions}
            assert set(doc["attentions"]) == {"decoder_self"} and doc["tokens"]["src"] == []
            produced = seq[batch["input_ids"].shape[1] :]
        else:
            out = model(**batch, decoder_input_ids=fed[None], output_attentions=True)
            expected = {
                "encoder_self": out.encoder_attentions,
                "decoder_self": out.decoder_attentions,
                "cross": out.cross_attentions,
            }
            assert len(doc["tokens"]["src"]) == batch["input_ids"].shape[1]
            produced = seq[1:]
    assert doc["output"] == tok.decode(produced, skip_special_tokens=True)
    for kind, layers in expected.items():
        np.testing.assert_allclose(
            decode_weights(doc["attentions"][kind]), torch.stack([a[0] for a in layers]).numpy(), atol=1e-5
        )


@pytest.mark.parametrize("name", list(TINY))
def test_math_over_http_for_every_kind(tiny_server: Server, name: str) -> None:
    doc = post(
        tiny_server.url, "/api/attention", {"checkpoint": f"hf/{name}", "text": TEXT, "max_new_tokens": 3, "precision": 8}
    ).json()
    for kind in doc["attentions"]:
        body = {"checkpoint": f"hf/{name}", "text": TEXT, "kind": kind, "layer": 1, "head": 2, "max_new_tokens": 3}
        r = post(tiny_server.url, "/api/attention/math", body)
        assert r.status_code == 200, r.text
        m = r.json()
        np.testing.assert_allclose(m["tensors"]["weights"]["data"], doc["attentions"][kind][1][2], atol=1e-4)
        side = {"encoder_self": ("src", "src"), "decoder_self": ("tgt", "tgt"), "cross": ("tgt", "src")}[kind]
        assert (m["query_tokens"], m["key_tokens"]) == (doc["tokens"][side[0]], doc["tokens"][side[1]])
        assert m["max_abs_diff"] < 1e-4 and m["d_k"] == 8


def test_ablation_over_http_changes_the_generated_tokens_or_logits(tiny_server: Server) -> None:
    base = {"checkpoint": "hf/gpt2-tiny", "text": TEXT, "max_new_tokens": 4, "precision": 8}
    plain = post(tiny_server.url, "/api/attention", base).json()
    heads = [{"kind": "decoder_self", "layer": 0, "head": h} for h in range(4)]
    off = post(tiny_server.url, "/api/attention", {**base, "ablate": heads}).json()
    assert np.asarray(off["attentions"]["decoder_self"])[0].max() == 0
    later = np.abs(np.asarray(off["attentions"]["decoder_self"])[1] - np.asarray(plain["attentions"]["decoder_self"])[1])
    n = min(later.shape[-1], 6)
    assert later[..., :n, :n].max() > 1e-4  # layer 1 sees layer 0 switched off
    assert off["steps"][0]["top"] != plain["steps"][0]["top"]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"checkpoint": "hf/gpt2-tiny", "kind": "cross", "layer": 0, "head": 0}, "not_supported"),
        ({"checkpoint": "hf/gpt2-tiny", "kind": "encoder_self", "layer": 0, "head": 0}, "not_supported"),
        ({"checkpoint": "hf/t5-tiny", "kind": "cross", "layer": 2, "head": 0}, "out_of_range"),
        ({"checkpoint": "hf/llama-gqa-tiny", "kind": "decoder_self", "layer": 0, "head": 4}, "out_of_range"),
    ],
)
def test_math_of_a_missing_kind_or_head_is_422(tiny_server: Server, body: dict[str, Any], code: str) -> None:
    r = post(tiny_server.url, "/api/attention/math", {**body, "text": TEXT})
    assert r.status_code == 422 and r.json()["code"] == code, r.text


def test_unsupported_features_and_bounds_are_422(tiny_server: Server) -> None:
    r = post(tiny_server.url, "/api/timeline", {"run": "hf/bart-tiny", "text": TEXT})
    assert r.status_code == 422 and r.json()["code"] == "not_supported" and r.json()["family"] == "encoder-decoder"
    r = post(tiny_server.url, "/api/attention", {"checkpoint": "hf/gpt2-tiny", "text": TEXT, "max_new_tokens": 257})
    assert r.status_code == 422 and r.json()["code"] == "out_of_range" and r.json()["max_new_tokens_limit"] == 256
    r = post(tiny_server.url, "/api/attention", {"checkpoint": "hf/gpt2-tiny", "text": TEXT, "max_new_tokens": -1})
    assert r.status_code == 422 and r.json()["code"] == "validation_error"
    r = post(tiny_server.url, "/api/attention", {"checkpoint": "hf/gpt2-tiny", "text": "word " * 80})
    assert r.status_code == 422 and r.json()["code"] == "text_too_long" and r.json()["max_length"] == 64
    r = post(
        tiny_server.url,
        "/api/attention",
        {"checkpoint": "hf/llama-gqa-tiny", "text": TEXT, "ablate": [{"kind": "cross", "layer": 0, "head": 0}]},
    )
    assert r.status_code == 422 and r.json()["code"] == "not_supported"
    r = post(tiny_server.url, "/api/attention", {"checkpoint": "hf/gpt2-tiny", "text": TEXT, "max_new_tokens": 0})
    assert r.status_code == 200 and r.json()["output"] == ""


# ---- directories that cannot be used, and the byte budget --------------------------------------------------


def copy_model(src: Path, dst: Path) -> Path:
    dst.mkdir(parents=True)
    for f in src.iterdir():
        (dst / f.name).write_bytes(f.read_bytes())
    return dst


def test_bad_directories_are_listed_unusable_with_the_reason(tiny_root: Path, tmp_path: Path) -> None:
    root = tmp_path / "ckpts"
    remote = copy_model(tiny_root / "hf" / "gpt2-tiny", root / "hf" / "remote-code")
    cfg = json.loads((remote / "config.json").read_text())
    (remote / "config.json").write_text(json.dumps({**cfg, "auto_map": {"AutoModelForCausalLM": "x.Y"}}))
    pickled = copy_model(tiny_root / "hf" / "gpt2-tiny", root / "hf" / "pickle-only")
    (pickled / "model.safetensors").unlink()
    torch.save({"weights": torch.zeros(2), "payload": Path("/etc")}, pickled / "pytorch_model.bin")
    copy_model(tiny_root / "hf" / "llama-gqa-tiny", root / "hf" / "llama")
    copy_model(tiny_root / "hf" / "gpt2-tiny", root / "hf" / "gpt2")
    gpt2_bytes = 4 * sum(p.numel() for p in transformers.AutoModelForCausalLM.from_pretrained(root / "hf" / "gpt2").parameters())
    app = make_app(root, model_cache_bytes=gpt2_bytes + 1000)  # the GPT-2 fits, the larger LLaMA does not
    with TestClient(app) as client:
        runs = client.get("/api/checkpoints").json()["runs"]
        models = {c["name"]: c for r in runs for c in r["checkpoints"]}
        assert not models["hf/remote-code"]["usable"] and "auto_map" in models["hf/remote-code"]["error"]
        assert not models["hf/pickle-only"]["usable"] and "cannot load the model" in models["hf/pickle-only"]["error"]
        assert not models["hf/llama"]["usable"] and "ATTNVIZ_MODEL_CACHE_BYTES" in models["hf/llama"]["error"]
        assert models["hf/llama"]["family"] == "decoder"
        assert models["hf/gpt2"]["usable"]
        for name in ("hf/remote-code", "hf/pickle-only", "hf/llama"):
            r = client.post("/api/attention", json={"checkpoint": name, "text": TEXT})
            assert r.status_code == 409 and r.json()["code"] == "checkpoint_unusable"
        assert client.post("/api/attention", json={"checkpoint": "hf/gpt2", "text": TEXT}).status_code == 200
        cache = app.state.services.service.models
        assert cache.nbytes <= cache.max_bytes


def test_least_recently_used_models_leave_the_byte_budget_first(tiny_root: Path) -> None:
    from attnviz.runtime.model_cache import ModelCache

    gpt, bart, llama = (tiny_root / "hf" / n for n in ("gpt2-tiny", "bart-tiny", "llama-gqa-tiny"))
    sizes = {p: ModelCache().get_hf(p).nbytes for p in (gpt, bart, llama)}
    assert sizes[llama] < sizes[bart]  # so GPT-2 + LLaMA fit, GPT-2 + BART just fit, all three do not
    cache = ModelCache(maxsize=8, max_bytes=sizes[gpt] + sizes[bart])
    cache.get_hf(gpt)
    cache.get_hf(llama)
    assert len(cache) == 2
    cache.get_hf(gpt)  # now the most recent
    cache.get_hf(bart)  # over budget: llama (least recently used) goes, gpt (loaded first, used since) stays
    assert list(cache._items) == [gpt, bart] and cache.nbytes <= sizes[gpt] + sizes[bart]


def test_every_models_adapter_is_the_family_the_listing_names(scratch_root: Path, tiny_root: Path) -> None:
    """One adapter a family: the toy encoder-decoder and decoder-only runs, and the Hugging Face
    encoder (MiniLM), decoders and encoder-decoders are driven as listed, and serve what they list."""
    from attnviz.train import TrainConfig, train

    shutil.copytree(tiny_root / "hf", scratch_root / "hf", dirs_exist_ok=True, copy_function=link_or_copy)
    small = {"epochs": 1, "n_train": 128, "n_eval": 16, "d_model": 16, "n_layers": 2, "threads": 1}
    train(TrainConfig.for_task("induction", save_dir=str(scratch_root / "induction"), **small), progress=False)
    with TestClient(make_app(scratch_root)) as client:
        listed = {c["name"]: c for run in client.get("/api/checkpoints").json()["runs"] for c in run["checkpoints"]}
        service = client.app.state.services.service  # type: ignore[attr-defined]
        families = set()
        for name, meta in listed.items():
            adapter = service.adapter(name)
            assert (adapter.family, list(adapter.supports)) == (meta["family"], meta["supports"]), name
            families.add(adapter.family)
        assert families == {"toy", "toy-decoder", "encoder", "decoder", "encoder-decoder"}
