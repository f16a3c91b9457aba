"""``weighting`` through the API on the toy models (encoder-decoder and decoder-only): the
value-norm weights equal a reference computed by hand from the checkpoint's own W^V and W^O
(Kobayashi et al. 2020: α_ij · ‖v_j W^O_h‖, rows renormalised), full documents, overviews and
tiles alike; an unknown weighting is a 422 that names the choices."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient

from attnviz.checkpoint import load_checkpoint
from attnviz.encoding import decode_weights
from attnviz.model import SmallDecoder
from attnviz.train import TrainConfig, train

from ..tiny_train import tiny_train_config
from .conftest import make_app

COPY = "copy/ckpt_epoch1.pt"
LM = "induction/ckpt_epoch1.pt"


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("weighting")
    train(tiny_train_config("copy", root / "copy", epochs=1), progress=False)
    cfg = TrainConfig.for_task("induction", epochs=1, save_dir=str(root / "induction"), d_model=16, n_heads=2, d_ff=32,
                               n_train=128, n_eval=32)  # fmt: skip
    train(cfg, progress=False)
    return root


@pytest.fixture(scope="module")
def client(root: Path) -> Iterator[TestClient]:
    with TestClient(make_app(root)) as c:
        yield c


def by_hand(root: Path, name: str, doc: dict) -> dict[str, np.ndarray]:
    """kind -> (L, h, T_k): ‖v_j W^O_h‖ head by head, from the module inputs the model computes."""
    ckpt = load_checkpoint(root / name)
    model = ckpt.build_model().eval()
    vocab = ckpt.vocab
    src = torch.tensor([vocab.encode(doc["input"], add_eos=True)])
    tgt = torch.tensor([[vocab.stoi[t] for t in doc["tokens"]["tgt"]]])
    out: dict[str, np.ndarray] = {}
    with torch.no_grad():
        for kind in doc["attentions"] if "attentions" in doc else doc["overview"]["kinds"]:
            layers = []
            for layer in range(ckpt.config.n_layers):
                if isinstance(model, SmallDecoder):
                    _, _, value, _ = model.attention_inputs(tgt, kind, layer)
                else:
                    _, _, value, _ = model.attention_inputs(src, tgt, kind, layer)
                mha = model.attention_module(kind, layer)
                d = mha.d_k
                v_all = value[0] @ mha.w_v.weight.T + mha.w_v.bias  # (T_k, d_model): V W^V + b, all heads side by side
                heads = []
                for h in range(mha.n_heads):
                    v = v_all[:, h * d : (h + 1) * d]  # (T_k, d_k)
                    w_o_h = mha.w_o.weight[:, h * d : (h + 1) * d]  # (d_model, d_k): head h's rows of W^O
                    heads.append((v @ w_o_h.T).norm(dim=-1).numpy())  # ‖v_j W^O_h‖, no output bias
                layers.append(np.stack(heads))
            out[kind] = np.stack(layers)
    return out


def post(client: TestClient, **body: object) -> dict:
    r = client.post("/api/attention", json=body)
    assert r.status_code == 200, r.text
    return r.json()


@pytest.mark.parametrize("name,text", [(COPY, "hello"), (LM, "abcdabc")])
def test_value_norm_document_equals_the_reference_by_hand(client: TestClient, root: Path, name: str, text: str) -> None:
    plain = post(client, checkpoint=name, text=text, precision=8)
    weighted = post(client, checkpoint=name, text=text, precision=8, weighting="value_norm")
    assert plain["weighting"] == "attention" and weighted["weighting"] == "value_norm"
    assert weighted["tokens"] == plain["tokens"] and weighted["output"] == plain["output"]
    norms = by_hand(root, name, plain)
    moved = 0.0
    for kind, alpha in plain["attentions"].items():
        a = np.asarray(alpha, dtype=np.float64)
        want = a * norms[kind][:, :, None, :]
        want /= want.sum(-1, keepdims=True)
        got = np.asarray(weighted["attentions"][kind], dtype=np.float64)
        np.testing.assert_allclose(got, want, atol=1e-5)
        np.testing.assert_allclose(got.sum(-1), 1.0, atol=1e-5)
        moved = max(moved, float(np.abs(got - a).max()))
    assert moved > 1e-3


def test_overview_and_tiles_of_the_toy_follow_the_weighting(client: TestClient, root: Path) -> None:
    text = "hello"
    full = post(client, checkpoint=COPY, text=text, precision=8, weighting="value_norm")
    ov = post(client, checkpoint=COPY, text=text, detail="overview", weighting="value_norm", encoding="float16")
    assert ov["detail"] == "overview" and ov["weighting"] == "value_norm"
    for kind, kov in ov["overview"]["kinds"].items():
        want = np.asarray(full["attentions"][kind])
        np.testing.assert_allclose(decode_weights(kov["thumbnails"]), want, atol=2e-3)  # short: one cell a weight
        L, H, nq, nk = want.shape
        for weighting in ("value_norm", "attention"):
            body = {"handle": ov["overview"]["handle"], "kind": kind, "layer": L - 1, "head": H - 1,
                    "q0": 0, "q1": nq, "k0": 0, "k1": nk, "weighting": weighting}  # fmt: skip
            r = client.post("/api/attention/tile", json=body)
            assert r.status_code == 200, r.text
            assert r.json()["weighting"] == weighting
            tile = decode_weights(r.json()["weights"])
            if weighting == "value_norm":
                np.testing.assert_allclose(tile, want[L - 1, H - 1], atol=2e-3)
            else:
                plain = post(client, checkpoint=COPY, text=text, precision=8)
                np.testing.assert_allclose(tile, np.asarray(plain["attentions"][kind])[L - 1, H - 1], atol=2e-3)


def test_ablated_head_stays_zero(client: TestClient) -> None:
    doc = post(client, checkpoint=COPY, text="hello", weighting="value_norm", ablate=[{"kind": "cross", "layer": 0, "head": 1}])
    w = np.asarray(doc["attentions"]["cross"])
    assert np.all(w[0, 1] == 0.0)
    np.testing.assert_allclose(w[0, 0].sum(-1), 1.0, atol=1e-3)


@pytest.mark.parametrize("path,extra", [("/api/attention", {"checkpoint": COPY, "text": "hello"}),
                                        ("/api/attention/tile", {"handle": "x", "kind": "cross", "layer": 0, "head": 0,
                                                                 "q0": 0, "q1": 1, "k0": 0, "k1": 1})])  # fmt: skip
def test_unknown_weighting_is_422_naming_the_choices(client: TestClient, path: str, extra: dict) -> None:
    r = client.post(path, json={**extra, "weighting": "value"})
    assert r.status_code == 422
    body = r.json()
    assert body["code"] == "validation_error"
    assert "weighting" in body["detail"] and "'attention'" in body["detail"] and "'value_norm'" in body["detail"]


def test_timeline_epochs_are_value_weighted_each_by_its_own_projections(client: TestClient, root: Path) -> None:
    r = client.post("/api/timeline", json={"run": "copy", "text": "hello", "precision": 8, "weighting": "value_norm"})
    assert r.status_code == 200, r.text
    (epoch,) = r.json()["epochs"]
    doc = epoch["document"]
    assert doc["weighting"] == "value_norm"
    alone = post(client, checkpoint=epoch["checkpoint"], text="hello", precision=8, weighting="value_norm")
    for kind, w in doc["attentions"].items():
        np.testing.assert_allclose(np.asarray(w), np.asarray(alone["attentions"][kind]), atol=1e-5)
    plain = client.post("/api/timeline", json={"run": "copy", "text": "hello", "precision": 8}).json()
    assert plain["epochs"][0]["document"]["weighting"] == "attention"  # cached apart


def test_topk_ranks_the_weighting_asked_for(client: TestClient) -> None:
    ov = post(client, checkpoint=COPY, text="hello", detail="overview", weighting="value_norm")
    full = post(client, checkpoint=COPY, text="hello", precision=8, weighting="value_norm")
    want = np.asarray(full["attentions"]["cross"])[0, 1]  # (nq, nk)
    body = {"handle": ov["overview"]["handle"], "kind": "cross", "layer": 0, "head": 1, "k": 3, "weighting": "value_norm"}
    r = client.post("/api/attention/topk", json=body)
    assert r.status_code == 200, r.text
    top = r.json()
    for q, (idx, vals) in enumerate(zip(top["indices"], top["weights"], strict=True)):
        np.testing.assert_allclose(vals, np.sort(want[q])[::-1][:3], atol=1e-5)
        np.testing.assert_allclose(want[q][idx], vals, atol=1e-5)
