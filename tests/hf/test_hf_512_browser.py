"""MiniLM at its limit, 512 tokens, in a real Chromium through a real uvicorn: the app asks for the
compact uint8 encoding, every view draws, and the weight shown under the pointer is the API's
(needs the ``hf`` extra and the built front end)."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
import pytest
from playwright.sync_api import expect

from tests.browser import Server, display_token, shown, wait_drawn

from .conftest import MINILM, point_at_cell, text_of_n_tokens

pytest.importorskip("transformers")

pytestmark = pytest.mark.browser

N = 512


BLANK_CANVASES = """(testid) => [...document.querySelectorAll(`[data-testid="${testid}"]`)].filter((c) => {
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  for (let i = 4; i < d.length; i += 4) {
    if (d[i] !== d[0] || d[i + 1] !== d[1] || d[i + 2] !== d[2] || d[i + 3] !== d[3]) return false;
  }
  return true;
}).length"""


# the float32 weight the page decoded for one cell: a measurement of the decoder's precision (bit for
# bit, below what any colour or readout shows), read through the test hook like tests/browser.py
# ``decoded_weights`` does (which would copy all 19 M weights of this document out of the page)
DECODED = "(i) => window.__attnviz.store.get().doc.kinds.encoder_self.data[i]"


def test_minilm_at_512_tokens_draws_every_view_and_shows_the_api_value(hf_server: Server, hf_root: Path, page: Any) -> None:
    text = text_of_n_tokens(hf_root, N)
    asked: list[object] = []
    page.on("request", lambda r: asked.append(r.post_data_json) if r.url.endswith("/api/attention") else None)
    page.goto(f"{hf_server.url}/?ckpt={quote(MINILM, safe='')}&text={quote(text)}")
    wait_drawn(page, text, MINILM, timeout=90_000)
    expect(page.get_by_test_id("tokens-src").locator("span.tok")).to_have_count(N)
    # a 512-token document is asked for as uint8 (1 byte per weight), and the UI says so
    assert [a["encoding"] for a in asked if isinstance(a, dict)] == ["uint8"]
    assert page.get_by_test_id("precision-note").inner_text() == "uint8 · ±0.005"
    assert page.get_by_test_id("precision-note").is_visible()

    # every view draws: 72 thumbnails, the mean and (computed in slices after the first paint)
    # rollout thumbnails, the 512 × 512 focus heatmap, the arcs
    assert page.get_by_test_id("model-view-canvas").count() == 72
    assert page.evaluate(BLANK_CANVASES, "model-view-canvas") == 0
    page.wait_for_function(
        """() => [...document.querySelectorAll('[data-testid="model-view-agg-canvas"]')].every((c) => {
          const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
          for (let i = 4; i < d.length; i += 4) if (d[i] !== d[0] || d[i + 1] !== d[1] || d[i + 2] !== d[2]) return true;
          return false; })""",
        timeout=60_000,
    )
    assert page.get_by_test_id("model-view-agg-canvas").count() == 12  # mean + rollout per layer
    assert "512 queries by 512 keys" in (page.get_by_test_id("focus-heatmap-canvas").get_attribute("aria-label") or "")
    assert page.evaluate(BLANK_CANVASES, "focus-heatmap-canvas") == 0
    assert page.evaluate(BLANK_CANVASES, "arc-canvas") == 0
    # the thumbnails are reduced to about their displayed size, not 512 × 512 canvases
    widths = page.evaluate("""() => [...document.querySelectorAll('[data-testid="model-view-canvas"]')].map((c) => c.width)""")
    assert max(widths) < N / 2

    # the weights the API sends for this text: (bytes × scale)², square-root companded (float32, as the page)
    body = {"checkpoint": MINILM, "text": text, "encoding": "uint8"}
    doc = hf_server.api("/api/attention", body, timeout=60).json()
    tokens = doc["tokens"]["src"]
    assert shown(page)["doc"]["src"] == [display_token(t) for t in tokens]
    wire = doc["attentions"]["encoder_self"]
    assert wire["dtype"] == "uint8" and wire["shape"] == [6, 12, N, N]
    codes = np.frombuffer(base64.b64decode(wire["data"]), dtype=np.uint8).reshape(6, 12, N, N)
    assert wire["compand"] == "sqrt"
    api = ((codes.astype(np.float64) * wire["scale"]) ** 2).astype(np.float32)
    layer, head = 2, 5
    page.get_by_test_id(f"model-view-{layer}-{head}").click()  # focus that head, as a user does
    expect(page.locator("[data-view=heatmap] h2")).to_have_text(f"Layer {layer} · Head {head}")
    # a strong cell: the largest weight of query row 200, decoded to the same float32 (no further
    # rounding) and shown under the pointer
    q = 200
    k = int(np.argmax(api[layer, head, q]))
    assert page.evaluate(DECODED, ((layer * 12 + head) * N + q) * N + k) == float(api[layer, head, q, k])
    assert point_at_cell(page, q, k, tokens) == pytest.approx(float(api[layer, head, q, k]), abs=0.005)

    # a real pointer elsewhere over the focus heatmap (60 % down, 70 % across): the readout names the
    # cell under it and shows its API weight
    q, k = int(N * 0.6), int(N * 0.7)
    assert point_at_cell(page, q, k, tokens) == pytest.approx(float(api[layer, head, q, k]), abs=0.005)
    page.screenshot(path=str(hf_root / "minilm-512.png"))
