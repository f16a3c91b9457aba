"""Every endpoint, on checkpoints written by the real training code."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from attnviz.encoding import decode_document

from .conftest import make_app

CKPT = "copy/ckpt_epoch2.pt"


def test_health(client: TestClient) -> None:
    r = client.get("/api/health")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "version": "0.1.0", "checkpoints": 3}


def test_checkpoints_lists_runs_and_epochs(client: TestClient, ckpt_dir: Path) -> None:
    body = client.get("/api/checkpoints").json()
    assert body["checkpoint_dir"] == ckpt_dir.name  # never the server's absolute path
    assert body["skipped"] == []
    assert [run["name"] for run in body["runs"]] == ["copy", "reverse"]
    copy = body["runs"][0]
    assert copy["task"] == "copy"
    assert [c["name"] for c in copy["checkpoints"]] == ["copy/ckpt_epoch1.pt", "copy/ckpt_epoch2.pt"]
    first = copy["checkpoints"][0]
    assert first["usable"] is True and first["error"] is None and first["epoch"] == 1 and first["run"] == "copy"
    assert first["config"]["d_model"] == 16 and first["config"]["n_heads"] == 2
    assert set(first["metrics"]) >= {"loss", "token_accuracy", "sequence_accuracy"}
    assert first["max_text_len"] == 8 and first["max_input_len"] == 127
    assert "a" in first["characters"] and first["created_at"]


def test_attention_document(client: TestClient) -> None:
    r = client.post("/api/attention", json={"checkpoint": CKPT, "text": "hello world"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    doc = r.json()
    assert doc["schema_version"] == 1 and doc["checkpoint"] == CKPT and doc["encoding"] == "json"
    assert doc["model"] == {"task": "copy", "epoch": 2, "n_layers": 2, "n_heads": 2, "d_model": 16}
    assert doc["input"] == "hello world" and doc["expected"] == "hello world"
    src, tgt = doc["tokens"]["src"], doc["tokens"]["tgt"]
    assert src == [*"hello world", "<eos>"] and tgt[0] == "<bos>"
    enc = np.array(doc["attentions"]["encoder_self"])
    assert enc.shape == (2, 2, len(src), len(src))
    np.testing.assert_allclose(enc.sum(-1), 1, atol=2e-3)
    assert np.array(doc["attentions"]["decoder_self"]).shape == (2, 2, len(tgt), len(tgt))
    assert np.array(doc["attentions"]["cross"]).shape == (2, 2, len(tgt), len(src))
    # 11 characters > the 8 it was trained on
    assert any("trained on at most 8" in w for w in doc["warnings"])
    # precision: 4 decimals by default, 2 on request
    assert all(round(x, 4) == x for x in enc.ravel())
    two = client.post("/api/attention", json={"checkpoint": CKPT, "text": "hello", "precision": 2}).json()
    assert all(round(x, 2) == x for x in np.array(two["attentions"]["cross"]).ravel())


@pytest.mark.parametrize("encoding", ["float16", "uint8"])
def test_compact_encodings_decode_to_the_json_document(client: TestClient, encoding: str) -> None:
    plain = client.post("/api/attention", json={"checkpoint": CKPT, "text": "abc"}).json()
    compact = client.post("/api/attention", json={"checkpoint": CKPT, "text": "abc", "encoding": encoding}).json()
    assert compact["encoding"] == encoding
    assert compact["attentions"]["cross"]["dtype"] == encoding
    decoded = decode_document(compact)
    # the precision each encoding states: float16 keeps 3 digits, companded uint8 is within ±0.005
    atol = 5e-3 if encoding == "uint8" else 1e-3
    for kind in ("encoder_self", "decoder_self", "cross"):
        np.testing.assert_allclose(np.array(decoded["attentions"][kind]), np.array(plain["attentions"][kind]), atol=atol)


def test_ablated_head_has_zero_weights(client: TestClient) -> None:
    body = {"checkpoint": CKPT, "text": "abc", "ablate": [{"kind": "encoder_self", "layer": 1, "head": 0}]}
    doc = client.post("/api/attention", json=body).json()
    enc = np.array(doc["attentions"]["encoder_self"])
    assert np.all(enc[1, 0] == 0) and np.all(enc[1, 1] > 0) and np.all(enc[0] > 0)


def test_attention_math(client: TestClient) -> None:
    doc = client.post("/api/attention", json={"checkpoint": CKPT, "text": "abc"}).json()
    for kind in ("encoder_self", "decoder_self", "cross"):
        r = client.post("/api/attention/math", json={"checkpoint": CKPT, "text": "abc", "kind": kind, "layer": 1, "head": 1})
        assert r.status_code == 200, r.text
        m = r.json()
        assert (m["kind"], m["layer"], m["head"], m["d_k"]) == (kind, 1, 1, 8)
        t = m["tensors"]
        n_q, n_k = len(m["query_tokens"]), len(m["key_tokens"])
        assert t["q"]["shape"] == [n_q, 8] and t["k"]["shape"] == [n_k, 8] and t["v"]["shape"] == [n_k, 8]
        for name in ("scores", "mask", "weights"):
            assert t[name]["shape"] == [n_q, n_k]
        assert t["output"]["shape"] == [n_q, 8]
        q, k, v = (np.array(t[x]["data"]) for x in "qkv")
        np.testing.assert_allclose(np.array(t["scores"]["data"]), q @ k.T / np.sqrt(8), rtol=1e-4, atol=1e-5)
        w = np.array(t["weights"]["data"])
        np.testing.assert_allclose(w @ v, np.array(t["output"]["data"]), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(w, np.array(doc["attentions"][kind])[1, 1], atol=1e-4)  # same as the document
        mask = np.array(t["mask"]["data"])
        assert mask.dtype == bool and np.all(w[~mask] == 0)
        if kind == "decoder_self":
            assert np.array_equal(mask, np.tril(np.ones((n_q, n_k), dtype=bool)))


def test_timeline_every_usable_epoch_and_cached(client: TestClient, ckpt_dir: Path) -> None:
    body = {"run": "copy", "text": "hey", "encoding": "uint8"}
    r = client.post("/api/timeline", json=body)
    assert r.status_code == 200, r.text
    t = r.json()
    assert t["run"] == "copy" and t["text"] == "hey"
    assert [e["epoch"] for e in t["epochs"]] == [1, 2]
    assert [e["checkpoint"] for e in t["epochs"]] == ["copy/ckpt_epoch1.pt", "copy/ckpt_epoch2.pt"]
    assert all(e["document"]["encoding"] == "uint8" and "loss" in e["metrics"] for e in t["epochs"])
    assert client.post("/api/timeline", json=body).content == r.content  # cached
    (ckpt_dir / "copy" / "ckpt_epoch3.pt").write_bytes(b"broken")  # an unusable epoch is skipped
    assert [e["epoch"] for e in client.post("/api/timeline", json=body).json()["epochs"]] == [1, 2]
    r = client.post("/api/timeline", json={"run": "nope", "text": "hey"})
    assert r.status_code == 404 and r.json()["code"] == "unknown_run"
    r = client.post("/api/timeline", json={"run": "copy", "text": "hé"})
    assert r.status_code == 422 and r.json()["invalid_characters"] == [{"char": "é", "position": 1}]


def test_timeline_documents_equal_each_checkpoints_own(client: TestClient) -> None:
    """The epochs run as one batched model; each document must match /api/attention for its file."""
    for text in ("hey", "abcabcab"):
        epochs = client.post("/api/timeline", json={"run": "copy", "text": text, "precision": 6}).json()["epochs"]
        for e in epochs:
            alone = client.post("/api/attention", json={"checkpoint": e["checkpoint"], "text": text, "precision": 6}).json()
            doc = e["document"]
            assert (doc["output"], doc["tokens"], doc["warnings"]) == (alone["output"], alone["tokens"], alone["warnings"])
            assert [s["top"][0]["token"] for s in doc["steps"]] == [s["top"][0]["token"] for s in alone["steps"]]
            for kind, w in alone["attentions"].items():
                assert np.allclose(doc["attentions"][kind], w, atol=2e-6, rtol=0), kind


def test_docs_page_and_openapi(client: TestClient) -> None:
    assert client.get("/docs").status_code == 200
    schema = client.get("/openapi.json").json()
    assert {"/api/health", "/api/checkpoints", "/api/attention", "/api/attention/math", "/api/timeline"} <= set(schema["paths"])
    assert "[layer][head][src_query][src_key]" in str(schema["components"]["schemas"]["Attentions"])


def test_placeholder_page_without_a_frontend_build(client: TestClient) -> None:
    r = client.get("/")
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    assert "make frontend" in r.text and "make setup" in r.text
    assert client.get("/some/view").status_code == 404


def test_serves_the_built_frontend_with_spa_fallback(ckpt_dir: Path, tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<!doctype html><title>viz</title>")
    (dist / "assets" / "index-abc123.js").write_text("console.log(1)")
    (dist / "assets" / "index-abc123.css").write_text("body{}")
    (dist / "favicon.svg").write_text("<svg/>")
    (tmp_path / "secret.txt").write_text("no")
    with TestClient(make_app(ckpt_dir, frontend_dist=dist)) as c:
        r = c.get("/")
        assert r.status_code == 200 and "viz" in r.text and r.headers["content-type"].startswith("text/html")
        js = c.get("/assets/index-abc123.js")
        assert js.headers["content-type"].startswith("text/javascript") and "immutable" in js.headers["cache-control"]
        assert c.get("/assets/index-abc123.css").headers["content-type"].startswith("text/css")
        assert c.get("/favicon.svg").headers["content-type"].startswith("image/svg+xml")
        spa = c.get("/runs/copy/epoch/2")  # a client-side route
        assert spa.status_code == 200 and "viz" in spa.text
        assert c.get("/assets/missing.js").status_code == 404
        # under the build's asset folder only its files answer, whatever the name looks like
        for missing in ("/assets/anything", "/assets/", "/assets/deep/er", "/assets"):
            r = c.get(missing)
            assert r.status_code == 404 and r.json()["code"] == "not_found", (missing, r.status_code, r.text[:80])
        # a path out of the build is a 404, never the file beside it, nor the app in its place
        for escape in ("/../secret.txt", "/%2e%2e/secret.txt", "/assets/../../secret.txt", "/assets/%2e%2e/%2e%2e/secret.txt"):
            r = c.get(escape)
            assert r.status_code == 404 and r.json()["code"] == "not_found", (escape, r.status_code, r.text[:80])
        api = c.get("/api/unknown")
        assert api.status_code == 404 and api.json()["code"] == "not_found"
        assert c.get("/api/health").json()["status"] == "ok"
