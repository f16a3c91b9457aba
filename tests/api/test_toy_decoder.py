"""The decoder-only toy model through the API: listed as family ``toy-decoder``, its documents
shaped as a Hugging Face decoder's (prompt + generated, ``decoder_self`` only), and every view that
applies: math, ablation (with the held-out in-context accuracy), timeline."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from fastapi.testclient import TestClient

from attnviz.train import TrainConfig, train

from .conftest import make_app

RUN = "induction"
CKPT = f"{RUN}/ckpt_epoch2.pt"
TEXT = "pjdkfmwaxqzkfmwa"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    root = tmp_path_factory.mktemp("decoder-runs")
    cfg = TrainConfig.for_task(
        "induction", epochs=2, save_dir=str(root / RUN), d_model=16, n_heads=2, d_ff=32, n_train=256, n_eval=64, snapshot_every=4
    )
    train(cfg, progress=False)
    with TestClient(make_app(root)) as c:
        yield c


def test_listed_as_family_toy_decoder_with_its_views(client: TestClient) -> None:
    runs = {r["name"]: r for r in client.get("/api/checkpoints").json()["runs"]}
    run = runs[RUN]
    assert run["family"] == "toy-decoder" and run["kind"] == "toy" and run["task"] == "induction"
    ckpt = run["checkpoints"][-1]
    assert ckpt["family"] == "toy-decoder" and ckpt["config"]["arch"] == "decoder"
    assert set(ckpt["supports"]) >= {"attention", "generate", "steps", "math", "ablate", "timeline"}
    assert {"in_context_accuracy", "best_induction", "best_previous_token"} <= set(ckpt["metrics"])


def test_document_is_prompt_plus_generated_with_causal_decoder_self_only(client: TestClient) -> None:
    r = client.post("/api/attention", json={"checkpoint": CKPT, "text": TEXT, "max_new_tokens": 6})
    assert r.status_code == 200, r.text
    doc = r.json()
    tgt = doc["tokens"]["tgt"]
    assert doc["tokens"]["src"] == [] and tgt[: 1 + len(TEXT)] == ["<bos>", *TEXT]
    # six new tokens, or fewer when it produced <eos> (the last step's token; <eos> is not fed back)
    assert len(tgt) == 1 + len(TEXT) + 6 or doc["steps"][-1]["token"] == "<eos>"
    assert doc["output"] == "".join(tgt[1 + len(TEXT) :]) and doc["expected"] is None
    assert "<pad>" not in tgt[1:] and "<bos>" not in tgt[1:]
    assert set(doc["attentions"]) == {"decoder_self"}
    w = np.array(doc["attentions"]["decoder_self"])
    assert w.shape == (2, 2, len(tgt), len(tgt))
    assert np.all(np.triu(w, 1) == 0)
    np.testing.assert_allclose(w.sum(-1), 1.0, atol=2e-3)
    assert len(doc["steps"]) == len(tgt)
    generated = [s["token"] for s in doc["steps"][len(TEXT) :]]
    assert generated[: len(tgt) - 1 - len(TEXT)] == tgt[1 + len(TEXT) :]  # row t produced token t + 1
    held = doc["heldout"]
    assert held["in_context_accuracy"] == held["baseline"] and 0 < held["chance"] < 0.1
    default = client.post("/api/attention", json={"checkpoint": CKPT, "text": TEXT}).json()
    n_default = len(default["tokens"]["tgt"]) - 1 - len(TEXT)
    assert n_default == 20 or (n_default < 20 and default["steps"][-1]["token"] == "<eos>")  # the server's default


def test_ablation_math_and_bad_kinds(client: TestClient) -> None:
    body = {"checkpoint": CKPT, "text": TEXT, "max_new_tokens": 2}
    off = client.post("/api/attention", json={**body, "ablate": [{"kind": "decoder_self", "layer": 1, "head": 0}]}).json()
    w = np.array(off["attentions"]["decoder_self"])
    assert np.all(w[1, 0] == 0) and w[1, 1].sum() > 0
    assert off["heldout"]["in_context_accuracy"] != off["heldout"]["baseline"]
    r = client.post("/api/attention", json={**body, "ablate": [{"kind": "cross", "layer": 0, "head": 0}]})
    assert r.status_code == 422 and r.json()["code"] == "not_supported" and "decoder_self only" in r.json()["detail"]
    r = client.post("/api/attention", json={**body, "max_new_tokens": 100_000})
    assert r.status_code == 422
    doc = client.post("/api/attention", json=body).json()
    m = client.post("/api/attention/math", json={**body, "kind": "decoder_self", "layer": 1, "head": 1})
    assert m.status_code == 200, m.text
    math = m.json()
    assert math["query_tokens"] == math["key_tokens"] == doc["tokens"]["tgt"]
    np.testing.assert_allclose(
        np.array(math["tensors"]["weights"]["data"]), np.array(doc["attentions"]["decoder_self"])[1, 1], atol=1e-3
    )
    r = client.post("/api/attention/math", json={**body, "kind": "encoder_self", "layer": 0, "head": 0})
    assert r.status_code == 422 and r.json()["code"] == "not_supported"


def test_timeline_of_the_run_with_its_snapshots(client: TestClient) -> None:
    r = client.post("/api/timeline", json={"run": RUN, "text": TEXT, "snapshots": True})
    assert r.status_code == 200, r.text
    epochs = r.json()["epochs"]
    steps = [e["step"] for e in epochs]
    assert steps == sorted(steps) and steps[0] == 0 and sum(1 for e in epochs if not e["snapshot"]) == 2
    for e in epochs:
        assert set(e["document"]["attentions"]) == {"decoder_self"} and "in_context_accuracy" in e["metrics"]
