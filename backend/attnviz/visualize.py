"""Matplotlib helpers for attention documents (schema version 1), for notebooks and the shell::

    python -m attnviz.visualize attention.json --kind cross --layer 0 --out cross.png
    python -m attnviz.visualize attention.json --kind encoder_self --layer 1 --head 2 --out head.png

``load_attention_json`` reads a document written by ``attnviz.export_attention_json`` or
returned by ``POST /api/attention`` (JSON or compact encodings); ``plot_attention_matrix`` draws
one query × key matrix (section 3.2.1's softmax weights) and ``plot_heads`` every head of one
layer side by side (section 3.2.2's h heads). Rows are queries, columns keys; each row sums to 1.
Both take a plain matrix / a document, or anything :func:`attnviz.document_from` takes (a
tensor, Hugging Face ``outputs.attentions``, a seq2seq output...) with its ``tokens=``; token
labels go on both axes and the figure grows with the token count, so no label is clipped.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files, not windows: works on servers and in CI

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .document import KINDS, DocumentError, sides, weights

CMAP = "viridis"  # perceptually uniform and colour-blind safe
KIND_TITLES = {
    "encoder_self": "encoder self-attention",
    "decoder_self": "decoder self-attention (masked)",
    "cross": "cross-attention (decoder → encoder)",
}


class AttentionDocumentError(DocumentError):
    """A file or dict that is not a usable attention document; the message says why."""


def validate_document(doc: Any, source: str = "document") -> dict[str, Any]:
    """Check a schema-v1 document (:func:`attnviz.document.weights`); return it with the attentions
    decoded to nested lists (compact float16 / uint8 encodings accepted)."""
    try:
        decoded = weights(doc, source)
    except DocumentError as exc:
        raise AttentionDocumentError(str(exc)) from None
    return {**doc, "attentions": {kind: w.tolist() for kind, w in decoded.items()}, "encoding": "json"}


def load_attention_json(path: str | Path) -> dict[str, Any]:
    """Read and validate an attention document; weights come back as nested lists
    ``data["attentions"][kind][layer][head][query][key]`` whatever encoding the file used."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AttentionDocumentError(f"{path}: no such file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise AttentionDocumentError(f"{path}: not valid JSON ({exc})") from None
    return validate_document(raw, str(path))


def layer_weights(doc: dict[str, Any], kind: str, layer: int) -> np.ndarray:
    """The ``(heads, T_q, T_k)`` weights of one layer of one kind, with clear errors."""
    attentions = doc["attentions"]
    if kind not in attentions:
        have = ", ".join(k for k in KINDS if k in attentions) or "none"
        hint = " (an encoder-only model has no decoder kinds)" if kind in ("decoder_self", "cross") else ""
        raise AttentionDocumentError(f"the document has no {kind!r} attention{hint}; it has: {have}")
    layers = attentions[kind]
    if not 0 <= layer < len(layers):
        raise AttentionDocumentError(f"layer {layer} is out of range: {kind} has layers 0..{len(layers) - 1}")
    return np.asarray(layers[layer], dtype=np.float64)  # (h, T_q, T_k)


def _show(token: str) -> str:
    return "␣" if token == " " else token


def _as_document(x: Any, **kwargs: Any) -> dict[str, Any]:
    """``x`` as a decoded document: a document as it is (validated), anything else through
    :func:`attnviz.document_from` (whose :class:`~attnviz.anywhere.AttentionInputError` says what is wrong)."""
    from .anywhere import document_from

    if isinstance(x, dict) and "schema_version" in x and not kwargs:
        return validate_document(x)
    return validate_document(document_from(x, **kwargs))


def _as_matrix(x: Any) -> np.ndarray | None:
    """A plain 2-D matrix (nested lists, array or tensor), else None."""
    if isinstance(x, (dict, str, Path)) or (isinstance(x, (list, tuple)) and x and hasattr(x[0], "shape")):
        return None
    if hasattr(x, "detach"):
        x = x.detach().to("cpu").float().numpy()
    try:
        m = np.asarray(x, dtype=np.float64)
    except (ValueError, TypeError):
        return None
    return m if m.ndim == 2 else None


def _first_kind(doc: dict[str, Any], kind: str | None) -> str:
    if kind is not None:
        return kind
    return next(k for k in KINDS if k in doc["attentions"])


