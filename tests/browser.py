"""The one browser harness (fixtures in tests/conftest.py use it): where Chromium is, the real server
(``Server`` over tests/live_server.py ``serve``), pages whose console errors fail the test, and the
helpers that drive and read the app the way a user sees it — roles, labels, visible text,
``data-testid``s, canvas pixels and the URL. The drawn document is read from the views container
(``#views[data-state|data-input|data-checkpoint|data-ablate]``, set in frontend/src/main.ts), never
from the app's store; ``window.__attnviz`` is used only for measurements no user can see (see
``settled_url`` and ``decoded_weights``)."""

from __future__ import annotations

import base64
import math
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import httpx
import numpy as np
import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from .live_server import DIST, REPO, serve

if TYPE_CHECKING:
    from playwright.sync_api import Page

CHROMIUM = os.environ.get("ATTNVIZ_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1440, "height": 900}
ARTIFACTS = REPO / "test-artifacts"
ENCODER_KINDS = ("encoder_self", "decoder_self", "cross")


# ---- the server -------------------------------------------------------------------------------


@dataclass
class Server:
    """A running ``python -m attnviz.server`` (see ``serve_app``)."""

    url: str
    checkpoint_dir: Path
    log: Path

    def api(self, path: str, body: dict[str, Any] | None = None, timeout: float = 30) -> httpx.Response:
        """Call the real API like the page does (POST with a JSON body, or GET)."""
        with httpx.Client(base_url=self.url, timeout=timeout) as c:
            return c.post(path, json=body) if body is not None else c.get(path)


@contextmanager
def serve_app(checkpoints: Path, log: Path, *, env: dict[str, str] | None = None, timeout: float = 60) -> Iterator[Server]:
    """The real server over ``checkpoints`` serving frontend/dist; one inference thread unless ``env``
    says otherwise (the machines running these tests are small). A missing build fails, never skips."""
    if not (DIST / "index.html").is_file():
        pytest.fail(f"{DIST / 'index.html'} is missing: build the front end first with `make frontend` (or `make setup`).")
    with serve(checkpoints, log, env={"ATTNVIZ_INFERENCE_THREADS": "1", **(env or {})}, timeout=timeout) as url:
        yield Server(url, checkpoints, log)


# ---- pages ----------------------------------------------------------------------------------------


@dataclass
class ConsoleLog:
    """Console errors and uncaught page errors of one test, and requests that left 127.0.0.1 (when
    the page was opened ``local_only``). ``allow`` takes a regex and the reason it is expected."""

    errors: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)
    allowed: list[re.Pattern[str]] = field(default_factory=list)

    def allow(self, pattern: str, why: str) -> None:
        assert why.strip(), "say why this console error is expected"
        self.allowed.append(re.compile(pattern))

    def unexpected(self) -> list[str]:
        return [e for e in self.errors if not any(p.search(e) for p in self.allowed)]

    def watch(self, page: Any, *, local_only: bool = False) -> None:
        def on_console(m: Any) -> None:
            if m.type == "error":
                self.errors.append(f"console.{m.type}: {m.text} ({m.location.get('url', '')})")

        page.on("console", on_console)
        page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        if local_only:
            page.on("request", lambda r: None if is_local(r.url) else self.outside.append(r.url))


def is_local(url: str) -> bool:
    """A request that stays on this machine: 127.0.0.1, or no network at all (data:, blob:, file:)."""
    u = urlsplit(url)
    return u.scheme in ("data", "blob", "file", "about") or u.hostname == "127.0.0.1"


def artifact_path(nodeid: str, index: int = 0) -> Path:
    """test-artifacts/<suite>/<test>.png: the suite is the test file's directory under tests/."""
    path, _, name = nodeid.partition("::")
    parts = Path(path).parts
    suite = parts[1] if len(parts) > 2 and parts[0] == "tests" else Path(path).stem
    stem = re.sub(r"[^\w.-]+", "_", name).strip("_") + (f"-{index + 1}" if index else "")
    return ARTIFACTS / suite / f"{stem}.png"


# ---- the app --------------------------------------------------------------------------------------


def open_app(page: Any, url: str, query: str = "", *, drawn: bool = False, or_error: bool = False) -> None:
    """Load the app at ``url + query`` and wait until it has booted (checkpoint list loaded or failed);
    with ``drawn``, also until the document it names is drawn (``or_error``: or an error shown)."""
    page.goto(f"{url}{query}")
    page.wait_for_function("() => document.documentElement.dataset.ready === '1'")
    if drawn:
        wait_drawn(page, or_error=or_error)


