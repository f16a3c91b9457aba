"""The weighting toggle on a long text (an overview: thumbnails and tiles) in Chromium through a
real uvicorn: the page asks for the value-weighted overview, its tiles carry the weighting, and
the tiled heatmap and model view name it."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import numpy as np
import pytest
from playwright.sync_api import expect

from attnviz.encoding import decode_weights

from ..browser import Server, url_params, wait_drawn
from .long_models import build_long_models, long_text
from .test_long_browser import wait_tile

pytest.importorskip("transformers")

pytestmark = pytest.mark.browser

GPT2 = "hf/gpt2-long"


@pytest.fixture(scope="module")
def long_server(tmp_path_factory: pytest.TempPathFactory, start_server: Any) -> Server:
    root = tmp_path_factory.mktemp("weighting-long")
    build_long_models(root, ("gpt2-long",))
    server: Server = start_server(root, timeout=120)
    return server


def test_toggle_on_an_overview_asks_for_value_weighted_thumbnails_and_tiles(long_server: Server, new_page: Any) -> None:
    text = long_text(2100)
    page = new_page(viewport={"width": 1280, "height": 720})
    page.goto(f"{long_server.url}/?ckpt={quote(GPT2, safe='')}&text={quote(text)}&layer=1&head=2")
    wait_drawn(page, text, GPT2, timeout=120_000)
    region = ",".join(wait_tile(page)[:2])
    expect(page.get_by_test_id("tiled-title")).to_have_text("Layer 1 · Head 2")
    expect(page.get_by_test_id("no-first-token")).to_be_hidden()  # an overview has no rows to renormalise

    tiles: list[Any] = []
    page.on("request", lambda r: tiles.append(r) if r.url.endswith("/api/attention/tile") else None)

    def value_weighted(r: Any) -> bool:
        return bool(r.url.endswith("/api/attention") and (r.request.post_data_json or {}).get("weighting") == "value_norm")

    with page.expect_response(value_weighted) as answer:
        page.get_by_test_id("weighting-value_norm").click()
    doc = answer.value.json()
    assert doc["detail"] == "overview" and doc["weighting"] == "value_norm"
    expect(page.get_by_test_id("tiled-title")).to_have_text("Layer 1 · Head 2 · value-weighted")
    expect(page.locator(".model-view h2")).to_have_text("Model view · value-weighted")
    wait_drawn(page, text, GPT2, timeout=120_000)
    assert url_params(page)["weighting"] == "value_norm"
    # the same region's tile is asked for again, value-weighted, of the new run
    wait_tile(page, region)
    body = next(t.post_data_json for t in reversed(tiles) if t.post_data_json["handle"] == doc["overview"]["handle"])
    assert body["weighting"] == "value_norm" and (body["layer"], body["head"]) == (1, 2)
    tile = long_server.api("/api/attention/tile", body).json()
    plain = long_server.api("/api/attention/tile", {**body, "weighting": "attention"}).json()
    assert tile["weighting"] == "value_norm"
    a, b = decode_weights(tile["weights"]), decode_weights(plain["weights"])
    assert np.abs(a - b).max() > 0.05 * b.max()  # rows over ~3,000 keys: small weights, moved by a fifth
