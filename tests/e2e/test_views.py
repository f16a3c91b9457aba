"""The views a student uses: model view, focus heatmap, kind tabs, token arcs, linked hover."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest
from playwright.sync_api import expect

from tests.browser import (
    Server,
    canvas_stats,
    decode_weights,
    decoded_weights,
    displayed_weight,
    format_weight,
    heatmap_cells,
    hover_cell,
    open_app,
    pixel_at,
    settled_url,
    shown,
    thumbnail_pixels,
    wait_drawn,
)

pytestmark = pytest.mark.browser


def is_attention(r: Any) -> bool:
    return bool(r.url.endswith("/api/attention") and r.method == "POST")


def type_text(page: Any, text: str) -> dict[str, Any]:
    """Type ``text`` into the input like a person; return the body of the request the page sent for
    the whole text (the first key runs at once, so earlier requests carry a prefix)."""
    box = page.get_by_test_id("text-input")
    box.fill("")
    # the first keystroke runs at once ("a"), the rest coalesce: the request for the whole text
    with page.expect_request(lambda r: is_attention(r) and (r.post_data_json or {}).get("text") == text) as req:
        box.press_sequentially(text)
    wait_drawn(page, text)
    body: dict[str, Any] = req.value.post_data_json
    return body


@pytest.fixture
def typed(page: Any, server: Server) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    """The app after typing "abcba": (page, the request it sent, the API's document for it)."""
    # the default checkpoint and sample text, shown at boot; a URL naming a view key (here the
    # default kind) opens that view instead of the landing lesson step
    open_app(page, server.url, "/?kind=encoder_self", drawn=True)
    body = type_text(page, "abcba")
    res = server.api("/api/attention", body)
    assert res.status_code == 200, res.text
    doc: dict[str, Any] = res.json()
    assert len(doc["tokens"]["tgt"]) >= 3, f"the tiny model should emit a few characters (see tiny_config): {doc['output']!r}"
    return page, body, doc


def test_typed_text_draws_every_head_and_the_focus_cells(typed: tuple[Any, dict[str, Any], dict[str, Any]]) -> None:
    page, body, doc = typed
    assert body["text"] == "abcba" and body["encoding"] == "float16"
    assert body["checkpoint"] == "copy/ckpt_epoch3.pt"  # the newest epoch of the first run
    enc = decode_weights(doc, "encoder_self")
    n_layers, n_heads, nq, nk = enc.shape
    assert (n_layers, n_heads) == (2, 4) and nq == nk == len(doc["tokens"]["src"]) == 6

    thumbs = page.locator("button.thumb:not(.agg)")
    expect(thumbs).to_have_count(n_layers * n_heads)
    for layer in range(n_layers):
        for head in range(n_heads):
            st = canvas_stats(page.get_by_test_id(f"model-view-{layer}-{head}"))
            assert (st["width"], st["height"]) == (nk, nq)
            assert st["opaque"] == nq * nk, f"thumbnail {layer}-{head} has unpainted cells: {st}"
            assert st["colours"] >= 2, f"thumbnail {layer}-{head} is one flat colour: {st}"

    canvas = page.get_by_test_id("focus-heatmap-canvas")
    assert canvas.get_attribute("aria-label") == f"Encoder self-attention, layer 0 head 0: {nq} queries by {nk} keys"
    assert canvas_stats(canvas)["colours"] >= 8
    # every query × key cell is on screen, painted in the colour of its weight (same colour map as
    # the model view's one-pixel-per-cell thumbnail of the focused head)
    cells = heatmap_cells(page)
    assert len(cells["ys"]) == nq and len(cells["xs"]) == nk
    thumb = thumbnail_pixels(page, 0, 0)
    for q, y in enumerate(cells["ys"]):
        for k, x in enumerate(cells["xs"]):
            assert pixel_at(page, "[data-testid=focus-heatmap-canvas]", x, y) == thumb[q][k], (q, k)


def test_hovered_cell_shows_the_api_value(typed: tuple[Any, dict[str, Any], dict[str, Any]]) -> None:
    page, _, doc = typed
    enc = decode_weights(doc, "encoder_self")
    src = doc["tokens"]["src"]
    for q, k in [(0, 0), (1, 3), (5, 2), (4, 5)]:
        text = hover_cell(page, q, k)
        assert text == f"'{src[q]}' → '{src[k]}': {format_weight(float(enc[0, 0, q, k]))}"
    expect(page.get_by_test_id("focus-heatmap")).to_have_attribute("aria-label", text)
    # another head: click its thumbnail, then hover
    page.get_by_test_id("model-view-1-2").click()
    expect(page.locator("[data-view=heatmap] h2")).to_have_text("Layer 1 · Head 2")
    assert displayed_weight(hover_cell(page, 2, 4)) == format_weight(float(enc[1, 2, 2, 4]))


def test_kind_tabs_and_masked_decoder_cells(typed: tuple[Any, dict[str, Any], dict[str, Any]]) -> None:
    page, _, doc = typed
    src, tgt = doc["tokens"]["src"], doc["tokens"]["tgt"]
    dec = decode_weights(doc, "decoder_self")
    cross = decode_weights(doc, "cross")
    canvas = page.get_by_test_id("focus-heatmap-canvas")
    for kind in ("encoder_self", "decoder_self", "cross"):
        expect(page.get_by_test_id(f"kind-{kind}")).to_be_visible()

    page.get_by_test_id("kind-decoder_self").click()
    expect(page.get_by_test_id("kind-decoder_self")).to_have_attribute("aria-selected", "true")
    expect(canvas).to_have_attribute(
        "aria-label", f"Decoder self-attention (masked), layer 0 head 0: {len(tgt)} queries by {len(tgt)} keys"
    )
    assert shown(page)["kind"] == "decoder_self"
    assert hover_cell(page, 0, len(tgt) - 1) == f"'{tgt[0]}' → '{tgt[-1]}': masked"  # a future position
    last = len(tgt) - 1
    assert hover_cell(page, last, 0) == f"'{tgt[last]}' → '{tgt[0]}': {format_weight(float(dec[0, 0, last, 0]))}"
    expect(page.locator("#focus-heatmap .legend")).to_contain_text("masked (future position)")
    # thumbnails of the decoder are drawn with their masked triangle too (every cell painted)
    st = canvas_stats(page.get_by_test_id("model-view-1-3"))
    assert (st["width"], st["height"], st["opaque"]) == (len(tgt), len(tgt), len(tgt) ** 2)

    page.get_by_test_id("kind-cross").click()
    expect(canvas).to_have_attribute("aria-label", f"Cross-attention, layer 0 head 0: {len(tgt)} queries by {len(src)} keys")
    assert hover_cell(page, 1, 2) == f"'{tgt[1]}' → '{src[2]}': {format_weight(float(cross[0, 0, 1, 2]))}"


def test_thumbnail_click_focuses_head_and_arrow_keys_move(typed: tuple[Any, dict[str, Any], dict[str, Any]]) -> None:
    page, _, _ = typed
    title = page.locator("[data-view=heatmap] h2")
    page.get_by_test_id("model-view-0-1").click()
    expect(page.get_by_test_id("model-view-0-1")).to_have_attribute("aria-selected", "true")
    expect(title).to_have_text("Layer 0 · Head 1")
    assert (shown(page)["layer"], shown(page)["head"]) == (0, 1)

    for key, expected in [("ArrowRight", (0, 2)), ("ArrowDown", (1, 2)), ("ArrowLeft", (1, 1)), ("ArrowUp", (0, 1))]:
        page.keyboard.press(key)
        s = shown(page)
        assert (s["layer"], s["head"]) == expected, f"after {key}"
        expect(title).to_have_text(f"Layer {expected[0]} · Head {expected[1]}")
        expect(page.get_by_test_id(f"model-view-{expected[0]}-{expected[1]}")).to_have_attribute("aria-selected", "true")
    # at the edge the focus stays put
    page.keyboard.press("ArrowUp")
    assert (shown(page)["layer"], shown(page)["head"]) == (0, 1)
    # from the page body (no thumbnail focused) too
    page.locator("body").click(position={"x": 5, "y": 890})
    page.keyboard.press("ArrowRight")
    assert (shown(page)["layer"], shown(page)["head"]) == (0, 2)


ARC_TOKEN_JS = """([role, i]) => {
  const svg = document.querySelector('[data-testid=arc-view] svg.arc-labels');
  const r = svg.getBoundingClientRect();
  const t = svg.querySelectorAll(`text.tok-${role}`)[i];
  return {x: r.left + (role === 'q' ? 0.25 : 0.75) * r.width, y: r.top + +t.getAttribute('y')};
}"""


def test_token_arcs_draw_and_hover_isolates_a_token(typed: tuple[Any, dict[str, Any], dict[str, Any]]) -> None:
    page, _, doc = typed
    src = doc["tokens"]["src"]
    base = page.get_by_test_id("arc-canvas")
    overlay = page.locator("[data-testid=arc-view] canvas.arc-overlay")
    page.get_by_test_id("arc-view").click(position={"x": 5, "y": 5})
    assert shown(page)["view"] == "arcs"
    drawn = canvas_stats(base)
    assert drawn["opaque"] > 500 and drawn["colours"] > 4, drawn
    assert canvas_stats(overlay)["opaque"] == 0
    expect(page.locator("[data-testid=arc-view] svg text.tok-q")).to_have_count(6)

    pt = page.evaluate(ARC_TOKEN_JS, ["q", 2])
    page.mouse.move(pt["x"], pt["y"])
    # the hovered token: source token 2 (readout, its chip), in its query column only (one arc label lit)
    expect(page.get_by_test_id("hover-value")).to_have_text(f"'{src[2]}' · source token 2")
    expect(page.locator("[data-testid=tokens-src] span.tok.lit")).to_have_attribute("title", "source token 2")
    expect(page.locator("[data-testid=arc-view] svg text.tok-q").nth(2)).to_have_class(re.compile(r"\blit\b"))
    expect(page.locator("[data-testid=arc-view] svg text.tok-k.lit")).to_have_count(0)
    expect(base).to_have_class("arc-base dimmed")
    lit = canvas_stats(overlay)
    assert lit["opaque"] > 50, lit
    assert lit["opaque"] < drawn["opaque"]  # only that token's lines
    expect(page.locator("[data-testid=arc-view] svg text.lit")).to_have_count(1)
    expect(page.locator("[data-testid=arc-view] svg text.tok-q.lit")).to_have_text(src[2])

    # toggling heads redraws fewer lines; the URL carries the heads
    page.mouse.move(5, 890)
    expect(base).to_have_class("arc-base")
    assert canvas_stats(overlay)["opaque"] == 0
    for h in (1, 2, 3):
        page.get_by_test_id(f"arc-head-{h}").click()
    assert shown(page)["heads"] == [0]
    assert "heads=0" in settled_url(page)
    one = canvas_stats(base)
    assert 0 < one["opaque"] < drawn["opaque"]


def test_hovering_a_token_highlights_it_in_every_view(typed: tuple[Any, dict[str, Any], dict[str, Any]]) -> None:
    page, _, doc = typed
    src = doc["tokens"]["src"]
    chip = page.locator("[data-testid=tokens-src] span.tok").nth(1)
    chip.hover()
    # source token 1 as a whole (no column role): the readout names it, both its arc labels light up
    expect(page.get_by_test_id("hover-value")).to_have_text(f"'{src[1]}' · source token 1")
    expect(chip).to_have_class("tok lit")
    expect(page.locator("[data-testid=tokens-src] span.tok.lit")).to_have_count(1)
    # focus heatmap: row 1 and column 1 labels lit (encoder self-attention: source on both axes)
    expect(page.locator("[data-testid=focus-heatmap] g.labels-q text.lit")).to_have_text(src[1])
    expect(page.locator("[data-testid=focus-heatmap] g.labels-k text.lit")).to_have_text(src[1])
    expect(page.get_by_test_id("hover-value")).to_have_text(f"'{src[1]}' · source token 1")
    # model view: the row and column bands shown on every thumbnail
    bands = page.evaluate(
        "() => [...document.querySelectorAll('.mv-grid button.thumb:not(.agg) .band')].map((b) => getComputedStyle(b).display)"
    )
    assert len(bands) == 2 * 8 and all(d != "none" for d in bands), bands
    # arc view: the token's labels lit and its lines on the overlay
    expect(page.locator("[data-testid=arc-view] svg text.lit")).to_have_count(2)
    assert canvas_stats(page.locator("[data-testid=arc-view] canvas.arc-overlay"))["opaque"] > 0

    # a cell of the heatmap lights its two tokens in the token rows
    hover_cell(page, 3, 0)
    lit = page.locator("[data-testid=tokens-src] span.tok.lit")
    expect(lit).to_have_count(2)
    assert [lit.nth(i).get_attribute("title") for i in range(2)] == ["source token 0", "source token 3"]
    page.mouse.move(5, 890)
    expect(page.locator("[data-testid=tokens-src] span.tok.lit")).to_have_count(0)


def test_api_document_matches_what_page_decoded(typed: tuple[Any, dict[str, Any], dict[str, Any]]) -> None:
    """The page decoded the float16 answer to the same numbers the API gives (all kinds)."""
    page, _, doc = typed
    for kind in ("encoder_self", "decoder_self", "cross"):
        api = decode_weights(doc, kind)
        mine = decoded_weights(page, kind)
        assert mine.shape == api.shape
        np.testing.assert_array_equal(mine, api.astype(np.float32))
