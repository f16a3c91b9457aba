"""Showing attention anywhere: ``attnviz.show`` (the full visualizer in a notebook cell) and
``attnviz.save_html`` (one self-contained offline HTML file). Both take anything
:func:`attnviz.document_from` takes, with the same keyword arguments.

The notebook view is an anywidget whose front end puts the single-file page in a sandboxed
``<iframe srcdoc>``: the app's CSS cannot leak into the notebook nor the notebook's into it,
several views in one notebook stay independent, and every asset comes from the Python package
(no CDN, no network check).

At length (an overview, :func:`attnviz.document_from`'s ``detail``) the widget keeps the given
tensors in the kernel and answers the page's tile and top-k requests over the widget's own
messages (the page posts to the notebook, the notebook to the kernel): no server, no request
off the machine. A saved file embeds what fits ``max_bytes``: the whole document, else the
overview plus every head's weights pooled in the smallest blocks that fit, and says so.
"""

from __future__ import annotations

import numbers
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .anywhere import DEFAULT_MAX_BYTES, AttentionInputError, prepare_document
from .atomic import write_text_atomic
from .html import render_html, template

if TYPE_CHECKING:
    from . import longctx

DEFAULT_HEIGHT = 820
"""Notebook view height in pixels: the main views and the insight tabs without scrolling the cell."""
HEIGHT_RANGE = (200, 10_000)
"""Heights ``show`` accepts: below 200 px not even the toolbar fits; past 10 000 a typo."""

_ESM = """
function render({ model, el }) {
  const frame = document.createElement('iframe');
  // scripts run, but the page is its own opaque origin: it cannot reach the notebook, nor it the page
  frame.setAttribute('sandbox', 'allow-scripts allow-downloads allow-popups');
  frame.setAttribute('title', 'attnviz attention visualizer');
  frame.className = 'attnviz-frame';
  frame.style.cssText = 'width:100%;border:1px solid #ddd;border-radius:4px;display:block;background:#fff';
  const update = () => {
    frame.style.height = `${model.get('height')}px`;
    frame.srcdoc = model.get('html');
  };
  update();
  model.on('change:html', update);
  model.on('change:height', () => (frame.style.height = `${model.get('height')}px`));
  // at length the page asks the kernel for tiles: its messages go to the kernel, the answers back
  const ask = (ev) => {
    if (ev.source !== frame.contentWindow || !ev.data || typeof ev.data.attnviz !== 'string') return;
    model.send(ev.data);
  };
  const answer = (msg) => {
    if (msg && typeof msg.attnviz === 'string') frame.contentWindow?.postMessage(msg, '*');
  };
  window.addEventListener('message', ask);
  model.on('msg:custom', answer);
  el.appendChild(frame);
  return () => {
    window.removeEventListener('message', ask);
    model.off('msg:custom', answer);
    frame.remove();
  };
}
export default { render };
"""


