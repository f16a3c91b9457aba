"""Attention documents (schema version 1) from anything: ``attnviz.document_from``.

A document (dict or path), a tensor / array ``[layers, heads, q, k]`` (a leading batch allowed with
``batch_index``), a list of per-layer ``[batch, heads, q, k]`` tensors (Hugging Face
``outputs.attentions``), a Hugging Face output object (``attentions``, or ``encoder_attentions`` /
``decoder_attentions`` / ``cross_attentions`` for seq2seq), a TransformerLens ``ActivationCache``
(or any mapping of hook names to tensors: ``blocks.{l}.attn.hook_pattern``, ``[batch, heads, q, k]``;
``encoder.{l}.attn`` / ``decoder.{l}.attn`` / ``decoder.{l}.cross_attn`` for encoder-decoders),
nnsight-style saved values (anything holding its tensor in ``.value``, alone or in a list), or
explicit ``encoder_self=``, ``decoder_self=``, ``cross=``. Interpretability libraries are read by
duck typing: none of them is imported. The result is the document the service returns, with compact
float16 weights by default; bad input raises :class:`AttentionInputError` naming the argument and
the shape it expected. Rows that do not sum to 1 are reported in ``doc["warnings"]`` (and with
:func:`warnings.warn`), never renormalised: a viewer should show what the model computed.

``value_norms=`` (each key's ``‖v_j W^O_h‖`` per layer and head, :mod:`attnviz.weighting`) makes a
value-weighted document instead: every weight times its key's norm, rows renormalised, and
``weighting: "value_norm"`` in the document.
"""

from __future__ import annotations

import json
import os
import re
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

import numpy as np

from .document import KINDS, DocumentError, check, envelope
from .encoding import Encoding, encode_weights

if TYPE_CHECKING:
    from torch import Tensor

    from .longctx import LongRun

ROW_SUM_TOLERANCE = 1e-2
"""A row is reported when its sum is further than this from 1 (float16 models drift by ~1e-3)."""
RANGE_TOLERANCE = 1e-3
MAX_WEIGHTS = 1 << 26
"""Most weights one kind of a *full* document may hold (67 M: 12 layers x 12 heads x 682 tokens, or
a 180 MB file): past that a browser cannot hold the page, and the float64 copy checked here alone
is 0.5 GB. Larger inputs get an overview (``detail``), which has no such ceiling."""
DEFAULT_MAX_BYTES = 50 << 20
"""``detail="auto"``: a full document when its weights (float16, base64) fit this, else an overview."""
Detail = Literal["auto", "full", "overview"]
BYTES_PER_WEIGHT = 2 * 4 / 3
"""A float16 weight in a document: 2 bytes, base64-encoded."""


class AttentionInputError(DocumentError):
    """Input that cannot be an attention document; the message names the argument and the shape it expected."""


class AttentionInputWarning(UserWarning):
    """Attention weights that are usable but not what a softmax gives (rows not summing to 1)."""


def _is_array(x: Any) -> bool:
    return hasattr(x, "shape") and (hasattr(x, "detach") or isinstance(x, np.ndarray))


def _saved_value(x: Any) -> Any:
    """nnsight: a saved proxy holds its tensor in ``.value`` once the trace has run (newer versions
    hand back the tensor itself, which passes through)."""
    if _is_array(x) or isinstance(x, (list, tuple, Mapping, str, os.PathLike)) or x is None:
        return x
    value = getattr(x, "value", None)
    return value if _is_array(value) else x


_HOOK_PATTERN = re.compile(r"^(blocks|encoder|decoder)\.(\d+)\.(attn|cross_attn)\.hook_pattern$")
_HOOK_KINDS: dict[tuple[str, str], str | None] = {
    ("blocks", "attn"): None,  # one stack: HookedTransformer (causal) or HookedEncoder
    ("encoder", "attn"): "encoder_self",
    ("decoder", "attn"): "decoder_self",
    ("decoder", "cross_attn"): "cross",
}


