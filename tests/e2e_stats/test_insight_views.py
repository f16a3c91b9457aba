"""Insight views in a real browser against the real server and real tiny checkpoints: the head
statistics table, model-view colouring / ordering by a statistic, the mean / rollout pseudo-heads,
the diff view and the expected-alignment overlay. Reference values come from numpy on the same
attention document the server returns."""

from __future__ import annotations

import re
from typing import Any

import httpx
import numpy as np
import pytest
from playwright.sync_api import Page, expect

from tests.browser import Server, cell_point, hover_cell, open_app, readout_value, shown, url_params, wait_drawn

pytestmark = pytest.mark.browser

COPY2 = "copy/ckpt_epoch2.pt"
COPY1 = "copy/ckpt_epoch1.pt"
SORT1 = "sort/ckpt_epoch1.pt"


def open_at(page: Page, base: str, query: str) -> None:
    open_app(page, base, f"/?{query}", drawn=True)


def attention(base: str, ckpt: str, text: str) -> dict[str, Any]:
    r = httpx.post(f"{base}/api/attention", json={"checkpoint": ckpt, "text": text}, timeout=30)
    r.raise_for_status()
    doc: dict[str, Any] = r.json()
    return doc


def weights(doc: dict[str, Any], kind: str) -> np.ndarray:
    return np.asarray(doc["attentions"][kind], dtype=np.float64)


def cell_value(page: Page, q: int, k: int) -> float:
    """The weight the readout shows with the mouse over cell (q, k) of the focus heatmap."""
    hover_cell(page, q, k)
    return readout_value(page)


def column(page: Page, key: str) -> list[str]:
    idx = page.eval_on_selector_all(
        "table.stats thead th button", f"(bs) => bs.findIndex(b => b.dataset.testid === 'stats-col-{key}')"
    )
    assert idx >= 0
    values: list[str] = page.eval_on_selector_all(
        "table.stats tbody tr", f"(rows) => rows.map(r => r.children[{idx}].textContent)"
    )
    return values


def row_ids(page: Page) -> list[str]:
    ids: list[str] = page.eval_on_selector_all("table.stats tbody tr", "(rows) => rows.map(r => r.dataset.testid)")
    return ids


def test_stats_table_one_row_per_head_sorts_and_focuses(page: Page, server: Server) -> None:
    text = "hello"
    open_at(page, server.url, f"ckpt={COPY2}&text={text}&aside=stats")
    doc = attention(server.url, COPY2, text)
    a = weights(doc, "encoder_self")  # [L, H, n, n]
    layers, heads, _n, _ = a.shape
    expect(page.get_by_test_id("stats-table")).to_be_visible()
    expect(page.get_by_test_id("arc-view")).to_be_hidden()
    assert len(row_ids(page)) == layers * heads
    assert row_ids(page)[0] == "stats-row-0-0"

    # entropy in nats, against numpy on the server's document (the table shows 2 decimals)
    ent = -(np.where(a > 0, a * np.log(np.where(a > 0, a, 1)), 0)).sum(-1).mean(-1)  # [L, H]
    shown_ent = dict(zip(row_ids(page), column(page, "entropy"), strict=True))
    for layer in range(layers):
        for h in range(heads):
            assert abs(float(shown_ent[f"stats-row-{layer}-{h}"]) - ent[layer, h]) < 0.006
    diag = np.einsum("lhii->lhi", a).mean(-1)
    shown_diag = dict(zip(row_ids(page), column(page, "diagonal"), strict=True))
    assert all(
        abs(float(shown_diag[f"stats-row-{lay}-{h}"]) - diag[lay, h]) < 0.006 for lay in range(layers) for h in range(heads)
    )

    # sorting: first click descending, second ascending; the row order follows the values
    page.get_by_test_id("stats-col-entropy").click()
    assert url_params(page)["sort"] == "-entropy"
    desc_ids = row_ids(page)
    vals = [float(v) for v in column(page, "entropy")]
    assert vals == sorted(vals, reverse=True)
    expected_desc = sorted(
        ((ent[lay, h], f"stats-row-{lay}-{h}") for lay in range(layers) for h in range(heads)), key=lambda x: -x[0]
    )
    assert desc_ids[0] == expected_desc[0][1]
    page.get_by_test_id("stats-col-entropy").click()
    assert url_params(page)["sort"] == "entropy"
    asc_ids = row_ids(page)
    assert [float(v) for v in column(page, "entropy")] == sorted(vals)
    assert asc_ids != desc_ids

    # a row click focuses the head; the table keeps its sort across a reload (URL)
    page.get_by_test_id("stats-row-1-0").click()
    s = shown(page)  # the heatmap's title names a real head ("Layer 1 · Head 0"), not a mean or rollout
    assert (s["title"], s["layer"], s["head"]) == ("Layer 1 · Head 0", 1, 0)
    expect(page.get_by_test_id("stats-row-1-0")).to_have_class(re.compile(r"\bselected\b"))
    page.reload()
    wait_drawn(page)
    assert row_ids(page) == asc_ids

    # the offset-k column follows k
    page.get_by_test_id("stats-offset").fill("1")
    page.get_by_test_id("stats-offset").dispatch_event("change")
    assert url_params(page)["offset"] == "1"
    expect(page.get_by_test_id("stats-col-offset")).to_contain_text("Off +1")


