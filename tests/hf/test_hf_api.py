"""Pretrained encoders through the HTTP API (needs the ``hf`` extra; CI installs it).

The attention the API returns is compared with what ``transformers`` itself returns for the same
text, loaded independently of attnviz."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient

from attnviz.encoding import decode_weights

from .conftest import MINILM, make_app

transformers = pytest.importorskip("transformers")

# 126 word pieces + [CLS] + [SEP] = 128 tokens (checked below against the tokenizer itself)
SENTENCE = "Attention lets every token look at every other token, weighing what matters most. "


@cache
def reference(model_dir: str) -> tuple[Any, Any]:
    tok = transformers.AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
    model = transformers.AutoModel.from_pretrained(model_dir, attn_implementation="eager", local_files_only=True).eval()
    return tok, model


def text_of_tokens(model_dir: Path, n_tokens: int) -> str:
    tok, _ = reference(str(model_dir))
    words = (SENTENCE * 20).split(" ")
    for end in range(len(words)):
        text = " ".join(words[:end])
        if len(tok(text)["input_ids"]) == n_tokens:
            return text
    raise AssertionError(f"no prefix of the sentence is {n_tokens} tokens long")


def transformers_attention(model_dir: Path, text: str) -> tuple[list[str], np.ndarray]:
    tok, model = reference(str(model_dir))
    batch = tok(text, return_tensors="pt")
    with torch.no_grad():
        out = model(**batch, output_attentions=True)
    return tok.convert_ids_to_tokens(batch["input_ids"][0].tolist()), torch.stack([a[0] for a in out.attentions]).numpy()


def attention(client: TestClient, name: str, text: str, **extra: Any) -> Any:
    return client.post("/api/attention", json={"checkpoint": name, "text": text, **extra})


def listed(client: TestClient) -> dict[str, dict[str, Any]]:
    runs = client.get("/api/checkpoints").json()["runs"]
    return {c["name"]: {**c, "run_kind": r["kind"]} for r in runs for c in r["checkpoints"]}


# ---- listing ----------------------------------------------------------------------------------


def test_minilm_is_listed_beside_the_toy_run(hf_client: TestClient) -> None:
    runs = hf_client.get("/api/checkpoints").json()["runs"]
    assert [(r["name"], r["kind"]) for r in runs] == [("copy", "toy"), (MINILM, "huggingface")]
    (entry,) = runs[1]["checkpoints"]
    assert entry["name"] == entry["run"] == MINILM and entry["kind"] == "huggingface"
    assert entry["usable"] and entry["error"] is None and entry["epoch"] is None and entry["task"] is None
    assert {k: entry["config"][k] for k in ("n_layers", "n_heads", "d_model", "max_length", "model_type")} == {
        "n_layers": 6, "n_heads": 12, "d_model": 384, "max_length": 512, "model_type": "bert",
    }  # fmt: skip
    assert runs[0]["checkpoints"][0]["kind"] == "toy"
    assert hf_client.get("/api/health").json()["checkpoints"] == 2


# ---- the document against transformers ----------------------------------------------------------


@pytest.mark.parametrize("encoding", ["json", "float16"])
def test_api_attention_equals_transformers_at_128_tokens(hf_client: TestClient, hf_root: Path, encoding: str) -> None:
    text = text_of_tokens(hf_root / MINILM, 128)
    tokens, expected = transformers_attention(hf_root / MINILM, text)
    r = attention(hf_client, MINILM, text, encoding=encoding, precision=6)
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["tokens"] == {"src": tokens} and len(tokens) == 128
    assert tokens[0] == "[CLS]" and tokens[-1] == "[SEP]"
    assert set(doc["attentions"]) == {"encoder_self"} and doc["encoding"] == encoding
    assert doc["output"] is None and doc["expected"] is None and doc["model"]["epoch"] is None
    got = decode_weights(doc["attentions"]["encoder_self"])
    assert got.shape == (6, 12, 128, 128)
    # json: 6 decimals; float16: 11 significant bits (weights ≤ 1, so ≤ 2^-11 absolute)
    np.testing.assert_allclose(got, expected, atol=1e-6 if encoding == "json" else 2**-11)
    # rows sum to 1 up to the rounding of 128 weights (±5e-7 each in json)
    np.testing.assert_allclose(got.sum(-1), 1.0, atol=1e-4 if encoding == "json" else 0.02)


def test_word_pieces_are_the_tokenizers(hf_client: TestClient, hf_root: Path) -> None:
    text = "Tokenization is unbelievably subword-based, isn't it?"
    tokens, _ = transformers_attention(hf_root / MINILM, text)
    doc = attention(hf_client, MINILM, text).json()
    assert doc["tokens"]["src"] == tokens
    assert any(t.startswith("##") for t in tokens) and "tgt" not in doc["tokens"]


# ---- errors -----------------------------------------------------------------------------------


def test_text_over_the_models_limit_is_422_with_the_limit(hf_client: TestClient) -> None:
    r = attention(hf_client, MINILM, "!" * 600)  # one word piece per '!'
    assert r.status_code == 422
    body = r.json()
    assert body["code"] == "text_too_long" and body["max_length"] == 512 and body["n_tokens"] == 602
    assert "512" in body["detail"] and "602" in body["detail"]


@pytest.mark.parametrize("text", ["", "   "])
def test_empty_text_is_422(hf_client: TestClient, text: str) -> None:
    r = attention(hf_client, MINILM, text)
    assert r.status_code == 422 and r.json()["code"] == "empty_text"


def test_training_timeline_and_generation_are_not_offered_for_an_encoder(hf_client: TestClient) -> None:
    assert listed(hf_client)[MINILM]["supports"] == ["attention", "math", "ablate", "special_tokens"]
    for path, body in [
        ("/api/timeline", {"run": MINILM, "text": "hi"}),
        ("/api/attention", {"checkpoint": MINILM, "text": "hi", "max_new_tokens": 3}),
    ]:
        r = hf_client.post(path, json=body)
        assert r.status_code == 422 and r.json()["code"] == "not_supported", r.text
        assert "pretrained" in r.json()["detail"] and r.json()["family"] == "encoder"


def test_math_and_ablation_of_an_encoder_over_http(hf_client: TestClient) -> None:
    body = {"checkpoint": MINILM, "text": "hello world", "kind": "encoder_self", "layer": 2, "head": 5}
    r = hf_client.post("/api/attention/math", json=body)
    assert r.status_code == 200, r.text
    math = r.json()
    doc = attention(hf_client, MINILM, "hello world", precision=8).json()
    np.testing.assert_allclose(math["tensors"]["weights"]["data"], doc["attentions"]["encoder_self"][2][5], atol=1e-4)
    assert math["query_tokens"] == math["key_tokens"] == doc["tokens"]["src"]
    for bad, code in [({"kind": "cross"}, "not_supported"), ({"layer": 6}, "out_of_range"), ({"head": 12}, "out_of_range")]:
        r = hf_client.post("/api/attention/math", json={**body, **bad})
        assert r.status_code == 422 and r.json()["code"] == code, r.text
    off = attention(hf_client, MINILM, "hello world", ablate=[{"kind": "encoder_self", "layer": 0, "head": 1}]).json()
    assert np.asarray(off["attentions"]["encoder_self"])[0, 1].max() == 0
    r = attention(hf_client, MINILM, "hello", ablate=[{"kind": "decoder_self", "layer": 0, "head": 1}])
    assert r.status_code == 422 and r.json()["code"] == "not_supported"


@pytest.mark.parametrize(
    "name", ["hf/../hf/all-MiniLM-L6-v2", "hf", "hf:all-MiniLM-L6-v2", "/tmp", "hf:../x", "hf/all-MiniLM-L6-v2/"]
)
def test_names_never_leave_the_checkpoint_dir_or_the_configured_list(hf_client: TestClient, name: str) -> None:
    r = attention(hf_client, name, "hi")
    assert r.status_code == 404 and r.json()["code"] == "unknown_checkpoint"


def test_a_symlink_to_a_model_outside_is_neither_listed_nor_served(scratch_root: Path, hf_root: Path, tmp_path: Path) -> None:
    (scratch_root / "outside").symlink_to(hf_root / MINILM)
    with TestClient(make_app(scratch_root)) as client:
        assert "outside" not in listed(client)
        assert attention(client, "outside", "hi").status_code == 404


def test_configured_directories_are_named_hf_dirname(scratch_root: Path, tmp_path: Path) -> None:
    not_a_model = tmp_path / "notes"
    not_a_model.mkdir()
    (not_a_model / "readme.txt").write_text("hello")
    app = make_app(tmp_path / "empty", hf_models=[scratch_root / MINILM, not_a_model, tmp_path / "missing"])
    with TestClient(app) as client:
        models = listed(client)
        assert set(models) == {"hf:all-MiniLM-L6-v2", "hf:notes", "hf:missing"}
        assert models["hf:all-MiniLM-L6-v2"]["usable"] and models["hf:all-MiniLM-L6-v2"]["run_kind"] == "huggingface"
        for bad in ("hf:notes", "hf:missing"):
            assert not models[bad]["usable"] and "not a Hugging Face model directory" in models[bad]["error"]
        doc = attention(client, "hf:all-MiniLM-L6-v2", "hello world").json()
        assert doc["checkpoint"] == "hf:all-MiniLM-L6-v2" and doc["tokens"]["src"] == ["[CLS]", "hello", "world", "[SEP]"]
        r = attention(client, "hf:notes", "hello")
        assert r.status_code == 409 and r.json()["code"] == "checkpoint_unusable"


def test_env_variable_takes_pathsep_or_comma_separated_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from attnviz.server import Settings

    monkeypatch.setenv("ATTNVIZ_HF_MODELS", f"{tmp_path / 'a'}{os.pathsep}{tmp_path / 'b'}, {tmp_path / 'c'}")
    assert Settings().hf_models == [tmp_path / "a", tmp_path / "b", tmp_path / "c"]


def test_broken_and_decoder_models_are_listed_unusable_with_the_reason(scratch_root: Path) -> None:
    broken = scratch_root / "hf" / "broken"
    broken.mkdir()
    (broken / "config.json").write_text((scratch_root / MINILM / "config.json").read_text())
    (broken / "model.safetensors").write_bytes(b"not safetensors")
    gpt = scratch_root / "hf" / "tiny-gpt2"  # no tokenizer
    transformers.GPT2LMHeadModel(
        transformers.GPT2Config(n_layer=1, n_head=2, n_embd=8, vocab_size=32, n_positions=16)
    ).save_pretrained(gpt)
    with TestClient(make_app(scratch_root)) as client:
        models = listed(client)
        assert models[MINILM]["usable"]
        assert not models["hf/broken"]["usable"] and "cannot load the model" in models["hf/broken"]["error"]
        assert not models["hf/tiny-gpt2"]["usable"] and "no tokenizer files" in models["hf/tiny-gpt2"]["error"]
        assert models["hf/tiny-gpt2"]["family"] == "decoder"
        for name in ("hf/broken", "hf/tiny-gpt2"):
            r = attention(client, name, "hello")
            assert r.status_code == 409 and r.json()["code"] == "checkpoint_unusable"
        assert attention(client, "copy/ckpt_epoch1.pt", "abc").status_code == 200  # the rest keeps working


# ---- the shared model cache -----------------------------------------------------------------------


def test_models_share_the_cache_and_reload_when_the_config_changes(scratch_root: Path) -> None:
    app = make_app(scratch_root)
    with TestClient(app) as client:
        cache = app.state.services.service.models
        assert attention(client, "copy/ckpt_epoch1.pt", "abc").status_code == 200
        assert attention(client, MINILM, "hello").status_code == 200
        loads = cache.loads
        assert len(cache) == 2 and attention(client, MINILM, "hello again").status_code == 200
        assert cache.loads == loads  # reused
        config = scratch_root / MINILM / "config.json"
        replacement = config.with_name(".config.json.new")
        replacement.write_text(config.read_text())  # a new file (the old one may be hard-linked)
        replacement.replace(config)
        st = config.stat()
        os.utime(config, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
        assert attention(client, MINILM, "hello").status_code == 200
        assert cache.loads == loads + 1
