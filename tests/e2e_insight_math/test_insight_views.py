"""Insight views in a real browser against a real server: attention over training (one request,
scrub and play without requests), the math step-through (KaTeX, the API's numbers, q·k on hover),
decoding steps (top-5 per step), head ablation (the request and the output change), each restored
from the URL."""

from __future__ import annotations

import json
import math
import re
from typing import Any

import pytest
from playwright.sync_api import Page, Request, expect

from tests.browser import assert_no_request, open_app, settled_url, shown, wait_drawn

pytestmark = pytest.mark.browser

RUN = "copy"
LAST = "copy/ckpt_epoch3.pt"


def api_requests(page: Page) -> list[Request]:
    reqs: list[Request] = []
    page.on("request", lambda r: reqs.append(r) if "/api/attention" in r.url or "/api/timeline" in r.url else None)
    return reqs


def open_at(page: Page, query: str) -> None:
    open_app(page, "", query, drawn=True)  # the page's base_url is the server


def epoch_shown(page: Page, epoch: int) -> None:
    """The output panel names the shown document's epoch ("task copy · epoch 2 · ...")."""
    expect(page.locator(".output-panel .meta")).to_contain_text(re.compile(rf"\bepoch {epoch}\b"))


def scrub(page: Page, i: int) -> None:
    """Drag the timeline's scrubber to epoch index ``i`` (an input event, as the slider sends)."""
    page.get_by_test_id("timeline-scrubber").evaluate(f"el => {{ el.value = '{i}'; el.dispatchEvent(new Event('input')); }}")


def fmt(v: float) -> str:
    s = f"{v:.2f}"
    s = "0.00" if s == "-0.00" else s
    return s.replace("-", "−")


def test_timeline_one_request_scrub_and_play(page: Page) -> None:
    reqs = api_requests(page)
    open_at(page, f"?ckpt={LAST}&text=abca&kind=cross&layer=1&head=0&insight=timeline")
    cards = page.locator("[data-testid^=timeline-multiple-]")
    cards.nth(2).wait_for()
    assert cards.count() == 3
    assert [c.get_attribute("data-testid") for c in cards.all()] == [f"timeline-multiple-{e}" for e in (1, 2, 3)]
    for acc in page.locator("[data-testid=timeline-accuracy]").all():
        assert acc.inner_text().endswith("%")
    assert page.locator("[data-testid=timeline-multiple-3]").get_attribute("class") == "tl-card current"
    assert len([r for r in reqs if r.url.endswith("/api/timeline")]) == 1
    body = json.loads(next(r for r in reqs if r.url.endswith("/api/timeline")).post_data or "{}")
    assert body == {"run": RUN, "text": "abca", "encoding": "float16", "snapshots": True}  # snapshots: issue 16
    n = len(reqs)

    # scrubbing repaints the shown document (model view, heatmap, output) from the fetched epochs
    scrub(page, 0)
    epoch_shown(page, 1)
    assert shown(page)["ckpt"] == "copy/ckpt_epoch1.pt"
    assert "ckpt=copy%2Fckpt_epoch1.pt" in settled_url(page)
    assert page.locator("[data-testid=timeline-label]").inner_text().startswith("epoch 1 / 3")
    assert "current" in (page.locator("[data-testid=timeline-multiple-1]").get_attribute("class") or "")
    # the timeline's bench part times a scrub's synchronous repaint (a measurement: ms, >= 0)
    assert page.evaluate("() => window.__attnviz.timeline.scrubTo(1)") >= 0
    epoch_shown(page, 2)

    page.locator("[data-testid=timeline-play]").click()
    epoch_shown(page, 3)
    expect(page.get_by_test_id("timeline-play")).to_contain_text("Play")
    # no request while scrubbing or playing: none follows within the auto-run's window either
    assert_no_request(page, lambda r: "/api/attention" in r.url or "/api/timeline" in r.url, 400)
    assert len(reqs) == n, [r.url for r in reqs[n:]]

    # restored from the URL: a scrubbed epoch and the open timeline
    scrub(page, 0)
    reqs.clear()
    page.reload()
    page.wait_for_function("() => document.documentElement.dataset.ready === '1'")
    page.locator("[data-testid=timeline-multiple-1].current").wait_for()
    expect(page.get_by_test_id("insight-tab-timeline")).to_have_attribute("aria-pressed", "true")
    assert page.locator("[data-testid=timeline-scrubber]").input_value() == "0"
    assert len([r for r in reqs if r.url.endswith("/api/timeline")]) == 1