def _label_size(n: int, inches: float) -> float:
    """A tick-label font size (points) at which ``n`` labels fit along ``inches``."""
    return float(max(3.0, min(8.0, 0.8 * 72.0 * inches / max(n, 1))))


def plot_attention_matrix(
    matrix: Any,
    title: str | None = None,
    x_tokens: Sequence[str] | None = None,
    y_tokens: Sequence[str] | None = None,
    ax: Axes | None = None,
    colorbar: bool = True,
    annotate: bool | None = None,
    *,
    kind: str | None = None,
    layer: int = 0,
    head: int = 0,
    **document_from_kwargs: Any,
) -> Axes:
    """Draw one attention matrix (rows: queries, columns: keys) as a heatmap on ``ax`` (a new
    figure if None) and return the Axes. Colour scale fixed to [0, 1] so heads compare fairly;
    ``annotate`` writes each weight in its cell (default: only for small matrices).

    ``matrix`` is a 2-D matrix, or a document / anything :func:`attnviz.document_from` takes
    (``tokens=`` and its other keywords pass through): then head ``layer``.``head`` of ``kind``
    (default: the first kind present) is drawn, labelled with the document's tokens."""
    m = _as_matrix(matrix)
    if m is None:
        doc = _as_document(matrix, **document_from_kwargs)
        kind = _first_kind(doc, kind)
        weights = layer_weights(doc, kind, layer)
        if not 0 <= head < weights.shape[0]:
            raise AttentionDocumentError(
                f"head {head} is out of range: layer {layer} of {kind} has heads 0..{weights.shape[0] - 1}"
            )
        m = weights[head]
        q_tokens, k_tokens = sides(doc["tokens"])[kind]
        x_tokens = k_tokens if x_tokens is None else x_tokens
        y_tokens = q_tokens if y_tokens is None else y_tokens
        title = f"{KIND_TITLES.get(kind, kind)}, head {layer}.{head}" if title is None else title
    elif document_from_kwargs:
        raise TypeError(f"keywords {sorted(document_from_kwargs)} need a document or tensor, not a 2-D matrix")
    T_q, T_k = m.shape
    longest = max((len(t) for t in [*(x_tokens or []), *(y_tokens or [])]), default=1)
    if ax is None:
        # cells shrink as tokens grow, down to 0.12 in; room for the longest label on each axis
        cell = max(0.12, min(0.42, 10.0 / max(T_q, T_k)))
        label_in = 0.09 * min(longest, 24)
        _, ax = plt.subplots(figsize=(1.8 + label_in + cell * T_k, 1.4 + label_in + cell * T_q), layout="constrained")
    image = ax.imshow(m, cmap=CMAP, vmin=0.0, vmax=1.0, aspect="equal", interpolation="nearest")
    ax.set_xlabel("key")
    ax.set_ylabel("query")
    bbox = ax.get_position()
    fig_w, fig_h = ax.get_figure(root=True).get_size_inches()  # type: ignore[union-attr]
    if x_tokens is not None:
        if len(x_tokens) != T_k:
            raise ValueError(f"x_tokens has {len(x_tokens)} labels but the matrix has {T_k} keys")
        ax.set_xticks(range(len(x_tokens)), [_show(t) for t in x_tokens], fontsize=_label_size(T_k, bbox.width * fig_w))
        for label, token in zip(ax.get_xticklabels(), x_tokens, strict=False):
            label.set_rotation(90 if len(token) > 1 else 0)  # characters upright, <eos> sideways
    if y_tokens is not None:
        if len(y_tokens) != T_q:
            raise ValueError(f"y_tokens has {len(y_tokens)} labels but the matrix has {T_q} queries")
        ax.set_yticks(range(len(y_tokens)), [_show(t) for t in y_tokens], fontsize=_label_size(T_q, bbox.height * fig_h))
    ax.tick_params(length=0)
    if title:
        ax.set_title(title, fontsize=10)
    if annotate is None:
        annotate = m.size <= 144
    if annotate:
        for (i, j), value in np.ndenumerate(m):
            if value >= 0.005:
                ax.text(j, i, f"{value:.2f}"[1:] if value < 1 else "1", ha="center", va="center", fontsize=6,
                        color="black" if value > 0.6 else "white")  # fmt: skip
    if colorbar:
        ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.02, label="attention weight")
    return ax