def _hook_patterns(x: Any) -> dict[str | None, tuple[str, list[Any]]] | None:
    """``{kind: per-layer patterns}`` of a TransformerLens ``ActivationCache`` (its ``cache_dict``)
    or a mapping of hook names to tensors, else None; kind None is a single stack (``blocks.*``)."""
    names = getattr(x, "cache_dict", x)
    if not isinstance(names, Mapping) or "schema_version" in names:
        return None
    found: dict[str | None, tuple[str, dict[int, Any]]] = {}
    for name, value in names.items():
        m = _HOOK_PATTERN.match(name) if isinstance(name, str) else None
        if m and (m[1], m[3]) in _HOOK_KINDS:
            label = f"x['{m[1]}.{{l}}.{m[3]}.hook_pattern']"
            found.setdefault(_HOOK_KINDS[(m[1], m[3])], (label, {}))[1][int(m[2])] = value
    if not found:
        return None
    out: dict[str | None, tuple[str, list[Any]]] = {}
    for kind, (label, layers) in found.items():
        if sorted(layers) != list(range(len(layers))):
            raise AttentionInputError(
                f"{label} holds layers {sorted(layers)} only; a stack needs every layer from 0 to {max(layers)} "
                "(run_with_cache with a names_filter that keeps every layer's hook_pattern)"
            )
        out[kind] = (label, [layers[i] for i in range(len(layers))])
    return out


def _causal(x: Any) -> bool:
    """A TransformerLens cache of a causal model (``cache.model.cfg.attention_dir``)."""
    cfg = getattr(getattr(x, "model", None), "cfg", None)
    return getattr(cfg, "attention_dir", None) == "causal"


def _check_size(count: int, name: str, shape: Sequence[int]) -> None:
    if count > MAX_WEIGHTS:
        raise AttentionInputError(
            f"{name} has {count:,} weights (shape {list(shape)}); attnviz shows at most {MAX_WEIGHTS:,} per kind: "
            "pass fewer layers or heads (a slice such as x[:4]) or a shorter input"
        )


def _to_numpy(x: Any, name: str) -> np.ndarray:
    """A float64 array of a torch tensor, numpy array or nested lists."""
    if hasattr(x, "shape"):  # before any copy: a huge tensor gets the error, not a MemoryError
        shape = [int(d) for d in x.shape]
        _check_size(int(np.prod(shape, dtype=np.int64)), name, shape)
    if hasattr(x, "detach"):  # torch (bfloat16 has no numpy twin: go through float32)
        if x.is_complex():
            raise AttentionInputError(f"{name} has complex values ({x.dtype}); attention weights are real")
        try:
            x = x.detach().to("cpu").float().numpy()
        except (RuntimeError, NotImplementedError) as exc:  # a meta tensor, a device that cannot copy out
            raise AttentionInputError(f"{name}: its values cannot be read on the CPU ({exc})") from None
    if isinstance(x, np.ndarray) and np.iscomplexobj(x):
        raise AttentionInputError(f"{name} has complex values; attention weights are real")
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (ValueError, TypeError) as exc:
        raise AttentionInputError(f"{name}: not a rectangular array of numbers ({exc})") from None
    _check_size(arr.size, name, arr.shape)
    return arr


def _pick_batch(arr: np.ndarray, name: str, batch_index: int | None, dims: str) -> np.ndarray:
    """``arr`` with its leading batch axis removed: batch 1, or the chosen ``batch_index``."""
    batch = arr.shape[0]
    if batch_index is None:
        if batch != 1:
            raise AttentionInputError(
                f"{name} has a batch of {batch} (shape {list(arr.shape)}, read as [batch, {dims}]); "
                f"pass batch_index=0..{batch - 1} to choose one"
            )
        return np.asarray(arr[0])
    if not -batch <= batch_index < batch:
        raise AttentionInputError(f"batch_index={batch_index} is out of range: {name} has a batch of {batch}")
    return np.asarray(arr[batch_index])


