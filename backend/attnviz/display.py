"""Showing attention anywhere: ``attnviz.show`` (the full visualizer in a notebook cell) and
``attnviz.save_html`` (one self-contained offline HTML file). Both take anything
:func:`attnviz.document_from` takes, with the same keyword arguments.

The notebook view is an anywidget whose front end puts the single-file page in a sandboxed
``<iframe srcdoc>``: the app's CSS cannot leak into the notebook nor the notebook's into it,
several views in one notebook stay independent, and every asset comes from the Python package
(no CDN, no network check).
"""

from __future__ import annotations

import numbers
import os
from pathlib import Path
from typing import Any

from .anywhere import document_from
from .atomic import write_text_atomic
from .html import render_html

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
  el.appendChild(frame);
  return () => frame.remove();
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

    return AttentionView


_view_class: type | None = None


def show(x: Any = None, tokens: Any = None, *, height: int = DEFAULT_HEIGHT, **kwargs: Any) -> Any:
    """The full visualizer of ``document_from(x, tokens, **kwargs)`` in a notebook cell: return
    the widget (the cell shows it). ``height`` is the view's height in pixels."""
    global _view_class
    lo, hi = HEIGHT_RANGE
    if isinstance(height, bool) or not isinstance(height, numbers.Real) or not lo <= height <= hi:
        raise ValueError(f"height must be a number of pixels from {lo} to {hi}, not {height!r}")
    doc = document_from(x, tokens, **kwargs)
    if _view_class is None:
        _view_class = _widget_class()
    return _view_class(html=render_html(doc), height=int(height))


def save_html(x: Any, path: str | os.PathLike[str], tokens: Any = None, **kwargs: Any) -> Path:
    """Write one self-contained HTML file of ``document_from(x, tokens, **kwargs)`` to ``path``
    (atomically) and return its path. It opens from disk in a browser, with no server and no network."""
    doc = document_from(x, tokens, **kwargs)
    return write_text_atomic(path, render_html(doc))
