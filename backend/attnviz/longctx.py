"""Attention at any length: an overview of every head, and exact tiles of any region on demand.

The whole tensor of a long input is ``L·H·n²`` numbers (GPT-2 small at 1,024 tokens: 151 M; a
12 × 12 model at 8,192 tokens: 9.7 G), so it is never shipped and never kept. Instead:

- the model runs once without ``output_attentions``; a hook on each attention module reduces that
  module's own weights while they exist (one layer at a time) into per-head **thumbnails**
  (block maxima, :class:`Overview`) and **statistics** computed on the exact weights, and keeps
  the module's Q and K (RoPE applied) — ``O(L·H·n·d)``, far less than ``O(L·H·n²)``;
- a **tile** (any rows × columns of one head) is recomputed exactly from the kept Q and K
  (:class:`HeadRows`: ``softmax(scale·QKᵀ + bias)`` under the module's mask, a few hundred rows
  at a time), so its numbers are the model's own weights, the same as a full document's;
- the kept Q and K live under an opaque handle in a :class:`HandleStore` bounded in bytes and time.

Peak memory is the model plus about one layer's attention (the eager kernel's own scores and
weights, transient) plus the kept Q and K; every reduction works in chunks of at most
:data:`CHUNK_BYTES`.

A family plugs in by producing, per kind and layer, a :class:`HeadRows` (Q, K, the scale, the
mask rule and an optional additive bias such as T5's relative positions) and handing the
module's own weights (or the :class:`HeadRows` itself, which recomputes them) to
:meth:`Overview.add`: :func:`toy_overview` and :func:`hf_overview` are the two recipes.
"""

from __future__ import annotations

import math
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import torch
from torch import Tensor

from .encoding import compact
from .sampling import GREEDY, Sampling
from .weighting import Weighting, reweight, value_norms

if TYPE_CHECKING:
    from .hf import HFModel, HFRun
    from .inference import AttentionResult
    from .model import SmallTransformer

CHUNK_BYTES = 32 << 20
"""Largest block of weights any reduction or tile holds at once (float32)."""
DEFAULT_SIZE = 128
"""Thumbnail side P (a setting: 32–256)."""
MIN_SIZE, MAX_SIZE = 32, 256
MAX_CELLS = 1 << 20
"""Default and ceiling of a tile's ``max_cells``."""
MAX_TOPK = 64
MAX_TOPK_ROWS = 8192
LOCAL_BAND = 2
"""``local`` is the mass on keys within this many positions of the query's own."""
STATS = ("entropy", "distance", "first_token", "previous_token", "self_token", "local")
CompactDtype = Literal["float16", "uint8"]


class LongContextError(Exception):
    """A request about a long run that cannot be answered; the edge picks the HTTP status."""


class UnknownHandleError(LongContextError):
    """The handle is unknown or expired (the client asks for the overview again)."""


class RegionError(LongContextError):
    """A kind, layer, head or region outside the run's matrices."""

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.extra = extra


# ---- one attention module, recomputable ---------------------------------------------------------


