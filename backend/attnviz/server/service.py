"""The work behind the routes, run in worker threads: validate a text against a checkpoint, run
the model, and serialise the result with orjson (so neither the forward pass nor the encoding of
a large document blocks the event loop)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from ..checkpoint import CheckpointError, load_checkpoint
from ..encoding import Encoding
from ..ensemble import stack_models
from ..export_attention_json import document_from_result
from ..hf import HFModelError, HFTextTooLongError, hf_document
from ..inference import AttentionResult, run_attention, run_attention_stacked, trace_head
from ..model import SmallTransformer
from .errors import ApiError
from .model_cache import LoadedHF, LoadedModel, ModelCache
from .registry import INSTALL_HF, SNAPSHOT_DIR, CheckpointRegistry, file_key

MAX_LISTED = 20  # characters named in an error sentence (all are in invalid_characters)
STACKED_RUNS_KEPT = 4  # runs whose epochs stay stacked into one batched model (see _run_epochs)


def dumps(doc: dict[str, Any]) -> bytes:
    """A response body; the documents' json-encoded weights are numpy arrays (``json_as_array``)."""
    return orjson.dumps(doc, option=orjson.OPT_SERIALIZE_NUMPY)


def check_text(text: str, loaded: LoadedModel, max_text_len: int) -> None:
    """422 ``empty_text`` / ``text_too_long`` / ``unknown_characters`` (with every position)."""
    ckpt = loaded.ckpt
    if text == "":
        raise ApiError(422, "empty_text", "The text is empty; type at least one character.")
    limit = min(max_text_len, ckpt.config.max_len - 1)
    if len(text) > limit:
        raise ApiError(
            422,
            "text_too_long",
            f"The text has {len(text)} characters; this checkpoint accepts at most {limit}. Shorten it.",
            max_length=limit,
        )
    bad = ckpt.vocab.unknown_characters(text)
    if bad:
        listed = ", ".join(f"{ch!r} at position {pos}" for pos, ch in bad[:MAX_LISTED])
        more = f" and {len(bad) - MAX_LISTED} more" if len(bad) > MAX_LISTED else ""
        n = len(bad)
        raise ApiError(
            422,
            "unknown_characters",
            f"Text has {n} character{'s' if n != 1 else ''} outside the vocabulary: {listed}{more}. "
            f"Use only: {ckpt.vocab.chars!r}.",
            invalid_characters=[{"char": ch, "position": pos} for pos, ch in bad],
        )


def check_head(loaded: LoadedModel, layer: int, head: int, what: str = "") -> None:
    c = loaded.ckpt.config
    if not 0 <= layer < c.n_layers or not 0 <= head < c.n_heads:
        raise ApiError(
            422,
            "out_of_range",
            f"{what}There is no head {layer}.{head}: this model has layers 0–{c.n_layers - 1} and heads 0–{c.n_heads - 1}.",
            n_layers=c.n_layers,
            n_heads=c.n_heads,
        )


def not_supported(name: str, what: str) -> ApiError:
    return ApiError(
        422,
        "not_supported",
        f"{what} is not available for pretrained models ({name!r} is a Hugging Face encoder); "
        "it works with the toy checkpoints trained by attnviz.",
    )