def _slice_batch(x: Any, name: str, batch_index: int | None, batch_ndim: int) -> tuple[Any, int | None]:
    """A tensor / array with a batch axis (``batch_ndim`` dimensions) cut to the chosen item, kept
    as a batch of 1 (and the index into it), before anything is copied: only that item is
    converted and size-checked."""
    if batch_index is None or not _is_array(x) or len(x.shape) != batch_ndim:
        return x, batch_index
    batch = int(x.shape[0])
    if not -batch <= batch_index < batch:
        raise AttentionInputError(f"batch_index={batch_index} is out of range: {name} has a batch of {batch}")
    i = batch_index % batch
    return x[i : i + 1], 0


def _stack(x: Any, name: str, batch_index: int | None) -> np.ndarray:
    """One kind's weights as a float64 ``(layers, heads, q, k)`` array, from any supported form."""
    x = _saved_value(x)
    if isinstance(x, (list, tuple)):
        x = [_saved_value(t) for t in x]
    if x is None:
        raise AttentionInputError(f"{name} is None")
    if isinstance(x, (list, tuple)) and x and all(_is_array(t) for t in x):
        # Hugging Face: one [batch, heads, q, k] tensor per layer
        def count(t: Any) -> int:  # the weights of a layer (of the chosen sequence), from its shape
            shape = [int(d) for d in t.shape]
            return int(np.prod(shape[1:] if batch_index is not None and len(shape) == 4 else shape, dtype=np.int64))

        _check_size(sum(count(t) for t in x), name, [len(x), *(int(d) for d in x[0].shape)])
        layers: list[np.ndarray] = []
        for i, t in enumerate(x):
            t, bi = _slice_batch(t, f"{name}[{i}]", batch_index, 4)
            a = _to_numpy(t, f"{name}[{i}]")
            if a.ndim == 4:
                a = _pick_batch(a, f"{name}[{i}]", bi, "heads, queries, keys")
            elif a.ndim == 3 and batch_index is not None:
                raise AttentionInputError(f"batch_index={batch_index} but {name}[{i}] has no batch axis (shape {list(a.shape)})")
            elif a.ndim != 3:
                raise AttentionInputError(
                    f"{name}[{i}] has shape {list(a.shape)}; "
                    "each layer must be [batch, heads, queries, keys] or [heads, queries, keys]"
                )
            if layers and a.shape != layers[0].shape:
                raise AttentionInputError(
                    f"{name} is ragged: layer {i} has shape {list(a.shape)} but layer 0 has {list(layers[0].shape)} "
                    "(every layer must be [heads, queries, keys] of one size)"
                )
            layers.append(a)
        return np.stack(layers)
    x, bi = _slice_batch(x, name, batch_index, 5)
    arr = _to_numpy(x, name)
    if arr.ndim == 5:
        arr = _pick_batch(arr, name, bi, "layers, heads, queries, keys")
    elif batch_index is not None:
        raise AttentionInputError(
            f"batch_index={batch_index} but {name} has no batch axis (shape {list(arr.shape)}; "
            "a batch is [batch, layers, heads, queries, keys])"
        )
    elif arr.ndim == 3:
        arr = arr[None]  # one layer
    elif arr.ndim == 2:
        arr = arr[None, None]  # one head of one layer
    if arr.ndim != 4:
        raise AttentionInputError(
            f"{name} has shape {list(arr.shape)}; expected [layers, heads, queries, keys] "
            "(or [batch, layers, heads, queries, keys], or a list of [batch, heads, queries, keys] per layer)"
        )
    if 0 in arr.shape:
        raise AttentionInputError(f"{name} has shape {list(arr.shape)}: no layer, head, query or key")
    return arr


