"""`steps` in /api/attention and /api/timeline, ablation through the API, the timeline as one
request, and the step-through endpoint's numbers recombining."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from fastapi.testclient import TestClient

from attnviz.checkpoint import load_checkpoint
from attnviz.inference import run_attention

CKPT = "copy/ckpt_epoch2.pt"


def test_attention_document_has_top5_steps(client: TestClient, ckpt_dir: Path) -> None:
    doc = client.post("/api/attention", json={"checkpoint": CKPT, "text": "abc", "encoding": "float16"}).json()
    steps = doc["steps"]
    assert len(steps) == len(doc["tokens"]["tgt"])
    ckpt = load_checkpoint(ckpt_dir / CKPT)
    probs = torch.softmax(run_attention(ckpt.build_model(), ckpt.vocab, "abc").logits, dim=-1)
    for s in steps:
        assert len(s["top"]) == 5 and s["top"][0]["token"] == s["token"]
        for p in s["top"]:
            assert abs(p["p"] - float(probs[s["t"], ckpt.vocab.stoi[p["token"]]])) <= 0.5e-4  # precision 4
    assert [s["token"] for s in steps[:-1]] == doc["tokens"]["tgt"][1:]


def test_ablation_changes_the_steps_and_zeroes_the_head(client: TestClient) -> None:
    body = {"checkpoint": CKPT, "text": "abcab", "precision": 6}
    base = client.post("/api/attention", json=body).json()
    ablated = client.post("/api/attention", json={**body, "ablate": [{"kind": "cross", "layer": 1, "head": 0}]}).json()
    assert np.allclose(np.array(ablated["attentions"]["cross"][1][0]), 0)
    assert base["steps"] != ablated["steps"]
    r = client.post("/api/attention", json={**body, "ablate": [{"kind": "cross", "layer": 0, "head": 7}]})
    assert r.status_code == 422 and r.json()["code"] == "out_of_range"


def test_timeline_returns_every_epoch_in_one_request(client: TestClient) -> None:
    r = client.post("/api/timeline", json={"run": "copy", "text": "abc", "encoding": "float16"})
    assert r.status_code == 200
    epochs = r.json()["epochs"]
    assert [e["epoch"] for e in epochs] == [1, 2]
    for e in epochs:
        assert e["document"]["model"]["epoch"] == e["epoch"]
        assert e["document"]["attentions"]["cross"]["dtype"] == "float16"
        assert "token_accuracy" in e["metrics"] and e["document"]["steps"]


def test_math_endpoint_recombines(client: TestClient) -> None:
    for kind in ("encoder_self", "decoder_self", "cross"):
        m = client.post(
            "/api/attention/math", json={"checkpoint": CKPT, "text": "abc", "kind": kind, "layer": 1, "head": 0}
        ).json()
        t = {k: np.array(v["data"]) for k, v in m["tensors"].items()}
        scores = t["q"] @ t["k"].T / math.sqrt(m["d_k"])
        masked = np.where(t["mask"], scores, -np.inf)
        w = np.exp(masked - masked.max(axis=1, keepdims=True))
        w /= w.sum(axis=1, keepdims=True)
        assert np.allclose(t["scores"], scores, atol=1e-5)
        assert np.allclose(t["weights"], w, atol=1e-5)
        assert np.allclose(t["output"], w @ t["v"], atol=1e-5)
