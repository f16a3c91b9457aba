"""The work behind the routes (and ``attnviz html``), run in worker threads: validate a text against a checkpoint, run
the model, and serialise the result with orjson (so neither the forward pass nor the encoding of
a large document blocks the event loop)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import orjson

from .. import longctx
from ..anywhere import Detail
from ..checkpoint import CheckpointError, load_checkpoint
from ..encoding import Encoding
from ..ensemble import stack_models
from ..errors import (
    AttnvizError,
    OutOfRange,
    TooLarge,
    UnknownCheckpoint,
    UnknownHandle,
    Unusable,
)
from ..export_attention_json import document_from_result
from ..hf import (
    HFModelError,
    HFNotInstalledError,
)
from ..inference import (
    AttentionResult,
    run_attention,
    run_attention_stacked,
    value_weighted,
)
from ..model import SmallTransformer
from ..sampling import Sampling
from ..weighting import Weighting
from .adapters import HFAdapter, Limits, ModelAdapter, RunRequest, ToyAdapter, not_supported, toy_adapter
from .model_cache import LoadedModel, ModelCache, module_bytes
from .registry import INSTALL_HF, SNAPSHOT_DIR, CheckpointRegistry, file_key

STACKED_RUNS_KEPT = 4  # runs whose epochs stay stacked into one batched model (see _run_epochs)


def bytes_per_weight(encoding: Encoding, precision: int) -> int:
    """What one weight costs on the wire: ``0.1234,`` is precision + 3 bytes; float16 2; uint8 1."""
    return {"float16": 2, "uint8": 1}.get(encoding, precision + 3)


def weights_in(doc: dict[str, Any]) -> int:
    """How many attention weights a document holds (numpy arrays, compact objects or lists)."""
    total = 0
    for value in doc.get("attentions", {}).values():
        if value is None:
            continue
        if isinstance(value, dict):
            n = 1
            for d in value.get("shape", ()):
                n *= int(d)
            total += n
        elif hasattr(value, "size"):
            total += int(value.size)
        else:
            total += len(orjson.dumps(value)) // 2  # nested lists: rare (json_as_array is the norm)
    return total


def check_budget(docs: Sequence[dict[str, Any]], encoding: Encoding, precision: int, budget: int, overview: bool = False) -> None:
    """``TooLarge`` before serialising documents whose weights would pass ``budget``."""
    check_weights(sum(weights_in(d) for d in docs), encoding, precision, budget, overview)


OVERVIEW_HINT = "ask for detail 'overview' (every head as a thumbnail, exact tiles on demand)"


def check_weights(n: int, encoding: Encoding, precision: int, budget: int, overview: bool = False) -> None:
    """``TooLarge`` past the budget, saying what to ask for instead (``overview``:
    the request may ask for detail 'overview')."""
    cost = n * bytes_per_weight(encoding, precision)
    if cost <= budget:
        return
    if overview:
        hint = OVERVIEW_HINT + (", or a compact encoding ('uint8': 1 byte a weight)" if encoding != "uint8" else "")
    elif encoding == "json":
        hint = "ask for encoding 'uint8' (1 byte a weight) or 'float16' (2), or a lower precision, or send fewer tokens"
    elif encoding == "float16":
        hint = "ask for encoding 'uint8' (1 byte a weight), or send fewer tokens"
    else:
        hint = "send fewer tokens (a shorter text)"
    raise TooLarge(
        f"The response would hold {n:,} attention weights, about {cost / 2**20:.0f} MiB as {encoding}, past the "
        f"server's budget of {budget / 2**20:.0f} MiB (ATTNVIZ_MAX_RESPONSE_BYTES); {hint}.",
        weights=n,
        estimated_bytes=cost,
        limit=budget,
    )


def dumps(doc: dict[str, Any]) -> bytes:
    """A response body; the documents' json-encoded weights are numpy arrays (``json_as_array``)."""
    return orjson.dumps(doc, option=orjson.OPT_SERIALIZE_NUMPY)


