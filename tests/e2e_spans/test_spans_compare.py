"""Spans and a second text in a real Chromium against the real server and the real tiny copy run:
shift-click and drag tokens into a span and read its summed / averaged weights in the hover readout
(reference values: numpy on the attention document the server returns), the span in the URL, and a
second text compared in the diff view (a difference where the tokens align, side by side where they
do not)."""

from __future__ import annotations

import re
from typing import Any

import httpx
import numpy as np
import pytest
from playwright.sync_api import Page, expect

from tests.browser import Server, cell_point, hover_cell, open_app, readout_value, thumbnail_pixels, url_params, wait_drawn

pytestmark = pytest.mark.browser

COPY = "copy/ckpt_epoch3.pt"
TOL = 0.006  # float16 on the wire, three digits in the readout


def weights(base: str, text: str, kind: str = "encoder_self") -> tuple[np.ndarray, dict[str, Any]]:
    r = httpx.post(f"{base}/api/attention", json={"checkpoint": COPY, "text": text}, timeout=30)
    r.raise_for_status()
    doc: dict[str, Any] = r.json()
    return np.asarray(doc["attentions"][kind], dtype=np.float64), doc


def shift_click_arc_token(page: Page, role: str, i: int) -> None:
    """Shift-click the i-th query (role "q") or key ("k") label of the arc view, as a user does."""
    box = page.locator(f"[data-view=arcs] svg text.tok-{role}").nth(i).bounding_box()
    assert box
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.keyboard.down("Shift")
    page.mouse.click(x, y)
    page.keyboard.up("Shift")


@pytest.mark.parametrize("viewport", [{"width": 1440, "height": 900}, {"width": 1280, "height": 720}])
def test_shift_click_and_drag_make_a_span_whose_weights_are_summed_keys_and_averaged_queries(
    server: Server, new_page: Any, viewport: dict[str, int]
) -> None:
    page = new_page(viewport=viewport)
    open_app(page, server.url, f"/?ckpt={COPY}&text=hello", drawn=True)
    w, doc = weights(server.url, "hello")
    assert doc["tokens"]["src"] == ["h", "e", "l", "l", "o", "<eos>"]
    a = w[0, 0]  # the focused head: layer 0, head 0
    status = page.get_by_test_id("span-status")

    # shift-click 'e' then the second 'l' among the queries: tokens 1-3 read as one
    shift_click_arc_token(page, "q", 1)
    expect(status).to_contain_text("source token 1 'e'")
    shift_click_arc_token(page, "q", 3)
    expect(status).to_have_text(re.compile(r"^Span 'ell' \(source 1–3\) as one token: keys summed, queries averaged$"))
    assert url_params(page)["span"] == "src:1-4"
    expect(page.get_by_test_id("focus-heatmap-canvas")).to_have_attribute("aria-label", re.compile("4 queries by 4 keys$"))
    expect(page.get_by_test_id("tokens-src").locator("span.tok")).to_have_text(["h", "ell", "o", "<eos>"])
    # the span as a key: 'h' → 'ell' is the sum of h's weights on e, l, l
    hover_cell(page, 0, 1)
    assert readout_value(page) == pytest.approx(a[0, 1:4].sum(), abs=TOL)
    # the span as a query: 'ell' → '<eos>' is the mean of the three rows' weights on <eos>
    hover_cell(page, 1, 3)
    assert readout_value(page) == pytest.approx(a[1:4, 5].mean(), abs=TOL)
    # the model view draws the merged heads too: one pixel per cell, 4 × 4
    px = thumbnail_pixels(page, 1, 2)
    assert (len(px), len(px[0])) == (4, 4)

    # the link reproduces the span
    again = new_page(viewport=viewport)
    open_app(again, server.url, f"/?ckpt={COPY}&text=hello&span=src:1-4", drawn=True)
    expect(again.get_by_test_id("tokens-src").locator("span.tok")).to_have_text(["h", "ell", "o", "<eos>"])

    # clear it, then drag across the heatmap's columns: a key span of 'h', 'e', 'l'
    page.get_by_test_id("span-clear").click()
    expect(page.get_by_test_id("tokens-src").locator("span.tok")).to_have_count(6)
    hover_cell(page, 4, 0)
    page.mouse.down()
    hover_cell(page, 4, 2)
    page.mouse.up()
    expect(status).to_contain_text("Span 'hel' (source 0–2)")
    assert url_params(page)["span"] == "src:0-3"
    # 'o' → 'hel': the sum of o's weights on h, e, l
    hover_cell(page, 2, 0)
    assert readout_value(page) == pytest.approx(a[4, 0:3].sum(), abs=TOL)

    # drag from one key label of the arc view to another: 'l', 'o', '<eos>' read as one
    page.get_by_test_id("span-clear").click()
    expect(page.get_by_test_id("tokens-src").locator("span.tok")).to_have_count(6)
    labels = page.locator("[data-view=arcs] svg text.tok-k")
    ends = [labels.nth(i).bounding_box() for i in (3, 5)]
    assert ends[0] and ends[1]
    page.mouse.move(ends[0]["x"] + ends[0]["width"] / 2, ends[0]["y"] + ends[0]["height"] / 2)
    page.mouse.down()
    page.mouse.move(ends[1]["x"] + ends[1]["width"] / 2, ends[1]["y"] + ends[1]["height"] / 2, steps=4)
    page.mouse.up()
    expect(status).to_contain_text("Span 'lo<eos>' (source 3–5)")
    assert url_params(page)["span"] == "src:3-6"


