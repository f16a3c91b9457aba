"""Sampling (temperature, top-k, top-p, seed) on the toy models through the API: the same seed
gives the same tokens, temperature 1 draws something greedy would not, top-k 1 and a tiny top-p
are greedy, the steps report the drawn token with both probabilities, and bad values are 422."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from attnviz.train import TrainConfig, train

from ..tiny_train import tiny_train_config
from .conftest import make_app

COPY = "copy/ckpt_epoch2.pt"
DECODER = "induction/ckpt_epoch2.pt"
# past the copy run's training length (8): the model is unsure, so draws can leave the greedy path
COPY_TEXT = "abcdefghijkl"
LM_TEXT = "pjdkfmwaxqzkfmwa"
SEEDS = range(12)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """A tiny copy run and a tiny induction run (the decoder-only model), both from the real trainer."""
    root = tmp_path_factory.mktemp("sampling-runs")
    train(tiny_train_config("copy", root / "copy", epochs=2), progress=False)
    cfg = TrainConfig.for_task(
        "induction", epochs=2, save_dir=str(root / "induction"), d_model=16, n_heads=2, d_ff=32, n_train=256, n_eval=64
    )
    train(cfg, progress=False)
    with TestClient(make_app(root)) as c:
        yield c


def doc_of(client: TestClient, body: dict[str, Any]) -> dict[str, Any]:
    r = client.post("/api/attention", json=body)
    assert r.status_code == 200, r.text
    return r.json()


def generated(doc: dict[str, Any]) -> list[str]:
    """The tokens decoding chose (the steps from the first generated row on)."""
    n_prompt = len(doc["input"]) if doc["tokens"]["src"] == [] else 0  # decoder-only: prompt rows first
    return [s["token"] for s in doc["steps"][n_prompt:]]


CASES = [
    pytest.param(COPY, COPY_TEXT, {}, id="toy-encoder-decoder"),
    pytest.param(DECODER, LM_TEXT, {"max_new_tokens": 10}, id="toy-decoder"),
]


@pytest.mark.parametrize(("ckpt", "text", "extra"), CASES)
def test_same_seed_same_tokens_and_temperature_one_leaves_greedy(
    client: TestClient, ckpt: str, text: str, extra: dict[str, Any]
) -> None:
    base = {"checkpoint": ckpt, "text": text, **extra}
    greedy = doc_of(client, base)
    assert "sampling" not in greedy
    outputs = []
    for seed in SEEDS:
        body = {**base, "temperature": 1.0, "seed": seed}
        first, again = doc_of(client, body), doc_of(client, body)
        assert first["output"] == again["output"] and first["steps"] == again["steps"]
        assert first["sampling"] == {"temperature": 1.0, "top_k": 0, "top_p": 1.0, "seed": seed}
        outputs.append(first["output"])
    assert any(o != greedy["output"] for o in outputs), outputs  # a draw that greedy decoding would not make
    assert len(set(outputs)) > 1  # and the seed matters


@pytest.mark.parametrize(("ckpt", "text", "extra"), CASES)
def test_top_k_one_and_tiny_top_p_are_greedy(client: TestClient, ckpt: str, text: str, extra: dict[str, Any]) -> None:
    base = {"checkpoint": ckpt, "text": text, **extra}
    greedy = doc_of(client, base)
    for seed in (0, 1, 2):
        k1 = doc_of(client, {**base, "temperature": 1.5, "top_k": 1, "seed": seed})
        p_tiny = doc_of(client, {**base, "temperature": 1.5, "top_p": 1e-6, "seed": seed})
        assert k1["output"] == p_tiny["output"] == greedy["output"]
        assert generated(k1) == generated(greedy)
        assert all(s.get("p_sampled") == 1.0 for s in k1["steps"] if "p_sampled" in s)


@pytest.mark.parametrize(("ckpt", "text", "extra"), CASES)
def test_steps_report_the_drawn_token_with_both_probabilities(
    client: TestClient, ckpt: str, text: str, extra: dict[str, Any]
) -> None:
    base = {"checkpoint": ckpt, "text": text, **extra}
    doc = doc_of(client, {**base, "temperature": 2.0, "top_k": 3})
    seed = doc["sampling"]["seed"]
    assert isinstance(seed, int) and 0 <= seed < 2**31  # the server picked one and says which
    replay = doc_of(client, {**base, "temperature": 2.0, "top_k": 3, "seed": seed})
    assert replay["output"] == doc["output"]
    drawn = [s for s in doc["steps"] if "p_sampled" in s]
    assert drawn and len(drawn) == len(generated(doc))
    for s in drawn:
        top = {t["token"]: t["p"] for t in s["top"]}
        assert len(s["top"]) == 5
        assert s["token"] in list(top)[:3]  # top-k 3: only the three most probable can be drawn
        assert s["p"] == top[s["token"]]  # p: the model's own probability
        assert 0 < s["p_sampled"] <= 1
    greedy = doc_of(client, base)
    assert all("p_sampled" not in s and s["p"] == s["top"][0]["p"] for s in greedy["steps"])


def test_math_runs_on_the_same_sampled_output(client: TestClient) -> None:
    body = {"checkpoint": COPY, "text": COPY_TEXT, "temperature": 1.0, "seed": 7}
    doc = doc_of(client, body)
    r = client.post("/api/attention/math", json={**body, "kind": "cross", "layer": 0, "head": 0})
    assert r.status_code == 200, r.text
    math = r.json()
    assert math["output"] == doc["output"] and math["query_tokens"] == doc["tokens"]["tgt"]


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("temperature", -0.5, "greater than or equal to 0"),
        ("temperature", 50, "less than or equal to 5"),
        ("temperature", "hot", "valid number"),
        ("top_k", -1, "greater than or equal to 0"),
        ("top_k", 2.5, "integer"),
        ("top_p", 0, "greater than 0"),
        ("top_p", 1.5, "less than or equal to 1"),
        ("seed", -3, "greater than or equal to 0"),
        ("seed", 2**40, "less than or equal to"),
        ("seed", "7", "integer"),
    ],
)
def test_bad_values_are_422_naming_the_field(client: TestClient, field: str, value: Any, says: str) -> None:
    for path, extra in (("/api/attention", {}), ("/api/attention/math", {"kind": "cross", "layer": 0, "head": 0})):
        r = client.post(path, json={"checkpoint": COPY, "text": "abc", field: value, **extra})
        assert r.status_code == 422, r.text
        body = r.json()
        assert body["code"] == "validation_error"
        assert f"{field}:" in body["detail"] and says in body["detail"]
