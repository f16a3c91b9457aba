"""Long inputs through the API: ``detail`` on /api/attention, /api/attention/tile and /topk, and
their errors (unknown handle 404, region outside 422, past the context 422 before the model
runs, full past the budget 413 naming overview), on the real app over tiny long-context models and
a toy run from the real trainer; and the real uvicorn server's peak memory on 8,192 tokens."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psutil
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

pytest.importorskip("transformers")

from attnviz.encoding import decode_weights
from attnviz.server import Settings, create_app
from attnviz.train import train

from ..live_server import serve
from ..tiny_train import tiny_train_config
from .long_models import POSITIONS, build_long_models, long_text

LLAMA = "hf/llama-long"


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("long-api")
    build_long_models(root, ("llama-long", "t5-long"))
    train(tiny_train_config("copy", root / "copy", epochs=1), progress=False)
    return root


def make_app(root: Path, **overrides: Any) -> FastAPI:
    app: FastAPI = create_app(Settings(checkpoint_dir=root, frontend_dist=root / "no-dist", max_body_bytes=1 << 20, **overrides))
    return app


@pytest.fixture(scope="module")
def client(root: Path) -> Iterator[TestClient]:
    with TestClient(make_app(root)) as c:
        yield c


def forward_calls(client: TestClient, name: str) -> list[int]:
    """A counter of the model's forward passes (a hook on the loaded model, to see whether it ran)."""
    model = client.app.state.services.service.adapter(name).m.model  # type: ignore[attr-defined]
    calls = [0]
    model.register_forward_pre_hook(lambda *_: calls.__setitem__(0, calls[0] + 1))
    return calls


def post(client: TestClient, path: str, body: dict[str, Any]) -> Any:
    return client.post(path, json=body)


def overview(client: TestClient, name: str, text: str, **extra: Any) -> dict[str, Any]:
    r = post(client, "/api/attention", {"checkpoint": name, "text": text, **extra})
    assert r.status_code == 200, r.text[:300]
    doc: dict[str, Any] = r.json()
    return doc


def test_auto_is_an_overview_past_the_budget_and_full_below_it(client: TestClient) -> None:
    doc = overview(client, LLAMA, long_text(2100), encoding="uint8", max_new_tokens=0)
    assert doc["detail"] == "overview" and "attentions" not in doc and doc["encoding"] == "uint8"
    kind = doc["overview"]["kinds"]["decoder_self"]
    n = len(doc["tokens"]["tgt"])
    assert (kind["layers"], kind["heads"], kind["nq"], kind["nk"]) == (2, 4, n, n) and n > 2048
    assert kind["thumbnails"]["shape"] == [2, 4, 128, 128] and kind["thumbnails"]["reduce"] == "max"
    assert set(kind["stats"]) >= {"entropy", "distance", "first_token", "previous_token", "local"}
    assert np.array(kind["stats"]["entropy"]).shape == (2, 4)
    short = overview(client, LLAMA, "the cat sat on the mat", max_new_tokens=0)
    assert short["detail"] == "full" and short["precision"] == 4 and "overview" not in short


def test_tiles_hold_the_full_documents_numbers(root: Path) -> None:
    text = long_text(500)
    with TestClient(make_app(root)) as c:
        full = overview(c, LLAMA, text, encoding="float16", detail="full", max_new_tokens=3)
        ov = overview(c, LLAMA, text, encoding="float16", detail="overview", max_new_tokens=3)
        assert full["tokens"] == ov["tokens"] and full["output"] == ov["output"] and full["steps"] == ov["steps"]
        weights = decode_weights(full["attentions"]["decoder_self"])
        n = weights.shape[-1]
        for layer, head, q0, q1, k0, k1 in [(0, 0, 0, n, 0, n), (1, 3, 17, 230, 5, 300), (1, 1, n - 1, n, 0, n)]:
            body = {"handle": ov["overview"]["handle"], "kind": "decoder_self", "layer": layer, "head": head}
            r = post(c, "/api/attention/tile", {**body, "q0": q0, "q1": q1, "k0": k0, "k1": k1})
            assert r.status_code == 200, r.text
            t = r.json()
            assert t["block"] == [1, 1] and t["weights"]["shape"] == [q1 - q0, k1 - k0]
            np.testing.assert_allclose(decode_weights(t["weights"]), weights[layer, head, q0:q1, k0:k1], atol=1e-3)
        pooled = post(c, "/api/attention/tile", {**body, "q0": 0, "q1": n, "k0": 0, "k1": n, "max_cells": 100}).json()
        bq, bk = pooled["block"]
        assert bq > 1 and pooled["weights"]["shape"][0] * pooled["weights"]["shape"][1] <= 100
        assert pooled["weights"]["reduce"] == "max"
        expected = weights[1, 1, :bq, :bk].max()
        assert abs(decode_weights(pooled["weights"])[0, 0] - expected) < 1e-3
        top = post(c, "/api/attention/topk", {**body, "k": 3, "q0": 100, "q1": 102}).json()
        assert np.allclose(top["weights"][0], np.sort(weights[1, 1, 100])[::-1][:3], atol=1e-3)  # float16 ties may swap keys
        assert np.allclose(weights[1, 1, 100, top["indices"][0]], top["weights"][0], atol=1e-3)