@dataclass
class AttentionService:
    """Names → models → documents. Methods block: call them through ``anyio.to_thread``."""

    registry: CheckpointRegistry
    models: ModelCache
    max_text_len: int
    timeline_cache_size: int = 16
    max_new_tokens: int = 20
    max_new_tokens_limit: int = 256
    timeline_cache_bytes: int = 64 << 20
    stacked_cache_bytes: int = 256 << 20
    max_response_bytes: int = 32 << 20
    overview_size: int = longctx.DEFAULT_SIZE
    max_tokens: int | None = None
    """Longest input of a pretrained model in tokens (None: the model's own context)."""
    handles: longctx.HandleStore = field(default_factory=longctx.HandleStore)
    """Long runs kept for their tiles (bounded in bytes and time)."""
    _stacked: OrderedDict[tuple[Any, ...], tuple[SmallTransformer, int]] = field(default_factory=OrderedDict)
    """The epochs of recently used runs, each stacked into one batched model (keyed by files)."""
    _timelines: OrderedDict[tuple[Any, ...], bytes] = field(default_factory=OrderedDict)
    _timeline_lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def limits(self) -> Limits:
        return Limits(self.max_text_len, self.max_tokens, self.max_new_tokens, self.max_new_tokens_limit, self.overview_size)

    def adapter(self, name: str) -> ModelAdapter:
        """The model a name refers to (a toy checkpoint or a Hugging Face model directory), behind
        the one interface every family has."""
        kind, path = self.registry.resolve_model(name)
        if kind == "toy":
            return toy_adapter(name, self.load(name), self.limits)
        try:
            return HFAdapter(name, self.models.get_hf(path), self.limits)
        except HFModelError as exc:
            reason = INSTALL_HF if isinstance(exc, HFNotInstalledError) else exc.reason
            raise Unusable(f"Model {name!r} cannot be used: {reason}.") from None
        except FileNotFoundError:
            raise Unusable(f"Model {name!r} cannot be used: not a Hugging Face model directory.") from None

    def load(self, name: str) -> LoadedModel:
        path = self.registry.resolve(name)
        try:
            return self.models.get(path)
        except CheckpointError as exc:
            raise Unusable(f"Checkpoint {name!r} cannot be used: {exc.reason}.") from None
        except FileNotFoundError:
            raise UnknownCheckpoint(f"There is no checkpoint named {name!r}.") from None

    def attention_json(
        self,
        name: str,
        text: str,
        precision: int,
        encoding: Encoding,
        ablate: Sequence[tuple[str, int, int]],
        max_new_tokens: int | None = None,
        detail: Detail = "auto",
        sampling: Sampling | None = None,
        weighting: Weighting = "attention",
    ) -> bytes:
        """The document of ``text``: full, or an overview (``detail``; ``auto``: full when the most
        weights it may hold fit the response budget). Sizes are decided before the model runs.
        ``sampling``: how a generating model picks its tokens (None: nothing asked, greedy)."""
        model = self.adapter(name)
        req = RunRequest(text, precision, encoding, ablate, max_new_tokens, sampling, weighting)
        bounds = model.prepare(req, detail)  # 4xx before the model runs
        if self.choose(detail, bounds, encoding, precision) == "overview":
            doc = self.with_overview(*model.overview(req), encoding)
        else:
            doc = model.document(req)
            check_budget([doc], encoding, precision, self.max_response_bytes, overview=detail == "full")
            doc["detail"] = "full"
        doc["precision"] = precision if encoding == "json" else None
        return dumps(doc)

    def choose(self, detail: Detail, bounds: tuple[int, int], encoding: Encoding, precision: int) -> str:
        """``full`` or ``overview``; ``TooLarge`` for ``full`` when even its fewest weights pass the budget."""
        fewest, most = bounds
        if detail == "overview":
            return "overview"
        if detail == "full":
            check_weights(fewest, encoding, precision, self.max_response_bytes, overview=True)
            return "full"
        return "full" if most * bytes_per_weight(encoding, precision) <= self.max_response_bytes else "overview"

    def with_overview(
        self, doc: dict[str, Any], long: longctx.LongRun, overviews: dict[str, longctx.Overview], encoding: Encoding
    ) -> dict[str, Any]:
        """``doc`` without ``attentions``, with the overview and the handle its tiles are asked by."""
        doc.pop("attentions", None)
        handle = self.handles.put(long)
        if handle is None:
            doc["warnings"] = [
                *doc.get("warnings", []),
                f"This run needs {long.nbytes / 2**20:.0f} MiB to serve tiles, more than the server keeps "
                "(ATTNVIZ_HANDLE_STORE_BYTES); only the overview is available.",
            ]
        dtype: longctx.CompactDtype = "float16" if encoding == "float16" else "uint8"
        doc["detail"] = "overview"
        doc["overview"] = {"handle": handle, "kinds": {kind: ov.result(dtype) for kind, ov in overviews.items()}}
        return doc

    def long_run(self, handle: str) -> longctx.LongRun:
        try:
            return self.handles.get(handle)
        except longctx.UnknownHandleError as exc:
            raise UnknownHandle(str(exc)) from None

    def tile_json(
        self,
        handle: str,
        kind: str,
        layer: int,
        head: int,
        region: tuple[int, int, int, int],
        max_cells: int,
        encoding: longctx.CompactDtype,
        weighting: Weighting = "attention",
    ) -> bytes:
        run = self.long_run(handle)
        try:
            out = longctx.tile(run, kind, layer, head, *region, max_cells=max_cells, dtype=encoding, weighting=weighting)
        except longctx.RegionError as exc:
            raise OutOfRange(str(exc), **exc.extra) from None
        return orjson.dumps({"handle": handle, **out})

    def topk_json(
        self,
        handle: str,
        kind: str,
        layer: int,
        head: int,
        k: int,
        q0: int,
        q1: int | None,
        weighting: Weighting = "attention",
    ) -> bytes:
        run = self.long_run(handle)
        try:
            out = longctx.topk(run, kind, layer, head, k, q0, q1, weighting)
        except longctx.RegionError as exc:
            raise OutOfRange(str(exc), **exc.extra) from None
        return orjson.dumps({"handle": handle, **out})

    def math_json(
        self,
        name: str,
        text: str,
        kind: str,
        layer: int,
        head: int,
        max_new_tokens: int | None = None,
        sampling: Sampling | None = None,
    ) -> bytes:
        """``sampling``: the decoder side runs on the same sampled output as /api/attention's."""
        req = RunRequest(text, max_new_tokens=max_new_tokens, sampling=sampling)
        return orjson.dumps(self.adapter(name).math(req, kind, layer, head))

    def _run_epochs(self, loaded: list[LoadedModel], text: str) -> list[AttentionResult]:
        """Every epoch's :class:`AttentionResult` for ``text``: the epochs of one architecture and
        vocabulary run as one batched model (:mod:`attnviz.ensemble`), a few times faster than
        one after another."""
        groups: dict[tuple[Any, ...], list[int]] = {}
        results: list[AttentionResult | None] = [None] * len(loaded)
        for i, lm in enumerate(loaded):
            if lm.ckpt.config.arch == "decoder":  # small and few: one after another, unstacked
                results[i] = run_attention(
                    lm.model, lm.ckpt.vocab, text, max_text_len=lm.ckpt.max_text_len, max_new_tokens=self.max_new_tokens
                )
                continue
            groups.setdefault((lm.ckpt.config, tuple(lm.ckpt.vocab.itos)), []).append(i)
        for members in groups.values():
            key = tuple((loaded[i].path, loaded[i].key) for i in members)
            with self._timeline_lock:
                entry = self._stacked.get(key)
                if entry is not None:
                    self._stacked.move_to_end(key)
            if entry is None:
                built = stack_models([cast(SmallTransformer, loaded[i].model) for i in members])
                entry = (built, module_bytes(built))
                with self._timeline_lock:
                    self._stacked[key] = entry
                    while len(self._stacked) > 1 and (
                        len(self._stacked) > STACKED_RUNS_KEPT
                        or sum(b for _, b in self._stacked.values()) > self.stacked_cache_bytes
                    ):
                        self._stacked.popitem(last=False)
            stacked = entry[0]
            first = loaded[members[0]].ckpt
            rows = run_attention_stacked(stacked, first.vocab, text, [loaded[i].ckpt.max_text_len for i in members])
            for i, result in zip(members, rows, strict=True):
                results[i] = result
        return [r for r in results if r is not None]

    def _snapshots(self, run: str) -> list[tuple[str, LoadedModel]]:
        """The run's intermediate snapshots (``<run>/snapshots/step{S}.pt``), loaded directly (not
        through the model cache, which they would flush); unreadable ones are skipped."""
        folder = self.registry.root / ("" if run == "." else run) / SNAPSHOT_DIR
        out = []
        for path in sorted(folder.glob("step*.pt")) if folder.is_dir() else []:
            name = f"{run}/{SNAPSHOT_DIR}/{path.name}" if run != "." else f"{SNAPSHOT_DIR}/{path.name}"
            try:
                resolved = self.registry.resolve(name)
                ckpt = load_checkpoint(resolved, self.registry.limits)
                out.append((name, LoadedModel(resolved, file_key(resolved), ckpt, ckpt.build_model())))
            except (AttnvizError, CheckpointError, OSError):
                continue
        return out

    def timeline_json(
        self,
        run: str,
        text: str,
        precision: int,
        encoding: Encoding,
        snapshots: bool = False,
        weighting: Weighting = "attention",
    ) -> bytes:
        metas = self.registry.run_checkpoints(run)
        if metas[0].kind == "huggingface":
            raise not_supported(run, "Attention over training", metas[0].family, metas[0].supports)
        usable = [m for m in metas if m.usable]
        if not usable:
            reasons = "; ".join(f"{m.name}: {m.error}" for m in metas[:3])
            raise Unusable(f"Run {run!r} has no usable checkpoint ({reasons}).")
        extra = self._snapshots(run) if snapshots else []
        files = (tuple((m.name, m.key) for m in usable), tuple((n, lm.key) for n, lm in extra))
        key = (run, text, precision, encoding, weighting, *files)
        with self._timeline_lock:
            cached = self._timelines.get(key)
            if cached is not None:
                self._timelines.move_to_end(key)
                return cached

        names = [m.name for m in usable] + [n for n, _ in extra]
        loaded = [self.load(m.name) for m in usable] + [lm for _, lm in extra]
        for name, lm in zip(names, loaded, strict=True):
            ToyAdapter(name, lm, self.limits).check_text(text)
        results = self._run_epochs(loaded, text)
        if weighting == "value_norm":  # each epoch's own W^V and W^O
            results = [value_weighted(lm.model, r) for lm, r in zip(loaded, results, strict=True)]
        epochs = [
            {
                "epoch": lm.ckpt.epoch,
                "step": lm.ckpt.step,
                "snapshot": i >= len(usable),
                "checkpoint": name,
                "metrics": lm.ckpt.metrics,
                "document": document_from_result(
                    lm.ckpt,
                    result,
                    checkpoint_name=name,
                    precision=precision,
                    encoding=encoding,
                    json_as_array=True,
                    weighting=weighting,
                ),
            }
            for i, (name, lm, result) in enumerate(zip(names, loaded, results, strict=True))
        ]
        if extra:  # snapshots between the epochs, in training order (at equal steps the epoch last)
            epochs.sort(key=lambda e: (e["step"] if e["step"] is not None else 1 << 62, not e["snapshot"]))
        check_budget([cast(dict[str, Any], e["document"]) for e in epochs], encoding, precision, self.max_response_bytes)
        body = dumps({"run": run, "text": text, "epochs": epochs})
        if self.timeline_cache_size > 0 and len(body) <= self.timeline_cache_bytes:
            with self._timeline_lock:
                self._timelines[key] = body
                while len(self._timelines) > self.timeline_cache_size or (
                    sum(len(b) for b in self._timelines.values()) > self.timeline_cache_bytes
                ):
                    self._timelines.popitem(last=False)
        return body

    def clear(self) -> None:
        """Drop every cache (models, stacked models, timelines, long runs)."""
        self.models.clear()
        self.handles.clear()
        with self._timeline_lock:
            self._stacked.clear()
            self._timelines.clear()
