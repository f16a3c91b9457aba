"""A long text in a real Chromium, through a real uvicorn: a tiny GPT-2 with 8,192 positions
(long_models.py) on ~3,000 tokens answers an overview, which the page shows as a tiled source —
the model view from the thumbnails, the focus heatmap from tiles it asks for (pooled, then exact
when zoomed in), the viewport in the URL — and asks for the overview again when the server has
dropped the run (404 unknown_handle). Past the model's context, the page says how many tokens and
the limit."""

from __future__ import annotations

import re
import time
from typing import Any
from urllib.parse import quote

import pytest
from playwright.sync_api import expect

from attnviz.encoding import decode_weights

from ..browser import ConsoleLog, Server, settled_url, url_params, wait_drawn
from .long_models import build_long_models, long_text

pytest.importorskip("transformers")

pytestmark = pytest.mark.browser

GPT2 = "hf/gpt2-long"
# the tiled view's plot: its left and top margins for the token labels (views/tiledHeatmap.ts)
LEFT, TOP = 78, 62
# a run is kept this long after its last use: short, so the test can see it dropped
TTL = 4


@pytest.fixture(scope="module")
def long_server(tmp_path_factory: pytest.TempPathFactory, start_server: Any) -> Server:
    root = tmp_path_factory.mktemp("long-browser")
    build_long_models(root, ("gpt2-long",))
    server: Server = start_server(root, env={"ATTNVIZ_HANDLE_TTL_SECONDS": str(TTL)}, timeout=120)
    return server


TILE_READY = """([region, exact]) => {
  const e = document.querySelector('[data-testid=tiled-heatmap]');
  if (!e || e.dataset.tileState !== 'ready') return false;
  const [q, k, b] = e.dataset.tile.split(',');
  return (region === null || `${q},${k}` === region) && (exact === null || (b === '1x1') === exact);
}"""


def wait_tile(page: Any, region: str | None = None, exact: bool | None = None, timeout: float = 60_000) -> list[str]:
    """Wait until the heatmap shows a tile (of ``region`` "q0-q1,k0-k1", exact or pooled when
    given); its region and block as [q0-q1, k0-k1, bqxbk]."""
    page.wait_for_function(TILE_READY, arg=[region, exact], timeout=timeout)
    tile: str = page.get_by_test_id("tiled-heatmap").get_attribute("data-tile")
    return tile.split(",")


PAINTED = """(sel) => {
  const c = document.querySelector(sel);
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) return true;
  return false;
}"""


def non_blank_thumbnails(page: Any) -> int:
    return int(
        page.evaluate(
            """() => [...document.querySelectorAll('[data-testid="model-view-canvas"]')].filter((c) => {
              const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
              for (let i = 4; i < d.length; i += 4) if (d[i] !== d[0] || d[i + 1] !== d[1] || d[i + 2] !== d[2]) return true;
              return false;
            }).length"""
        )
    )


def hover_cell(page: Any, q: int, k: int, view: tuple[int, int, int, int]) -> None:
    """Put the pointer on the centre of cell (q, k) of the viewport (q0, q1, k0, k1)."""
    q0, q1, k0, k1 = view
    box = page.get_by_test_id("tiled-canvas").bounding_box()
    side = box["width"] - LEFT - 8
    page.mouse.move(box["x"] + LEFT + (k - k0 + 0.5) * side / (k1 - k0), box["y"] + TOP + (q - q0 + 0.5) * side / (q1 - q0))


def one_cell(server: Server, handle: str, layer: int, head: int, q: int, k: int) -> Any:
    """The server's exact tile of the one cell (q, k): the response (404 once the run is dropped)."""
    body = {"handle": handle, "kind": "decoder_self", "layer": layer, "head": head, "q0": q, "q1": q + 1, "k0": k, "k1": k + 1}
    return server.api("/api/attention/tile", body)


def is_overview(r: Any) -> bool:
    """A request (or the response to one) for an overview: the page asking again after a 404."""
    req = getattr(r, "request", r)
    return bool(req.url.endswith("/api/attention") and (req.post_data_json or {}).get("detail") == "overview")


