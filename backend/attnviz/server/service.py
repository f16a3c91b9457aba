"""The work behind the routes, run in worker threads: validate a text against a checkpoint, run
the model, and serialise the result with orjson (so neither the forward pass nor the encoding of
a large document blocks the event loop)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, cast

import orjson

from .. import longctx
from ..checkpoint import CheckpointError, load_checkpoint
from ..data import LM_TASKS
from ..encoding import Encoding
from ..ensemble import stack_models
from ..errors import (
    AttnvizError,
    EmptyText,
    NotSupported,
    OutOfRange,
    TextNotInVocabulary,
    TextTooLong,
    TooLarge,
    UnknownCheckpoint,
    UnknownHandle,
    Unusable,
)
from ..export_attention_json import document_from_result
from ..hf import (
    HFModel,
    HFModelError,
    HFNotInstalledError,
    HFTextTooLongError,
    HFUnsupportedError,
    document_of_run,
    hf_document,
    hf_math,
)
from ..induction import heldout_summary
from ..inference import (
    EXTRA_DECODE_TOKENS,
    AttentionResult,
    parse_head_masks,
    run_attention,
    run_attention_stacked,
    trace_head,
    value_weighted,
)
from ..model import SmallDecoder, SmallTransformer
from ..sampling import GREEDY, Sampling
from ..weighting import Weighting
from .model_cache import LoadedHF, LoadedModel, ModelCache, module_bytes
from .registry import INSTALL_HF, SNAPSHOT_DIR, CheckpointRegistry, file_key

MAX_LISTED = 20  # characters named in an error sentence (all are in invalid_characters)
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
    """413 ``response_too_large`` before serialising documents whose weights would pass ``budget``."""
    check_weights(sum(weights_in(d) for d in docs), encoding, precision, budget, overview)


Detail = Literal["auto", "full", "overview"]
OVERVIEW_HINT = "ask for detail 'overview' (every head as a thumbnail, exact tiles on demand)"


def hf_weight_bounds(m: HFModel, n: int, new: int) -> tuple[int, int]:
    """The fewest and the most weights a full document of ``n`` input tokens may hold (a
    generating model's size depends on how many of ``new`` tokens it generates)."""
    heads = {kind: len(sites) * sites[0].n_heads for kind, sites in m.sites.items() if sites}
    per = heads.get("encoder_self", 0) if m.family != "decoder" else 0
    if m.family == "encoder":
        return per * n * n, per * n * n
    if m.family == "decoder":
        most = n + max(0, min(new, m.max_length - n))
        dec = heads.get("decoder_self", 0)
        return dec * n * n, dec * most * most
    t_most = 1 + max(0, min(new, m.max_length - 1))
    dec, cross = heads.get("decoder_self", 0), heads.get("cross", 0)
    return per * n * n + dec + cross * n, per * n * n + dec * t_most * t_most + cross * t_most * n


def toy_weight_bounds(loaded: LoadedModel, text: str) -> tuple[int, int]:
    """As :func:`hf_weight_bounds` for a toy checkpoint (it decodes at most len + 8 tokens)."""
    c = loaded.ckpt.config
    per, n = c.n_layers * c.n_heads, len(text) + 1
    t_most = 1 + min(len(text) + EXTRA_DECODE_TOKENS, c.max_len - 1)
    return per * (n * n + 1 + n), per * (n * n + t_most * t_most + t_most * n)


def check_weights(n: int, encoding: Encoding, precision: int, budget: int, overview: bool = False) -> None:
    """413 ``response_too_large`` past the budget, saying what to ask for instead (``overview``:
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


def check_text(text: str, loaded: LoadedModel, max_text_len: int) -> None:
    """422 ``empty_text`` / ``text_too_long`` / ``unknown_characters`` (with every position)."""
    ckpt = loaded.ckpt
    if text == "":
        raise EmptyText("The text is empty; type at least one character.")
    limit = min(max_text_len, ckpt.config.max_len - 1)
    if len(text) > limit:
        raise TextTooLong(
            f"The text has {len(text)} characters; this checkpoint accepts at most {limit}. Shorten it.",
            max_length=limit,
        )
    bad = ckpt.vocab.unknown_characters(text)
    if bad:
        listed = ", ".join(f"{ch!r} at position {pos}" for pos, ch in bad[:MAX_LISTED])
        more = f" and {len(bad) - MAX_LISTED} more" if len(bad) > MAX_LISTED else ""
        n = len(bad)
        raise TextNotInVocabulary(
            f"Text has {n} character{'s' if n != 1 else ''} outside the vocabulary: {listed}{more}. "
            f"Use only: {ckpt.vocab.chars!r}.",
            invalid_characters=[{"char": ch, "position": pos} for pos, ch in bad],
        )


def check_toy_kind(loaded: LoadedModel, kind: str, what: str = "") -> None:
    """422 ``not_supported`` for an encoder or cross-attention head of the decoder-only toy model."""
    if isinstance(loaded.model, SmallDecoder) and kind != "decoder_self":
        raise NotSupported(
            f"{what}This decoder-only model has no {kind} attention; it has decoder_self only.",
            family="toy-decoder",
        )


def check_head(loaded: LoadedModel, layer: int, head: int, what: str = "") -> None:
    c = loaded.ckpt.config
    if not 0 <= layer < c.n_layers or not 0 <= head < c.n_heads:
        raise OutOfRange(
            f"{what}There is no head {layer}.{head}: this model has layers 0–{c.n_layers - 1} and heads 0–{c.n_heads - 1}.",
            n_layers=c.n_layers,
            n_heads=c.n_heads,
        )


def not_supported(name: str, what: str, family: str = "encoder", supports: Sequence[str] = ()) -> NotSupported:
    offered = f" It offers: {', '.join(supports)}." if supports else ""
    return NotSupported(
        f"{what} is not available for this pretrained model ({name!r} is a Hugging Face {family} model); "
        f"see `supports` in /api/checkpoints.{offered}",
        family=family,
        supports=list(supports),
    )


def check_value_norm(name: str, m: HFModel, weighting: Weighting) -> None:
    """422 ``not_supported`` for value-norm weighting where the attention modules (their value and
    output projections) are not recognised."""
    if weighting == "value_norm" and "math" not in m.supports:
        raise not_supported(name, "Value-norm weighting (weighting 'value_norm')", m.family, m.supports)


def no_tokens() -> EmptyText:
    return EmptyText("The model's tokenizer makes no tokens of this text; type some words.")


def too_many_tokens(exc: HFTextTooLongError) -> TextTooLong:
    return TextTooLong(
        f"The text is {exc.n_tokens} tokens long (special tokens included); this model accepts at most {exc.limit}. Shorten it.",
        max_length=exc.limit,
        n_tokens=exc.n_tokens,
    )


def check_hf_head(m: HFModel, kind: str, layer: int, head: int, what: str = "") -> None:
    """422 ``not_supported`` for a kind the model lacks, ``out_of_range`` past its layers/heads."""
    sites = m.sites.get(kind)
    if not sites:
        raise NotSupported(
            f"{what}This {m.family} model has no {kind} attention; it has {', '.join(m.sites) or 'none'}.",
            family=m.family,
        )
    n_heads = sites[0].n_heads
    if not 0 <= layer < len(sites) or not 0 <= head < n_heads:
        raise OutOfRange(
            f"{what}There is no {kind} head {layer}.{head}: this model has layers 0–{len(sites) - 1} and heads 0–{n_heads - 1}.",
            n_layers=len(sites),
            n_heads=n_heads,
        )


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

    def load_any(self, name: str) -> LoadedModel | LoadedHF:
        """The model a name refers to: a toy checkpoint or a Hugging Face model directory."""
        kind, path = self.registry.resolve_model(name)
        if kind == "toy":
            return self.load(name)
        try:
            return self.models.get_hf(path)
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

    def document(
        self,
        name: str,
        text: str,
        precision: int = 4,
        encoding: Encoding = "json",
        ablate: Sequence[tuple[str, int, int]] = (),
        loaded: LoadedModel | None = None,
        max_new_tokens: int | None = None,
        sampling: Sampling = GREEDY,
        weighting: Weighting = "attention",
    ) -> dict[str, Any]:
        loaded = loaded or self.load(name)
        check_text(text, loaded, self.max_text_len)
        for i, (kind, layer, head) in enumerate(ablate):
            check_toy_kind(loaded, kind, f"ablate[{i}]: ")
            check_head(loaded, layer, head, f"ablate[{i}]: ")
        result = run_attention(
            loaded.model,
            loaded.ckpt.vocab,
            text,
            max_text_len=loaded.ckpt.max_text_len,
            ablate=list(ablate) or None,
            max_new_tokens=self.toy_new_tokens(loaded, max_new_tokens),
            sampling=sampling,
        )
        if weighting == "value_norm":
            result = value_weighted(loaded.model, result, list(ablate) or None)
        doc = document_from_result(
            loaded.ckpt,
            result,
            checkpoint_name=name,
            precision=precision,
            encoding=encoding,
            json_as_array=True,
            weighting=weighting,
        )
        if loaded.ckpt.task in LM_TASKS and isinstance(loaded.model, SmallDecoder):
            # what switching heads off does to the task, measured on held-out sequences (not only this text)
            masks = parse_head_masks(loaded.model, list(ablate) or None)
            doc["heldout"] = heldout_summary(loaded.model, loaded.ckpt.vocab, masks, loaded.ckpt.train)
        return doc

    def toy_new_tokens(self, loaded: LoadedModel, requested: int | None) -> int | None:
        """The decoder-only toy model's ``max_new_tokens`` (the default when absent, 422 past the
        bound); None for the encoder-decoder, which decodes until <eos> (the request's value unused)."""
        if not isinstance(loaded.model, SmallDecoder):
            return None
        return self.bounded_new_tokens(requested)

    def new_tokens(self, name: str, m: HFModel, requested: int | None) -> int:
        """``max_new_tokens`` of a request: the default when absent, 422 past the setting's bound."""
        if requested is not None and "generate" not in m.supports:
            raise not_supported(name, "Generating tokens (max_new_tokens)", m.family, m.supports)
        return self.bounded_new_tokens(requested)

    def generating(self, name: str, m: HFModel, sampling: Sampling | None) -> Sampling:
        """The sampling settings of a request (None: none given, greedy); 422 ``not_supported``
        for an encoder, which generates nothing to sample."""
        if sampling is not None and "generate" not in m.supports:
            raise not_supported(name, "Sampling (temperature, top_k, top_p, seed)", m.family, m.supports)
        return sampling or GREEDY

    def bounded_new_tokens(self, requested: int | None) -> int:
        """The default when absent, else ``requested`` within the server's bound (422 past it)."""
        if requested is None:
            return self.max_new_tokens
        if requested > self.max_new_tokens_limit:
            raise OutOfRange(
                f"max_new_tokens is {requested}; this server generates at most {self.max_new_tokens_limit} tokens.",
                max_new_tokens_limit=self.max_new_tokens_limit,
            )
        return requested

    def hf_document(
        self,
        name: str,
        loaded: LoadedHF,
        text: str,
        precision: int,
        encoding: Encoding,
        ablate: Sequence[tuple[str, int, int]] = (),
        max_new_tokens: int | None = None,
        sampling: Sampling | None = None,
        weighting: Weighting = "attention",
    ) -> dict[str, Any]:
        """The document of a Hugging Face model (by family); the limit is the model's, in tokens."""
        m = loaded.encoder
        if text.strip() == "":
            raise EmptyText("The text is empty; type at least one word.")
        if ablate and "ablate" not in m.supports:
            raise not_supported(name, "Switching heads off (ablate)", m.family, m.supports)
        for i, (kind, layer, head) in enumerate(ablate):
            check_hf_head(m, kind, layer, head, f"ablate[{i}]: ")
        new = self.new_tokens(name, m, max_new_tokens)
        how = self.generating(name, m, sampling)
        check_value_norm(name, m, weighting)
        try:
            return hf_document(
                m,
                text,
                name=name,
                precision=precision,
                encoding=encoding,
                json_as_array=True,
                max_new_tokens=new,
                ablate=ablate,
                sampling=how,
                weighting=weighting,
            )
        except HFTextTooLongError as exc:
            raise too_many_tokens(exc) from None
        except ValueError:  # the tokenizer made no tokens of it
            raise no_tokens() from None

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
        """``sampling``: how a generating model picks its tokens (None: nothing asked, greedy)."""
        """The document of ``text``: full, or an overview (``detail``; ``auto``: full when the most
        weights it may hold fit the response budget). Sizes are decided before the model runs."""
        loaded = self.load_any(name)
        if isinstance(loaded, LoadedHF):
            m = loaded.encoder
            if text.strip() == "":
                raise EmptyText("The text is empty; type at least one word.")
            n = self.hf_tokens(m, text)  # 422 past the context, before the model runs
            new = self.new_tokens(name, m, max_new_tokens) if m.family != "encoder" else self.max_new_tokens
            self.generating(name, m, sampling)  # 422 for an encoder before the model runs
            bounds = hf_weight_bounds(m, n, new)
            if self.choose(detail, bounds, encoding, precision) == "overview":
                doc = self.hf_overview(name, loaded, text, precision, encoding, ablate, max_new_tokens, sampling, weighting)
            else:
                doc = self.hf_document(name, loaded, text, precision, encoding, ablate, max_new_tokens, sampling, weighting)
        else:
            check_text(text, loaded, self.max_text_len)
            how = sampling or GREEDY  # every toy model generates
            if isinstance(loaded.model, SmallDecoder):
                # its context is a few dozen characters: always whole
                if detail == "overview":
                    raise NotSupported(
                        f"{name} is a toy decoder whose longest text is {loaded.ckpt.config.max_len - 1} characters: its "
                        "document always comes whole; ask for detail 'full' or 'auto'.",
                    )
                doc = self.document(
                    name,
                    text,
                    precision,
                    encoding,
                    ablate,
                    loaded=loaded,
                    max_new_tokens=max_new_tokens,
                    sampling=how,
                    weighting=weighting,
                )
            elif self.choose(detail, toy_weight_bounds(loaded, text), encoding, precision) == "overview":
                doc = self.toy_overview(name, loaded, text, precision, encoding, ablate, how, weighting)
            else:
                doc = self.document(
                    name,
                    text,
                    precision,
                    encoding,
                    ablate,
                    loaded=loaded,
                    max_new_tokens=max_new_tokens,
                    sampling=how,
                    weighting=weighting,
                )
        if "attentions" in doc:
            check_budget([doc], encoding, precision, self.max_response_bytes, overview=detail == "full")
            doc["detail"] = "full"
        doc["precision"] = precision if encoding == "json" else None
        return dumps(doc)

    def choose(self, detail: Detail, bounds: tuple[int, int], encoding: Encoding, precision: int) -> str:
        """``full`` or ``overview``; 413 for ``full`` when even its fewest weights pass the budget."""
        fewest, most = bounds
        if detail == "overview":
            return "overview"
        if detail == "full":
            check_weights(fewest, encoding, precision, self.max_response_bytes, overview=True)
            return "full"
        return "full" if most * bytes_per_weight(encoding, precision) <= self.max_response_bytes else "overview"

    def hf_tokens(self, m: HFModel, text: str) -> int:
        """The text's tokens (special tokens included); 422 past the model's context (or the
        ``max_tokens`` setting) before the model runs."""
        n = len(m.tokenizer(text, truncation=False)["input_ids"])
        if n == 0:
            raise no_tokens()
        limit = m.max_length if self.max_tokens is None else min(m.max_length, self.max_tokens)
        if n > limit:
            raise too_many_tokens(HFTextTooLongError(n, limit))
        return n

    def hf_overview(
        self,
        name: str,
        loaded: LoadedHF,
        text: str,
        precision: int,
        encoding: Encoding,
        ablate: Sequence[tuple[str, int, int]],
        max_new_tokens: int | None,
        sampling: Sampling | None = None,
        weighting: Weighting = "attention",
    ) -> dict[str, Any]:
        m = loaded.encoder
        if ablate and "ablate" not in m.supports:
            raise not_supported(name, "Switching heads off (ablate)", m.family, m.supports)
        for i, (kind, layer, head) in enumerate(ablate):
            check_hf_head(m, kind, layer, head, f"ablate[{i}]: ")
        new = self.new_tokens(name, m, max_new_tokens)
        how = self.generating(name, m, sampling)
        try:
            run, long, overviews = longctx.hf_overview(m, text, new, ablate, self.overview_size, how, weighting)
        except HFTextTooLongError as exc:
            raise too_many_tokens(exc) from None
        except HFUnsupportedError:
            what = "The overview of a long input (its attention modules are not recognised)"
            raise not_supported(name, what, m.family, m.supports) from None
        except ValueError:
            raise no_tokens() from None
        doc = document_of_run(m, run, name=name, precision=precision, encoding=encoding, json_as_array=True, weighting=weighting)
        return self.with_overview(doc, long, overviews, encoding)

    def toy_overview(
        self,
        name: str,
        loaded: LoadedModel,
        text: str,
        precision: int,
        encoding: Encoding,
        ablate: Sequence[tuple[str, int, int]],
        sampling: Sampling = GREEDY,
        weighting: Weighting = "attention",
    ) -> dict[str, Any]:
        for i, (_kind, layer, head) in enumerate(ablate):
            check_head(loaded, layer, head, f"ablate[{i}]: ")
        result = run_attention(
            loaded.model,
            loaded.ckpt.vocab,
            text,
            max_text_len=loaded.ckpt.max_text_len,
            ablate=list(ablate) or None,
            sampling=sampling,
        )
        assert isinstance(loaded.model, SmallTransformer)  # attention() keeps a toy decoder's documents whole
        if weighting == "value_norm":
            result = value_weighted(loaded.model, result, list(ablate) or None)
        long, overviews = longctx.toy_overview(loaded.model, result, ablate, self.overview_size)
        doc = document_from_result(
            loaded.ckpt,
            replace(result, attentions={}),
            checkpoint_name=name,
            precision=precision,
            encoding=encoding,
            weighting=weighting,
        )
        return self.with_overview(doc, long, overviews, encoding)

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

    def hf_math_json(
        self,
        name: str,
        loaded: LoadedHF,
        text: str,
        kind: str,
        layer: int,
        head: int,
        max_new_tokens: int | None,
        sampling: Sampling | None = None,
    ) -> bytes:
        m = loaded.encoder
        if "math" not in m.supports:
            raise not_supported(name, "The step-through of the attention math", m.family, m.supports)
        if text.strip() == "":
            raise EmptyText("The text is empty; type at least one word.")
        check_hf_head(m, kind, layer, head)
        new = self.new_tokens(name, m, max_new_tokens)
        how = self.generating(name, m, sampling)
        try:
            traced = hf_math(m, text, kind, layer, head, new, how)
        except HFTextTooLongError as exc:
            raise too_many_tokens(exc) from None
        except HFUnsupportedError as exc:
            raise NotSupported(f"The step-through is not available: {exc}.") from None
        except ValueError:  # the tokenizer made no tokens of it
            raise no_tokens() from None
        tensors = {key: {"shape": list(t.shape), "data": t.tolist()} for key, t in traced["tensors"].items()}
        return orjson.dumps({"checkpoint": name, "input": text, **traced, "tensors": tensors})

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
        loaded_any = self.load_any(name)
        if isinstance(loaded_any, LoadedHF):
            return self.hf_math_json(name, loaded_any, text, kind, layer, head, max_new_tokens, sampling)
        loaded = loaded_any
        check_text(text, loaded, self.max_text_len)
        check_toy_kind(loaded, kind)
        check_head(loaded, layer, head)
        result = run_attention(
            loaded.model,
            loaded.ckpt.vocab,
            text,
            max_text_len=loaded.ckpt.max_text_len,
            max_new_tokens=self.toy_new_tokens(loaded, max_new_tokens),
            sampling=sampling or GREEDY,
        )
        traced = trace_head(loaded.model, result, kind, layer, head)  # no hooks: shares the model safely
        tensors = {key: {"shape": list(t.shape), "data": t.tolist()} for key, t in traced["tensors"].items()}
        return orjson.dumps({"checkpoint": name, "input": text, "output": result.output, **traced, "tensors": tensors})

    def _run_epochs(self, loaded: list[LoadedModel], text: str) -> list[AttentionResult]:
        """Every epoch's :class:`AttentionResult` for ``text``: the epochs of one architecture and
        vocabulary run as one batched model (:mod:`attnviz.ensemble`), a few times faster than
        one after another."""
        groups: dict[tuple[Any, ...], list[int]] = {}
        results: list[AttentionResult | None] = [None] * len(loaded)
        for i, lm in enumerate(loaded):
            if isinstance(lm.model, SmallDecoder):  # small and few: one after another, unstacked
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
        for lm in loaded:
            check_text(text, lm, self.max_text_len)
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
