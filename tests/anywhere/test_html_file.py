"""The single HTML file opened from ``file://`` in Chromium with every non-local host unresolvable:
every view painted, hover linking, no console error, no request but the file itself; the
`attnviz html` CLI end to end; the page's own "Download HTML" button."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from playwright.sync_api import expect

import attnviz
from attnviz.html import DOCUMENT_ID, KATEX_IDS

from ..browser import canvas_stats, decode_weights, format_weight, hover_cell, open_app, serve_app, wait_drawn
from ..browser import shown as read_shown
from ..conftest import TinyRun
from .conftest import Tab, clipped_text, run_cli

pytestmark = pytest.mark.browser


def softmax(shape: tuple[int, ...], seed: int) -> np.ndarray:
    w = np.random.default_rng(seed).random(shape) ** 4 + 1e-3
    return w / w.sum(-1, keepdims=True)


def open_file(tab: Tab, path: Path) -> dict[str, Any]:
    open_app(tab.page, path.as_uri(), drawn=True)
    s = read_shown(tab.page)  # the file's own checkpoint is the drawn one (no picker lists it)
    d = s["doc"]
    return {
        "status": s["status"],
        "input": d["input"],
        "ckpt": d["checkpoint"],
        "src": d["src"],
        "tgt": d["tgt"],
        "error": s["error"],
    }


def embedded_document(path: Path) -> dict[str, Any]:
    html = path.read_text(encoding="utf-8")
    m = re.search(rf'<script type="application/json" id="{DOCUMENT_ID}">(.*?)</script>', html, re.S)
    assert m, "no embedded document"
    doc: dict[str, Any] = json.loads(m.group(1))
    return doc


def assert_only_the_file(tab: Tab, path: Path) -> None:
    # blob: URLs are the page's own memory (KaTeX is imported from one when the math view opens)
    assert [u for u in tab.requests if not u.startswith("blob:")] == [path.as_uri()], tab.requests


def assert_main_views_painted(page: Any, layers: int, heads: int, nq: int, nk: int) -> None:
    for layer in range(layers):
        for head in range(heads):
            st = canvas_stats(page.get_by_test_id(f"model-view-{layer}-{head}"))
            assert (st["width"], st["height"], st["opaque"]) == (nk, nq, nq * nk), (layer, head, st)
            assert st["colours"] >= 2
    assert canvas_stats(page.get_by_test_id("focus-heatmap-canvas"))["colours"] >= 8
    assert canvas_stats(page.get_by_test_id("arc-canvas"))["opaque"] > 0


@pytest.fixture(scope="module")
def array_file(single_file_build: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray]:
    """attnviz.save_html of a plain [layers, heads, q, k] array (no server, no checkpoint)."""
    w = softmax((2, 3, 5, 5), seed=1)
    path = attnviz.save_html(w, tmp_path_factory.mktemp("file") / "heads.html", tokens=["The", "cat", "sat", "on", "mats"])
    return path, w


def test_array_file_paints_every_view_offline(array_file: tuple[Path, np.ndarray], new_tab: Any) -> None:
    path, w = array_file
    tab = new_tab()
    page = tab.page
    shown = open_file(tab, path)
    assert shown["src"] == ["The", "cat", "sat", "on", "mats"] and shown["status"] == "ready" and shown["error"] is None
    assert_main_views_painted(page, 2, 3, 5, 5)
    # each view drew the document once: their first size report, frames later, redraws nothing
    renders = page.evaluate(
        "() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(() => requestAnimationFrame("
        "() => done({ ...window.__attnviz.timings.renders })))))"
    )
    # mounted empty, then the document (the closed diff view has nothing to draw either time)
    assert (renders["model"], renders["heatmap"], renders["arcs"]) == (2, 2, 2) and renders["diff"] <= 2, renders
    # the server's controls are gone; the text is read-only
    expect(page.get_by_test_id("run-button")).to_be_hidden()
    expect(page.get_by_test_id("run-select")).to_be_hidden()
    box = page.get_by_test_id("text-input")
    expect(box).to_have_attribute("readonly", "")
    # ...and does not look like a box to type in: no border, no field background, says why on hover
    looks = box.evaluate("(el) => { const s = getComputedStyle(el); return [s.borderTopColor, s.backgroundColor, s.cursor]; }")
    assert looks == ["rgba(0, 0, 0, 0)", "rgba(0, 0, 0, 0)", "default"], looks
    title = box.get_attribute("title") or ""
    assert "saved with" in title and title.startswith(f"“{box.input_value()}”"), title  # the whole text, however wide
    # the hovered cell shows the embedded weight
    doc = embedded_document(path)
    enc = decode_weights(doc, "encoder_self")
    np.testing.assert_allclose(enc, w, atol=1e-3)
    assert hover_cell(page, 1, 3) == f"'cat' → 'on': {format_weight(float(enc[0, 0, 1, 3]))}"
    # hover linking: a token lights its labels in the heatmap and the arcs, and its bands in the model view
    page.mouse.move(5, 890)
    page.locator("[data-testid=tokens-src] span.tok").nth(2).hover()
    expect(page.locator("[data-testid=focus-heatmap] g.labels-q text.lit")).to_have_text("sat")
    expect(page.locator("[data-testid=arc-view] svg text.lit")).to_have_count(2)
    # head statistics, diff, rollout: client-side views, painted from the file
    page.get_by_test_id("aside-stats").click()
    expect(page.locator("[data-testid^=stats-row-]")).to_have_count(6)
    page.get_by_test_id("diff-toggle").click()
    expect(page.get_by_test_id("diff-view")).to_be_visible()
    assert canvas_stats(page.get_by_test_id("diff-d-canvas"))["opaque"] > 0
    page.get_by_test_id("model-view-1-rollout").click()
    assert canvas_stats(page.get_by_test_id("focus-heatmap-canvas"))["opaque"] > 0
    # the views that need the server can never open in a file: their tabs are left out (not greyed),
    # still saying why to whatever reads the page
    for name in ("timeline", "math", "train"):
        tab_button = page.get_by_test_id(f"insight-tab-{name}")
        expect(tab_button).to_be_hidden()
        expect(tab_button).to_have_attribute("aria-disabled", "true")
        expect(tab_button).to_have_attribute("title", re.compile("needs the attnviz server"))
    expect(page.get_by_test_id("insight-tab-steps")).to_be_hidden()  # an encoder writes no output
    assert_only_the_file(tab, path)


def katex_blocks(html: str) -> list[str]:
    return [i for i in KATEX_IDS if f'<script type="text/plain" id="{i}">' in html]


def test_katex_ships_only_in_a_file_that_embeds_math(
    single_file_build: Path, array_file: tuple[Path, np.ndarray], lesson_file: Path
) -> None:
    """KaTeX typesets the math view only, which a file without embedded math cannot open: such a
    file (save_html, show's page) is written without it, ~560 kB less to parse on every open."""
    template = single_file_build.read_text(encoding="utf-8")
    assert katex_blocks(template) == list(KATEX_IDS)  # the build writes them under these ids
    plain = array_file[0].read_text(encoding="utf-8")
    assert katex_blocks(plain) == []
    assert len(template) - len(plain) > 400_000  # what it saves, less the small document
    assert katex_blocks(lesson_file.read_text(encoding="utf-8")) == list(KATEX_IDS)


def test_cli_lesson_file_embeds_timeline_and_math(lesson_file: Path, tiny_run: TinyRun, new_tab: Any) -> None:
    doc = embedded_document(lesson_file)
    name = f"{tiny_run.dir.name}/ckpt_epoch3.pt"
    assert doc["checkpoint"] == name and doc["input"] == "hello" and doc["encoding"] == "float16"
    tab = new_tab()
    page = tab.page
    shown = open_file(tab, lesson_file)
    assert shown["ckpt"] == name and shown["input"] == "hello"
    # with the run's listing embedded too, the read-only text still says what it is on hover
    assert (page.get_by_test_id("text-input").get_attribute("title") or "").startswith(
        "“hello”: the text this file was saved with"
    )
    enc = doc["attentions"]["encoder_self"]["shape"]
    assert_main_views_painted(page, enc[0], enc[1], enc[2], enc[3])
    # training timeline: one small multiple per epoch, scrubbing shows another epoch's document
    page.get_by_test_id("insight-tab-timeline").click()
    expect(page.locator("[data-testid=timeline-multiples] canvas")).to_have_count(tiny_run.config.epochs)
    expect(page.get_by_test_id("embedded-note-timeline")).to_have_count(0)
    page.locator("[data-testid=timeline-multiples] canvas").first.click()
    wait_drawn(page, ckpt=f"{tiny_run.dir.name}/ckpt_epoch1.pt")
    page.locator("[data-testid=timeline-multiples] canvas").last.click()
    wait_drawn(page, ckpt=name)
    # the math step-through of another head than the default, typeset offline
    page.get_by_test_id("model-view-1-2").click()
    page.get_by_test_id("insight-tab-math").click()
    expect(page.locator("[data-insight=math] .katex").first).to_be_visible()
    expect(page.locator("[data-insight=math]")).to_contain_text("layer 1 · head 2")
    # typeset in KaTeX's own fonts, from the file (inert text until the view opened)
    page.wait_for_function("() => [...document.fonts].some((f) => f.family === 'KaTeX_Main' && f.status === 'loaded')")
    html = lesson_file.read_text(encoding="utf-8")
    module = re.search(r'<script type="module"[^>]*>(.*?)</script>', html, re.S)
    assert module and "KaTeX parse error" not in module.group(1)  # not parsed when the file opens
    assert_only_the_file(tab, lesson_file)


def test_cli_document_in_document_out(tiny_doc: dict[str, Any], single_file_build: Path, tmp_path: Path, new_tab: Any) -> None:
    src = tmp_path / "doc.json"
    src.write_text(json.dumps(tiny_doc), encoding="utf-8")
    out = tmp_path / "sub" / "doc.html"
    done = run_cli("--document", str(src), "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert embedded_document(out) == tiny_doc
    tab = new_tab()
    assert open_file(tab, out)["input"] == tiny_doc["input"]
    assert [p.name for p in out.parent.iterdir()] == ["doc.html"]  # no temporary file left


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--checkpoint", "{run}/ckpt_epoch9.pt", "--text", "hello"], "usable checkpoints: "),
        (["--checkpoint", "../../etc/passwd", "--text", "hello"], "checkpoint"),
        (["--checkpoint", "{run}/ckpt_epoch3.pt", "--text", "héllo€"], "outside the vocabulary"),
        (["--checkpoint", "{run}/ckpt_epoch3.pt"], "--checkpoint needs --text"),
        (["--document", "{missing}"], "no such file"),
        (["--document", "{notjson}"], "not a readable JSON document"),
        (["--document", "{notjson}", "--with", "math"], "--text and --with go with --checkpoint"),
    ],
)
def test_cli_errors_exit_2_and_write_nothing(tiny_run: TinyRun, tmp_path: Path, args: list[str], message: str) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    subs = {"run": tiny_run.dir.name, "missing": str(tmp_path / "missing.json"), "notjson": str(bad)}
    out = tmp_path / "out.html"
    done = run_cli(*[a.format(**subs) for a in args], "--checkpoints", str(tiny_run.dir.parent), "--out", str(out))
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert not out.exists()