@dataclass
class AttentionService:
    """Names → models → documents. Methods block: call them through ``anyio.to_thread``."""

    registry: CheckpointRegistry
    models: ModelCache
    max_text_len: int
    timeline_cache_size: int = 16
    _stacked: OrderedDict[tuple[Any, ...], SmallTransformer] = field(default_factory=OrderedDict)
    """The epochs of recently used runs, each stacked into one batched model (keyed by files)."""
    _timelines: OrderedDict[tuple[Any, ...], bytes] = field(default_factory=OrderedDict)
    _timeline_lock: threading.Lock = field(default_factory=threading.Lock)

    def load_any(self, name: str) -> LoadedModel | LoadedHF:
        """The model a name refers to: a toy checkpoint or a Hugging Face encoder directory."""
        kind, path = self.registry.resolve_model(name)
        if kind == "toy":
            return self.load(name)
        try:
            return self.models.get_hf(path)
        except HFModelError as exc:
            reason = INSTALL_HF if "extra is not installed" in exc.reason else exc.reason
            raise ApiError(409, "checkpoint_unusable", f"Model {name!r} cannot be used: {reason}.") from None
        except FileNotFoundError:
            raise ApiError(
                409, "checkpoint_unusable", f"Model {name!r} cannot be used: not a Hugging Face model directory."
            ) from None

    def load(self, name: str) -> LoadedModel:
        path = self.registry.resolve(name)
        try:
            return self.models.get(path)
        except CheckpointError as exc:
            raise ApiError(409, "checkpoint_unusable", f"Checkpoint {name!r} cannot be used: {exc.reason}.") from None
        except FileNotFoundError:
            raise ApiError(404, "unknown_checkpoint", f"There is no checkpoint named {name!r}.") from None

    def document(
        self,
        name: str,
        text: str,
        precision: int = 4,
        encoding: Encoding = "json",
        ablate: Sequence[tuple[str, int, int]] = (),
        loaded: LoadedModel | None = None,
    ) -> dict[str, Any]:
        loaded = loaded or self.load(name)
        check_text(text, loaded, self.max_text_len)
        for i, (_kind, layer, head) in enumerate(ablate):
            check_head(loaded, layer, head, f"ablate[{i}]: ")
        result = run_attention(
            loaded.model, loaded.ckpt.vocab, text, max_text_len=loaded.ckpt.max_text_len, ablate=list(ablate) or None
        )
        return document_from_result(
            loaded.ckpt, result, checkpoint_name=name, precision=precision, encoding=encoding, json_as_array=True
        )

    def hf_document(self, name: str, loaded: LoadedHF, text: str, precision: int, encoding: Encoding) -> dict[str, Any]:
        """The encoder-only document of a Hugging Face model; the limit is the model's, in tokens."""
        if text.strip() == "":
            raise ApiError(422, "empty_text", "The text is empty; type at least one word.")
        try:
            return hf_document(loaded.encoder, text, name=name, precision=precision, encoding=encoding, json_as_array=True)
        except HFTextTooLongError as exc:
            raise ApiError(
                422,
                "text_too_long",
                f"The text is {exc.n_tokens} tokens long (special tokens included); this model accepts at most "
                f"{exc.limit}. Shorten it.",
                max_length=exc.limit,
                n_tokens=exc.n_tokens,
            ) from None

    def attention_json(
        self, name: str, text: str, precision: int, encoding: Encoding, ablate: Sequence[tuple[str, int, int]]
    ) -> bytes:
        loaded = self.load_any(name)
        if isinstance(loaded, LoadedHF):
            if ablate:
                raise not_supported(name, "Switching heads off (ablate)")
            return dumps(self.hf_document(name, loaded, text, precision, encoding))
        return dumps(self.document(name, text, precision, encoding, ablate, loaded=loaded))

    def math_json(self, name: str, text: str, kind: str, layer: int, head: int) -> bytes:
        if self.registry.resolve_model(name)[0] == "huggingface":
            raise not_supported(name, "The step-through of the attention math")
        loaded = self.load(name)
        check_text(text, loaded, self.max_text_len)
        check_head(loaded, layer, head)
        result = run_attention(loaded.model, loaded.ckpt.vocab, text, max_text_len=loaded.ckpt.max_text_len)
        traced = trace_head(loaded.model, result, kind, layer, head)  # no hooks: shares the model safely
        tensors = {key: {"shape": list(t.shape), "data": t.tolist()} for key, t in traced["tensors"].items()}
        return orjson.dumps({"checkpoint": name, "input": text, "output": result.output, **traced, "tensors": tensors})

    def _run_epochs(self, loaded: list[LoadedModel], text: str) -> list[AttentionResult]:
        """Every epoch's :class:`AttentionResult` for ``text``: the epochs of one architecture and
        vocabulary run as one batched model (:mod:`attnviz.ensemble`), a few times faster than
        one after another."""
        groups: dict[tuple[Any, ...], list[int]] = {}
        for i, lm in enumerate(loaded):
            groups.setdefault((lm.ckpt.config, tuple(lm.ckpt.vocab.itos)), []).append(i)
        results: list[AttentionResult | None] = [None] * len(loaded)
        for members in groups.values():
            key = tuple((loaded[i].path, loaded[i].key) for i in members)
            with self._timeline_lock:
                stacked = self._stacked.get(key)
                if stacked is not None:
                    self._stacked.move_to_end(key)
            if stacked is None:
                stacked = stack_models([loaded[i].model for i in members])
                with self._timeline_lock:
                    self._stacked[key] = stacked
                    while len(self._stacked) > STACKED_RUNS_KEPT:
                        self._stacked.popitem(last=False)
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
                ckpt = load_checkpoint(resolved)
                out.append((name, LoadedModel(resolved, file_key(resolved), ckpt, ckpt.build_model())))
            except (ApiError, CheckpointError, OSError):
                continue
        return out

    def timeline_json(self, run: str, text: str, precision: int, encoding: Encoding, snapshots: bool = False) -> bytes:
        metas = self.registry.run_checkpoints(run)
        if metas[0].kind == "huggingface":
            raise not_supported(run, "Attention over training")
        usable = [m for m in metas if m.usable]
        if not usable:
            reasons = "; ".join(f"{m.name}: {m.error}" for m in metas[:3])
            raise ApiError(409, "checkpoint_unusable", f"Run {run!r} has no usable checkpoint ({reasons}).")
        extra = self._snapshots(run) if snapshots else []
        key = (run, text, precision, encoding, tuple((m.name, m.key) for m in usable), tuple((n, lm.key) for n, lm in extra))
        with self._timeline_lock:
            cached = self._timelines.get(key)
            if cached is not None:
                self._timelines.move_to_end(key)
                return cached

        names = [m.name for m in usable] + [n for n, _ in extra]
        loaded = [self.load(m.name) for m in usable] + [lm for _, lm in extra]
        for lm in loaded:
            check_text(text, lm, self.max_text_len)
        results = self._run_epochs(loaded, text)
        epochs = [
            {
                "epoch": lm.ckpt.epoch,
                "step": lm.ckpt.step,
                "snapshot": i >= len(usable),
                "checkpoint": name,
                "metrics": lm.ckpt.metrics,
                "document": document_from_result(
                    lm.ckpt, result, checkpoint_name=name, precision=precision, encoding=encoding, json_as_array=True
                ),
            }
            for i, (name, lm, result) in enumerate(zip(names, loaded, results, strict=True))
        ]
        if extra:  # snapshots between the epochs, in training order (at equal steps the epoch last)
            epochs.sort(key=lambda e: (e["step"] if e["step"] is not None else 1 << 62, not e["snapshot"]))
        body = dumps({"run": run, "text": text, "epochs": epochs})
        if self.timeline_cache_size > 0:
            with self._timeline_lock:
                self._timelines[key] = body
                while len(self._timelines) > self.timeline_cache_size:
                    self._timelines.popitem(last=False)
        return body
