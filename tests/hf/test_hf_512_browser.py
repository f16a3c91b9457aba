"""MiniLM at its limit, 512 tokens, in a real Chromium through a real uvicorn: the app asks for the
compact uint8 encoding, every view draws, and the weight shown under the pointer is the API's
(needs the ``hf`` extra and the built front end)."""

from __future__ import annotations

import base64
from pathlib import Path
from urllib.parse import quote

import httpx
import numpy as np
import pytest

from .conftest import MINILM, browser_tab, readout_value, text_of_n_tokens

pytest.importorskip("transformers")
sync_api = pytest.importorskip("playwright.sync_api")

pytestmark = pytest.mark.browser

N = 512


BLANK_CANVASES = """(testid) => [...document.querySelectorAll(`[data-testid="${testid}"]`)].filter((c) => {
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  for (let i = 4; i < d.length; i += 4) {
    if (d[i] !== d[0] || d[i + 1] !== d[1] || d[i + 2] !== d[2] || d[i + 3] !== d[3]) return false;
  }
  return true;
}).length"""


def test_minilm_at_512_tokens_draws_every_view_and_shows_the_api_value(
    hf_server: str, hf_root: Path, browser: sync_api.Browser
) -> None:
    text = text_of_n_tokens(hf_root, N)
    asked: list[object] = []
    with browser_tab(browser, 900) as (page, errors):
        page.on("request", lambda r: asked.append(r.post_data_json) if r.url.endswith("/api/attention") else None)
        page.goto(f"{hf_server}/?ckpt={quote(MINILM, safe='')}&text={quote(text)}")
        page.wait_for_function(
            f"() => {{ const d = window.__attnviz?.store.get().doc; return d && d.tokens.src.length === {N}; }}",
            timeout=90_000,
        )
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
        widths = page.evaluate(
            """() => [...document.querySelectorAll('[data-testid="model-view-canvas"]')].map((c) => c.width)"""
        )
        assert max(widths) < N / 2

        # the weights the API sends for this text: (bytes × scale)², square-root companded (float32, as the page)
        body = {"checkpoint": MINILM, "text": text, "encoding": "uint8"}
        wire = httpx.post(f"{hf_server}/api/attention", json=body, timeout=60).json()["attentions"]["encoder_self"]
        assert wire["dtype"] == "uint8" and wire["shape"] == [6, 12, N, N]
        codes = np.frombuffer(base64.b64decode(wire["data"]), dtype=np.uint8).reshape(6, 12, N, N)
        assert wire["compand"] == "sqrt"
        api = ((codes.astype(np.float64) * wire["scale"]) ** 2).astype(np.float32)
        layer, head = 2, 5
        page.evaluate(f"() => window.__attnviz.store.set({{layer: {layer}, head: {head}}})")
        # a strong cell: the largest weight of query row 200
        q = 200
        k = int(np.argmax(api[layer, head, q]))
        page.evaluate(f"() => window.__attnviz.hover({{type: 'cell', q: {q}, k: {k}}})")
        index = ((layer * 12 + head) * N + q) * N + k
        shown = page.evaluate(f"() => window.__attnviz.store.get().doc.kinds.encoder_self.data[{index}]")
        assert shown == float(api[layer, head, q, k])  # the same float32, no further rounding
        assert readout_value(page) == pytest.approx(float(api[layer, head, q, k]), abs=0.005)

        # a real pointer over the focus heatmap: the cell under it and its API weight in the readout
        box = page.get_by_test_id("focus-heatmap-canvas").bounding_box()
        assert box
        page.mouse.move(box["x"] + box["width"] * 0.7, box["y"] + box["height"] * 0.6)
        hover = page.evaluate("() => window.__attnviz.store.get().hover")
        assert hover and hover["type"] == "cell", hover
        weight = float(api[layer, head, hover["q"], hover["k"]])
        assert readout_value(page) == pytest.approx(weight, abs=max(0.005, weight * 0.05))
        assert page.get_by_test_id("hover-value").inner_text().startswith("'")
        page.screenshot(path=str(hf_root / "minilm-512.png"))
    assert errors == []