@dataclass
class HeadRows:
    """What one attention module needs to recompute any rows of any head exactly:
    ``softmax(scale · Q Kᵀ + bias)`` with keys the mask hides at 0.

    ``q`` ``(n_heads, T_q, d)``; ``k`` ``(n_kv_heads, T_k, d)`` (grouped-query heads share a key
    head: head h reads key head ``h // (n_heads / n_kv_heads)``); ``causal``: query i sees keys
    ``j ≤ i + T_k − T_q``; ``window``: and only ``i' − j < window`` (sliding-window models);
    ``bias(q0, q1)``: ``(n_heads, q1 − q0, T_k)`` added to the scores (T5's relative positions);
    ``ablated``: heads switched off, whose weights are shown as 0 (as in a full document);
    ``norms``: ``(n_heads, T_k)`` each key's ``‖v_j W^O_h‖`` (:mod:`attnviz.weighting`), for
    value-weighted rows; None where the family does not provide them."""

    q: Tensor
    k: Tensor
    scale: float
    causal: bool = False
    window: int | None = None
    bias: Callable[[int, int], Tensor] | None = None
    ablated: frozenset[int] = frozenset()
    norms: Tensor | None = None

    @property
    def n_heads(self) -> int:
        return int(self.q.shape[0])

    @property
    def nq(self) -> int:
        return int(self.q.shape[1])

    @property
    def nk(self) -> int:
        return int(self.k.shape[1])

    @property
    def nbytes(self) -> int:
        extra = 0 if self.norms is None else self.norms.numel() * self.norms.element_size()
        return self.q.numel() * self.q.element_size() + self.k.numel() * self.k.element_size() + extra

    def visible(self, q0: int, q1: int) -> Tensor | None:
        """``(q1 − q0, T_k)`` bool, True = may attend; None when every key is visible."""
        if not self.causal and self.window is None:
            return None
        i = torch.arange(q0, q1)[:, None] + (self.nk - self.nq)  # the query's own position on the key axis
        j = torch.arange(self.nk)[None, :]
        mask = j <= i if self.causal else torch.ones(q1 - q0, self.nk, dtype=torch.bool)
        if self.window is not None:
            mask = mask & (i - j < self.window)
        return mask

    @torch.no_grad()
    def rows(self, h0: int, h1: int, q0: int, q1: int, weighting: Weighting = "attention") -> Tensor:
        """The exact weights of heads ``h0..h1-1``, rows ``q0..q1-1``, every key: ``(h, r, T_k)``
        (``value_norm``: times each key's ``‖v_j W^O_h‖``, rows renormalised)."""
        groups = self.n_heads // int(self.k.shape[0])
        kv = torch.arange(h0, h1) // groups
        scores = torch.matmul(self.q[h0:h1, q0:q1], self.k[kv].transpose(-1, -2)) * self.scale  # (h, r, T_k)
        if self.bias is not None:
            scores += self.bias(q0, q1)[h0:h1]
        mask = self.visible(q0, q1)
        if mask is not None:
            scores.masked_fill_(~mask, float("-inf"))
        weights = torch.softmax(scores, dim=-1)
        for h in self.ablated:
            if h0 <= h < h1:
                weights[h - h0] = 0.0
        if weighting == "value_norm":
            if self.norms is None:
                raise RegionError("This run kept no value norms; ask for the attention document with weighting 'value_norm'.")
            weights = reweight(weights, self.norms[h0:h1])
        return weights


@dataclass
class KeptRows:
    """One layer's weights as a caller gave them (a notebook's ``out.attentions``: the tensors
    exist already, so rows are read, not recomputed): ``w`` ``(n_heads, T_q, T_k)``, any float
    dtype, kept as given (a view, no copy); rows come out in float32 on the CPU."""

    w: Tensor

    @property
    def n_heads(self) -> int:
        return int(self.w.shape[0])

    @property
    def nq(self) -> int:
        return int(self.w.shape[1])

    @property
    def nk(self) -> int:
        return int(self.w.shape[2])

    @property
    def nbytes(self) -> int:
        return self.w.numel() * self.w.element_size()

    def rows(self, h0: int, h1: int, q0: int, q1: int, weighting: Weighting = "attention") -> Tensor:
        if weighting != "attention":  # given weights come without the values that made them
            raise RegionError("These weights were given as they are, without value norms: only weighting 'attention'.")
        return self.w[h0:h1, q0:q1].to("cpu", torch.float32)


Rows = HeadRows | KeptRows
"""What a tile is cut from: weights recomputed from Q and K, or kept as given."""