def _check_values(arr: np.ndarray, name: str) -> list[str]:
    """Errors for NaN / inf / values outside [0, 1]; a warning for rows that do not sum to 1."""
    finite = np.isfinite(arr)
    if not finite.all():
        where = tuple(int(i) for i in np.argwhere(~finite)[0])
        raise AttentionInputError(f"{name} has NaN or infinite weights (first at [layer, head, query, key] = {list(where)})")
    lo, hi = float(arr.min()), float(arr.max())
    if lo < -RANGE_TOLERANCE or hi > 1 + RANGE_TOLERANCE:
        raise AttentionInputError(
            f"{name} has weights outside [0, 1] (min {lo:.3g}, max {hi:.3g}): pass the softmax probabilities, not the scores"
        )
    sums = arr.sum(axis=-1)
    off = np.abs(sums - 1.0) > ROW_SUM_TOLERANCE
    if off.any():
        n, total = int(off.sum()), off.size
        where = tuple(int(i) for i in np.argwhere(off)[0])
        return [
            f"{name}: {n} of {total} query rows do not sum to 1 (first at [layer, head, query] = {list(where)}, "
            f"sum {float(sums[where]):.4g}); shown as given, not renormalised"
        ]
    return []


def _tokens(tokens: Any, n: int, name: str, what: str) -> tuple[list[str], list[str]]:
    """``tokens`` as strings of length ``n``, or "0".."n-1" (with a warning) when None."""
    if tokens is None:
        return [str(i) for i in range(n)], [f"no {name} given: the {n} {what} are labelled 0..{n - 1}"]
    if isinstance(tokens, str):
        raise AttentionInputError(
            f"{name} must be a list of token strings, not one string (split it, or use the tokenizer's tokens)"
        )
    try:
        out = list(tokens)
    except TypeError:
        raise AttentionInputError(f"{name} must be a list of token strings, not {type(tokens).__name__}") from None
    bad = [t for t in out if not isinstance(t, str)]
    if bad:
        raise AttentionInputError(
            f"{name} must be strings, got {type(bad[0]).__name__} {bad[0]!r} "
            "(token ids? use tokenizer.convert_ids_to_tokens(ids))"
        )
    if len(out) != n:
        raise AttentionInputError(f"{name} has {len(out)} tokens but the attention has {n} {what}")
    return out, []


def _get(x: Any, key: str) -> Any:
    """A model output's field; None when missing or empty (BERT's output has ``cross_attentions=()``)."""
    value = x.get(key) if isinstance(x, Mapping) else getattr(x, key, None)
    if isinstance(value, (list, tuple)) and not value:
        return None
    return value


def _is_hf_output(x: Any) -> bool:
    keys = ("attentions", "encoder_attentions", "decoder_attentions", "cross_attentions")
    if isinstance(x, Mapping) and "schema_version" in x:
        return False
    return any(_get(x, k) is not None for k in keys) and not _is_array(x)


def _check_document(doc: Any, source: str) -> dict[str, Any]:
    """A document as given (any encoding), after :func:`attnviz.document.check`."""
    try:
        return check(doc, source)
    except DocumentError as exc:
        raise AttentionInputError(str(exc)) from None