DRAWN_JS = """([text, ckpt, ablate, orError]) => {
  const v = document.getElementById('views');
  if (!v) return false;
  if (orError && v.dataset.state === 'error') return true;
  const box = document.querySelector('[data-testid=text-input]');
  const picked = document.querySelector('[data-testid=epoch-select]')?.value;
  return v.dataset.state === 'ready' && v.dataset.input === (text === null ? box && box.value : text)
    && v.dataset.checkpoint === (ckpt === null ? picked || v.dataset.checkpoint : ckpt)
    && (ablate === null || v.dataset.ablate === ablate);
}"""


def wait_drawn(
    page: Any,
    text: str | None = None,
    ckpt: str | None = None,
    *,
    ablate: str | None = None,
    or_error: bool = False,
    timeout: float = 30_000,
) -> None:
    """Wait until the document for ``text`` (default: the text in the input) is drawn, from ``ckpt``
    (default: the one the epoch picker shows, if any) and with heads ``ablate`` (e.g. ``cross:1.0``;
    '' = none) when given, then two frames more so anything painted at the next frame is on screen.
    ``or_error``: an error shown instead also ends the wait."""
    page.wait_for_function(DRAWN_JS, arg=[text, ckpt, ablate, or_error], timeout=timeout)
    # a frame that is not rendered (an iframe scrolled out of a notebook) gets no animation frames:
    # it has nothing on screen to wait for either
    page.evaluate("() => new Promise((r) => { requestAnimationFrame(() => requestAnimationFrame(r)); setTimeout(r, 200); })")


def assert_no_request(page: Any, is_api: Any, within_ms: float) -> None:
    """No request the page sends within ``within_ms`` matches ``is_api``: waits for one, and fails
    the moment it comes (there is no "nothing happened" to wait for)."""
    try:
        r = page.wait_for_event("request", is_api, timeout=within_ms)
    except PlaywrightError:
        return
    pytest.fail(f"the page sent {r.method} {r.url}")


def settled_url(page: Page) -> str:
    """The page's URL once its state is mirrored there. A measurement, not state: the page updates
    the URL at most every 100 ms, and ``urlPending`` says whether an update is still due."""
    page.wait_for_function("() => !(window.__attnviz && window.__attnviz.urlPending())")
    return page.url


def url_params(page: Any) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(settled_url(page)).query).items()}


TITLE = re.compile(r"^Layer (\d+) · Head (\d+)$")

SHOWN_JS = """() => {
  const q = (sel) => document.querySelector(sel);
  const visible = (el) => !!el && el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
  const v = q('#views');
  const tab = q('[data-testid^=kind-][aria-selected=true]');
  const err = q('[data-testid=error-message]');
  const chips = (side) => [...document.querySelectorAll(`[data-testid=tokens-${side}] span.tok`)].map((c) => c.textContent);
  const out = q('[data-testid=output] code.out-text:not(.expected)');
  const focused = q('[data-view].is-focused');
  const heads = [...document.querySelectorAll('[data-testid^=arc-head-]')];
  return {
    ckpt: q('[data-testid=epoch-select]')?.value ?? null,
    run: q('[data-testid=run-select]')?.value ?? null,
    text: q('[data-testid=text-input]')?.value ?? null,
    kind: tab ? tab.dataset.testid.replace(/^kind-/, '') : null,
    title: q('[data-view=heatmap] h2')?.textContent ?? null,
    view: focused ? focused.dataset.view : null,
    heads: heads.length && heads.some((b) => b.getAttribute('aria-pressed') !== 'true')
      ? heads.filter((b) => b.getAttribute('aria-pressed') === 'true').map((b) => +b.dataset.testid.split('-').pop())
      : null,
    present: document.body.classList.contains('present'),
    status: v.dataset.state,
    error: visible(err) ? err.textContent : null,
    doc: v.dataset.state === 'ready' || v.dataset.input
      ? {checkpoint: v.dataset.checkpoint, input: v.dataset.input, ablate: v.dataset.ablate,
         output: out ? (out.querySelector('.empty-out') ? '' : out.textContent) : null,
         src: chips('src'), tgt: chips('tgt')}
      : null,
  };
}"""


def shown(page: Any) -> dict[str, Any]:
    """What the page shows: the picked checkpoint (``ckpt``, the epoch picker) and ``run``, the
    ``text`` in the input, the selected ``kind`` tab, the focus heatmap's ``title`` and the
    ``layer`` / ``head`` it names (None for a mean / rollout), the focused ``view``, the arc view's
    ``heads`` (None = all), presenter mode, the views' ``status``, the visible ``error`` text, and
    the drawn ``doc`` (its checkpoint, input, ablation, output and token chips as displayed)."""
    s: dict[str, Any] = page.evaluate(SHOWN_JS)
    m = TITLE.match(s["title"] or "")
    s["layer"], s["head"] = (int(m.group(1)), int(m.group(2))) if m else (None, None)
    return s


