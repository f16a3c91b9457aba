"""MiniLM at 128 tokens in a real Chromium, through a real uvicorn (needs the ``hf`` extra and
the built front end)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import numpy as np
import pytest
from playwright.sync_api import expect

from tests.browser import Server, decode_weights, display_token, settled_url, shown, wait_drawn

from .conftest import MINILM, point_at_cell, text_of_n_tokens

pytest.importorskip("transformers")

pytestmark = pytest.mark.browser


BLANK_THUMBS = """() => [...document.querySelectorAll('[data-testid="model-view-canvas"]')].filter((c) => {
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  for (let i = 4; i < d.length; i += 4) if (d[i] !== d[0] || d[i + 1] !== d[1] || d[i + 2] !== d[2]) return false;
  return true;
}).length"""


def pick_cell(w: np.ndarray) -> tuple[int, int, int, int, float, float]:
    """The cell between two real tokens whose weight changes most when [CLS]/[SEP] are hidden (any
    head) of weights ``w`` [L, H, n, n]: (layer, head, q, k, raw weight, renormalised weight)."""
    inner = w[:, :, 1:-1, 1:-1]
    gain = inner / inner.sum(-1, keepdims=True) - inner
    layer, head, q, k = (int(i) for i in np.unravel_index(np.argmax(gain), gain.shape))
    raw = float(inner[layer, head, q, k])
    return layer, head, q + 1, k + 1, raw, raw + float(gain[layer, head, q, k])


def test_minilm_at_128_tokens_in_the_browser(hf_server: Server, hf_root: Path, new_page: Any) -> None:
    text = text_of_n_tokens(hf_root, 128)
    page = new_page(viewport={"width": 1440, "height": 1000})
    asked: list[Any] = []
    page.on("request", lambda r: asked.append(r.post_data_json) if r.url.endswith("/api/attention") else None)
    page.goto(f"{hf_server.url}/?ckpt={quote(MINILM, safe='')}&text={quote(text)}")
    wait_drawn(page, text, MINILM, timeout=60_000)
    src = page.get_by_test_id("tokens-src").locator("span.tok")
    expect(src).to_have_count(128)
    # the document the page drew is the API's for the request it sent
    doc = hf_server.api("/api/attention", asked[-1], timeout=60).json()
    assert shown(page)["doc"]["src"] == [display_token(t) for t in doc["tokens"]["src"]]

    # the picker groups it under "pretrained", with no epoch choice
    assert page.locator('[data-testid="run-select"] optgroup[label="pretrained"] option').all_inner_texts() == [
        f"{MINILM} · 6L × 12H"
    ]
    assert not page.get_by_test_id("epoch-select").is_visible()
    # encoder only: one tab, no decoder tabs, no output
    assert page.get_by_test_id("kind-encoder_self").is_visible()
    assert page.get_by_test_id("kind-decoder_self").count() == 0 and page.get_by_test_id("kind-cross").count() == 0
    assert page.get_by_test_id("encoder-only").inner_text() == "encoder-only model: no output"
    assert page.get_by_test_id("tokens-tgt").count() == 0
    # model view: 6 × 12 thumbnails, none blank
    assert page.locator('[data-testid^="model-view-"][data-testid$="-11"]').count() == 6
    assert page.get_by_test_id("model-view-canvas").count() == 72
    assert page.evaluate(BLANK_THUMBS) == 0
    # focus heatmap: 128 × 128
    label = page.get_by_test_id("focus-heatmap-canvas").get_attribute("aria-label") or ""
    assert "128 queries by 128 keys" in label

    # hide [CLS]/[SEP]: 126 × 126, the weight under the pointer renormalised over the real tokens
    layer, head, q, k, raw, renorm = pick_cell(decode_weights(doc, "encoder_self"))
    page.get_by_test_id(f"model-view-{layer}-{head}").click()  # focus that head, as a user does
    expect(page.locator("[data-view=heatmap] h2")).to_have_text(f"Layer {layer} · Head {head}")
    tokens = doc["tokens"]["src"]
    assert point_at_cell(page, q, k, tokens) == pytest.approx(raw, abs=0.006)
    page.get_by_test_id("hide-special").check()
    expect(src).to_have_count(126)
    assert "hidespecial=1" in settled_url(page)
    expect(page.get_by_test_id("focus-heatmap-canvas")).to_have_attribute("aria-label", re.compile("126 queries by 126 keys"))
    assert point_at_cell(page, q - 1, k - 1, tokens[1:-1]) == pytest.approx(renorm, abs=0.006)
    assert renorm - raw > 0.02  # a visible change
    page.screenshot(path=str(hf_root / "minilm-126-hidden.png"))
    page.get_by_test_id("hide-special").uncheck()
    expect(src).to_have_count(128)
    page.screenshot(path=str(hf_root / "minilm-128.png"))


def test_a_pretrained_encoder_offers_only_what_it_supports(hf_server: Server, page: Any) -> None:
    """MiniLM lists attention, math, ablate and special_tokens: those are offered and work; Training
    and Decoding are disabled with the reason as their tooltip, and a click on them anyway opens
    nothing and fails nothing; hiding special tokens keeps [UNK] (real text the vocabulary lacks)."""
    listing = hf_server.api("/api/checkpoints").json()
    info = next(c for r in listing["runs"] for c in r["checkpoints"] if c["name"] == MINILM)
    assert set(info["supports"]) == {"attention", "math", "ablate", "special_tokens"}
    bodies: list[dict[str, object]] = []
    page.on("request", lambda r: bodies.append(r.post_data_json) if r.url.endswith("/api/attention") else None)
    page.goto(f"{hf_server.url}/?ckpt={quote(MINILM, safe='')}&text={quote('a ☃ b')}&ablate=encoder_self:0.0")
    page.get_by_test_id("kind-encoder_self").wait_for(state="visible", timeout=60_000)
    page.get_by_test_id("tokens-src").wait_for(state="visible")
    # a supported ablation in a link is kept and sent: head 0.0 is drawn switched off
    assert "ablate=encoder_self" in urlsplit(settled_url(page)).query
    page.wait_for_function(
        "() => (document.querySelector('[data-testid=model-view-0-0]')?.getAttribute('class') || '').includes('ablated')"
    )
    assert any(b.get("ablate") for b in bodies), bodies
    assert not page.get_by_test_id("ablate-toggle").is_disabled()
    math = page.get_by_test_id("insight-tab-math")
    assert math.get_attribute("aria-disabled") == "false"
    for tab in ("timeline", "steps"):
        b = page.get_by_test_id(f"insight-tab-{tab}")
        assert b.get_attribute("aria-disabled") == "true", tab
        assert "not available for a pretrained encoder" in (b.get_attribute("title") or ""), tab
        b.click(force=True)  # a user clicks anyway: nothing opens, nothing fails
        assert b.get_attribute("aria-pressed") == "false" and not page.get_by_test_id("insight-panel").is_visible()
    tokens = page.get_by_test_id("tokens-src").locator("span.tok").all_inner_texts()
    assert "[UNK]" in tokens, tokens
    page.get_by_test_id("hide-special").check()
    page.wait_for_function("() => !document.querySelector('[data-testid=tokens-src]').innerText.includes('[CLS]')")
    kept = page.get_by_test_id("tokens-src").locator("span.tok").all_inner_texts()
    assert "[UNK]" in kept and "[SEP]" not in kept, kept
    # every /api/attention request succeeded: a failed resource in the console fails the test (``console``)


def test_the_math_of_a_long_text_stays_readable(hf_server: Server, hf_root: Path, new_page: Any) -> None:
    """At 174 tokens every table of the step-through once had a row per token (~34,000 px of page);
    now each shows a window of rows around the chosen query (or the key it weighs most), says so,
    and moves with the query."""
    text = text_of_n_tokens(hf_root, 174)
    page = new_page(viewport={"width": 1440, "height": 900})
    page.goto(f"{hf_server.url}/?ckpt={quote(MINILM, safe='')}&text={quote(text)}&layer=2&head=5&insight=math&mq=100")
    wait_drawn(page, text, MINILM, timeout=60_000)
    weights = page.locator("[data-testid=math-table-weights]")
    weights.wait_for(timeout=60_000)
    for table in ("q", "k", "v", "qk", "weights", "wsum", "output"):
        rows = page.locator(f"[data-testid=math-table-{table}] tbody tr:not(.sum)")
        assert rows.count() == 24, table
        expect(page.get_by_test_id(f"math-rows-note-{table}")).to_contain_text("of 174 shown")
    assert weights.locator("tr.qrow").get_attribute("data-r") == "100"
    # the key tables keep the key query 100 weighs most in view
    w = [float(c.get_attribute("data-v") or "nan") for c in weights.locator("tr.qrow td").all()]
    heaviest = max(range(len(w)), key=lambda j: w[j])
    assert page.locator(f"[data-testid=math-table-k] tbody tr[data-r='{heaviest}']").count() == 1
    height = page.evaluate("() => document.querySelector('[data-testid=insight-panel]').scrollHeight")
    assert height < 8_000, height
    # another query moves the window
    page.get_by_test_id("math-query-3").click()
    page.wait_for_function("() => document.querySelector('[data-testid=math-table-weights] tr.qrow')?.dataset.r === '3'")
    expect(page.get_by_test_id("math-rows-note-weights")).to_contain_text("Rows 0–23 of 174")
