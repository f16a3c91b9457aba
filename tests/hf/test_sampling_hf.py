"""Sampling on Hugging Face models through the API (tiny local GPT-2, LLaMA, T5 and BART with
random weights, and a tiny BERT): reproducible by seed, different from greedy at temperature 1,
greedy again at top-k 1 or a tiny top-p, the same draw in a full document, an overview and the
math step-through; an encoder refuses the settings."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from .conftest import make_app
from .tiny_models import TINY

pytest.importorskip("transformers")

TEXT = "the cat sat on the mat"
NEW = 6


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    from .long_models import build_long_models
    from .tiny_models import build_tiny_models

    root = tmp_path_factory.mktemp("hf-sampling")
    build_tiny_models(root)
    build_long_models(root, ("bert-long",))  # an encoder, for the refusal
    with TestClient(make_app(root)) as c:
        yield c


def doc_of(client: TestClient, body: dict[str, Any]) -> dict[str, Any]:
    r = client.post("/api/attention", json=body)
    assert r.status_code == 200, r.text
    return r.json()


def drawn(doc: dict[str, Any]) -> list[str]:
    return [s["token"] for s in doc["steps"] if "p_sampled" in s]


@pytest.mark.parametrize("name", list(TINY))
def test_seeded_draws_repeat_and_leave_the_greedy_path(client: TestClient, name: str) -> None:
    base = {"checkpoint": f"hf/{name}", "text": TEXT, "max_new_tokens": NEW}
    greedy = doc_of(client, base)
    assert "sampling" not in greedy
    outputs = []
    for seed in range(4):
        body = {**base, "temperature": 1.0, "seed": seed}
        first, again = doc_of(client, body), doc_of(client, body)
        assert first["tokens"] == again["tokens"] and first["steps"] == again["steps"]
        assert first["sampling"]["seed"] == seed
        outputs.append(first["tokens"]["tgt"])
        tokens = drawn(first)
        assert tokens and all(0 < s["p_sampled"] <= 1 and 0 <= s["p"] <= 1 for s in first["steps"] if "p_sampled" in s)
    assert any(o != greedy["tokens"]["tgt"] for o in outputs)  # random weights: near-uniform, greedy is one path of many
    assert len({tuple(o) for o in outputs}) > 1


@pytest.mark.parametrize("name", list(TINY))
def test_top_k_one_and_tiny_top_p_are_greedy(client: TestClient, name: str) -> None:
    base = {"checkpoint": f"hf/{name}", "text": TEXT, "max_new_tokens": NEW}
    greedy = doc_of(client, base)
    for extra in ({"top_k": 1}, {"top_p": 1e-6}):
        doc = doc_of(client, {**base, "temperature": 2.0, "seed": 5, **extra})
        assert doc["tokens"] == greedy["tokens"] and doc["output"] == greedy["output"]
        assert all(s["p_sampled"] == 1.0 for s in doc["steps"] if "p_sampled" in s)


def test_overview_and_math_follow_the_same_draw(client: TestClient) -> None:
    body = {"checkpoint": "hf/gpt2-tiny", "text": TEXT, "max_new_tokens": NEW, "temperature": 1.0, "seed": 11}
    full = doc_of(client, body)
    overview = doc_of(client, {**body, "detail": "overview"})
    assert overview["detail"] == "overview" and overview["tokens"] == full["tokens"] and overview["sampling"] == full["sampling"]
    r = client.post("/api/attention/math", json={**body, "kind": "decoder_self", "layer": 1, "head": 0})
    assert r.status_code == 200, r.text
    assert r.json()["query_tokens"] == full["tokens"]["tgt"]


def test_an_encoder_refuses_sampling(client: TestClient) -> None:
    name = "hf/bert-long"
    assert client.post("/api/attention", json={"checkpoint": name, "text": TEXT}).status_code == 200
    for extra in ({"temperature": 1.0}, {"seed": 3}, {"top_k": 5}, {"top_p": 0.9}):
        r = client.post("/api/attention", json={"checkpoint": name, "text": TEXT, **extra})
        assert r.status_code == 422 and r.json()["code"] == "not_supported", r.text
        assert "Sampling" in r.json()["detail"] and r.json()["family"] == "encoder"
    math = {"checkpoint": name, "text": TEXT, "kind": "encoder_self", "layer": 0, "head": 0, "seed": 1}
    r = client.post("/api/attention/math", json=math)
    assert r.status_code == 422 and r.json()["code"] == "not_supported"