def math_api(page: Page, kind: str, layer: int, head: int, text: str = "abca") -> dict[str, Any]:
    body = {"checkpoint": LAST, "text": text, "kind": kind, "layer": layer, "head": head}
    result: dict[str, Any] = page.request.post("/api/attention/math", data=body).json()
    return result


def test_math_view_formulas_numbers_and_hover(page: Page) -> None:
    open_at(page, f"?ckpt={LAST}&text=abca&kind=decoder_self&layer=1&head=1&insight=math&mq=2")
    page.locator("[data-testid=math-table-weights]").wait_for()
    assert page.locator(".katex").count() >= 8  # one formula per step, plus the worked softmax
    page.evaluate("() => document.fonts.ready")
    assert page.evaluate("() => document.fonts.check('16px KaTeX_Main') && document.fonts.check('16px KaTeX_Math')")
    assert page.evaluate("() => [...document.fonts].some(f => f.family.includes('KaTeX') && f.status === 'loaded')")

    m = math_api(page, "decoder_self", 1, 1)
    w = m["tensors"]["weights"]["data"]
    mask = m["tensors"]["mask"]["data"]
    cells = page.locator("[data-testid=math-table-weights] tbody tr").all()
    assert len(cells) == len(w)
    for i, tr in enumerate(cells):
        tds = tr.locator("td").all()
        for j, td in enumerate(tds):
            if mask[i][j]:
                assert float(td.get_attribute("data-v") or "nan") == pytest.approx(w[i][j], abs=1e-9)
                assert td.inner_text() == fmt(w[i][j])
            else:  # after the softmax a masked key's weight is exactly 0
                assert td.inner_text() == "0" and w[i][j] == 0
    # the chosen query row is highlighted in every query-row table
    for table in ("q", "qk", "scaled", "masked", "weights", "output"):
        assert page.locator(f"[data-testid=math-table-{table}] tr.qrow").get_attribute("data-r") == "2"
    q = m["tensors"]["q"]["data"]
    assert page.locator("[data-testid=math-table-q] tbody tr[data-r='2'] td").first.inner_text() == fmt(q[2][0])
    out = m["tensors"]["output"]["data"]
    assert page.locator("[data-testid=math-table-wsum] tr.sum td").nth(1).inner_text() == fmt(out[2][0])

    # hovering a weight writes out q·k term by term and ÷√d_k
    page.locator("[data-testid=math-table-weights] tbody tr[data-r='2'] td[data-c='1']").hover()
    tip = page.locator("[data-testid=math-tooltip]")
    tip.wait_for()
    k = m["tensors"]["k"]["data"]
    dot = sum(a * b for a, b in zip(q[2], k[1], strict=True))
    text = tip.inner_text()
    assert f"q·k = {fmt(q[2][0])}×" in text.replace("(", "").replace(")", "")
    assert f"= {fmt(dot)}; ÷√{m['d_k']} = {fmt(dot / math.sqrt(m['d_k']))}" in text
    assert f"softmax → {fmt(w[2][1])}" in text
    # linked to the other views: the cell's two target tokens light up in the token row
    lit = page.locator("[data-testid=tokens-tgt] span.tok.lit")
    expect(lit).to_have_count(2)
    assert [lit.nth(i).get_attribute("title") for i in range(2)] == ["target token 1", "target token 2"]

    # clicking a row steps through another query; reload restores the view
    page.locator("[data-testid=math-table-weights] tbody tr[data-r='0'] th").click()
    assert page.locator("[data-testid=math-table-weights] tr.qrow").get_attribute("data-r") == "0"
    page.locator("[data-testid=math-query-1]").click()
    assert "mq=1" in settled_url(page) and page.locator("[data-testid=math-table-weights] tr.qrow").get_attribute("data-r") == "1"
    page.reload()
    page.locator("[data-testid=math-table-weights] tr.qrow[data-r='1']").wait_for()

    # the other two kinds
    for kind in ("encoder_self", "cross"):
        page.get_by_test_id(f"kind-{kind}").click()
        page.get_by_test_id("model-view-0-0").click()
        word = kind.split("_")[0]
        h2 = "document.querySelector('[data-testid=math-view] h2').textContent"
        page.wait_for_function(f"() => {h2}.includes('layer 0 · head 0') && {h2}.toLowerCase().includes('{word}')")
        mk = math_api(page, kind, 0, 0)
        first = page.locator("[data-testid=math-table-weights] tbody tr[data-r='0'] td").first
        assert float(first.get_attribute("data-v") or "nan") == pytest.approx(mk["tensors"]["weights"]["data"][0][0], abs=1e-9)
        assert page.locator("[data-testid=math-table-masked] td.masked").count() == 0


