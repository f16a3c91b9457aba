"""What a newcomer meets in the first hour (issue: the front end a newcomer trusts), in headless
Chromium against a real server over the tiny demo runs: examples open their view, open panels are
on screen at 1440×900 and 1280×720, presenter mode fits a projector, the diff legend tells the
truth, errors clear the old result and say what works, links open the view they name."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Page, expect

from tests.browser import ConsoleLog, Server, heatmap_cells, open_app, settled_url, wait_drawn

from ..live_server import REPO
from .conftest import PROJECTOR

pytestmark = pytest.mark.browser

SIZES = [(1440, 900), (1280, 720)]


def query(page: Page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(settled_url(page)).query)


def on_screen(page: Page, testid: str) -> None:
    """The element is inside the viewport, and the page itself does not scroll."""
    box = page.get_by_test_id(testid).bounding_box()
    vw, vh = page.viewport_size["width"], page.viewport_size["height"]  # type: ignore[index]
    assert box and box["y"] >= 0 and box["y"] + box["height"] <= vh + 1 and box["x"] + box["width"] <= vw + 1, (testid, box)
    assert page.evaluate(
        "() => document.documentElement.scrollHeight <= innerHeight && document.documentElement.scrollWidth <= innerWidth"
    )


def test_an_example_opens_the_view_it_names_also_in_presenter_mode(new_page: Callable[..., Any], server: Server) -> None:
    for present in ("", "&present=1"):
        page = new_page(viewport=PROJECTOR)
        open_app(page, f"{server.url}/?ckpt=copy&text=hello&kind=encoder_self&layer=0&head=3{present}", drawn=True, or_error=True)
        page.get_by_test_id("examples-button").click()
        entry = page.get_by_test_id("example-reverse-stressed")
        assert "Cross-attention, layer 1" in entry.inner_text() and "opens cross · L1·H0" in entry.inner_text()
        entry.click()
        wait_drawn(page, or_error=True)
        assert page.get_by_test_id("kind-cross").get_attribute("aria-selected") == "true"
        label = page.get_by_test_id("focus-heatmap-canvas").get_attribute("aria-label")
        assert label and label.startswith("Cross-attention, layer 1 head 0"), label
        q = query(page)
        assert q["kind"] == ["cross"] and q["layer"] == ["1"] and "head" not in q and q["text"] == ["stressed"]


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_every_insight_panel_opens_on_screen(new_page: Callable[..., Any], server: Server, size: tuple[int, int]) -> None:
    page = new_page(viewport={"width": size[0], "height": size[1]})
    open_app(page, f"{server.url}/?ckpt=copy&text=hello&kind=cross", drawn=True, or_error=True)
    for tab, content in (("timeline", "timeline-multiple-1"), ("math", "math-step-qkv"), ("steps", "decode-step-0")):
        page.get_by_test_id(f"insight-tab-{tab}").click()
        assert page.get_by_test_id(f"insight-tab-{tab}").get_attribute("aria-pressed") == "true"
        page.get_by_test_id(content).wait_for(state="visible")
        on_screen(page, "insight-panel")
        # the model view stays beside it, to pick the head the panel shows
        assert page.locator("#model-view").is_visible()
    page.get_by_test_id("insight-tab-steps").click()
    assert not page.get_by_test_id("insight-panel").is_visible()
    assert page.get_by_test_id("focus-heatmap").is_visible()


@pytest.fixture(scope="module")
def twelve_heads(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("docs") / "twelve.json"
    subprocess.run(
        ["node", "scripts/make_sample_doc.mjs", "--layers", "6", "--heads", "12", "--tokens", "128", "--encoder-only",
         "--encoding", "float16", "--out", str(out)],
        cwd=REPO / "frontend", check=True,
    )  # fmt: skip
    return out


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_model_view_of_a_12_head_model_shows_every_head_without_scrolling(
    new_page: Callable[..., Any], server: Server, twelve_heads: Path, size: tuple[int, int]
) -> None:
    page = new_page(viewport={"width": size[0], "height": size[1]})
    open_app(page, f"{server.url}/", drawn=True, or_error=True)
    page.get_by_test_id("file-input").set_input_files(str(twelve_heads))
    page.get_by_test_id("model-view-5-11").wait_for(state="visible")
    body = page.locator("#model-view .panel-body")
    panel = body.bounding_box()
    assert panel
    assert body.evaluate("b => b.scrollWidth <= b.clientWidth"), "the model view scrolls sideways"
    for testid in ("model-view-0-0", "model-view-5-11", "model-view-5-mean", "model-view-5-rollout"):
        box = page.get_by_test_id(testid).bounding_box()
        assert box and box["x"] >= panel["x"] and box["x"] + box["width"] <= panel["x"] + panel["width"] + 0.5, testid
    # every column label fits its column ("mean" and "roll." ran into each other at 16-19 px)
    crowded = page.locator("#model-view .mv-cols span").evaluate_all(
        "spans => spans.filter(s => s.textContent && s.scrollWidth > s.clientWidth + 1).map(s => s.textContent)"
    )
    assert crowded == [], crowded
    # opening the file shows it; it does not run its text on the server's checkpoint
    assert not page.get_by_test_id("error-message").is_visible()
    # 128 tokens do not fit one label per column: the heatmap says its labels are thinned
    assert "of 128" in page.get_by_test_id("labels-thinned").inner_text()
    # enlarged, a 128-token thumbnail gets several times the pixels (previous-token vs diagonal)
    small = page.get_by_test_id("model-view-0-0").bounding_box()
    page.get_by_test_id("mv-zoom").click()
    page.wait_for_function("() => document.querySelector('[data-testid=model-view-0-0]').getBoundingClientRect().width > 60")
    big = page.get_by_test_id("model-view-0-0").bounding_box()
    assert small and big and big["width"] >= 3 * small["width"]
    assert not page.get_by_test_id("focus-heatmap").is_visible()
    assert body.evaluate("b => b.scrollWidth <= b.clientWidth")
    page.get_by_test_id("mv-zoom").click()
    page.get_by_test_id("focus-heatmap").wait_for(state="visible")


def test_presenter_mode_at_1280x720(new_page: Callable[..., Any], server: Server) -> None:
    page = new_page(viewport=PROJECTOR)
    open_app(page, f"{server.url}/?ckpt=sort&text=mississippi&present=1", drawn=True, or_error=True)
    # an 11-letter word fits the input
    assert page.get_by_test_id("text-input").evaluate("e => e.scrollWidth <= e.clientWidth")
    # Examples and Exit presenter do not overlap
    a = page.get_by_test_id("examples-button").bounding_box()
    b = page.get_by_test_id("present-toggle").bounding_box()
    assert a and b and a["x"] + a["width"] <= b["x"], (a, b)
    # the open menu moves with the arrow keys (wrapping, Home / End), over the examples it can load
    page.get_by_test_id("examples-button").click()
    items = page.locator("[data-testid=examples-menu] button.example:not(:disabled)")
    n = items.count()
    assert n >= 2
    page.keyboard.press("ArrowDown")
    expect(items.nth(0)).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(items.nth(1)).to_be_focused()
    page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowUp")
    expect(items.nth(n - 1)).to_be_focused()
    page.keyboard.press("Home")
    expect(items.nth(0)).to_be_focused()
    page.keyboard.press("End")
    expect(items.nth(n - 1)).to_be_focused()
    # Escape closes an open menu first, then leaves presenter mode
    page.keyboard.press("Escape")
    assert not page.get_by_test_id("examples-menu").is_visible()
    assert page.get_by_test_id("present-toggle").get_attribute("aria-pressed") == "true"
    page.keyboard.press("Escape")
    expect(page.get_by_test_id("present-toggle")).to_have_attribute("aria-pressed", "false")
    assert page.locator("#model-view").is_visible()
    assert "present" not in query(page)


def test_the_diff_legend_matches_the_cells(new_page: Callable[..., Any], server: Server) -> None:
    page = new_page(viewport={"width": 1440, "height": 900})
    open_app(page, f"{server.url}/?ckpt=copy&text=hello&kind=encoder_self&layer=0&head=0&diff=0.1", drawn=True, or_error=True)
    note = page.locator(".diff-legend .legend-note").inner_text()
    assert "orange: A larger" in note and "purple: B larger" in note
    canvas = page.get_by_test_id("diff-d-canvas")
    box = canvas.bounding_box()
    assert box
    seen = set()
    # sample the A − B pane on a grid: wherever the readout names a cell, its colour has A − B's sign
    steps = 16
    for i in range(steps):
        for j in range(steps):
            x, y = box["x"] + (j + 0.5) * box["width"] / steps, box["y"] + (i + 0.5) * box["height"] / steps
            page.mouse.move(x, y)
            text = page.get_by_test_id("diff-readout").inner_text()
            if "→" not in text:
                continue
            value = float(text.rsplit("A − B", 1)[1].strip().replace("−", "-").replace("+", ""))
            if abs(value) < 0.05:
                continue
            r, _g, b = canvas.evaluate(
                "(c, [x, y]) => { const r = c.getBoundingClientRect();"
                " return [...c.getContext('2d').getImageData(Math.floor((x - r.left) * c.width / r.width),"
                " Math.floor((y - r.top) * c.height / r.height), 1, 1).data].slice(0, 3); }",
                [x, y],
            )
            colour = "orange" if r > b else "purple"
            assert colour == ("orange" if value > 0 else "purple"), (text, r, b)
            seen.add(colour)
    assert seen == {"orange", "purple"}


def test_a_bad_text_clears_the_old_result_and_says_what_works(new_page: Callable[..., Any], server: Server) -> None:
    page = new_page(viewport={"width": 1440, "height": 900})
    open_app(page, f"{server.url}/?ckpt=copy&text=hello", drawn=True, or_error=True)
    assert page.get_by_test_id("output-verdict").is_visible() and page.get_by_test_id("download-png").is_enabled()
    page.get_by_test_id("text-input").fill("Hello")
    err = page.get_by_test_id("error-message")
    err.wait_for(state="visible")
    text = err.inner_text()
    assert text.startswith("Cannot run this text.") and "'H' at position 0" in text
    assert "Use lower case." in text and "lower-case letters" in text and "digits" in text
    # nothing of the old text is left to mislead: no views, no verdict, no exports
    assert page.get_by_test_id("empty-state").is_visible()
    assert not page.get_by_test_id("output-verdict").is_visible()
    assert not page.get_by_test_id("focus-heatmap").is_visible()
    for b in ("download-png", "download-svg", "download-json"):
        assert page.get_by_test_id(b).is_disabled(), b
    # one click lower-cases it and runs it
    page.get_by_test_id("error-fix-lowercase").click()
    err.wait_for(state="hidden")
    wait_drawn(page, "hello")
    assert page.get_by_test_id("text-input").input_value() == "hello"
    # a character with no lower-case twin the model reads gets no such offer
    page.get_by_test_id("text-input").fill("Hello€")
    err.wait_for(state="visible")
    assert page.get_by_test_id("error-fix-lowercase").count() == 0
    # an emptied input drops the error
    page.get_by_test_id("text-input").fill("")
    err.wait_for(state="hidden")


def test_an_unknown_checkpoint_is_not_called_a_bad_text(
    new_page: Callable[..., Any], server: Server, console: ConsoleLog
) -> None:
    page = new_page(viewport={"width": 1440, "height": 900})
    console.allow(r"404", "the browser logs the 404 response itself; nothing else may go wrong")
    open_app(page, f"{server.url}/?ckpt=gone/ckpt_epoch9.pt&text=hello", drawn=True, or_error=True)
    err = page.get_by_test_id("error-message")
    err.wait_for(state="visible")
    text = err.inner_text()
    assert text.startswith("Cannot use this checkpoint.") and "gone/ckpt_epoch9.pt" in text
    assert "/api" not in text and "Cannot run this text" not in text


def test_links_open_the_view_they_name(new_page: Callable[..., Any], server: Server) -> None:
    page = new_page(viewport={"width": 1440, "height": 900})
    open_app(page, f"{server.url}/?ckpt=copy&text=hello&view=stats", drawn=True, or_error=True)
    assert page.get_by_test_id("stats-table").is_visible() and not page.get_by_test_id("arc-view").is_visible()
    open_app(page, f"{server.url}/?ckpt=copy&text=hello&view=diff", drawn=True, or_error=True)
    page.get_by_test_id("diff-view").wait_for(state="visible")
    page.get_by_test_id("diff-close").click()
    page.get_by_test_id("focus-heatmap").wait_for(state="visible")
    q = query(page)
    assert "view" not in q and "diff" not in q, q


def test_names_match_and_tabs_move_the_focus(new_page: Callable[..., Any], server: Server) -> None:
    page = new_page(viewport={"width": 1440, "height": 900})
    open_app(page, f"{server.url}/?ckpt=copy&text=hello&kind=cross&layer=1&head=0", drawn=True, or_error=True)
    page.get_by_test_id("ablate-toggle").click()
    chip = page.get_by_test_id("ablate-chip")
    chip.wait_for(state="visible")
    assert chip.inner_text().startswith("cross L1·H0")
    assert page.get_by_test_id("arc-mass").get_attribute("min") == "0.05"
    # one-character column labels stand upright ("l" is not rotated into "/"); <eos> slants
    slant = page.evaluate(
        "() => Object.fromEntries([...document.querySelectorAll('[data-testid=focus-heatmap] g.labels-k text')]"
        ".map((t) => [t.textContent, t.getAttribute('transform').includes('rotate')]))"
    )
    assert slant == {"h": False, "e": False, "l": False, "o": False, "<eos>": True}, slant
    assert page.get_by_test_id("labels-thinned").count() == 0
    page.get_by_test_id("kind-encoder_self").focus()
    page.keyboard.press("ArrowRight")
    assert page.evaluate("() => document.activeElement.dataset.testid") == "kind-decoder_self"
    assert page.get_by_test_id("kind-decoder_self").get_attribute("aria-selected") == "true"


def test_an_exported_document_reopens_in_its_view(new_page: Callable[..., Any], server: Server, tmp_path: Path) -> None:
    page = new_page(viewport={"width": 1440, "height": 900})
    open_app(page, f"{server.url}/?ckpt=copy&text=hello&kind=cross&layer=1&head=2&view=arcs", drawn=True, or_error=True)
    with page.expect_download() as dl:
        page.get_by_test_id("download-json").click()
    path = tmp_path / "doc.json"
    dl.value.save_as(path)
    assert parse_qs(json.loads(path.read_text())["view"]) == {"kind": ["cross"], "layer": ["1"], "head": ["2"], "view": ["arcs"]}
    other = new_page(viewport={"width": 1440, "height": 900})
    open_app(other, f"{server.url}/", drawn=True, or_error=True)
    other.get_by_test_id("file-input").set_input_files(str(path))
    other.wait_for_function("() => document.querySelector('[data-testid=kind-cross]')?.getAttribute('aria-selected') === 'true'")
    label = other.get_by_test_id("focus-heatmap-canvas").get_attribute("aria-label")
    assert label and label.startswith("Cross-attention, layer 1 head 2"), label


OUTLINED_CELLS = """([xs, ys]) => {
  const c = document.querySelector('[data-testid=focus-heatmap-canvas]');
  const r = c.getBoundingClientRect(), sx = c.width / r.width, sy = c.height / r.height;
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  const cell = xs.length > 1 ? xs[1] - xs[0] : 20, out = [];
  ys.forEach((y, q) => xs.forEach((x, k) => {
    let n = 0;
    for (let py = Math.floor((y - cell / 2 - r.top) * sy); py < (y + cell / 2 - r.top) * sy; py++)
      for (let px = Math.floor((x - cell / 2 - r.left) * sx); px < (x + cell / 2 - r.left) * sx; px++) {
        const i = (py * c.width + px) * 4;
        if (d[i] > 180 && d[i] - d[i + 1] > 80 && d[i + 2] - d[i + 1] > 40 && d[i] > d[i + 2]) n++;  // #e4007c, anti-aliased
      }
    if (n > cell) out.push([q, k]);
  }));
  return out;
}"""


def test_expected_alignment_stays_on_its_cells_with_special_tokens_hidden(
    new_page: Callable[..., Any], trained_server: Server
) -> None:
    page = new_page(viewport={"width": 1440, "height": 900})
    # the session's copy run really copies (the demo stand-ins write almost nothing, so a decoder
    # side long enough to check needs it); copy: decoder token t predicts output t, from source t
    open_app(page, f"{trained_server.url}/?ckpt=copy&text=hello&kind=cross&layer=1&align=1", drawn=True, or_error=True)
    cells = heatmap_cells(page)
    rows = len(cells["ys"])  # <bos> + what the tiny model wrote
    assert rows >= 3 and len(cells["xs"]) == 6
    assert page.evaluate(OUTLINED_CELLS, [cells["xs"], cells["ys"]]) == [[q, q] for q in range(min(rows, 6))]
    # hidden <bos>/<eos>: row q is the decoder token that predicts output q + 1, from source q + 1
    page.get_by_test_id("hide-special").check()
    page.wait_for_function("() => document.querySelectorAll('[data-testid=focus-heatmap] g.labels-k text').length === 5")
    cells = heatmap_cells(page)
    hidden_rows = len(cells["ys"])
    assert hidden_rows >= 2
    assert page.evaluate(OUTLINED_CELLS, [cells["xs"], cells["ys"]]) == [[q, q + 1] for q in range(hidden_rows) if q + 1 < 5]


@pytest.mark.parametrize("kind", ["cross", "decoder_self"])
def test_the_math_step_through_renders_special_tokens_and_masked_weights(
    new_page: Callable[..., Any], trained_server: Server, kind: str
) -> None:
    page = new_page(viewport=PROJECTOR)
    open_app(page, f"{trained_server.url}/?ckpt=copy&text=hello&kind={kind}&insight=math", drawn=True, or_error=True)
    page.get_by_test_id("math-table-weights").wait_for(state="visible")
    # the default query is <bos>: KaTeX draws it, no red error text
    assert page.get_by_test_id("math-view").locator(".katex-error").count() == 0
    assert "<bos>" in page.get_by_test_id("math-view").inner_text()
    # after the softmax a masked weight is 0, not −∞ (the scores keep −∞)
    weights = page.get_by_test_id("math-table-weights").locator("td.masked").all_inner_texts()
    scores = page.get_by_test_id("math-table-masked").locator("td.masked").all_inner_texts()
    if kind == "decoder_self":
        assert weights and set(weights) == {"0"} and set(scores) == {"−∞"}
    else:
        assert weights == [] and scores == []
    # nothing is cut off at a card's edge; a matrix that scrolls says so
    clipped = page.evaluate(
        """() => [...document.querySelectorAll('[data-testid=math-view] .mstep')].flatMap((card) => {
             const r = card.getBoundingClientRect();
             return [...card.querySelectorAll('.mprose, .mx-note')]
               .filter((p) => p.getBoundingClientRect().right > r.right + 0.5 || p.scrollWidth > p.clientWidth + 1)
               .map((p) => p.textContent);
           })"""
    )
    assert clipped == []
    page.wait_for_function(
        "() => [...document.querySelectorAll('.mx-wrap')]"
        ".every((w) => (w.scrollWidth > w.clientWidth + 1) === w.classList.contains('scrolls'))"
    )


def test_a_decoder_only_document_shows_its_one_kind(new_page: Callable[..., Any], server: Server, tmp_path: Path) -> None:
    """Decoder-only documents (tokens.tgt + decoder_self, no encoder keys) open with their kind
    selected; what needs the model again (Training, Math, ablation) is disabled for a file."""
    n = 5
    weights = [[[[1 / (q + 1) if k <= q else 0.0 for k in range(n)] for q in range(n)] for _ in range(2)]]
    doc = {
        "schema_version": 1, "checkpoint": None, "model": {}, "input": "the cat", "output": " sat on",
        "tokens": {"tgt": ["the", " cat", " sat", " on", "<|endoftext|>"]}, "special_tokens": ["<|endoftext|>"],
        "attentions": {"decoder_self": weights},
    }  # fmt: skip
    path = tmp_path / "decoder.json"
    path.write_text(json.dumps(doc))
    page = new_page(viewport={"width": 1440, "height": 900})
    open_app(page, f"{server.url}/?ckpt=copy&text=hello&kind=cross", drawn=True, or_error=True)
    page.get_by_test_id("file-input").set_input_files(str(path))
    page.get_by_test_id("kind-decoder_self").wait_for(state="visible")
    assert page.get_by_test_id("kind-decoder_self").get_attribute("aria-selected") == "true"
    assert page.get_by_test_id("kind-cross").count() == 0 and page.get_by_test_id("kind-encoder_self").count() == 0
    assert page.get_by_test_id("tokens-src").count() == 0 and page.get_by_test_id("tokens-tgt").is_visible()
    label = page.get_by_test_id("focus-heatmap-canvas").get_attribute("aria-label")
    assert label and label.startswith("Decoder self-attention (masked), layer 0 head 0: 5 queries by 5 keys"), label
    for tab in ("timeline", "math"):
        assert page.get_by_test_id(f"insight-tab-{tab}").get_attribute("aria-disabled") == "true"
    assert page.get_by_test_id("ablate-toggle").is_disabled()
    page.get_by_test_id("hide-special").check()
    page.wait_for_function("() => document.querySelectorAll('[data-testid=focus-heatmap] g.labels-k text').length === 4")
    assert not page.get_by_test_id("error-message").is_visible()
