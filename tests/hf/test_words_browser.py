""" "Group sub-words into words" in a real Chromium through a real uvicorn: MiniLM's WordPiece pieces
(``##``) merged into words, their weights read in the hover readout against numpy on the document
the API returns (keys summed, queries averaged); not offered for a character-level toy model."""

from __future__ import annotations

import re
import unicodedata
from typing import Any
from urllib.parse import quote

import numpy as np
import pytest
from playwright.sync_api import expect

from tests.browser import Server, decode_weights, hover_cell, open_app, readout_value, url_params, wait_drawn

from .conftest import MINILM

pytest.importorskip("transformers")

pytestmark = pytest.mark.browser

TEXT = "Tokenization helps embeddings"
TOL = 0.006


@pytest.mark.parametrize("viewport", [{"width": 1440, "height": 900}, {"width": 1280, "height": 720}])
def test_wordpiece_pieces_group_into_words(hf_server: Server, new_page: Any, viewport: dict[str, int]) -> None:
    page = new_page(viewport=viewport)
    asked: list[Any] = []
    page.on("request", lambda r: asked.append(r.post_data_json) if r.url.endswith("/api/attention") else None)
    page.goto(f"{hf_server.url}/?ckpt={quote(MINILM, safe='')}&text={quote(TEXT)}")
    wait_drawn(page, TEXT, MINILM, timeout=60_000)
    doc = hf_server.api("/api/attention", asked[-1], timeout=60).json()
    # what the tokenizer makes of it: two words in pieces
    assert doc["tokens"]["src"] == ["[CLS]", "token", "##ization", "helps", "em", "##bed", "##ding", "##s", "[SEP]"]
    a = decode_weights(doc, "encoder_self")[0, 0].astype(np.float64)

    chips = page.get_by_test_id("tokens-src").locator("span.tok")
    toggle = page.get_by_test_id("words-toggle")
    expect(toggle).not_to_be_checked()
    toggle.check()
    expect(chips).to_have_text(["[CLS]", "tokenization", "helps", "embeddings", "[SEP]"])
    # a merged word longer than the arcs' label column is cut with an ellipsis, inside the panel,
    # and says itself in full on hover
    page.locator("[data-view=arcs] svg text.tok-q").nth(3).wait_for()
    panel = page.get_by_test_id("arc-view").bounding_box()
    for label in page.locator("[data-view=arcs] svg text").all():
        box = label.bounding_box()
        assert box and panel["x"] <= box["x"] and box["x"] + box["width"] <= panel["x"] + panel["width"], label.text_content()
    labels = page.locator("[data-view=arcs] svg text.tok-q")
    words = labels.evaluate_all("els => els.map((e) => e.firstChild.nodeValue)")  # the label, not its <title>
    titles = labels.evaluate_all("els => els.map((e) => e.querySelector('title')?.textContent ?? null)")
    assert [t for t in titles if t] == [
        full for w, full in zip(words, ["[CLS]", "tokenization", "helps", "embeddings", "[SEP]"], strict=True) if w != full
    ]
    assert all(
        w == full or (w.endswith("…") and full.startswith(w[:-1]))
        for w, full in zip(words, ["[CLS]", "tokenization", "helps", "embeddings", "[SEP]"], strict=True)
    ), words
    expect(page.get_by_test_id("words-rule")).to_have_text("(keys summed, queries averaged)")
    assert url_params(page)["words"] == "1"
    expect(page.get_by_test_id("focus-heatmap-canvas")).to_have_attribute("aria-label", re.compile("5 queries by 5 keys$"))
    # [CLS] → embeddings: the sum of [CLS]'s weights on em ##bed ##ding ##s
    hover_cell(page, 0, 3)
    assert readout_value(page) == pytest.approx(a[0, 4:8].sum(), abs=TOL)
    # embeddings → helps: the mean of the four pieces' weights on helps
    hover_cell(page, 3, 2)
    assert readout_value(page) == pytest.approx(a[4:8, 3].mean(), abs=TOL)
    # with [CLS] / [SEP] hidden too, the words stay merged
    page.get_by_test_id("hide-special").check()
    expect(chips).to_have_text(["tokenization", "helps", "embeddings"])
    # a span over merged words takes whole words: shift-click 'helps' then 'embeddings' (query side)
    for i in (1, 2):
        box = page.locator("[data-view=arcs] svg text.tok-q").nth(i).bounding_box()
        assert box
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        page.mouse.move(x, y)
        page.keyboard.down("Shift")
        page.mouse.click(x, y)
        page.keyboard.up("Shift")
    expect(chips).to_have_text(["tokenization", "helps embeddings"])
    assert url_params(page)["span"] == "src:3-8"


def test_words_are_not_offered_for_characters(hf_server: Server, new_page: Any) -> None:
    page = new_page()
    open_app(page, hf_server.url, "/?ckpt=copy/ckpt_epoch1.pt&text=hello", drawn=True)
    expect(page.get_by_test_id("span-bar")).to_be_visible()
    expect(page.get_by_test_id("words-toggle")).to_be_hidden()


def test_bpe_pieces_group_into_words(tiny_server: Server, new_page: Any) -> None:
    """GPT-2's byte-level BPE (the tiny gpt2, tokenizer trained here): a word starts at a ``Ġ``
    piece (shown ``␣`` in the document, backend hf.py), the pieces after it without one continue it."""
    text = "the cats attended homework"
    page = new_page()
    asked: list[Any] = []
    page.on("request", lambda r: asked.append(r.post_data_json) if r.url.endswith("/api/attention") else None)
    page.goto(f"{tiny_server.url}/?ckpt={quote('hf/gpt2-tiny', safe='')}&text={quote(text)}")
    wait_drawn(page, text, "hf/gpt2-tiny", timeout=60_000)
    doc = tiny_server.api("/api/attention", asked[-1], timeout=60).json()
    tokens = doc["tokens"]["tgt"]

    # the words, from the space marks: each a run of pieces opened by one; special tokens and
    # punctuation (the random model generates some) stand alone
    def alone(t: str) -> bool:
        return t in doc["special_tokens"] or all(unicodedata.category(c)[0] in "PS" for c in t)

    words: list[list[int]] = []
    for i, t in enumerate(tokens):
        if t.startswith("␣") or not words or alone(t) or alone(tokens[i - 1]):
            words.append([i])
        else:
            words[-1].append(i)
    assert any(len(w) > 1 for w in words), tokens  # this text has words in pieces
    a = decode_weights(doc, "decoder_self")[0, 0].astype(np.float64)

    chips = page.get_by_test_id("tokens-tgt").locator("span.tok")
    page.get_by_test_id("words-toggle").check()
    expect(chips).to_have_text(["".join(tokens[i] for i in w) for w in words])
    expect(page.get_by_test_id("words-rule")).to_have_text("(keys summed, queries averaged)")
    # the last word's row: the mean of its pieces' rows; its weight on the first word: their sum over its pieces
    last, first = words[-1], words[0]
    hover_cell(page, len(words) - 1, 0)
    assert readout_value(page) == pytest.approx(a[np.ix_(last, first)].sum(axis=1).mean(), abs=TOL)