def test_cli_cannot_write_out_says_so_in_one_line(tiny_doc: dict[str, Any], single_file_build: Path, tmp_path: Path) -> None:
    doc = tmp_path / "doc.json"
    doc.write_text(json.dumps(tiny_doc), encoding="utf-8")
    for out, message in [(tmp_path, "is a directory"), (tmp_path / "a-file" / "x.html", "cannot write")]:
        (tmp_path / "a-file").write_text("not a directory", encoding="utf-8")
        done = run_cli("--document", str(doc), "--out", str(out))
        assert done.returncode == 2, (done.stdout, done.stderr)
        assert f"error: cannot write {out}" in done.stderr and message in done.stderr
        assert "Traceback" not in done.stderr and ".tmp" not in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file", "doc.json"]  # nothing else written


def test_download_html_button_writes_a_file_that_opens_offline(
    array_file: tuple[Path, np.ndarray], tmp_path: Path, new_tab: Any
) -> None:
    path, w = array_file
    tab = new_tab()
    open_file(tab, path)
    with tab.page.expect_download() as info:
        tab.page.get_by_test_id("download-html").click()
    saved = tmp_path / info.value.suggested_filename
    info.value.save_as(saved)
    assert saved.suffix == ".html"
    np.testing.assert_allclose(decode_weights(embedded_document(saved), "encoder_self"), w, atol=1e-3)
    again = new_tab()
    shown = open_file(again, saved)
    assert shown["src"] == ["The", "cat", "sat", "on", "mats"]
    assert_main_views_painted(again.page, 2, 3, 5, 5)
    assert_only_the_file(again, saved)