def display_token(t: str) -> str:
    """How a token chip shows a token (frontend/src/lib/tokens.ts ``displayToken``)."""
    visible = {" ": "␣", "\n": "↵", "\t": "⇥", "\r": "␍", "": "∅"}
    if t in visible:
        return visible[t]
    if t.isspace():
        return t.replace(" ", "␣").replace("\n", "↵").replace("\t", "⇥")
    return t


# ---- canvases and cells ---------------------------------------------------------------------------

CANVAS_STATS_JS = """(el) => {
  const c = el.tagName === 'CANVAS' ? el : el.querySelector('canvas');
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  const colours = new Set();
  let opaque = 0;
  for (let i = 0; i < d.length; i += 4) {
    if (d[i + 3] === 0) continue;
    opaque++;
    if (colours.size < 4096) colours.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
  }
  return {width: c.width, height: c.height, opaque, colours: colours.size};
}"""


def canvas_stats(locator: Any) -> dict[str, int]:
    """Width, height, painted (non-transparent) pixels and distinct colours of a canvas."""
    stats: dict[str, int] = locator.evaluate(CANVAS_STATS_JS)
    return stats


def heatmap_cells(page: Any) -> dict[str, list[float]]:
    """Page coordinates of the focus heatmap's row and column centres, from its token labels
    (row label at the row's centre; a slanted column label at the column's centre + 0.35 em, an
    upright one-character label on it)."""
    cells: dict[str, list[float]] = page.evaluate(
        """() => {
             const svg = document.querySelector('[data-testid=focus-heatmap] svg.hm-labels');
             const r = svg.getBoundingClientRect();
             const ys = [...svg.querySelectorAll('g.labels-q text')].map((t) => r.top + +t.getAttribute('y'));
             const xs = [...svg.querySelectorAll('g.labels-k text')].map((t) => {
               const tr = t.getAttribute('transform');
               const m = /translate\\(([-\\d.e]+),/.exec(tr);
               // slanted labels sit 0.35 em right of the centre; upright one-character ones on it
               return r.left + +m[1] - (tr.includes('rotate') ? 0.35 * +t.getAttribute('font-size') : 0);
             });
             return {ys, xs};
           }"""
    )
    return cells


MATRIX_BOX_JS = """(c) => {
  // the matrix is the block of fully opaque cells nearest the bottom-right corner (labels, the
  // frame line and the margins around it are transparent or translucent at its edges)
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  const solid = (x, y) => d[(y * c.width + x) * 4 + 3] === 255;
  let xr = -1, yb = -1;
  for (let y = c.height - 1; y >= 0 && yb < 0; y--)
    for (let x = c.width - 1; x >= 0; x--) if (solid(x, y)) { xr = x; yb = y; break; }
  if (yb < 0) return {x: 0, y: 0, width: 0, height: 0};
  for (let x = xr; x < c.width && solid(x, yb); x++) xr = x;
  let x0 = xr, y0 = yb;
  while (x0 > 0 && solid(x0 - 1, yb)) x0--;
  while (y0 > 0 && solid(xr, y0 - 1)) y0--;
  const r = c.getBoundingClientRect(), sx = r.width / c.width, sy = r.height / c.height;
  return {x: r.left + x0 * sx, y: r.top + y0 * sy, width: (xr + 1 - x0) * sx, height: (yb + 1 - y0) * sy};
}"""


def cell_point(page: Any, testid: str, q: int, k: int, nq: int, nk: int) -> tuple[float, float]:
    """Page coordinates of the centre of cell (q, k) of the nq × nk matrix painted on a heatmap
    canvas (its block of opaque cells). For maps too dense for a label per cell, and for the diff
    view's panes (labels painted on the canvas)."""
    box = page.get_by_test_id(testid).evaluate(MATRIX_BOX_JS)
    assert box["width"] > 0, f"{testid} has nothing painted"
    return box["x"] + (k + 0.5) * box["width"] / nk, box["y"] + (q + 0.5) * box["height"] / nq


def hover_cell(page: Any, q: int, k: int, *, shape: tuple[int, int] | None = None) -> str:
    """Move the real mouse over cell (q, k) of the focus heatmap (at its labels; from the canvas
    geometry for an nq × nk ``shape``), wait until the readout names that cell's tokens, and return
    the readout ("'h' → 'e': 0.62")."""
    if shape is None:
        cells = heatmap_cells(page)
        x, y = cells["xs"][k], cells["ys"][q]
        labels_q = page.locator("[data-testid=focus-heatmap] g.labels-q text")
        labels_k = page.locator("[data-testid=focus-heatmap] g.labels-k text")
        want = f"'{labels_q.nth(q).text_content()}' → '{labels_k.nth(k).text_content()}': "
    else:
        x, y = cell_point(page, "focus-heatmap-canvas", q, k, *shape)
        want = "'"
    page.mouse.move(x, y)
    # the hovered row and column labels are lit (when there is a label per cell), the readout names them
    if shape is None:
        expect(page.locator("[data-testid=focus-heatmap] g.labels-q text").nth(q)).to_have_class(re.compile(r"\blit\b"))
        expect(page.locator("[data-testid=focus-heatmap] g.labels-k text").nth(k)).to_have_class(re.compile(r"\blit\b"))
    page.wait_for_function(
        "(want) => (document.querySelector('[data-testid=hover-value]')?.textContent || '').startsWith(want)", arg=want
    )
    text: str = page.get_by_test_id("hover-value").inner_text()
    return text