def load_document(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and check a document file (JSON, any encoding)."""
    p = Path(path)
    try:
        raw = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AttentionInputError(f"{p}: no such file") from None
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise AttentionInputError(f"{p}: not a readable JSON document ({exc})") from None
    return _check_document(raw, str(p))


def _count(x: Any, batch_index: int | None) -> int:
    """The weights ``x`` holds (of the chosen sequence), from shapes only; 0 for nested lists."""
    x = _saved_value(x)
    items = [_saved_value(t) for t in x] if isinstance(x, (list, tuple)) else [x]
    total = 0
    for t in items:
        if not _is_array(t):
            return 0
        shape = [int(d) for d in t.shape]
        batched = batch_index is not None and len(shape) == (4 if isinstance(x, (list, tuple)) else 5)
        total += int(np.prod(shape[1:] if batched else shape, dtype=np.int64))
    return total


def _as_tensor(t: Any, name: str) -> Tensor:
    """A torch view of an array (no copy of a float tensor or array)."""
    import torch

    if not hasattr(t, "detach"):
        a = np.asarray(t)
        if not np.issubdtype(a.dtype, np.floating):
            raise AttentionInputError(f"{name} has dtype {a.dtype}; attention weights are floats")
        t = torch.from_numpy(a)
    out = cast("Tensor", t.detach())
    if out.is_complex() or not out.is_floating_point():
        raise AttentionInputError(f"{name} has dtype {out.dtype}; attention weights are real floats")
    if out.device.type == "meta":
        raise AttentionInputError(f"{name}: a meta tensor holds no values")
    return out


def _layer_list(x: Any, name: str, batch_index: int | None) -> list[Tensor]:
    """One kind's weights as one ``(heads, q, k)`` tensor a layer, views of the input (nothing
    copied): the overview of a long input reads them where they are."""
    x = _saved_value(x)
    if isinstance(x, (list, tuple)):
        layers: list[Tensor] = []
        for i, t in enumerate(x):
            t = _as_tensor(_saved_value(t), f"{name}[{i}]")
            if t.dim() == 4:
                b = 0 if batch_index is None else batch_index
                if batch_index is None and t.shape[0] != 1:
                    raise AttentionInputError(
                        f"{name}[{i}] has a batch of {t.shape[0]}; pass batch_index=0..{t.shape[0] - 1} to choose one"
                    )
                if not -t.shape[0] <= b < t.shape[0]:
                    raise AttentionInputError(f"batch_index={batch_index} is out of range: {name} has a batch of {t.shape[0]}")
                t = t[b]
            if t.dim() != 3:
                raise AttentionInputError(
                    f"{name}[{i}] has shape {list(t.shape)}; "
                    "each layer must be [batch, heads, queries, keys] or [heads, queries, keys]"
                )
            if layers and t.shape != layers[0].shape:
                raise AttentionInputError(
                    f"{name} is ragged: layer {i} has shape {list(t.shape)} but layer 0 has {list(layers[0].shape)}"
                )
            layers.append(t)
        return layers
    t = _as_tensor(x, name)
    if t.dim() == 5:
        b = 0 if batch_index is None else batch_index
        if batch_index is None and t.shape[0] != 1:
            raise AttentionInputError(f"{name} has a batch of {t.shape[0]}; pass batch_index=0..{t.shape[0] - 1} to choose one")
        if not -t.shape[0] <= b < t.shape[0]:
            raise AttentionInputError(f"batch_index={batch_index} is out of range: {name} has a batch of {t.shape[0]}")
        t = t[b]
    if t.dim() == 3:
        t = t[None]
    if t.dim() != 4:
        raise AttentionInputError(f"{name} has shape {list(t.shape)}; expected [layers, heads, queries, keys]")
    return list(t.unbind(0))


def _check_layers(layers: list[Tensor], name: str) -> list[str]:
    """:func:`_check_values` a layer and a block of rows at a time (no float64 copy of the whole)."""
    import torch

    rows_off, total, first_off = 0, 0, None
    lo, hi = 0.0, 0.0
    for layer, w in enumerate(layers):
        H, nq, nk = (int(d) for d in w.shape)
        step = max(1, (8 << 20) // max(1, H * nk))
        for a in range(0, nq, step):
            c = w[:, a : a + step].to("cpu", torch.float32)
            finite = torch.isfinite(c)
            if not bool(finite.all()):
                h, q, k = (int(i) for i in torch.nonzero(~finite)[0])
                raise AttentionInputError(
                    f"{name} has NaN or infinite weights (first at [layer, head, query, key] = {[layer, h, a + q, k]})"
                )
            lo, hi = min(lo, float(c.min())), max(hi, float(c.max()))
            off = (c.sum(-1, dtype=torch.float64) - 1.0).abs() > ROW_SUM_TOLERANCE
            n = int(off.sum())
            if n and first_off is None:
                h, q = (int(i) for i in torch.nonzero(off)[0])
                first_off = [layer, h, a + q]
            rows_off += n
            total += off.numel()
    if lo < -RANGE_TOLERANCE or hi > 1 + RANGE_TOLERANCE:
        raise AttentionInputError(
            f"{name} has weights outside [0, 1] (min {lo:.3g}, max {hi:.3g}): pass the softmax probabilities, not the scores"
        )
    if rows_off:
        return [
            f"{name}: {rows_off} of {total} query rows do not sum to 1 (first at [layer, head, query] = {first_off}); "
            "shown as given, not renormalised"
        ]
    return []


def document_from(
    x: Any = None,
    tokens: Sequence[str] | None = None,
    *,
    tgt_tokens: Sequence[str] | None = None,
    encoder_self: Any = None,
    decoder_self: Any = None,
    cross: Any = None,
    kind: str | None = None,
    batch_index: int | None = None,
    text: str | None = None,
    output: str | None = None,
    model: Mapping[str, Any] | None = None,
    encoding: Encoding = "float16",
    precision: int = 4,
    value_norms: Any = None,
    detail: Detail = "auto",
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> dict[str, Any]:
    """A schema-1 attention document from ``x`` (see the module docstring) or the explicit kinds.

    ``tokens`` are the key/query tokens of a single stack, and the source tokens of a seq2seq
    model; ``tgt_tokens`` the target tokens. Without tokens, positions are labelled "0", "1", ...
    (with a warning in the document). ``kind`` says what a single stack is: ``"encoder_self"``
    (BERT-like, the default) or ``"decoder_self"`` (GPT-like, causal); for a TransformerLens cache
    the default comes from its model (``cfg.attention_dir == "causal"``: ``"decoder_self"``). ``batch_index`` picks one
    sequence of a batch. ``text`` / ``output`` / ``model`` fill the document's fields of the same name.
    ``value_norms``: ``[layers, heads, keys]`` (or a list of per-layer ``[heads, keys]``) of each key's
    ``‖v_j W^O_h‖``, or a mapping of kind to those; the document then holds the value-weighted weights
    (:func:`attnviz.weighting.reweight`) and says ``weighting: "value_norm"``.

    ``detail``: ``"full"`` (every weight), ``"overview"`` (every head as a pooled thumbnail plus its
    statistics, the weights left where they are: ``attnviz.show`` answers the page's tiles from
    them, ``attnviz.save_html`` embeds what fits), or ``"auto"`` (the default): full when the
    weights fit ``max_bytes`` as float16, else an overview.
    """
    return prepare_document(
        x, tokens, tgt_tokens=tgt_tokens, encoder_self=encoder_self, decoder_self=decoder_self, cross=cross, kind=kind,
        batch_index=batch_index, text=text, output=output, model=model, encoding=encoding, precision=precision,
        detail=detail, max_bytes=max_bytes, value_norms=value_norms,
    )[0]  # fmt: skip


def prepare_document(
    x: Any = None,
    tokens: Sequence[str] | None = None,
    *,
    tgt_tokens: Sequence[str] | None = None,
    encoder_self: Any = None,
    decoder_self: Any = None,
    cross: Any = None,
    kind: str | None = None,
    batch_index: int | None = None,
    text: str | None = None,
    output: str | None = None,
    model: Mapping[str, Any] | None = None,
    encoding: Encoding = "float16",
    precision: int = 4,
    detail: Detail = "auto",
    max_bytes: int = DEFAULT_MAX_BYTES,
    size: int | None = None,
    value_norms: Any = None,
) -> tuple[dict[str, Any], LongRun | None]:
    """:func:`document_from`, plus, for an overview, the run its tiles are cut from (the given
    tensors, kept as they are; None for a full document). ``size``: the thumbnails' side."""
    if detail not in ("auto", "full", "overview"):
        raise AttentionInputError(f"detail must be 'auto', 'full' or 'overview', not {detail!r}")
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes <= 0:
        raise AttentionInputError(f"max_bytes must be a positive number of bytes, not {max_bytes!r}")
    if isinstance(x, (str, os.PathLike)):
        return load_document(x), None
    if isinstance(x, Mapping) and "schema_version" in x:
        return _check_document(x, "document"), None
    x = _saved_value(x)
    patterns = _hook_patterns(x) if x is not None else None
    if kind is None:
        kind = "decoder_self" if patterns is not None and _causal(x) else "encoder_self"
    if kind not in ("encoder_self", "decoder_self"):
        raise AttentionInputError(f"kind must be 'encoder_self' or 'decoder_self' for a single stack, not {kind!r}")

    given: dict[str, tuple[Any, str]] = {}
    explicit = {"encoder_self": encoder_self, "decoder_self": decoder_self, "cross": cross}
    if x is not None and any(v is not None for v in explicit.values()):
        raise AttentionInputError("pass either x or encoder_self= / decoder_self= / cross=, not both")
    if x is None:
        given = {k: (v, k) for k, v in explicit.items() if v is not None}
        if not given:
            raise AttentionInputError(
                "nothing to show: pass x (a tensor, a list of per-layer tensors, a model output or a document)"
            )
    elif patterns is not None:  # TransformerLens: blocks.{l}.attn.hook_pattern, [batch, heads, q, k] each
        given = {(k or kind): (v, label) for k, (label, v) in patterns.items()}
    elif _is_hf_output(x):
        hf = {
            "encoder_self": ("encoder_attentions", _get(x, "encoder_attentions")),
            "decoder_self": ("decoder_attentions", _get(x, "decoder_attentions")),
            "cross": ("cross_attentions", _get(x, "cross_attentions")),
        }
        given = {k: (v, f"x.{attr}") for k, (attr, v) in hf.items() if v is not None}
        if not given:  # encoder-only or decoder-only: one stack in `attentions`
            given = {kind: (_get(x, "attentions"), "x.attentions")}
    else:
        given = {kind: (x, "x")}

    names = {k: name for k, (_, name) in given.items()}
    notes: list[str] = []
    total = sum(_count(v, batch_index) for v, _ in given.values())
    big = detail == "overview" or (detail == "auto" and total * BYTES_PER_WEIGHT > max_bytes)
    if big and value_norms is not None:
        raise AttentionInputError(
            "value_norms: a value-weighted document comes whole (detail 'full'); this one would be an overview "
            f"({total:,} weights), so pass detail='full' and a larger max_bytes, or fewer layers or tokens"
        )
    arrays: dict[str, np.ndarray] = {}
    kept: dict[str, list[Tensor]] = {}
    if big:  # the weights stay where they are: checked and reduced a block of rows at a time
        kept = {k: _layer_list(v, name, batch_index) for k, (v, name) in given.items()}
        shapes = {k: (len(ls), *(int(d) for d in ls[0].shape)) for k, ls in kept.items()}
        for k, ls in kept.items():
            if 0 in shapes[k]:
                raise AttentionInputError(f"{names[k]} has shape {list(shapes[k])}: no layer, head, query or key")
            notes += _check_layers(ls, names[k])
    else:
        arrays = {k: _stack(v, name, batch_index) for k, (v, name) in given.items()}
        shapes = {k: tuple(int(d) for d in arr.shape) for k, arr in arrays.items()}
        for k, arr in arrays.items():
            notes += _check_values(arr, names[k])

    # sides: source for encoder rows and cross keys, target for decoder rows
    n_src: int | None = None
    n_tgt: int | None = None
    for k, shape in shapes.items():
        q, kk = shape[2:]
        if k in ("encoder_self", "decoder_self") and q != kk:
            raise AttentionInputError(f"{names[k]} has {q} queries and {kk} keys; self-attention is square [layers, heads, n, n]")
        want = {"encoder_self": ("src", q, "src", kk), "decoder_self": ("tgt", q, "tgt", kk), "cross": ("tgt", q, "src", kk)}[k]
        for side, n in ((want[0], want[1]), (want[2], want[3])):
            seen: int | None = n_src if side == "src" else n_tgt
            if seen is not None and seen != n:
                raise AttentionInputError(
                    f"{names[k]} has {n} {'source' if side == 'src' else 'target'} positions but another kind has {seen}: "
                    "encoder_self is [L, H, S, S], decoder_self [L, H, T, T], cross [L, H, T, S]"
                )
            if side == "src":
                n_src = n
            else:
                n_tgt = n
    layers = {shape[:2] for shape in shapes.values()}
    if len({h for _, h in layers}) > 1:
        raise AttentionInputError(f"the kinds have different head counts: {sorted(h for _, h in layers)}")

    single_decoder = set(shapes) == {"decoder_self"}
    src: list[str] = []
    tgt: list[str] = []
    if single_decoder:
        # a decoder-only model: its tokens are the target side (causal self-attention)
        tgt, w = _tokens(tokens if tgt_tokens is None else tgt_tokens, n_tgt or 0, "tokens", "positions")
        notes = w + notes
    else:
        if n_src is not None:
            src, w = _tokens(tokens, n_src, "tokens", "source positions")
            notes = w + notes
        if n_tgt is not None:
            tgt, w = _tokens(tgt_tokens, n_tgt, "tgt_tokens", "target positions")
            notes = w + notes
    weighting = "attention"
    if value_norms is not None:
        arrays = _value_weighted(arrays, value_norms, names)
        weighting = "value_norm"
    for note in notes:
        if "do not sum to 1" in note:
            warnings.warn(note, AttentionInputWarning, stacklevel=2)

    first = next(iter(shapes.values()))
    info: dict[str, Any] = {"task": None, "epoch": None, "n_layers": int(first[0]), "n_heads": int(first[1])}
    info.update(model or {})
    joined = " ".join(src if src else tgt)
    tok: dict[str, list[str]] = {"src": src}
    if tgt:
        tok["tgt"] = tgt
    doc = envelope(
        checkpoint=None,
        model=info,
        text=text if text is not None else joined,
        output=output if output is not None else (" ".join(tgt) if tgt and src else None),
        expected=None,
        tokens=tok,
        encoding=encoding,
        weighting=weighting,
        warnings=notes,
    )
    if not big:
        doc["attentions"] = {k: encode_weights(arrays[k], encoding, precision) for k in KINDS if k in arrays}
        return doc, None
    from . import longctx  # torch: only for an overview (a full document needs numpy alone)

    size = longctx.DEFAULT_SIZE if size is None else size
    if not longctx.MIN_SIZE <= size <= longctx.MAX_SIZE:
        raise AttentionInputError(f"size must be {longctx.MIN_SIZE} to {longctx.MAX_SIZE} (a thumbnail's side), not {size!r}")
    run, overviews = longctx.weights_overview({k: kept[k] for k in KINDS if k in kept}, size)
    dtype: longctx.CompactDtype = "uint8" if encoding == "uint8" else "float16"
    doc["encoding"] = dtype
    doc["detail"] = "overview"
    doc["overview"] = {"handle": None, "kinds": {k: ov.result(dtype) for k, ov in overviews.items()}}
    return doc, run