def rows_per_chunk(heads: int, nk: int) -> int:
    return max(1, CHUNK_BYTES // max(1, heads * nk * 4))


# ---- the overview: thumbnails and statistics --------------------------------------------------


def bin_starts(n: int, p: int) -> np.ndarray:
    """Start of each of ``p`` bins over ``n`` positions: bin i is ``⌊i·n/p⌋ … ⌊(i+1)·n/p⌋ − 1``."""
    return (np.arange(p, dtype=np.int64) * n) // p


def query_positions(nq: int, nk: int, cross: bool) -> Tensor:
    """Each query's own position on the key axis: ``i + T_k − T_q`` for self-attention (a decoder's
    queries are the last T_q keys), ``⌊i·T_k/T_q⌋`` for cross-attention (the proportional diagonal)."""
    i = torch.arange(nq)
    return (i * nk) // nq if cross else i + (nk - nq)


class Overview:
    """Thumbnails and statistics of one kind, filled one layer (and chunk of rows) at a time.

    Thumbnail cell (i, j) of a head is the largest weight over queries ``⌊i·T_q/P_q⌋ …`` and keys
    ``⌊j·T_k/P_k⌋ …`` with ``P_q = min(P, T_q)``, ``P_k = min(P, T_k)`` (never bigger than the
    matrix). Statistics are means over the queries of each head's exact weights."""

    def __init__(
        self, layers: int, heads: int, nq: int, nk: int, size: int = DEFAULT_SIZE, cross: bool = False, causal: bool = False
    ) -> None:
        self.layers, self.heads, self.nq, self.nk = layers, heads, nq, nk
        self.pq, self.pk = min(size, nq), min(size, nk)
        self.row_starts = bin_starts(nq, self.pq)
        self.col_starts = bin_starts(nk, self.pk)
        self.thumbs = np.zeros((layers, heads, self.pq, self.pk), dtype=np.float32)
        self.sums = {name: np.zeros((layers, heads), dtype=np.float64) for name in STATS}
        self.pos = query_positions(nq, nk, cross)
        self.has_prev = int(((self.pos >= 1) & (self.pos - 1 < nk)).sum())
        self.has_self = int((self.pos < nk).sum())
        self.ablated: set[tuple[int, int]] = set()
        self.causal = causal  # query i sees keys j ≤ i + T_k − T_q only (the weights past it are 0)

    def add(self, layer: int, source: Tensor | HeadRows, weighting: Weighting = "attention") -> None:
        """Reduce one layer: ``source`` is the module's own weights ``(n_heads, T_q, T_k)`` (any
        float dtype, already weighted) or a :class:`HeadRows` that recomputes them, chunk by chunk,
        weighted as ``weighting`` says."""
        H = self.heads
        hstep = max(1, min(H, CHUNK_BYTES // max(1, self.nk * 4)))
        rstep = rows_per_chunk(hstep, self.nk)
        for h0 in range(0, H, hstep):
            h1 = min(H, h0 + hstep)
            for q0 in range(0, self.nq, rstep):
                q1 = min(self.nq, q0 + rstep)
                # a module's own weights may live on a GPU, in bfloat16: reduced here in float32 on the CPU
                w = source.rows(h0, h1, q0, q1, weighting) if isinstance(source, HeadRows) else source[h0:h1, q0:q1].float().cpu()
                self._chunk(layer, h0, q0, w)
        if isinstance(source, HeadRows):
            self.ablated |= {(layer, h) for h in source.ablated}

    @torch.no_grad()
    def _chunk(self, layer: int, h0: int, q0: int, w: Tensor) -> None:
        """One block of rows, in a few passes: entropy, distance, the thumbnail's maxima; the
        diagonal band is gathered (five keys a row). Under a causal mask the keys past the block's
        last query hold only zeros and are skipped (half the work on average)."""
        h, r, nk = w.shape
        pos = self.pos[q0 : q0 + r]  # (r,)
        if self.causal:
            w = w[..., : min(nk, int(pos[-1]) + 1)]
        kmax = w.shape[-1]
        s = self.sums
        heads = slice(h0, h0 + h)
        s["entropy"][layer, heads] += torch.xlogy(w, w).sum(dim=(1, 2)).neg().double().numpy()  # −Σ w log w
        if self.causal:  # every key is at or before the query: Σ w·(p − j) = p·Σ w − Σ w·j
            j = torch.arange(kmax, dtype=torch.float32)
            wj = (w.reshape(h * r, kmax) @ j).view(h, r) if w.is_contiguous() else (w * j).sum(-1)
            dist = (w.sum(-1) * pos.to(torch.float32) - wj).sum(-1)
        else:
            d = (torch.arange(kmax, dtype=torch.float32)[None, :] - pos[:, None].to(torch.float32)).abs_()  # (r, T_k)
            dist = (w * d).sum(dim=(1, 2))
        s["distance"][layer, heads] += dist.double().numpy()
        s["first_token"][layer, heads] += w[..., 0].sum(dim=1).double().numpy()
        band = pos[:, None] + torch.arange(-LOCAL_BAND, LOCAL_BAND + 1)[None, :]  # (r, 2·band + 1)
        ok = (band >= 0) & (band < kmax)
        near = w.gather(2, band.clamp(0, kmax - 1)[None].expand(h, r, -1)) * ok  # (h, r, 2·band + 1)
        s["local"][layer, heads] += near.sum(dim=(1, 2)).double().numpy()
        s["self_token"][layer, heads] += near[..., LOCAL_BAND].sum(dim=1).double().numpy()
        s["previous_token"][layer, heads] += near[..., LOCAL_BAND - 1].sum(dim=1).double().numpy()
        # block maxima: keys into P_k bins (those the kept keys reach), then rows into their row bins
        nb = int(np.searchsorted(self.col_starts, kmax, side="left"))
        if kmax == nk and nk % self.pk == 0:  # equal bins: a view
            cols = w.unflatten(2, (self.pk, nk // self.pk)).amax(dim=3).numpy()  # (h, r, P_k)
        else:
            cols = np.maximum.reduceat(w.numpy(), self.col_starts[:nb], axis=2)  # (h, r, nb)
        bins = np.searchsorted(self.row_starts, np.arange(q0, q0 + r), side="right") - 1
        present, first = np.unique(bins, return_index=True)
        rows = np.maximum.reduceat(cols, first, axis=1)  # (h, len(present), nb)
        thumbs = self.thumbs[layer, :, :, :nb]  # (H, P_q, nb), a view
        thumbs[heads.start : heads.stop, present] = np.maximum(thumbs[heads.start : heads.stop, present], rows)

    def zero(self, layer: int, head: int) -> None:
        """A switched-off head: its weights are shown as 0, so are its thumbnail and statistics."""
        self.ablated.add((layer, head))

    def result(self, dtype: CompactDtype) -> dict[str, Any]:
        thumbs = self.thumbs
        sums = {k: v.copy() for k, v in self.sums.items()}
        for layer, head in self.ablated:
            thumbs[layer, head] = 0.0
            for v in sums.values():
                v[layer, head] = 0.0
        counts = {"previous_token": self.has_prev, "self_token": self.has_self}
        stats = {name: np.round(v / max(1, counts.get(name, self.nq)), 6).tolist() for name, v in sums.items()}
        return {
            "layers": self.layers,
            "heads": self.heads,
            "nq": self.nq,
            "nk": self.nk,
            "thumbnails": {**encode_compact(thumbs, dtype), "reduce": "max"},
            "stats": stats,
        }


def encode_compact(arr: np.ndarray, dtype: CompactDtype) -> dict[str, Any]:
    """``arr`` as a compact object; uint8 cell by cell (maxima and tiles are not rows whose mass
    must add up, so each cell is its own nearest step)."""
    return compact(arr, dtype, per_cell=True)


# ---- runs kept under a handle -----------------------------------------------------------------


@dataclass
class LongRun:
    """Everything needed to recompute any tile of a run: per kind, one :class:`HeadRows` a layer."""

    kinds: dict[str, list[Rows]]

    @property
    def nbytes(self) -> int:
        return sum(r.nbytes for rows in self.kinds.values() for r in rows)

    def head(self, kind: str, layer: int, head: int) -> Rows:
        rows = self.kinds.get(kind)
        if not rows:
            raise RegionError(f"This run has no {kind} attention; it has {', '.join(self.kinds) or 'none'}.")
        if not 0 <= layer < len(rows) or not 0 <= head < rows[layer].n_heads:
            raise RegionError(
                f"There is no {kind} head {layer}.{head}: this run has layers 0–{len(rows) - 1} and heads "
                f"0–{rows[0].n_heads - 1}.",
                n_layers=len(rows),
                n_heads=rows[0].n_heads,
            )
        return rows[layer]


@dataclass
class HandleStore:
    """Runs by opaque handle, least recently used evicted past ``max_bytes``, and any run not
    used for ``ttl`` seconds dropped. A run bigger than the whole store is not kept (no handle)."""

    max_bytes: int = 512 << 20
    ttl: float = 600.0
    clock: Callable[[], float] = time.monotonic
    _runs: OrderedDict[str, tuple[LongRun, int, float]] = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def put(self, run: LongRun) -> str | None:
        size = run.nbytes
        if size > self.max_bytes:
            return None
        handle = secrets.token_urlsafe(16)
        with self._lock:
            self._expire()
            self._runs[handle] = (run, size, self.clock())
            while sum(b for _, b, _ in self._runs.values()) > self.max_bytes:
                self._runs.popitem(last=False)
        return handle

    def get(self, handle: str) -> LongRun:
        with self._lock:
            self._expire()
            entry = self._runs.get(handle)
            if entry is None:
                raise UnknownHandleError(
                    "This overview's handle is unknown or has expired (the server keeps a run for a while and within "
                    "a memory budget); ask for the attention document again for a fresh handle."
                )
            self._runs[handle] = (entry[0], entry[1], self.clock())
            self._runs.move_to_end(handle)
            return entry[0]

    def _expire(self) -> None:
        now = self.clock()
        for handle in [h for h, (_, _, t) in self._runs.items() if now - t > self.ttl]:
            del self._runs[handle]

    @property
    def nbytes(self) -> int:
        with self._lock:
            return sum(b for _, b, _ in self._runs.values())

    def __len__(self) -> int:
        with self._lock:
            return len(self._runs)

    def clear(self) -> None:
        with self._lock:
            self._runs.clear()


# ---- tiles and top-k --------------------------------------------------------------------------


def check_region(hr: Rows, q0: int, q1: int, k0: int, k1: int) -> None:
    if not (0 <= q0 < q1 <= hr.nq and 0 <= k0 < k1 <= hr.nk):
        raise RegionError(
            f"The region rows {q0}..{q1 - 1}, columns {k0}..{k1 - 1} is outside this head's {hr.nq} × {hr.nk} "
            f"matrix (need 0 ≤ q0 < q1 ≤ {hr.nq} and 0 ≤ k0 < k1 ≤ {hr.nk}).",
            nq=hr.nq,
            nk=hr.nk,
        )


def tile_blocks(rows: int, cols: int, max_cells: int) -> tuple[int, int]:
    """``(bq, bk)``: 1 × 1 when the region fits ``max_cells``, else the smallest square block (cut
    to the region) whose pooled tile fits, with the columns' block then made as small as fits."""
    if rows * cols <= max_cells:
        return 1, 1
    b = max(1, math.isqrt(rows * cols // max_cells))
    while -(-rows // min(b, rows)) * -(-cols // min(b, cols)) > max_cells:
        b += 1
    bq = min(b, rows)
    out_rows = -(-rows // bq)
    bk = max(1, -(-cols // max(1, max_cells // out_rows)))
    return bq, min(bk, cols)


@torch.no_grad()
def tile(
    run: LongRun,
    kind: str,
    layer: int,
    head: int,
    q0: int,
    q1: int,
    k0: int,
    k1: int,
    max_cells: int = MAX_CELLS,
    dtype: CompactDtype = "float16",
    weighting: Weighting = "attention",
) -> dict[str, Any]:
    """Rows ``q0..q1-1``, columns ``k0..k1-1`` of one head: exact, or block maxima of ``block``
    (``weighting`` as the overview's: ``value_norm`` reweights by ``‖v_j W^O_h‖``)."""
    hr = run.head(kind, layer, head)
    check_region(hr, q0, q1, k0, k1)
    rows, cols = q1 - q0, k1 - k0
    bq, bk = tile_blocks(rows, cols, max(1, min(max_cells, MAX_CELLS)))
    out = np.zeros((-(-rows // bq), -(-cols // bk)), dtype=np.float32)
    col_starts = np.arange(0, cols, bk)
    step = rows_per_chunk(1, hr.nk)  # at most CHUNK_BYTES of weights at once, whatever the block
    for a in range(q0, q1, step):
        b = min(q1, a + step)
        w = hr.rows(head, head + 1, a, b, weighting)[0, :, k0:k1].numpy()  # (b − a, cols)
        if (bq, bk) == (1, 1):
            out[a - q0 : b - q0] = w
            continue
        w = np.maximum.reduceat(w, col_starts, axis=1) if bk > 1 else w
        blocks = (np.arange(a, b) - q0) // bq
        present, first = np.unique(blocks, return_index=True)
        out[present] = np.maximum(out[present], np.maximum.reduceat(w, first, axis=0))
    weights = out
    return {
        "kind": kind,
        "layer": layer,
        "head": head,
        "q0": q0,
        "q1": q1,
        "k0": k0,
        "k1": k1,
        "block": [bq, bk],
        "weighting": weighting,
        "weights": {**encode_compact(weights, dtype), "reduce": "max" if (bq, bk) != (1, 1) else None},
    }


@torch.no_grad()
def topk(
    run: LongRun,
    kind: str,
    layer: int,
    head: int,
    k: int = 8,
    q0: int = 0,
    q1: int | None = None,
    weighting: Weighting = "attention",
) -> dict[str, Any]:
    """The ``k`` keys with the largest weights of each query ``q0..q1-1``, largest first (``weighting``
    as :func:`tile`'s)."""
    hr = run.head(kind, layer, head)
    q1 = hr.nq if q1 is None else q1
    check_region(hr, q0, q1, 0, hr.nk)
    if q1 - q0 > MAX_TOPK_ROWS:
        raise RegionError(f"Top-k covers at most {MAX_TOPK_ROWS} queries a request; ask for q0..q1 in parts.", nq=hr.nq)
    kk = max(1, min(k, MAX_TOPK, hr.nk))
    indices: list[list[int]] = []
    values: list[list[float]] = []
    step = rows_per_chunk(1, hr.nk)
    for a in range(q0, q1, step):
        w = hr.rows(head, head + 1, a, min(q1, a + step), weighting)[0]
        top = torch.topk(w, kk, dim=-1)
        indices += top.indices.tolist()
        values += np.round(top.values.double().numpy(), 6).tolist()
    return {"kind": kind, "layer": layer, "head": head, "k": kk, "q0": q0, "q1": q1, "indices": indices, "weights": values}


# ---- the families -----------------------------------------------------------------------------


def _own(t: Tensor) -> Tensor:
    """``t`` in float32 on the CPU in its own contiguous storage (never a view that keeps a bigger
    tensor alive; tiles are recomputed on the CPU whatever device the model runs on)."""
    out = t.detach().to("cpu", torch.float32).contiguous()
    if out.untyped_storage().nbytes() > out.numel() * out.element_size() or out.data_ptr() == t.data_ptr():
        out = out.clone()
    return out


@torch.no_grad()
def toy_overview(
    model: SmallTransformer, result: AttentionResult, ablate: Sequence[tuple[str, int, int]] = (), size: int = DEFAULT_SIZE
) -> tuple[LongRun, dict[str, Overview]]:
    """The toy encoder-decoder's run: its own weights (``result.attentions``, small: the toy's
    input is bounded by its ``max_len``; value-weighted if ``result`` is) reduced, and Q, K and
    the value norms of every module for the tiles."""
    from .inference import parse_head_masks

    masks = parse_head_masks(model, list(ablate) or None)
    src, tgt = torch.tensor([result.src_ids]), torch.tensor([result.tgt_ids])
    kinds: dict[str, list[Rows]] = {}
    overviews: dict[str, Overview] = {}
    for kind, weights in result.attentions.items():
        L, H, nq, nk = weights.shape
        ov = overviews[kind] = Overview(L, H, nq, nk, size, cross=kind == "cross", causal=kind == "decoder_self")
        rows = kinds[kind] = []
        for layer in range(L):
            query, key, value, _ = model.attention_inputs(src, tgt, kind, layer, masks)
            module = model.attention_module(kind, layer)
            q, k, v = module.project(query, key, value)
            off = frozenset(h for kd, ly, h in ablate if kd == kind and ly == layer)
            norms = value_norms(v[0], module.w_o.weight, module.n_heads)  # (h, T_k)
            scale = 1 / math.sqrt(q.shape[-1])
            rows.append(HeadRows(_own(q[0]), _own(k[0]), scale, kind == "decoder_self", ablated=off, norms=_own(norms)))
            ov.add(layer, weights[layer])  # the document's own weights (ablated heads already 0)
    return LongRun(kinds), overviews


def weights_overview(kinds: dict[str, Sequence[Tensor]], size: int = DEFAULT_SIZE) -> tuple[LongRun, dict[str, Overview]]:
    """Weights a caller already holds (per kind, one ``(n_heads, T_q, T_k)`` tensor a layer, as
    ``attnviz.show`` gets them): reduced to the overview, and kept as they are for the tiles."""
    overviews: dict[str, Overview] = {}
    run: dict[str, list[Rows]] = {}
    for kind, layers in kinds.items():
        _, H, nq, nk = len(layers), *(int(d) for d in layers[0].shape)
        ov = overviews[kind] = Overview(len(layers), H, nq, nk, size, cross=kind == "cross", causal=kind == "decoder_self")
        rows = run[kind] = []
        for layer, w in enumerate(layers):
            ov.add(layer, w)
            rows.append(KeptRows(w))
    return LongRun(run), overviews


@torch.no_grad()
def pooled_all(run: LongRun, kind: str, block: int, dtype: CompactDtype = "float16") -> dict[str, Any]:
    """Every head of ``kind`` as ``block`` × ``block`` maxima (1: the exact weights):
    ``[L, H, ⌈T_q/block⌉, ⌈T_k/block⌉]``, what a saved file carries when its whole document does not fit."""
    layers = run.kinds[kind]
    nq, nk, H = layers[0].nq, layers[0].nk, layers[0].n_heads
    rq, rk = -(-nq // block), -(-nk // block)
    out = np.zeros((len(layers), H, rq, rk), dtype=np.float32)
    cols = np.arange(0, nk, block)
    step = max(block, rows_per_chunk(1, nk) // block * block)  # whole blocks of rows a chunk
    for layer, hr in enumerate(layers):
        for h in range(H):
            for a in range(0, nq, step):
                w = hr.rows(h, h + 1, a, min(nq, a + step))[0].numpy()
                if block > 1:
                    w = np.maximum.reduceat(np.maximum.reduceat(w, cols, axis=1), np.arange(0, w.shape[0], block), axis=0)
                out[layer, h, a // block : a // block + w.shape[0]] = w
    return {"block": block, "weights": encode_compact(out, dtype)}


def _t5_bias(module: Any, nk: int) -> Callable[[int, int], Tensor]:
    """T5's relative position bias for rows ``q0..q1`` against ``nk`` keys, as ``compute_bias``."""
    table = _own(module.relative_attention_bias.weight)  # (buckets, n_heads)
    bucket = type(module)._relative_position_bucket
    bidirectional = not module.is_decoder
    buckets, distance = module.relative_attention_num_buckets, module.relative_attention_max_distance

    def bias(q0: int, q1: int) -> Tensor:
        relative = torch.arange(nk)[None, :] - torch.arange(q0, q1)[:, None]
        b = bucket(relative, bidirectional=bidirectional, num_buckets=buckets, max_distance=distance)
        return table[b].permute(2, 0, 1)  # (n_heads, rows, nk)

    return bias


@torch.no_grad()
def hf_overview(
    m: HFModel,
    text: str,
    max_new_tokens: int,
    ablate: Sequence[tuple[str, int, int]] = (),
    size: int = DEFAULT_SIZE,
    sampling: Sampling = GREEDY,
    weighting: Weighting = "attention",
) -> tuple[HFRun, LongRun, dict[str, Overview]]:
    """A Hugging Face model's run: one forward pass whose attention modules each reduce their own
    weights (one layer at a time; ``value_norm``: times ``‖v_j W^O_h‖``, rows renormalised) and
    keep Q, K (RoPE applied, grouped heads as they are), the value norms and T5's bias table for
    the tiles."""
    from . import hf_attn
    from .hf import HFUnsupportedError, run_model

    if "math" not in m.supports:
        raise HFUnsupportedError(f"the attention modules of this {m.model_type} model are not recognised")
    by_id = {id(s.module): s for sites in m.sites.values() for s in sites}
    overviews: dict[str, Overview] = {}
    off: dict[tuple[str, int], set[int]] = {}
    for kind, layer, head in ablate:
        off.setdefault((kind, layer), set()).add(head)

    def reduce(sid: int, args: tuple[Any, ...], kwargs: dict[str, Any], output: Any) -> HeadRows:
        site = by_id[sid]
        q, k, v, _ = hf_attn.site_qkv(site, args, kwargs)
        norms = _own(value_norms(v[0], hf_attn.out_weight(site), site.n_heads))  # (n_heads, T_k)
        q, k = _own(q[0]), _own(k[0])
        bias = None
        if site.style == "t5" and site.kind != "cross":
            first = m.sites[site.kind][0].module  # the stack's layer 0 holds the relative bias table
            if getattr(first, "has_relative_attention_bias", False):
                bias = _t5_bias(first, int(k.shape[1]))
        window = getattr(site.module, "sliding_window", None)
        rows = HeadRows(
            q,
            k,
            hf_attn.site_scale(site),
            causal=site.kind == "decoder_self",
            window=window if isinstance(window, int) and window > 0 else None,
            bias=bias,
            ablated=frozenset(off.get((site.kind, site.layer), ())),
            norms=norms,
        )
        ov = overviews.get(site.kind)
        if ov is None:
            ov = overviews[site.kind] = Overview(
                len(m.sites[site.kind]), site.n_heads, rows.nq, rows.nk, size, cross=site.kind == "cross", causal=rows.causal
            )
        own = output[-1] if isinstance(output, tuple) and output else None
        if isinstance(own, Tensor) and own.dim() == 4 and tuple(own.shape[1:]) == (site.n_heads, rows.nq, rows.nk):
            w = own[0] if weighting == "attention" else reweight(own[0], norms.to(own.device))
            ov.add(site.layer, w)  # the module's own weights, while they exist
            for h in rows.ablated:
                ov.zero(site.layer, h)
        else:
            ov.add(site.layer, rows, weighting)
        return rows

    sites = [s for lst in m.sites.values() for s in lst]
    run = run_model(m, text, max_new_tokens, ablate, capture=sites, reduce=reduce, sampling=sampling)
    kinds: dict[str, list[Rows]] = {}
    for kind, lst in m.sites.items():
        rows = [run.captured.get(id(s.module)) for s in lst]
        if not all(isinstance(r, HeadRows) for r in rows):  # pragma: no cover - every recognised module runs
            raise HFUnsupportedError(f"an attention module of {kind} did not run")
        kinds[kind] = [r for r in rows if isinstance(r, HeadRows)]
    run.captured = {}
    return run, LongRun(kinds), overviews