def test_decoding_steps_top5(page: Page) -> None:
    open_at(page, f"?ckpt={LAST}&text=abca&kind=cross&layer=1&insight=steps&step=1")
    doc = page.request.post("/api/attention", data={"checkpoint": LAST, "text": "abca"}).json()
    steps = doc["steps"]
    strip = page.locator("[data-testid^=decode-step-]")
    strip.first.wait_for()
    assert strip.count() == len(steps) == len(doc["tokens"]["tgt"])
    assert "current" in (page.locator("[data-testid=decode-step-1]").get_attribute("class") or "")
    for st in steps:
        page.locator(f"[data-testid=decode-step-{st['t']}]").click()
        items = page.locator("[data-testid=decode-top-item]")
        assert items.count() == 5
        shown = [float(x.get_attribute("data-p") or "nan") for x in page.locator("[data-testid=decode-top-item] .ds-p").all()]
        assert shown == pytest.approx([p["p"] for p in st["top"]], abs=2e-3)  # float16-free: rounded to 4 decimals
        assert "chosen" in (items.first.get_attribute("class") or "")
        # the attention rows used for this step: masked past t in decoder self-attention
        bars = page.locator("[data-testid=decode-row-decoder-self] .ds-bar")
        assert bars.count() == len(doc["tokens"]["tgt"])
        masked = page.locator("[data-testid=decode-row-decoder-self] .ds-bar.masked")
        assert masked.count() == len(doc["tokens"]["tgt"]) - st["t"] - 1
        assert page.locator("[data-testid=decode-row-cross] .ds-bar").count() == len(doc["tokens"]["src"])
    page.locator("[data-testid=decode-step-2]").click()
    assert "step=2" in settled_url(page)
    page.reload()
    page.locator("[data-testid=decode-step-2].current").wait_for()