def _widget_class() -> type:
    try:
        import anywidget
        import traitlets
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError(
            "attnviz.show needs anywidget: pip install 'attnviz[notebook]' (or pip install anywidget); "
            "attnviz.save_html works without it"
        ) from None

    class AttentionView(anywidget.AnyWidget):
        """The attnviz visualizer of one document in a notebook output (an isolated frame)."""

        _esm = _ESM
        html = traitlets.Unicode("").tag(sync=True)
        height = traitlets.Int(DEFAULT_HEIGHT).tag(sync=True)

        def __init__(self, run: longctx.LongRun | None = None, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self._run = run  # the overview's tensors, kept with the view (dropped with it)
            self.on_msg(self._answer)

        def _answer(self, _: Any, content: Any, buffers: Any) -> None:
            if isinstance(content, dict) and isinstance(content.get("attnviz"), str):
                self.send(answer_request(self._run, content))

    return AttentionView


_INT_FIELDS = {"tile": ("layer", "head", "q0", "q1", "k0", "k1"), "topk": ("layer", "head", "q0")}


def answer_request(run: longctx.LongRun | None, msg: dict[str, Any]) -> dict[str, Any]:
    """The page's ``{attnviz: "tile" | "topk", id, request}`` answered from the kept tensors:
    ``{attnviz, id, response}`` as the server's route would, or ``{attnviz, id, error: {detail, code}}``."""
    from . import longctx

    what, rid, req = msg.get("attnviz"), msg.get("id"), msg.get("request")
    out: dict[str, Any] = {"attnviz": what, "id": rid}

    def error(code: str, detail: str) -> dict[str, Any]:
        return {**out, "error": {"code": code, "detail": detail}}

    if what not in _INT_FIELDS or not isinstance(req, dict):
        return error("bad_request", f"unknown request {what!r}: this view answers 'tile' and 'topk'")
    if run is None:
        return error("no_run", "This view holds every weight: it has no tiles.")
    given = {k: req.get(k) for k in _INT_FIELDS[what]}
    bad = [k for k, v in given.items() if isinstance(v, bool) or not isinstance(v, int)]
    if bad or not isinstance(req.get("kind"), str):
        return error("bad_request", f"the request needs integer {', '.join(bad or ['kind'])} and a kind")
    ints: dict[str, int] = {k: int(v) for k, v in given.items() if isinstance(v, int)}
    try:
        if what == "tile":
            cells = req.get("max_cells", longctx.MAX_CELLS)
            cells = cells if isinstance(cells, int) and not isinstance(cells, bool) else longctx.MAX_CELLS
            dtype: longctx.CompactDtype = "uint8" if req.get("encoding") == "uint8" else "float16"
            region = (ints["q0"], ints["q1"], ints["k0"], ints["k1"])
            resp = longctx.tile(run, req["kind"], ints["layer"], ints["head"], *region, max_cells=cells, dtype=dtype)
        else:
            k, q1 = req.get("k", 8), req.get("q1")
            k = k if isinstance(k, int) and not isinstance(k, bool) else 8
            q1 = q1 if isinstance(q1, int) and not isinstance(q1, bool) else None
            resp = longctx.topk(run, req["kind"], ints["layer"], ints["head"], k, ints["q0"], q1)
    except longctx.RegionError as exc:
        return error("out_of_range", str(exc))
    return {**out, "response": {"handle": "kernel", **resp}}


_view_class: type | None = None


def show(x: Any = None, tokens: Any = None, *, height: int = DEFAULT_HEIGHT, **kwargs: Any) -> Any:
    """The full visualizer of ``document_from(x, tokens, **kwargs)`` in a notebook cell: return
    the widget (the cell shows it). ``height`` is the view's height in pixels. At length (an
    overview) the widget keeps the tensors and the page zooms to any region's exact weights."""
    global _view_class
    lo, hi = HEIGHT_RANGE
    if isinstance(height, bool) or not isinstance(height, numbers.Real) or not lo <= height <= hi:
        raise ValueError(f"height must be a number of pixels from {lo} to {hi}, not {height!r}")
    doc, run = prepare_document(x, tokens, **kwargs)
    if run is not None:
        doc["overview"]["source"] = "kernel"  # the page asks this widget for tiles, not a server
    if _view_class is None:
        _view_class = _widget_class()
    return _view_class(run=run, html=render_html(doc), height=int(height))


SAVE_FLOOR = 1 << 20
"""Smallest ``max_bytes`` save_html takes: the page itself (its code and fonts) is most of a megabyte."""


def save_html(
    x: Any, path: str | os.PathLike[str], tokens: Any = None, *, max_bytes: int = DEFAULT_MAX_BYTES, **kwargs: Any
) -> Path:
    """Write one self-contained HTML file of ``document_from(x, tokens, **kwargs)`` to ``path``
    (atomically) and return its path. It opens from disk in a browser, with no server and no network.

    The file holds at most about ``max_bytes`` (default 50 MB): the whole document when it fits,
    else the overview plus every head's weights pooled as the maxima of the smallest square blocks
    that fit (exact when the blocks are 1 × 1); the page says in place what is pooled. The overview
    itself (L·H thumbnails of up to 128 × 128) is always written, even past a very small ``max_bytes``."""
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < SAVE_FLOOR:
        raise AttentionInputError(
            f"max_bytes must be at least {SAVE_FLOOR:,} bytes (the page alone is most of that), not {max_bytes!r}"
        )
    room = max_bytes - len(template(katex=False).encode())
    doc, run = prepare_document(x, tokens, max_bytes=room, **kwargs)
    if run is not None:
        doc["overview"]["source"] = "file"
        doc["overview"]["max_bytes"] = max_bytes
        embed_pooled(doc, run, room - len(render_html(doc)) + len(template(katex=False)))
    return write_text_atomic(path, render_html(doc))


def embed_pooled(doc: dict[str, Any], run: longctx.LongRun, room: int) -> None:
    """Every head's weights as block maxima of the smallest square block ``b`` whose float16 cells
    (base64) fit ``room`` bytes, into ``doc["overview"]["kinds"][kind]["pooled"]``; nothing when
    not even one cell a head fits (the thumbnails alone then)."""
    from . import longctx

    kinds = doc["overview"]["kinds"]

    def cells(b: int) -> int:
        return sum(len(rows) * rows[0].n_heads * -(-rows[0].nq // b) * -(-rows[0].nk // b) for rows in run.kinds.values())

    n = max(max(rows[0].nq, rows[0].nk) for rows in run.kinds.values())
    b = 1
    while b < n and cells(b) * BYTES_PER_CELL > room:
        b += 1 if b < 8 else max(1, b // 8)
    if cells(b) * BYTES_PER_CELL > room:
        doc["warnings"] = [
            *doc.get("warnings", []),
            "This file holds only the thumbnails of every head (each cell the largest weight of its block), to stay "
            f"within max_bytes={doc['overview'].get('max_bytes', room):,}; "
            "attnviz.show in a notebook zooms to the exact weights.",
        ]
        return
    for kind in run.kinds:
        kinds[kind]["pooled"] = longctx.pooled_all(run, kind, b, "float16")
    what = "exact" if b == 1 else f"pooled: each cell the largest of a {b} × {b} block"
    doc["warnings"] = [
        *doc.get("warnings", []),
        f"This file holds an overview of every head and its weights {what}, to stay within "
        f"max_bytes={doc['overview'].get('max_bytes', room):,}; attnviz.show in a notebook zooms to the exact weights.",
    ]


BYTES_PER_CELL = 2 * 4 / 3 + 0.01
"""A float16 cell in the file: 2 bytes, base64 (and a margin for the JSON around it)."""