def grid_png(page: Page) -> bytes:
    shot: bytes = page.locator("#model-view .mv-grid").screenshot()
    return shot


def test_model_view_colours_and_orders_heads_by_a_statistic(page: Page, server: Server) -> None:
    open_at(page, server.url, f"ckpt={COPY2}&text=hello")
    before = grid_png(page)
    page.get_by_test_id("mv-stat").select_option("diagonal")
    assert url_params(page)["mvstat"] == "diagonal"
    colours = page.eval_on_selector_all(".mv-grid .thumb:not(.agg)", "(ts) => ts.map(t => getComputedStyle(t).boxShadow)")
    assert all("rgb" in c for c in colours)
    assert grid_png(page) != before

    # order: within each layer, the head in the first column has the highest diagonal score
    doc = attention(server.url, COPY2, "hello")
    diag = np.einsum("lhii->lhi", weights(doc, "encoder_self")).mean(-1)
    unordered = grid_png(page)
    page.get_by_test_id("mv-order").check()
    assert url_params(page)["mvorder"] == "1"
    for layer in range(diag.shape[0]):
        cols = page.eval_on_selector_all(
            f"[data-testid^='model-view-{layer}-']:not(.agg)",
            "(ts) => ts.map(t => [Number(t.dataset.testid.split('-').pop()), Number(t.style.gridColumn)])",
        )
        by_col = [h for h, _ in sorted(cols, key=lambda x: x[1])]
        assert by_col == sorted(range(diag.shape[1]), key=lambda h: (-diag[layer, h], h))
    if any(list(np.argsort(-diag[layer], kind="stable")) != list(range(diag.shape[1])) for layer in range(diag.shape[0])):
        assert grid_png(page) != unordered


def test_mean_and_rollout_pseudo_heads_focus_and_restore_from_url(page: Page, server: Server) -> None:
    text = "hello"
    open_at(page, server.url, f"ckpt={COPY2}&text={text}")
    a = weights(attention(server.url, COPY2, text), "encoder_self")
    layers, _, n, _ = a.shape
    mean = a.mean(1)
    roll = np.eye(n)
    rollouts = []
    for layer in range(layers):
        t = 0.5 * mean[layer] + 0.5 * np.eye(n)
        roll = (t / t.sum(-1, keepdims=True)) @ roll
        rollouts.append(roll)

    page.get_by_test_id("model-view-1-mean").click()
    assert url_params(page)["agg"] == "mean" and url_params(page)["layer"] == "1"
    expect(page.locator("#focus-heatmap h2")).to_have_text("L1 · mean of heads")
    expect(page.get_by_test_id("model-view-1-mean")).to_have_class(re.compile(r"\bselected\b"))
    for q, k in [(0, 0), (2, 3), (n - 1, 1)]:
        assert abs(cell_value(page, q, k) - mean[1, q, k]) < 0.006

    open_at(page, server.url, f"ckpt={COPY2}&text={text}&layer=1&agg=rollout")
    expect(page.locator("#focus-heatmap h2")).to_have_text("Rollout through L1")
    expect(page.get_by_test_id("model-view-1-rollout")).to_have_class(re.compile(r"\bselected\b"))
    for q, k in [(0, 0), (1, 4), (n - 1, n - 1)]:
        assert abs(cell_value(page, q, k) - rollouts[1][q, k]) < 0.006

    # rollout exists for the encoder only: on cross-attention the focus falls back to the mean
    page.get_by_test_id("kind-cross").click()
    expect(page.locator("#focus-heatmap h2")).to_have_text("L1 · mean of heads")
    expect(page.get_by_test_id("model-view-0-rollout")).to_have_count(0)
    # arrow keys go back to real heads (once the focus has left the kind tabs, whose arrows switch tabs)
    page.evaluate("() => document.activeElement.blur()")
    page.locator("body").press("ArrowLeft")
    assert shown(page)["layer"] is not None, shown(page)["title"]  # "Layer L · Head H": a real head


def canvas_stats(page: Page, testid: str) -> dict[str, float]:
    js = """(id) => {
      const c = document.querySelector(`[data-testid="${id}"]`);
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let white = 0, coloured = 0, magenta = 0;
      for (let i = 0; i < d.length; i += 4) {
        const [r, g, b, a] = [d[i], d[i+1], d[i+2], d[i+3]];
        if (a < 200) continue;
        if (r > 240 && g > 240 && b > 240) white++; else coloured++;
        if (r > 200 && g < 40 && b > 90 && b < 160) magenta++;
      }
      return {w: c.width, h: c.height, white, coloured, magenta};
    }"""
    out: dict[str, float] = page.evaluate(js, testid)
    return out