def test_ablation_changes_the_request_and_the_output(page: Page) -> None:
    reqs = api_requests(page)
    open_at(page, f"?ckpt={LAST}&text=abca&kind=cross&layer=1&head=0")
    page.locator("[data-testid=ablate-toggle]").click()
    wait_drawn(page, "abca", ablate="cross:1.0")
    bodies = [json.loads(r.post_data or "{}") for r in reqs if r.url.endswith("/api/attention")]
    assert bodies[0].get("ablate") is None
    assert {"kind": "cross", "layer": 1, "head": 0} in [a for b in bodies for a in b.get("ablate", [])]
    assert "ablate=cross%3A1.0" in settled_url(page)
    assert page.locator("[data-testid=ablate-chip]").inner_text().startswith("cross L1·H0")
    assert "ablated" in (page.locator("[data-testid=model-view-1-0]").get_attribute("class") or "")
    assert "ablated" not in (page.locator("[data-testid=model-view-1-1]").get_attribute("class") or "")
    # the focused head's heatmap (all zeros now) says it is switched off; another head does not
    expect(page.get_by_test_id("ablated-note")).to_contain_text("Switched off: layer 1 · head 0")
    page.get_by_test_id("model-view-1-1").click()
    expect(page.get_by_test_id("ablated-note")).to_be_hidden()
    page.get_by_test_id("model-view-1-0").click()
    expect(page.get_by_test_id("ablated-note")).to_be_visible()

    one_head = [{"kind": "cross", "layer": 1, "head": 0}]
    ablated = page.request.post("/api/attention", data={"checkpoint": LAST, "text": "abca", "ablate": one_head}).json()
    intact = page.request.post("/api/attention", data={"checkpoint": LAST, "text": "abca"}).json()
    assert shown(page)["doc"]["output"] == ablated["output"]
    page.locator("[data-testid=ablation-original]").filter(has_text=intact["output"]).wait_for()
    now = page.locator("[data-testid=ablation-output]").inner_text()
    assert f"“{ablated['output']}”" in now and now.endswith("✓" if ablated["output"] == ablated["expected"] else "✗")
    assert page.locator("[data-testid=output] code.out-text").first.inner_text() == ablated["output"]  # the output panel

    # a second head, then reload: restored from the URL and sent again
    page.get_by_test_id("kind-encoder_self").click()
    page.get_by_test_id("model-view-0-1").click()
    page.locator("[data-testid=ablate-toggle]").click()
    wait_drawn(page, "abca", ablate="encoder_self:0.1,cross:1.0")
    assert "ablate=encoder_self%3A0.1%2Ccross%3A1.0" in settled_url(page)  # the URL reloaded below
    reqs.clear()
    page.reload()
    wait_drawn(page, "abca", ablate="encoder_self:0.1,cross:1.0")
    sent = [json.loads(r.post_data or "{}") for r in reqs if r.url.endswith("/api/attention")]
    assert sent[0]["ablate"] == [{"kind": "encoder_self", "layer": 0, "head": 1}, {"kind": "cross", "layer": 1, "head": 0}]
    assert page.locator("[data-testid=ablate-chip]").count() == 2
    # switching them back on: the intact model again
    for _ in range(2):
        page.locator("[data-testid=ablate-chip] button").first.click()
    wait_drawn(page, "abca", ablate="")
    assert "ablate=" not in settled_url(page)
    assert shown(page)["doc"]["output"] == intact["output"]


def test_the_timeline_strip_follows_the_selected_card(new_page: Any, tmp_path: Any) -> None:
    """A run with snapshots has dozens of cards: scrubbing (or playing) scrolls the strip so the
    selected card is in view, sideways only."""
    from attnviz.train import train
    from tests.browser import serve_app
    from tests.conftest import tiny_config

    train(tiny_config(tmp_path / "runs" / "snap", epochs=2, n_train=1200, snapshot_every=4), progress=False)
    with serve_app(tmp_path / "runs", tmp_path / "server.log") as srv:
        page = new_page(viewport={"width": 1280, "height": 720})
        open_app(page, srv.url, "?ckpt=snap&text=abca&insight=timeline", drawn=True)
        strip = page.locator(".tl-strip")
        cards = page.locator(".tl-card")
        expect(cards.first).to_be_visible()
        n = cards.count()
        assert n > 20 and page.evaluate(
            "() => { const s = document.querySelector('.tl-strip'); return s.scrollWidth > s.clientWidth; }"
        )
        page_y = page.evaluate("() => window.scrollY")
        for i in (0, n // 2, n - 1, 3):
            page.get_by_test_id("timeline-scrubber").evaluate(
                f"el => {{ el.value = '{i}'; el.dispatchEvent(new Event('input')); }}"
            )
            current = page.locator(f".tl-card.current[data-index='{i}']")
            expect(current).to_have_count(1)
            box, card = strip.bounding_box(), current.bounding_box()
            assert box and card and card["x"] >= box["x"] - 1 and card["x"] + card["width"] <= box["x"] + box["width"] + 1, (
                i,
                box,
                card,
            )
        assert page.evaluate("() => window.scrollY") == page_y
        # a snapshot is its run's model between epochs: the timeline stays open on it, the run picked
        expect(page.get_by_test_id("insight-tab-timeline")).to_have_attribute("aria-pressed", "true")
        assert page.get_by_test_id("run-select").input_value() == "snap"