def test_a_long_text_is_shown_tiled(long_server: Server, new_page: Any, console: ConsoleLog) -> None:
    console.allow(
        r"status of 404 .*/api/attention/(tile|topk)",
        "the test lets the server drop the run: the page's tile and top-k get 404 unknown_handle",
    )
    text = long_text(2100)
    page = new_page(viewport={"width": 1440, "height": 900})
    answers: list[Any] = []
    page.on("response", lambda r: answers.append(r) if r.url.endswith("/api/attention") else None)
    page.goto(f"{long_server.url}/?ckpt={quote(GPT2, safe='')}&text={quote(text)}&layer=1&head=2")
    wait_drawn(page, text, GPT2, timeout=120_000)
    doc = answers[-1].json()
    assert doc["detail"] == "overview"
    n = len(doc["tokens"]["tgt"])
    assert n > 2048

    # the model view: every head from its thumbnail, none blank; no mean / rollout columns
    expect(page.get_by_test_id("model-view-canvas")).to_have_count(8)
    assert non_blank_thumbnails(page) == 8
    assert page.get_by_test_id("model-view-agg-canvas").count() == 0
    # the focus heatmap: the whole matrix, pooled, saying so in place
    *_, block = wait_tile(page, f"0-{n},0-{n}", exact=False)
    bq, bk = (int(x) for x in block.split("x"))
    expect(page.get_by_test_id("tiled-note")).to_contain_text(f"pooled: each pixel is the max of {bq}×{bk} weights")
    expect(page.get_by_test_id("tiled-title")).to_have_text("Layer 1 · Head 2")
    # the arcs: a window of 65 tokens around the middle of the viewport, from an exact tile
    arcs = page.get_by_test_id("long-arcs")
    expect(arcs).to_have_attribute("data-window", f"{n // 2 - 32}-{n // 2 + 33}", timeout=60_000)
    assert page.evaluate(PAINTED, "[data-testid=long-arcs-canvas]")
    # a pooled cell reads as such
    hover_cell(page, n - 1, 0, (0, n, 0, n))
    expect(page.get_by_test_id("tiled-readout")).to_contain_text("pooled max")

    assert page.evaluate(PAINTED, "[data-testid=tiled-minimap]")

    # the wheel zooms about the pointer, a drag pans, Reset shows the whole matrix again
    box = page.get_by_test_id("tiled-canvas").bounding_box()
    side = box["width"] - LEFT - 8
    page.mouse.move(box["x"] + LEFT + side / 4, box["y"] + TOP + side * 3 / 4)  # cell (3n/4, n/4)
    page.mouse.wheel(0, -400)  # zoom in by e^0.8
    params = url_params(page)
    vq = [int(x) for x in params["vq"].split("-")]
    vk = [int(x) for x in params["vk"].split("-")]
    assert vq[1] - vq[0] < n * 0.5 and vk[1] - vk[0] < n * 0.5
    assert vq[0] < 3 * n / 4 < vq[1] and vk[0] < n / 4 < vk[1]  # the point under the pointer stays inside
    page.mouse.down()
    page.mouse.move(box["x"] + LEFT + side / 4 + 60, box["y"] + TOP + side * 3 / 4, steps=4)
    page.mouse.up()
    page.wait_for_function("(k0) => new URLSearchParams(location.search).get('vk')?.split('-')[0] < k0", arg=vk[0])
    page.get_by_test_id("tiled-reset").click()
    wait_tile(page, f"0-{n},0-{n}", exact=False)

    # zoom (keys) down to single cells: exact weights, token labels, the viewport in the URL
    page.get_by_test_id("tiled-heatmap").focus()
    for _ in range(10):
        page.keyboard.press("+")
    params = url_params(page)
    q0, q1 = (int(x) for x in params["vq"].split("-"))
    k0, k1 = (int(x) for x in params["vk"].split("-"))
    assert q1 - q0 <= 8 and k1 - k0 <= 8
    wait_tile(page, f"{q0}-{q1},{k0}-{k1}", exact=True)
    expect(page.get_by_test_id("tiled-note")).to_contain_text("exact weights")
    # the weight under the pointer is the server's exact tile (which its own tests hold to transformers')
    cq, ck = q1 - 1, k0 + 1
    hover_cell(page, cq, ck, (q0, q1, k0, k1))
    readout = page.get_by_test_id("tiled-readout")
    page.wait_for_function("() => document.querySelector('[data-testid=tiled-readout]').dataset.weight !== undefined")
    shown_w = float(readout.get_attribute("data-weight") or "nan")
    ref = one_cell(long_server, answers[-1].json()["overview"]["handle"], 1, 2, cq, ck)
    if ref.status_code == 404:  # dropped meanwhile (a short TTL): the same text again gives the same weights
        body = {"checkpoint": GPT2, "text": text, "detail": "overview", "encoding": "uint8"}
        handle = long_server.api("/api/attention", body, timeout=120).json()["overview"]["handle"]
        ref = one_cell(long_server, handle, 1, 2, cq, ck)
    assert ref.status_code == 200, ref.text
    want = float(decode_weights(ref.json()["weights"])[0][0])
    assert shown_w == pytest.approx(want, rel=1e-3, abs=1e-7) and want > 0
    assert f"({cq})" in readout.inner_text() and f"({ck})" in readout.inner_text()
    # the arcs follow the query under the pointer
    expect(arcs).to_have_attribute("data-window", f"{cq - 32}-{cq + 33}", timeout=60_000)

    # the URL restores the viewport (and the head) in a fresh page
    url = settled_url(page)
    again = new_page(viewport={"width": 1280, "height": 720})
    again.goto(url)
    wait_drawn(again, text, GPT2, timeout=120_000)
    wait_tile(again, f"{q0}-{q1},{k0}-{k1}", exact=True)
    expect(again.get_by_test_id("tiled-title")).to_have_text("Layer 1 · Head 2")

    # the server drops the run after TTL s unused: the page asks for the overview again and goes on
    handle = answers[-1].json()["overview"]["handle"]
    deadline = time.monotonic() + 60
    while one_cell(long_server, handle, 0, 0, 0, 0).status_code != 404:
        assert time.monotonic() < deadline, "the run was never dropped"
        # each probe is a use of the run, which restarts its TTL: the next one waits longer than it
        page.wait_for_timeout((TTL + 0.5) * 1000)
    asked: list[Any] = []
    page.on("request", lambda r: asked.append(r) if is_overview(r) else None)
    with page.expect_response(is_overview, timeout=120_000):
        page.get_by_test_id("tiled-reset").click()
    wait_tile(page, f"0-{n},0-{n}", exact=False, timeout=120_000)
    # the arcs' window (back to the middle: the pointer left the heatmap) is drawn from the same
    # run: one new overview serves every tile that found the old handle gone
    expect(arcs).to_have_attribute("data-window", f"{n // 2 - 32}-{n // 2 + 33}", timeout=60_000)
    expect(arcs).to_have_attribute("data-state", "ready")
    assert len(asked) == 1
    assert "vq" not in url_params(page)