def plot_heads(
    doc: Any, kind: str | None = None, layer: int = 0, heads: Sequence[int] | None = None, **document_from_kwargs: Any
) -> Figure:
    """A grid of every head (or the chosen ``heads``) of one layer of one attention kind
    (default: the first kind present). ``doc`` is a document or anything
    :func:`attnviz.document_from` takes (``tokens=`` and its other keywords pass through)."""
    doc = _as_document(doc, **document_from_kwargs)
    kind = _first_kind(doc, kind)
    weights = layer_weights(doc, kind, layer)  # (h, T_q, T_k)
    n_heads = weights.shape[0]
    chosen = list(range(n_heads)) if heads is None else list(heads)
    for h in chosen:
        if not 0 <= h < n_heads:
            raise AttentionDocumentError(f"head {h} is out of range: layer {layer} of {kind} has heads 0..{n_heads - 1}")
    y_tokens, x_tokens = sides(doc["tokens"])[kind]
    cols = min(len(chosen), 4)
    rows = -(-len(chosen) // cols)
    T_q, T_k = weights.shape[1:]
    cell = max(0.08, min(0.3, 5.0 / max(T_q, T_k)))
    label_in = 0.09 * min(max((len(t) for t in [*x_tokens, *y_tokens]), default=1), 24)
    cell_w, cell_h = 1.0 + label_in + cell * T_k, 1.0 + label_in + cell * T_q
    fig, axes = plt.subplots(rows, cols, figsize=(cols * cell_w + 1.2, rows * cell_h + 0.8), squeeze=False, layout="constrained")
    for ax, h in zip(axes.flat, chosen, strict=False):
        plot_attention_matrix(weights[h], f"head {layer}.{h}", x_tokens, y_tokens, ax=ax, colorbar=False, annotate=False)
    for ax in list(axes.flat)[len(chosen) :]:
        ax.set_visible(False)
    image = axes.flat[0].images[0]
    fig.colorbar(image, ax=axes, shrink=0.8, label="attention weight")
    model = doc.get("model") or {}
    title = f"{KIND_TITLES.get(kind, kind)}, layer {layer}"
    if model.get("task") is not None:
        title += f" — {model['task']} epoch {model.get('epoch', '?')}"
    text = doc.get("input", "")
    title += f": {text if len(text) <= 60 else text[:57] + '…'!r}"
    if doc.get("output") is not None:
        title += f" → {doc['output']!r}"
    fig.suptitle(title, fontsize=11)
    return fig


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m attnviz.visualize",
        description="Plot the attention heads of one layer of an attention document as a PNG.",
    )
    parser.add_argument("document", help="attention JSON from attnviz.export_attention_json or the API")
    parser.add_argument("--kind", choices=KINDS, default="cross", help="which attention (default: cross)")
    parser.add_argument("--layer", type=int, default=0, help="layer index, from 0 (default 0)")
    parser.add_argument("--head", type=int, default=None, help="plot only this head (default: every head of the layer)")
    parser.add_argument("--out", required=True, help="PNG file to write")
    parser.add_argument("--dpi", type=int, default=150)
    args = parser.parse_args(argv)
    try:
        doc = load_attention_json(args.document)
        if args.head is None:
            fig = plot_heads(doc, args.kind, args.layer)
        else:
            weights = layer_weights(doc, args.kind, args.layer)
            if not 0 <= args.head < weights.shape[0]:
                raise AttentionDocumentError(
                    f"head {args.head} is out of range: layer {args.layer} of {args.kind} has heads 0..{weights.shape[0] - 1}"
                )
            y_tokens, x_tokens = sides(doc["tokens"])[args.kind]
            title = f"{KIND_TITLES[args.kind]}, head {args.layer}.{args.head}: {doc.get('input', '')!r}"
            ax = plot_attention_matrix(weights[args.head], title, x_tokens, y_tokens)
            fig = ax.figure  # type: ignore[assignment]
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(args.out, dpi=args.dpi, bbox_inches="tight")  # nothing clipped, whatever the labels
        plt.close(fig)
    except AttentionDocumentError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