def readout_value(page: Any) -> float:
    """The weight the focus heatmap's readout shows ("'h' → 'e': 0.62" → 0.62)."""
    text = page.get_by_test_id("hover-value").inner_text()
    m = re.search(r":\s*([0-9.e-]+)\s*$", text)
    assert m, text
    return float(m.group(1))


def pixel_at(page: Any, selector: str, x: float, y: float) -> list[int]:
    """RGBA of a canvas at page coordinates (x, y)."""
    rgba: list[int] = page.evaluate(
        """([sel, x, y]) => {
             const c = document.querySelector(sel);
             const r = c.getBoundingClientRect();
             const px = Math.floor((x - r.left) * c.width / r.width), py = Math.floor((y - r.top) * c.height / r.height);
             return [...c.getContext('2d').getImageData(px, py, 1, 1).data];
           }""",
        [selector, x, y],
    )
    return rgba


def thumbnail_pixels(page: Any, layer: int, head: int) -> list[list[list[int]]]:
    """The model-view thumbnail of (layer, head): one RGBA pixel per cell, as [q][k]."""
    px: list[list[list[int]]] = page.evaluate(
        """([l, h]) => {
             const c = document.querySelector(`[data-testid=model-view-${l}-${h}] canvas`);
             const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
             const rows = [];
             for (let q = 0; q < c.height; q++) {
               const row = [];
               for (let k = 0; k < c.width; k++) { const i = (q * c.width + k) * 4; row.push([d[i], d[i+1], d[i+2], d[i+3]]); }
               rows.push(row);
             }
             return rows;
           }""",
        [layer, head],
    )
    return px


def decoded_weights(page: Any, kind: str) -> np.ndarray:
    """The float32 weights the page decoded for ``kind``, as [L, H, Tq, Tk]. A measurement of the
    decoder's precision (bit for bit, below what any colour or readout shows), so it is read through
    the test hook; everything a user sees is checked on the DOM."""
    t = page.evaluate(
        "(kind) => { const t = window.__attnviz.store.get().doc.kinds[kind];"
        " return {data: Array.from(t.data), shape: [t.layers, t.heads, t.nq, t.nk]}; }",
        kind,
    )
    return np.asarray(t["data"], dtype=np.float32).reshape(t["shape"])


# ---- the API's documents --------------------------------------------------------------------------


def decode_weights(doc: dict[str, Any], kind: str) -> np.ndarray:
    """``attentions[kind]`` of an API document as a float array [L, H, Tq, Tk], any encoding."""
    a = doc["attentions"][kind]
    if isinstance(a, list):
        return np.asarray(a, dtype=np.float64)
    raw = base64.b64decode(a["data"])
    if a["dtype"] == "float16":
        arr = np.frombuffer(raw, dtype="<f2").astype(np.float64)
    else:
        arr = np.frombuffer(raw, dtype=np.uint8).astype(np.float64) * a["scale"]
        if a.get("compand") == "sqrt":
            arr = arr**2
    return arr.reshape(a["shape"])


def format_weight(w: float) -> str:
    """What the page shows for a weight (frontend/src/lib/format.ts ``formatWeight``), with
    JavaScript's ``toFixed`` / ``toExponential`` rounding (ties away from zero on the exact value)."""
    if w == 0:
        return "0"
    d = Decimal(w)
    if abs(w) >= 0.01:
        return str(d.quantize(Decimal("0.01"), ROUND_HALF_UP))
    e = math.floor(math.log10(abs(w)))
    m = d.scaleb(-e).quantize(Decimal("0.1"), ROUND_HALF_UP)
    if abs(m) >= 10:
        e += 1
        m = d.scaleb(-e).quantize(Decimal("0.1"), ROUND_HALF_UP)
    return f"{m}e{e:+d}" if e >= 0 else f"{m}e{e}"


def displayed_weight(text: str) -> str:
    """The value part of "'h' → 'e': 0.62"."""
    return text.rsplit(": ", 1)[1]


def close(a: float, b: float, tol: float) -> bool:
    return math.isclose(a, b, abs_tol=tol)
