"""MiniLM at 128 tokens in a real Chromium, through a real uvicorn (needs the ``hf`` extra and
the built front end)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote, urlsplit

import httpx
import pytest

from tests.browser import settled_url

from .conftest import MINILM, browser_tab, readout_value, text_of_n_tokens

pytest.importorskip("transformers")
sync_api = pytest.importorskip("playwright.sync_api")

pytestmark = pytest.mark.browser


BLANK_THUMBS = """() => [...document.querySelectorAll('[data-testid="model-view-canvas"]')].filter((c) => {
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  for (let i = 4; i < d.length; i += 4) if (d[i] !== d[0] || d[i + 1] !== d[1] || d[i + 2] !== d[2]) return false;
  return true;
}).length"""

# the cell between two real tokens whose weight changes most when [CLS]/[SEP] are hidden (any head)
PICK_CELL = """() => {
  const s = window.__attnviz.store.get(); const t = s.rawDoc.kinds.encoder_self; const n = t.nk;
  let best = null;
  for (let lh = 0; lh < t.layers * t.heads; lh++) {
    const m = t.data.subarray(lh * n * n, (lh + 1) * n * n);
    for (let q = 1; q < n - 1; q++) {
      let sum = 0; for (let k = 1; k < n - 1; k++) sum += m[q * n + k];
      for (let k = 1; k < n - 1; k++) {
        const raw = m[q * n + k], renorm = raw / sum;
        if (best && renorm - raw <= best.renorm - best.raw) continue;
        best = {layer: Math.floor(lh / t.heads), head: lh % t.heads, q, k, raw, renorm};
      }
    }
  }
  return best;
}"""


def test_minilm_at_128_tokens_in_the_browser(hf_server: str, hf_root: Path, browser: sync_api.Browser) -> None:
    text = text_of_n_tokens(hf_root, 128)
    with browser_tab(browser, 1000) as (page, errors):
        page.goto(f"{hf_server}/?ckpt={quote(MINILM, safe='')}&text={quote(text)}")
        page.wait_for_function(
            "() => { const d = window.__attnviz?.store.get().doc; return d && d.tokens.src.length === 128; }", timeout=60_000
        )
        page.wait_for_timeout(300)

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

        # hide [CLS]/[SEP]: 126 × 126, the hovered weight renormalised over the real tokens
        cell = page.evaluate(PICK_CELL)
        page.evaluate(f"() => window.__attnviz.store.set({{layer: {cell['layer']}, head: {cell['head']}}})")
        page.evaluate(f"() => window.__attnviz.hover({{type: 'cell', q: {cell['q']}, k: {cell['k']}}})")
        assert readout_value(page) == pytest.approx(cell["raw"], abs=0.006)
        page.get_by_test_id("hide-special").check()
        page.wait_for_function("() => window.__attnviz.store.get().doc.tokens.src.length === 126")
        assert "hidespecial=1" in settled_url(page)
        assert "126 queries by 126 keys" in (page.get_by_test_id("focus-heatmap-canvas").get_attribute("aria-label") or "")
        page.evaluate(f"() => window.__attnviz.hover({{type: 'cell', q: {cell['q'] - 1}, k: {cell['k'] - 1}}})")
        assert readout_value(page) == pytest.approx(cell["renorm"], abs=0.006)
        assert cell["renorm"] - cell["raw"] > 0.02  # a visible change
        assert page.get_by_test_id("tokens-src").locator("span.tok").count() == 126
        page.screenshot(path=str(hf_root / "minilm-126-hidden.png"))
        page.get_by_test_id("hide-special").uncheck()
        page.wait_for_function("() => window.__attnviz.store.get().doc.tokens.src.length === 128")
        page.screenshot(path=str(hf_root / "minilm-128.png"))
    assert errors == []


def test_a_pretrained_encoder_offers_only_what_it_supports(hf_server: str, browser: sync_api.Browser) -> None:
    """MiniLM lists attention, math, ablate and special_tokens: those are offered and work; Training
    and Decoding are disabled with the reason as their tooltip, and a click on them anyway opens
    nothing and fails nothing; hiding special tokens keeps [UNK] (real text the vocabulary lacks)."""
    listing = httpx.get(f"{hf_server}/api/checkpoints", timeout=30).json()
    info = next(c for r in listing["runs"] for c in r["checkpoints"] if c["name"] == MINILM)
    assert set(info["supports"]) == {"attention", "math", "ablate", "special_tokens"}
    bodies: list[dict[str, object]] = []
    with browser_tab(browser, 900) as (page, errors):
        page.on("request", lambda r: bodies.append(r.post_data_json) if r.url.endswith("/api/attention") else None)
        page.goto(f"{hf_server}/?ckpt={quote(MINILM, safe='')}&text={quote('a ☃ b')}&ablate=encoder_self:0.0")
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
    # every /api/attention request succeeded: the console holds no failed resource
    assert errors == []