def _value_weighted(arrays: dict[str, np.ndarray], value_norms: Any, names: dict[str, str]) -> dict[str, np.ndarray]:
    """Each kind's ``[L, H, q, k]`` weights times its ``[L, H, k]`` value norms, rows renormalised
    (a row of zeros stays zeros)."""
    if isinstance(value_norms, Mapping):
        extra = sorted(set(value_norms) - set(arrays))
        if extra:
            raise AttentionInputError(f"value_norms names {', '.join(extra)}, which the weights do not hold")
        given = dict(value_norms)
    elif len(arrays) == 1:
        given = {next(iter(arrays)): value_norms}
    else:
        raise AttentionInputError(f"value_norms: pass a mapping of kind to [layers, heads, keys] for {', '.join(arrays)}")
    out = dict(arrays)
    for k, norms in given.items():
        label = f"value_norms[{k!r}]" if isinstance(value_norms, Mapping) else "value_norms"
        n = np.stack([_to_numpy(x, label) for x in norms]) if isinstance(norms, list | tuple) else _to_numpy(norms, label)
        L, H, _, nk = arrays[k].shape
        if n.shape != (L, H, nk):
            raise AttentionInputError(
                f"{label} has shape {list(n.shape)} but {names[k]} needs [layers, heads, keys] = [{L}, {H}, {nk}]"
            )
        if not np.all(np.isfinite(n)) or (n < 0).any():
            raise AttentionInputError(f"{label} must hold norms: finite numbers ≥ 0")
        w = arrays[k] * n[:, :, None, :]
        total = w.sum(-1, keepdims=True)
        out[k] = np.divide(w, total, out=np.zeros_like(w), where=total > 0)
    return out
