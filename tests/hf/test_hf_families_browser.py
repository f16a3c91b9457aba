"""Each Hugging Face family in a real Chromium through a real uvicorn: listed in the picker, its
document drawn (tiny local models; needs the built front end)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from playwright.sync_api import expect

from tests.browser import Server, display_token, shown, wait_drawn

from .tiny_models import TINY

pytest.importorskip("transformers")

pytestmark = pytest.mark.browser

TEXT = "the cat sat on the mat"
KINDS = {"decoder": ["decoder_self"], "encoder-decoder": ["encoder_self", "decoder_self", "cross"]}
UNKNOWN = ("[UNK]", "<unk>", "<UNK>")  # real text the vocabulary lacks: never hidden (lib/special.ts)
TABS = "els => els.map(e => e.dataset.testid.replace(/^kind-/, ''))"


def test_each_family_is_in_the_picker_and_its_document_draws(tiny_server: Server, new_page: Any) -> None:
    switch_shown = []
    for name, family in TINY.items():
        page = new_page()  # a fresh tab per model (its screenshot is kept in test-artifacts/hf)
        asked: list[Any] = []
        page.on("request", lambda r, asked=asked: asked.append(r.post_data_json) if r.url.endswith("/api/attention") else None)
        page.goto(f"{tiny_server.url}/?ckpt={quote('hf/' + name, safe='')}&text={quote(TEXT)}")
        wait_drawn(page, TEXT, f"hf/{name}", timeout=60_000)
        options = page.locator('[data-testid="run-select"] option').all_inner_texts()
        assert all(any(o.startswith(f"hf/{n}") for o in options) for n in TINY), options
        # one tab per kind of attention, and the tokens of the document the API sends for the request
        kinds = page.eval_on_selector_all('[role=tab][data-testid^="kind-"]', TABS)
        assert sorted(kinds) == sorted(KINDS[family]), kinds
        doc = tiny_server.api("/api/attention", asked[-1], timeout=60).json()
        drawn = shown(page)["doc"]
        assert len(drawn["tgt"]) > 0 and drawn["tgt"] == [display_token(t) for t in doc["tokens"]["tgt"]]
        # the document names the model's special tokens, and the page hides exactly those: its
        # switch is offered when one of them is among the tokens drawn, naming them
        special = doc["special_tokens"]
        assert special, doc.get("special_tokens")
        present = list(dict.fromkeys(t for t in doc["tokens"]["src"] + doc["tokens"]["tgt"] if t in special and t not in UNKNOWN))
        switch = page.get_by_test_id("hide-special")
        assert switch.is_visible() == bool(present), (name, present)
        if present:
            expect(page.locator(".special-toggle label span")).to_have_text(f"Hide {' '.join(present[:3])}")
            switch_shown.append(name)
        for kind in KINDS[family]:
            assert page.get_by_test_id(f"kind-{kind}").count() == 1
        assert page.get_by_test_id("model-view-canvas").count() == 2 * 4
    assert switch_shown, "no tiny model drew one of its special tokens"