def test_diff_view_draws_a_b_and_difference_and_restores_from_url(page: Page, server: Server) -> None:
    text = "hello"
    open_at(page, server.url, f"ckpt={COPY2}&text={text}&layer=1&head=0")
    a = weights(attention(server.url, COPY2, text), "encoder_self")
    page.get_by_test_id("diff-toggle").click()
    assert url_params(page)["diff"] == "1.1"
    expect(page.get_by_test_id("diff-view")).to_be_visible()
    expect(page.get_by_test_id("focus-heatmap")).to_be_hidden()
    for pane in ("diff-a-canvas", "diff-b-canvas", "diff-d-canvas"):
        st = canvas_stats(page, pane)
        assert st["w"] > 100 and st["coloured"] > 1000, (pane, st)
    n = a.shape[-1]
    page.mouse.move(*cell_point(page, "diff-a-canvas", 1, 2, n, n))
    ro = page.get_by_test_id("diff-readout").inner_text()
    m = re.search(r"A ([0-9.e-]+) · B ([0-9.e-]+) · A − B ([+−])([0-9.e-]+)", ro)
    assert m, ro
    assert abs(float(m.group(1)) - a[1, 0, 1, 2]) < 0.006 and abs(float(m.group(2)) - a[1, 1, 1, 2]) < 0.006
    d = (1 if m.group(3) == "+" else -1) * float(m.group(4))
    assert abs(d - (a[1, 0, 1, 2] - a[1, 1, 1, 2])) < 0.011

    # B from another checkpoint is the same head as A (what training changed), not the next one
    page.get_by_test_id("diff-b-ckpt").select_option(COPY1)
    expect(page.locator(".diff-pane-b .diff-pane-title")).to_contain_text(f"L1 · H0 · {COPY1}", timeout=15000)
    assert url_params(page)["diff"] == "1.0" and url_params(page)["diffckpt"] == COPY1
    # back to this document: B is another head again (A − A would be empty)
    page.get_by_test_id("diff-b-ckpt").select_option("")
    page.wait_for_function("() => new URLSearchParams(location.search).get('diff') === '1.1'")

    # B = A: the difference is 0 everywhere (white)
    page.get_by_test_id("diff-b-head").select_option("0")
    assert url_params(page)["diff"] == "1.0"
    expect(page.locator(".diff-pane-d .diff-pane-title")).to_contain_text("max |A − B| = 0")

    # restored from the URL: B = mean of layer 0 of another checkpoint (same text), fetched by the page
    open_at(page, server.url, f"ckpt={COPY2}&text={text}&diff=0.mean&diffckpt={COPY1}")
    expect(page.locator(".diff-pane-b .diff-pane-title")).to_contain_text(f"L0 · mean of heads · {COPY1}", timeout=15000)
    assert page.get_by_test_id("diff-b-ckpt").input_value() == COPY1
    assert canvas_stats(page, "diff-d-canvas")["coloured"] > 0
    out1 = attention(server.url, COPY1, text)
    out2 = attention(server.url, COPY2, text)
    msg = page.get_by_test_id("diff-message")
    if out1["tokens"]["tgt"] != out2["tokens"]["tgt"]:
        page.get_by_test_id("kind-cross").click()
        expect(msg).to_contain_text("token sequences differ")
    # a B that does not exist is refused with a reason
    open_at(page, server.url, f"ckpt={COPY2}&text={text}&diff=7.0")
    expect(msg).to_contain_text("there is no layer 7")
    page.get_by_test_id("diff-close").click()
    assert "diff" not in url_params(page)
    expect(page.get_by_test_id("focus-heatmap")).to_be_visible()


def wait_for_magenta(page: Page) -> None:
    """Until the expected-alignment outline (magenta) is on the focus heatmap."""
    page.wait_for_function(
        "(n) => { const c = document.querySelector('[data-testid=focus-heatmap-canvas]');"
        " const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let m = 0;"
        " for (let i = 0; i < d.length; i += 4)"
        "   if (d[i+3] >= 200 && d[i] > 200 && d[i+1] < 40 && d[i+2] > 90 && d[i+2] < 160) m++;"
        " return m > n; }",
        arg=20,
    )


def test_expected_alignment_overlay_toggles(page: Page, server: Server) -> None:
    open_at(page, server.url, f"ckpt={SORT1}&text=cabba&kind=cross")
    before = canvas_stats(page, "focus-heatmap-canvas")
    assert before["magenta"] == 0
    page.get_by_test_id("align-toggle").check()
    assert url_params(page)["align"] == "1"
    wait_for_magenta(page)
    on = canvas_stats(page, "focus-heatmap-canvas")
    assert on["magenta"] > 20
    # restored from the URL, off again by the toggle
    page.reload()
    wait_drawn(page)
    assert page.get_by_test_id("align-toggle").is_checked()
    assert canvas_stats(page, "focus-heatmap-canvas")["magenta"] > 20
    page.get_by_test_id("align-toggle").uncheck()
    assert canvas_stats(page, "focus-heatmap-canvas")["magenta"] == 0
    # decoder self-attention has no expected alignment: said so, nothing drawn
    page.get_by_test_id("align-toggle").check()
    page.get_by_test_id("kind-decoder_self").click()
    expect(page.locator(".insight-bar .check")).to_have_class(re.compile(r"\bunavailable\b"))
    assert canvas_stats(page, "focus-heatmap-canvas")["magenta"] == 0
