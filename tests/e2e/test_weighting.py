"""The "Attention / Value-weighted" toggle and "No first token" in a real browser against the real
server, at 1440×900 and 1280×720: the page asks the server for the value-norm weighting, every
view's title names it, the URL keeps it, the heatmap repaints with the server's weights; "No first
token" zeroes key 0 and renormalises each row."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest
from playwright.sync_api import expect

from tests.browser import Server, decode_weights, decoded_weights, open_app, url_params, wait_drawn

pytestmark = pytest.mark.browser

CANVAS = "[data-testid=focus-heatmap-canvas]"


def is_attention(r: Any) -> bool:
    return bool(r.url.endswith("/api/attention") and r.method == "POST")


def pixels(page: Any) -> str:
    """What the heatmap canvas holds (its pixels, as a data URL)."""
    data: str = page.locator(CANVAS).evaluate("(c) => c.toDataURL()")
    return data


@pytest.mark.parametrize("viewport", [{"width": 1440, "height": 900}, {"width": 1280, "height": 720}], ids=["1440", "1280"])
def test_toggle_asks_for_value_weights_and_every_view_names_them(new_page: Any, server: Server, viewport: dict[str, int]) -> None:
    page = new_page(viewport=viewport)
    open_app(page, server.url, "/?kind=encoder_self&layer=1&head=2", drawn=True)
    heatmap, model, arcs = (page.locator(f"{sel} h2") for sel in ("[data-view=heatmap]", ".model-view", "[data-view=arcs]"))
    expect(heatmap).to_have_text("Layer 1 · Head 2")
    expect(model).to_have_text("Model view")
    expect(page.get_by_test_id("weighting-attention")).to_have_attribute("aria-checked", "true")
    before = pixels(page)
    text = page.get_by_test_id("text-input").input_value()

    with page.expect_request(lambda r: is_attention(r) and (r.post_data_json or {}).get("weighting") == "value_norm") as req:
        page.get_by_test_id("weighting-value_norm").click()
    body = req.value.post_data_json
    expect(heatmap).to_have_text("Layer 1 · Head 2 · value-weighted")
    expect(model).to_have_text("Model view · value-weighted")
    expect(arcs).to_have_text("Token arcs · layer 1 · value-weighted")
    expect(page.get_by_test_id("weighting-value_norm")).to_have_attribute("aria-checked", "true")
    wait_drawn(page, text)
    assert url_params(page)["weighting"] == "value_norm"
    # the page shows the server's value-weighted weights, and the heatmap was painted again with them
    want = decode_weights(server.api("/api/attention", body).json(), "encoder_self")
    np.testing.assert_allclose(decoded_weights(page, "encoder_self"), want, atol=1e-6)
    plain = decode_weights(server.api("/api/attention", {**body, "weighting": "attention"}).json(), "encoder_self")
    assert np.abs(want[1, 2] - plain[1, 2]).max() > 1e-3  # the head's weights do change
    assert pixels(page) != before

    # back: the plain weights, the titles and URL as they were
    page.get_by_test_id("weighting-attention").click()
    expect(heatmap).to_have_text("Layer 1 · Head 2")
    expect(model).to_have_text("Model view")
    wait_drawn(page, text)
    assert "weighting" not in url_params(page)
    np.testing.assert_allclose(decoded_weights(page, "encoder_self"), plain, atol=1e-6)


def test_no_first_token_zeroes_key_0_and_renormalises_rows(page: Any, server: Server) -> None:
    open_app(page, server.url, "/?kind=encoder_self&weighting=value_norm", drawn=True)
    expect(page.locator("[data-view=heatmap] h2")).to_contain_text("value-weighted")  # the URL's weighting
    before = decoded_weights(page, "encoder_self")
    before_px = pixels(page)
    page.get_by_test_id("no-first-token").check()
    expect(page.locator("[data-view=heatmap] h2")).to_have_attribute("title", re.compile(r"‖v W\^O‖.*the first token dropped"))
    assert url_params(page)["nofirst"] == "1"
    w = decoded_weights(page, "encoder_self")
    assert np.all(w[..., 0] == 0.0)
    rest = before[..., 1:]
    want = rest / rest.sum(-1, keepdims=True)
    np.testing.assert_allclose(w[..., 1:], want, atol=1e-5)
    assert pixels(page) != before_px