def test_an_unknown_or_expired_handle_is_404(root: Path) -> None:
    with TestClient(make_app(root, handle_ttl_seconds=0.001)) as c:
        doc = overview(c, LLAMA, long_text(100), detail="overview", max_new_tokens=0)
        for handle in [doc["overview"]["handle"], "no-such-handle"]:  # the first has expired by now
            body = {"handle": handle, "kind": "decoder_self", "layer": 0, "head": 0, "q0": 0, "q1": 1, "k0": 0, "k1": 1}
            r = post(c, "/api/attention/tile", body)
            assert r.status_code == 404 and r.json()["code"] == "unknown_handle", r.text
            assert "again" in r.json()["detail"]
            r = post(c, "/api/attention/topk", {k: body[k] for k in ("handle", "kind", "layer", "head")})
            assert r.status_code == 404 and r.json()["code"] == "unknown_handle"


def test_a_region_outside_the_matrix_is_422(client: TestClient) -> None:
    doc = overview(client, LLAMA, long_text(100), detail="overview", max_new_tokens=0)
    n = doc["overview"]["kinds"]["decoder_self"]["nq"]
    base = {"handle": doc["overview"]["handle"], "kind": "decoder_self", "layer": 0, "head": 0}
    for region in [(0, n + 1, 0, 1), (3, 3, 0, 1), (0, 1, 5, 2)]:
        r = post(client, "/api/attention/tile", {**base, **dict(zip(("q0", "q1", "k0", "k1"), region, strict=True))})
        assert r.status_code == 422 and r.json()["code"] == "out_of_range", r.text
        assert str(n) in r.json()["detail"] and r.json()["nq"] == n
    for bad in [{"layer": 2}, {"head": 4}, {"kind": "cross"}]:
        r = post(client, "/api/attention/tile", {**base, **bad, "q0": 0, "q1": 1, "k0": 0, "k1": 1})
        assert r.status_code == 422 and r.json()["code"] == "out_of_range", r.text
    r = post(client, "/api/attention/topk", {**base, "q0": n, "q1": n + 2})
    assert r.status_code == 422 and r.json()["code"] == "out_of_range"


def test_past_the_context_is_422_naming_tokens_before_the_model_runs(client: TestClient) -> None:
    calls = forward_calls(client, LLAMA)
    r = post(client, "/api/attention", {"checkpoint": LLAMA, "text": long_text(POSITIONS + 500)})
    err = r.json()
    assert r.status_code == 422 and err["code"] == "text_too_long", r.text[:300]
    assert err["max_length"] == POSITIONS and err["n_tokens"] > POSITIONS
    assert f"{err['n_tokens']} tokens" in err["detail"] and str(POSITIONS) in err["detail"]
    assert calls[0] == 0


def test_a_2000_word_paste_names_the_models_token_limit(root: Path) -> None:
    paste = long_text(2000)
    assert len(paste) > 4000  # the old schema's character cap
    with TestClient(make_app(root, max_tokens=512)) as c:
        r = post(c, "/api/attention", {"checkpoint": LLAMA, "text": paste})
        err = r.json()
        assert r.status_code == 422 and err["code"] == "text_too_long", r.text[:300]
        assert "tokens" in err["detail"] and "512" in err["detail"] and "character" not in err["detail"]
        assert err["max_length"] == 512
    with TestClient(make_app(root)) as c:  # the model's own context holds it
        assert post(c, "/api/attention", {"checkpoint": LLAMA, "text": paste, "max_new_tokens": 0}).status_code == 200


def test_full_past_the_budget_is_413_naming_overview_before_the_model_runs(client: TestClient) -> None:
    calls = forward_calls(client, LLAMA)
    r = post(client, "/api/attention", {"checkpoint": LLAMA, "text": long_text(2100), "detail": "full", "encoding": "uint8"})
    err = r.json()
    assert r.status_code == 413 and err["code"] == "response_too_large", r.text[:300]
    assert "detail 'overview'" in err["detail"] and err["estimated_bytes"] > err["limit"]
    assert calls[0] == 0


def test_t5_overview_with_ablation(client: TestClient) -> None:
    ablate = [{"kind": "cross", "layer": 1, "head": 2}, {"kind": "encoder_self", "layer": 0, "head": 1}]
    doc = overview(client, "hf/t5-long", long_text(300), detail="overview", ablate=ablate, max_new_tokens=3)
    kinds = doc["overview"]["kinds"]
    assert set(kinds) == {"encoder_self", "decoder_self", "cross"}
    assert kinds["cross"]["stats"]["entropy"][1][2] == 0 and kinds["encoder_self"]["stats"]["entropy"][0][1] == 0
    assert kinds["cross"]["stats"]["entropy"][1][1] > 0
    assert not decode_weights(kinds["cross"]["thumbnails"])[1, 2].any()
    assert doc["special_tokens"]  # the page hides them on an overview as on a full document