def test_download_html_from_the_served_app(tiny_run: TinyRun, single_file_build: Path, tmp_path: Path, new_tab: Any) -> None:
    """The served app builds the file client-side from its own single-file build (embed/index.html)."""
    name = f"{tiny_run.dir.name}/ckpt_epoch3.pt"
    with serve_app(tiny_run.dir.parent, tmp_path / "server.log") as srv:
        url = srv.url
        tab = new_tab()
        open_app(tab.page, url, f"/?ckpt={name}&text=hello&kind=cross&layer=1&head=2")
        wait_drawn(tab.page, ckpt=name)
        api_doc = httpx.post(f"{url}/api/attention", json={"checkpoint": name, "text": "hello", "encoding": "float16"}).json()
        with tab.page.expect_download() as info:
            tab.page.get_by_test_id("download-html").click()
        saved = tmp_path / "from_app.html"
        info.value.save_as(saved)
    doc = embedded_document(saved)
    assert doc["checkpoint"] == name and doc["tokens"] == api_doc["tokens"]
    for kind in ("encoder_self", "decoder_self", "cross"):
        np.testing.assert_allclose(decode_weights(doc, kind), decode_weights(api_doc, kind), atol=1e-3)
    offline = new_tab()  # the server is gone: the file stands alone
    assert open_file(offline, saved)["input"] == "hello"
    # it opens on the view it was saved from, as the JSON download does
    expect(offline.page.get_by_test_id("kind-cross")).to_have_attribute("aria-selected", "true")
    expect(offline.page.get_by_test_id("focus-heatmap-canvas")).to_have_attribute(
        "aria-label", re.compile(r"^Cross-attention, layer 1 head 2:")
    )
    assert_main_views_painted(offline.page, *decode_weights(api_doc, "cross").shape)
    assert_only_the_file(offline, saved)