@pytest.mark.parametrize("viewport", [{"width": 1440, "height": 900}, {"width": 1280, "height": 720}])
def test_a_second_text_is_compared_cell_by_cell_where_it_aligns_and_side_by_side_where_not(
    server: Server, new_page: Any, viewport: dict[str, int]
) -> None:
    page = new_page(viewport=viewport)
    open_app(page, server.url, f"/?ckpt={COPY}&text=hello", drawn=True)
    a = weights(server.url, "hello")[0][0, 0]
    b = weights(server.url, "hallo")[0][0, 0]

    page.get_by_test_id("compare-toggle").click()
    box = page.get_by_test_id("text2-input")
    expect(box).to_have_value("hello")  # the first text, to edit
    box.fill("hallo")
    box.press("Enter")
    diff = page.get_by_test_id("diff-view")
    expect(diff).to_be_visible()
    message = page.get_by_test_id("diff-message")
    expect(message).to_have_text("The texts align (6 tokens each), edited at 1 'e' → 'a': A − B cell by cell.")
    assert url_params(page)["text2"] == "hallo"
    expect(page.get_by_test_id("diff-d-canvas")).to_be_visible()
    # the difference cell (0, 1): 'h' → 'e' in A, 'h' → 'a' in B
    page.mouse.move(*cell_point(page, "diff-d-canvas", 0, 1, 6, 6))
    readout = page.get_by_test_id("diff-readout")
    expect(readout).to_contain_text("A ")
    m = re.search(r"A ([0-9.e-]+) · B ([0-9.e-]+) · A − B ([+−])([0-9.e-]+)", readout.inner_text())
    assert m, readout.inner_text()
    assert float(m.group(1)) == pytest.approx(a[0, 1], abs=TOL)
    assert float(m.group(2)) == pytest.approx(b[0, 1], abs=TOL)
    d = float(m.group(4)) * (1 if m.group(3) == "+" else -1)
    assert d == pytest.approx(a[0, 1] - b[0, 1], abs=2 * TOL)

    # every head of the difference, the model view of the comparison: 2 layers x 4 heads; a click
    # focuses a head, and B, the same head of the second text, follows
    expect(page.get_by_test_id("compare-heads-d").locator("canvas")).to_have_count(8)
    page.get_by_test_id("compare-thumb-1-2").click()
    expect(page.locator("[data-view=heatmap] h2")).to_have_text("Layer 1 · Head 2")
    expect(diff.locator(".diff-pane-b .diff-pane-title")).to_have_text("B · L1 · H2 · “hallo”")
    assert url_params(page)["diff"] == "1.2"
    page.get_by_test_id("compare-thumb-0-0").click()

    # one more character: the tokens no longer line up
    box.fill("hellos")
    box.press("Enter")
    expect(message).to_have_text(
        "The two texts do not align (A has 6 tokens, B 7): a difference needs the same number of tokens,"
        " equal except where a token was edited. Shown side by side only."
    )
    expect(page.get_by_test_id("diff-d-canvas")).to_be_hidden()
    expect(page.get_by_test_id("diff-b-canvas")).to_be_visible()
    expect(diff.locator(".diff-pane-b .diff-pane-title")).to_have_text("B · L0 · H0 · “hellos”")
    expect(page.get_by_test_id("compare-heads-d")).to_have_count(0)
    expect(page.get_by_test_id("compare-heads-a").locator("canvas")).to_have_count(8)
    expect(page.get_by_test_id("compare-heads-b").locator("canvas")).to_have_count(8)

    # a link with the second text opens the comparison
    again = new_page(viewport=viewport)
    open_app(again, server.url, f"/?ckpt={COPY}&text=hello&text2=hallo", drawn=True)
    expect(again.get_by_test_id("diff-message")).to_contain_text("The texts align (6 tokens each)")
    wait_drawn(again)

    # closing stops comparing
    page.get_by_test_id("text2-close").click()
    expect(diff).to_be_hidden()
    assert "text2" not in url_params(page)