def test_short_text_is_a_full_document_and_too_long_says_the_limit(
    long_server: Server, new_page: Any, console: ConsoleLog
) -> None:
    console.allow(r"status of 422 .*/api/attention", "the test sends a text past the model's context: 422 text_too_long")
    page = new_page(viewport={"width": 1280, "height": 720})
    page.goto(f"{long_server.url}/?ckpt={quote(GPT2, safe='')}&text={quote('the cat sat on the mat')}")
    wait_drawn(page, "the cat sat on the mat", GPT2, timeout=60_000)
    # the regular heatmap, not the tiled one
    expect(page.get_by_test_id("focus-heatmap-canvas")).to_be_visible()
    expect(page.get_by_test_id("tiled-view")).to_be_hidden()
    expect(page.get_by_test_id("long-arcs")).to_be_hidden()
    expect(page.get_by_test_id("arc-canvas")).to_be_visible()
    # past the model's 8,192 positions: the token count and the limit, in words
    too_long = long_text(7000)
    page.get_by_test_id("text-input").fill(too_long)
    err = page.get_by_test_id("error-message")
    expect(err).to_be_visible(timeout=120_000)
    said = err.inner_text()
    assert said.startswith("Cannot run this text.") and "could not run" not in said, said
    assert re.search(r"The text is \d{4,} tokens long .*accepts at most 8192", said), said
    expect(page.locator("#views")).to_have_attribute("data-state", "error")


def test_the_arcs_draw_the_focused_querys_strongest_keys_across_the_whole_text(long_server: Server, new_page: Any) -> None:
    """Over the window's arcs, the focused query's top-k keys of the whole text (POST
    /api/attention/topk), those outside the window listed under it; they follow the pointer."""
    text = long_text(2100)
    page = new_page(viewport={"width": 1440, "height": 900})
    answers: list[Any] = []
    page.on("response", lambda r: answers.append(r) if r.url.endswith("/api/attention") else None)
    page.goto(f"{long_server.url}/?ckpt={quote(GPT2, safe='')}&text={quote(text)}&layer=1&head=2")
    wait_drawn(page, text, GPT2, timeout=120_000)
    n = len(answers[-1].json()["tokens"]["tgt"])
    arcs = page.get_by_test_id("long-arcs")

    def reference(q: int) -> list[int]:
        """The server's top-8 keys of query q (a fresh overview when the short TTL dropped the page's run)."""
        body = {"kind": "decoder_self", "layer": 1, "head": 2, "k": 8, "q0": q, "q1": q + 1}
        r = long_server.api("/api/attention/topk", {**body, "handle": answers[-1].json()["overview"]["handle"]})
        if r.status_code == 404:
            again = {"checkpoint": GPT2, "text": text, "detail": "overview", "encoding": "uint8"}
            handle = long_server.api("/api/attention", again, timeout=120).json()["overview"]["handle"]
            r = long_server.api("/api/attention/topk", {**body, "handle": handle})
        assert r.status_code == 200, r.text
        keys: list[int] = r.json()["indices"][0]
        return keys

    for q, hover in ((n // 2, None), (n - 1, (n - 1, 0))):
        if hover:
            hover_cell(page, *hover, (0, n, 0, n))
        expect(arcs).to_have_attribute("data-topk", re.compile(rf"^{q}:"), timeout=60_000)
        keys = reference(q)
        assert arcs.get_attribute("data-topk") == f"{q}:" + " ".join(map(str, keys))
        a = max(0, min(n - 65, q - 32))
        far = sorted(k for k in keys if not a <= k < a + 65)
        expect(arcs).to_have_attribute("data-far", " ".join(map(str, far)))
        note = page.get_by_test_id("long-arcs-note")
        expect(note).to_contain_text(f"query {q}'s 8 strongest keys in the whole text")
        if far:
            expect(note).to_contain_text(f"{len(far)} of them outside the window")
        assert page.evaluate(PAINTED, "[data-testid=long-arcs-canvas]")