def test_decoder_only_file_shows_masked_self_attention(single_file_build: Path, tmp_path: Path, new_tab: Any) -> None:
    w = np.tril(softmax((2, 2, 4, 4), seed=3))
    w /= w.sum(-1, keepdims=True)
    path = attnviz.save_html(w, tmp_path / "gpt.html", tokens=["The", "cat", "sat", "down"], kind="decoder_self")
    tab = new_tab()
    shown = open_file(tab, path)
    assert shown["src"] == [] and shown["tgt"] == ["The", "cat", "sat", "down"]
    page = tab.page
    expect(page.get_by_test_id("kind-decoder_self")).to_have_attribute("aria-selected", "true")
    assert_main_views_painted(page, 2, 2, 4, 4)
    assert hover_cell(page, 0, 3) == "'The' → 'down': masked"
    assert (
        hover_cell(page, 3, 1)
        == f"'down' → 'cat': {format_weight(float(decode_weights(embedded_document(path), 'decoder_self')[0, 0, 3, 1]))}"
    )
    assert_only_the_file(tab, path)


@pytest.mark.parametrize("width", [720, 950, 1440])
def test_a_file_fits_its_width(single_file_build: Path, tmp_path: Path, new_tab: Any, width: int) -> None:
    """A notebook cell (~950 px) or a narrow window: no sideways page scroll, no clipped titles or
    legends, every token and every head chip on screen, the model view readable at 12 x 12 heads."""
    n, tokens = 40, [f"tok{i}" for i in range(40)]
    path = attnviz.save_html(softmax((12, 12, n, n), seed=5), tmp_path / "wide.html", tokens=tokens)
    tab = new_tab()
    tab.page.set_viewport_size({"width": width, "height": 900})
    open_file(tab, path)
    page = tab.page
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width
    assert clipped_text(page) == []
    # the heads' colour chips all sit inside the arc panel's header (they wrap; none is cut off)
    inside = page.evaluate(
        """() => { const h = document.querySelector('.arc-head').getBoundingClientRect();
        return [...document.querySelectorAll('[data-testid^=arc-head-]')].map((c) => { const r = c.getBoundingClientRect();
          return r.left >= h.left && r.right <= h.right && r.top >= h.top && r.bottom <= h.bottom; }); }"""
    )
    assert inside == [True] * 12
    # the model view's thumbnails: 12 x 12, at least 16 px each
    size = page.get_by_test_id("model-view-11-11").bounding_box()
    assert size is not None and size["width"] >= 16 and size["height"] >= 16, size
    if width < 1100:  # narrow: the source tokens wrap instead of running off in one line
        rows = page.evaluate(
            "() => new Set([...document.querySelectorAll('[data-testid=tokens-src] .tok')].map((t) => t.offsetTop)).size"
        )
        assert rows >= 2