def test_the_toy_model_at_its_longest_input(client: TestClient) -> None:
    listing = client.get("/api/checkpoints").json()
    ckpt = next(c for r in listing["runs"] if r["name"] == "copy" for c in r["checkpoints"])
    longest = ckpt["max_input_len"]
    text = (ckpt["characters"][:5] * longest)[:longest]
    full = overview(client, ckpt["name"], text, detail="full", precision=8)
    ov = overview(client, ckpt["name"], text, detail="overview", encoding="float16")
    assert full["tokens"] == ov["tokens"] and full["output"] == ov["output"]
    handle = ov["overview"]["handle"]
    for kind, weights in full["attentions"].items():
        w = np.array(weights)
        L, H, nq, nk = w.shape
        assert ov["overview"]["kinds"][kind]["thumbnails"]["shape"] == [L, H, min(128, nq), min(128, nk)]
        for layer in range(L):
            for head in range(H):
                body = {"handle": handle, "kind": kind, "layer": layer, "head": head, "q0": 0, "q1": nq, "k0": 0, "k1": nk}
                tile = post(client, "/api/attention/tile", body).json()
                np.testing.assert_allclose(decode_weights(tile["weights"]), w[layer, head], atol=1e-3)
                thumb = decode_weights(ov["overview"]["kinds"][kind]["thumbnails"])[layer, head]
                np.testing.assert_allclose(thumb, w[layer, head], atol=1e-3)  # P ≥ n: the thumbnail is the matrix


def test_openapi_lists_the_new_endpoints_and_codes(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    for path in ("/api/attention/tile", "/api/attention/topk"):
        responses = schema["paths"][path]["post"]["responses"]
        assert {"404", "413", "422"} <= set(responses)
        assert "unknown_handle" in responses["404"]["description"]
    assert "unknown_handle" in schema["components"]["schemas"]["ErrorResponse"]["properties"]["code"]["enum"]
    assert "overview" in schema["paths"]["/api/attention"]["post"]["responses"]["413"]["description"]
    detail = schema["components"]["schemas"]["AttentionRequest"]["properties"]["detail"]
    assert detail["default"] == "auto" and set(detail["enum"]) == {"auto", "full", "overview"}


def test_peak_memory_of_the_server_on_8192_tokens(tmp_path: Path) -> None:
    """The real server answers an overview of a 6-layer, 2-head model at ~8,100 tokens with its peak
    resident memory (VmHWM) under its own baseline + 4 × one layer's attention; the whole tensor
    (6 layers) would be 6 of them, kept at once by a full document."""
    import torch
    import transformers as tf

    from .tiny_models import _sentencepiece_bpe

    torch.manual_seed(0)
    d = tmp_path / "checkpoints" / "hf" / "llama-deep"
    tok = tf.PreTrainedTokenizerFast(
        tokenizer_object=_sentencepiece_bpe(), unk_token="<unk>", bos_token="<s>", eos_token="</s>", model_max_length=POSITIONS
    )
    cfg = tf.LlamaConfig(
        vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=6, num_attention_heads=2,
        num_key_value_heads=1, max_position_embeddings=POSITIONS, bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id, pad_token_id=None,
    )  # fmt: skip
    tf.LlamaForCausalLM(cfg).eval().save_pretrained(d)
    tok.save_pretrained(d)
    words = 6000
    while len(tok(long_text(words))["input_ids"]) < POSITIONS - 100:
        words += 300
    text = long_text(words)
    n = len(tok(text)["input_ids"])
    assert POSITIONS - 100 <= n <= POSITIONS
    env = {"ATTNVIZ_MAX_BODY_BYTES": str(1 << 20), "ATTNVIZ_INFERENCE_THREADS": "1"}
    with serve(tmp_path / "checkpoints", tmp_path / "server.log", env=env, timeout=120) as base:
        port = int(base.rsplit(":", 1)[1])
        pid = next(c.pid for c in psutil.net_connections("tcp") if c.laddr and c.laddr.port == port and c.status == "LISTEN")
        body = {"checkpoint": "hf/llama-deep", "text": "the cat sat", "max_new_tokens": 0}
        assert httpx.post(f"{base}/api/attention", json=body, timeout=120).status_code == 200  # model loaded, warm
        Path(f"/proc/{pid}/clear_refs").write_text("5")  # reset the peak to the current resident size
        baseline = psutil.Process(pid).memory_info().rss
        r = httpx.post(f"{base}/api/attention", json={**body, "text": text, "encoding": "uint8"}, timeout=900)
        assert r.status_code == 200, r.text[:300]
        doc = r.json()
        assert doc["detail"] == "overview" and doc["overview"]["kinds"]["decoder_self"]["nq"] == n
        status = Path(f"/proc/{pid}/status").read_text()
        peak = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))) * 1024
        layer = 2 * n * n * 4  # one layer's weights in float32
        assert peak - baseline < 4 * layer, (peak - baseline) / layer
        print(json.dumps({"tokens": n, "peak_over_baseline_mib": (peak - baseline) >> 20, "layer_mib": layer >> 20}))
