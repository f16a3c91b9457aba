"""Page helpers for the end-to-end tests: waiting on the app's state through ``window.__attnviz``,
reading canvas pixels, finding heatmap cells and arc tokens on screen, and decoding the API's
float16 documents the way the front end does."""

from __future__ import annotations

import base64
import math
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np

from tests.chromium import settled_url

ENCODER_KINDS = ("encoder_self", "decoder_self", "cross")


def open_app(page: Any, base_url: str, query: str = "") -> None:
    """Load the app and wait until it has booted (checkpoint list loaded or failed)."""
    page.goto(f"{base_url}/{query}")
    page.wait_for_function("() => window.__attnviz && window.__attnviz.isReady")


def wait_for_doc(page: Any, text: str | None = None, ckpt: str | None = None) -> dict[str, Any]:
    """Wait until a document is shown (for ``text`` / ``ckpt`` if given) and return the URL state."""
    page.wait_for_function(
        """([text, ckpt]) => {
             const s = window.__attnviz.store.get();
             return s.doc && s.status === 'ready' && (text === null || s.doc.input === text)
               && (ckpt === null || s.doc.checkpoint === ckpt);
           }""",
        arg=[text, ckpt],
    )
    return state(page)


def state(page: Any) -> dict[str, Any]:
    """The URL-mirrored part of the store plus a summary of the document."""
    result: dict[str, Any] = page.evaluate(
        """() => {
             const s = window.__attnviz.store.get();
             return {ckpt: s.ckpt, text: s.text, kind: s.kind, layer: s.layer, head: s.head, view: s.view,
                     heads: s.heads, mass: s.mass, status: s.status, hover: s.hover, docSource: s.docSource,
                     error: s.error && s.error.message,
                     doc: s.doc && {checkpoint: s.doc.checkpoint, input: s.doc.input, output: s.doc.output,
                                    src: s.doc.tokens.src, tgt: s.doc.tokens.tgt}};
           }"""
    )
    return result


def url_params(page: Any) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(settled_url(page)).query).items()}


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


def hover_cell(page: Any, q: int, k: int) -> str:
    """Move the real mouse over cell (q, k) of the focus heatmap; check the store names that cell;
    return the displayed value text."""
    cells = heatmap_cells(page)
    page.mouse.move(cells["xs"][k], cells["ys"][q])
    page.wait_for_function(
        "([q, k]) => { const h = window.__attnviz.store.get().hover; return h && h.type === 'cell' && h.q === q && h.k === k; }",
        arg=[q, k],
    )
    text: str = page.get_by_test_id("hover-value").inner_text()
    return text


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
