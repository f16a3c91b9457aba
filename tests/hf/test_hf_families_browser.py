"""Each Hugging Face family in a real Chromium through a real uvicorn: listed in the picker, its
document drawn (tiny local models; needs the built front end)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest

from .conftest import browser_tab
from .tiny_models import TINY

pytest.importorskip("transformers")
sync_api = pytest.importorskip("playwright.sync_api")

pytestmark = pytest.mark.browser

TEXT = "the cat sat on the mat"
SUMMARY = """() => { const d = window.__attnviz.store.get().doc;
  return {kinds: Object.keys(d.kinds), tgt: d.tokens.tgt.length, special: d.specialTokens ?? null}; }"""
KINDS = {"decoder": ["decoder_self"], "encoder-decoder": ["encoder_self", "decoder_self", "cross"]}


def test_each_family_is_in_the_picker_and_its_document_draws(tiny_server: str, browser: sync_api.Browser, tmp_path: Path) -> None:
    shots = tmp_path  # screenshots to look at after a failure
    for name, family in TINY.items():
        with browser_tab(browser, 900) as (page, errors):
            page.goto(f"{tiny_server}/?ckpt={quote('hf/' + name, safe='')}&text={quote(TEXT)}")
            page.wait_for_function(
                "() => { const s = window.__attnviz?.store.get(); return s && s.rawDoc && s.status === 'ready'; }",
                timeout=60_000,
            )
            options = page.locator('[data-testid="run-select"] option').all_inner_texts()
            assert all(any(o.startswith(f"hf/{n}") for o in options) for n in TINY), options
            doc = page.evaluate(SUMMARY)
            assert sorted(doc["kinds"]) == sorted(KINDS[family]) and doc["tgt"] > 0 and doc["special"]
            for kind in KINDS[family]:
                assert page.get_by_test_id(f"kind-{kind}").count() == 1
            assert page.get_by_test_id("model-view-canvas").count() == 2 * 4
            page.screenshot(path=str(shots / f"{name}-1440.png"))
            assert errors == [], errors
