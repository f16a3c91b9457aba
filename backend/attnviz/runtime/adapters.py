"""One interface for every model family: what the service asks of a model.

A :class:`ModelAdapter` wraps a loaded model (a toy checkpoint or a Hugging Face directory) and
answers the service's questions the same way for every family: may this request run (checked
before the model runs, as a domain error), how many weights may its document hold, its document,
its overview (for long inputs), and the step-through of one head. The service never asks what
type a model is; adding a family is one new adapter here (and its loader in ``model_cache``).

Families: ``toy`` (the paper's encoder-decoder), ``toy-decoder`` (its decoder stack alone), and
Hugging Face ``encoder``, ``decoder`` and ``encoder-decoder`` (:class:`HFAdapter`, by the model's
own ``family``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from .. import longctx
from ..anywhere import Detail
from ..data import LM_TASKS
from ..encoding import Encoding
from ..errors import EmptyText, NotSupported, OutOfRange, TextNotInVocabulary, TextTooLong
from ..export_attention_json import document_from_result
from ..hf import HFModel, HFTextTooLongError, HFUnsupportedError, document_of_run, hf_document, hf_math
from ..induction import heldout_summary
from ..inference import EXTRA_DECODE_TOKENS, AttentionResult, parse_head_masks, run_attention, trace_head, value_weighted
from ..model import SmallDecoder, SmallTransformer
from ..sampling import GREEDY, Sampling
from ..weighting import Weighting
from .model_cache import LoadedHF, LoadedModel
from .registry import FAMILY_SUPPORTS, toy_family

MAX_LISTED = 20  # characters named in an error sentence (all are in invalid_characters)
Ablate = Sequence[tuple[str, int, int]]
Overview = tuple[dict[str, Any], longctx.LongRun, dict[str, longctx.Overview]]


@dataclass(frozen=True)
class Limits:
    """The server's bounds on what a request may make a model do."""

    max_text_len: int  # longest text of a toy model, in characters (and its own max_len - 1)
    max_tokens: int | None  # longest input of a pretrained model, in tokens (None: its context)
    max_new_tokens: int  # tokens a generating model produces when the request names none
    max_new_tokens_limit: int  # the most a request may ask for
    overview_size: int  # an overview thumbnail's side

    def new_tokens(self, requested: int | None) -> int:
        """The default when absent, else ``requested`` within the bound (``OutOfRange`` past it)."""
        if requested is None:
            return self.max_new_tokens
        if requested > self.max_new_tokens_limit:
            raise OutOfRange(
                f"max_new_tokens is {requested}; this server generates at most {self.max_new_tokens_limit} tokens.",
                max_new_tokens_limit=self.max_new_tokens_limit,
            )
        return requested


@dataclass(frozen=True)
class RunRequest:
    """What a request asks of a model: the text, and how to run it and write its document."""

    text: str
    precision: int = 4  # decimals of a json-encoded weight
    encoding: Encoding = "json"
    ablate: Ablate = ()  # (kind, layer, head) switched off
    max_new_tokens: int | None = None  # None: the server's default (a generating model's)
    sampling: Sampling | None = None  # None: nothing asked, greedy
    weighting: Weighting = "attention"


class ModelAdapter(Protocol):
    """What the service asks of a model, whatever its family. Methods raise domain errors
    (:mod:`attnviz.errors`); they block, so the service runs them in worker threads."""

    name: str

    @property
    def family(self) -> str:
        """``toy``, ``toy-decoder``, or a Hugging Face ``encoder``, ``decoder``, ``encoder-decoder``."""
        ...

    @property
    def supports(self) -> tuple[str, ...]:
        """What it can serve (the listing's ``supports``): attention, generate, steps, math, ablate, ..."""
        ...

    def prepare(self, req: RunRequest, detail: Detail) -> tuple[int, int]:
        """Check the request before the model runs; the fewest and the most weights its full
        document may hold (a generating model's size depends on what it generates)."""
        ...

    def document(self, req: RunRequest) -> dict[str, Any]:
        """The whole document (weights encoded as ``json_as_array``)."""
        ...

    def overview(self, req: RunRequest) -> Overview:
        """The document without its weights, the run its tiles are cut from, and each kind's overview."""
        ...

    def math(self, req: RunRequest, kind: str, layer: int, head: int) -> dict[str, Any]:
        """The step-through of one head (``req``'s text, generation and sampling): its inputs, Q, K,
        V, scores, weights and output."""
        ...


def tensors_json(traced: dict[str, Any]) -> dict[str, Any]:
    return {key: {"shape": list(t.shape), "data": t.tolist()} for key, t in traced["tensors"].items()}


# ---- the toy models ------------------------------------------------------------------------------


@dataclass
class ToyAdapter:
    """A checkpoint of this project's trainer: the encoder-decoder or the decoder-only model."""

    name: str
    loaded: LoadedModel
    limits: Limits

    @property
    def family(self) -> str:
        return toy_family(self.loaded.ckpt.config.arch)

    @property
    def supports(self) -> tuple[str, ...]:
        return FAMILY_SUPPORTS[self.family]

    @property
    def decoder_only(self) -> bool:
        return self.loaded.ckpt.config.arch == "decoder"

    def check_text(self, text: str) -> None:
        """``EmptyText`` / ``TextTooLong`` / ``TextNotInVocabulary`` (with every position)."""
        ckpt = self.loaded.ckpt
        if text == "":
            raise EmptyText("The text is empty; type at least one character.")
        limit = min(self.limits.max_text_len, ckpt.config.max_len - 1)
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

    def check_head(self, kind: str, layer: int, head: int, what: str = "") -> None:
        """``NotSupported`` for a kind the decoder-only model lacks, ``OutOfRange`` past the heads."""
        if self.decoder_only and kind != "decoder_self":
            raise NotSupported(
                f"{what}This decoder-only model has no {kind} attention; it has decoder_self only.",
                family="toy-decoder",
            )
        c = self.loaded.ckpt.config
        if not 0 <= layer < c.n_layers or not 0 <= head < c.n_heads:
            raise OutOfRange(
                f"{what}There is no head {layer}.{head}: this model has layers 0–{c.n_layers - 1} and heads 0–{c.n_heads - 1}.",
                n_layers=c.n_layers,
                n_heads=c.n_heads,
            )

    def new_tokens(self, requested: int | None) -> int | None:
        """The decoder-only model's ``max_new_tokens`` (the default when absent, ``OutOfRange`` past
        the bound); None for the encoder-decoder, which decodes until <eos> (the request's value unused)."""
        return self.limits.new_tokens(requested) if self.decoder_only else None

    def prepare(self, req: RunRequest, detail: Detail) -> tuple[int, int]:
        text = req.text
        self.check_text(text)
        for i, (kind, layer, head) in enumerate(req.ablate):
            self.check_head(kind, layer, head, f"ablate[{i}]: ")
        self.new_tokens(req.max_new_tokens)
        c = self.loaded.ckpt.config
        if self.decoder_only:
            # its context is a few dozen characters: always whole
            if detail == "overview":
                raise NotSupported(
                    f"{self.name} is a toy decoder whose longest text is {c.max_len - 1} characters: its "
                    "document always comes whole; ask for detail 'full' or 'auto'.",
                )
            return 0, 0
        # the encoder-decoder decodes at most len + 8 tokens
        per, n = c.n_layers * c.n_heads, len(text) + 1
        t_most = 1 + min(len(text) + EXTRA_DECODE_TOKENS, c.max_len - 1)
        return per * (n * n + 1 + n), per * (n * n + t_most * t_most + t_most * n)

    def _run(self, req: RunRequest) -> AttentionResult:
        model, ckpt = self.loaded.model, self.loaded.ckpt
        ablate = list(req.ablate) or None
        result = run_attention(
            model,
            ckpt.vocab,
            req.text,
            max_text_len=ckpt.max_text_len,
            ablate=ablate,
            max_new_tokens=self.new_tokens(req.max_new_tokens),
            sampling=req.sampling or GREEDY,  # every toy model generates
        )
        return value_weighted(model, result, ablate) if req.weighting == "value_norm" else result

    def _document(self, req: RunRequest, result: AttentionResult, json_as_array: bool = True) -> dict[str, Any]:
        return document_from_result(
            self.loaded.ckpt,
            result,
            checkpoint_name=self.name,
            precision=req.precision,
            encoding=req.encoding,
            json_as_array=json_as_array,
            weighting=req.weighting,
        )

    def document(self, req: RunRequest) -> dict[str, Any]:
        doc = self._document(req, self._run(req))
        model, ckpt = self.loaded.model, self.loaded.ckpt
        if ckpt.task in LM_TASKS and isinstance(model, SmallDecoder):
            # what switching heads off does to the task, measured on held-out sequences (not only this text)
            masks = parse_head_masks(model, list(req.ablate) or None)
            doc["heldout"] = heldout_summary(model, ckpt.vocab, masks, ckpt.train)
        return doc

    def overview(self, req: RunRequest) -> Overview:
        model = self.loaded.model
        assert isinstance(model, SmallTransformer)  # prepare() keeps a toy decoder's documents whole
        result = self._run(req)
        long, overviews = longctx.toy_overview(model, result, req.ablate, self.limits.overview_size)
        return self._document(req, replace(result, attentions={}), json_as_array=False), long, overviews

    def math(self, req: RunRequest, kind: str, layer: int, head: int) -> dict[str, Any]:
        self.check_text(req.text)
        self.check_head(kind, layer, head)
        result = self._run(replace(req, ablate=(), weighting="attention"))
        traced = trace_head(self.loaded.model, result, kind, layer, head)  # no hooks: shares the model safely
        return {"checkpoint": self.name, "input": req.text, "output": result.output, **traced, "tensors": tensors_json(traced)}


# ---- Hugging Face models -------------------------------------------------------------------------


def not_supported(name: str, what: str, family: str = "encoder", supports: Sequence[str] = ()) -> NotSupported:
    offered = f" It offers: {', '.join(supports)}." if supports else ""
    return NotSupported(
        f"{what} is not available for this pretrained model ({name!r} is a Hugging Face {family} model); "
        f"see `supports` in /api/checkpoints.{offered}",
        family=family,
        supports=list(supports),
    )


def no_tokens() -> EmptyText:
    return EmptyText("The model's tokenizer makes no tokens of this text; type some words.")


def too_many_tokens(exc: HFTextTooLongError) -> TextTooLong:
    return TextTooLong(
        f"The text is {exc.n_tokens} tokens long (special tokens included); this model accepts at most {exc.limit}. Shorten it.",
        max_length=exc.limit,
        n_tokens=exc.n_tokens,
    )


@dataclass
class HFAdapter:
    """A Hugging Face model directory of any family (eager attention, loaded offline)."""

    name: str
    loaded: LoadedHF
    limits: Limits

    @property
    def m(self) -> HFModel:
        return self.loaded.model

    @property
    def family(self) -> str:
        return self.m.family

    @property
    def supports(self) -> tuple[str, ...]:
        return tuple(self.m.supports)

    def refuse(self, what: str) -> NotSupported:
        return not_supported(self.name, what, self.m.family, self.m.supports)

    def check_head(self, kind: str, layer: int, head: int, what: str = "") -> None:
        """``NotSupported`` for a kind the model lacks, ``OutOfRange`` past its layers/heads."""
        m = self.m
        sites = m.sites.get(kind)
        if not sites:
            raise NotSupported(
                f"{what}This {m.family} model has no {kind} attention; it has {', '.join(m.sites) or 'none'}.",
                family=m.family,
            )
        n_heads = sites[0].n_heads
        if not 0 <= layer < len(sites) or not 0 <= head < n_heads:
            raise OutOfRange(
                f"{what}There is no {kind} head {layer}.{head}: "
                f"this model has layers 0–{len(sites) - 1} and heads 0–{n_heads - 1}.",
                n_layers=len(sites),
                n_heads=n_heads,
            )

    def tokens(self, text: str) -> int:
        """The text's tokens (special tokens included); ``EmptyText`` / ``TextTooLong`` when empty or past the model's context
        (or the ``max_tokens`` setting), before the model runs."""
        if text.strip() == "":
            raise EmptyText("The text is empty; type at least one word.")
        m = self.m
        n = len(m.tokenizer(text, truncation=False)["input_ids"])
        if n == 0:
            raise no_tokens()
        limit = m.max_length if self.limits.max_tokens is None else min(m.max_length, self.limits.max_tokens)
        if n > limit:
            raise too_many_tokens(HFTextTooLongError(n, limit))
        return n

    def new_tokens(self, requested: int | None) -> int:
        """``max_new_tokens`` of a request: the default when absent, ``OutOfRange`` past the bound
        (``NotSupported`` for a model that generates nothing)."""
        if requested is not None and "generate" not in self.m.supports:
            raise self.refuse("Generating tokens (max_new_tokens)")
        return self.limits.new_tokens(requested)

    def generating(self, sampling: Sampling | None) -> Sampling:
        """The sampling settings (None: greedy); ``NotSupported`` for an encoder, which generates nothing to sample."""
        if sampling is not None and "generate" not in self.m.supports:
            raise self.refuse("Sampling (temperature, top_k, top_p, seed)")
        return sampling or GREEDY

    def generation(self, req: RunRequest) -> tuple[int, Sampling]:
        """How many tokens to generate at most, and how to pick them (``NotSupported`` for what this model cannot)."""
        return self.new_tokens(req.max_new_tokens), self.generating(req.sampling)

    def prepare(self, req: RunRequest, detail: Detail) -> tuple[int, int]:
        m = self.m
        n = self.tokens(req.text)
        new, _ = self.generation(req)
        if req.ablate and "ablate" not in m.supports:
            raise self.refuse("Switching heads off (ablate)")
        for i, (kind, layer, head) in enumerate(req.ablate):
            self.check_head(kind, layer, head, f"ablate[{i}]: ")
        # value-norm weighting needs the attention modules' value and output projections
        if req.weighting == "value_norm" and "math" not in m.supports:
            raise self.refuse("Value-norm weighting (weighting 'value_norm')")
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

    def document(self, req: RunRequest) -> dict[str, Any]:
        new, how = self.generation(req)
        try:
            return hf_document(
                self.m,
                req.text,
                name=self.name,
                precision=req.precision,
                encoding=req.encoding,
                json_as_array=True,
                max_new_tokens=new,
                ablate=req.ablate,
                sampling=how,
                weighting=req.weighting,
            )
        except HFTextTooLongError as exc:
            raise too_many_tokens(exc) from None
        except ValueError:  # the tokenizer made no tokens of it
            raise no_tokens() from None

    def overview(self, req: RunRequest) -> Overview:
        new, how = self.generation(req)
        try:
            run, long, overviews = longctx.hf_overview(
                self.m, req.text, new, req.ablate, self.limits.overview_size, how, req.weighting
            )
        except HFTextTooLongError as exc:
            raise too_many_tokens(exc) from None
        except HFUnsupportedError:
            raise self.refuse("The overview of a long input (its attention modules are not recognised)") from None
        except ValueError:
            raise no_tokens() from None
        doc = document_of_run(
            self.m,
            run,
            name=self.name,
            precision=req.precision,
            encoding=req.encoding,
            json_as_array=True,
            weighting=req.weighting,
        )
        return doc, long, overviews

    def math(self, req: RunRequest, kind: str, layer: int, head: int) -> dict[str, Any]:
        if "math" not in self.m.supports:
            raise self.refuse("The step-through of the attention math")
        if req.text.strip() == "":
            raise EmptyText("The text is empty; type at least one word.")
        self.check_head(kind, layer, head)
        new, how = self.generation(req)
        try:
            traced = hf_math(self.m, req.text, kind, layer, head, new, how)
        except HFTextTooLongError as exc:
            raise too_many_tokens(exc) from None
        except HFUnsupportedError as exc:
            raise NotSupported(f"The step-through is not available: {exc}.") from None
        except ValueError:  # the tokenizer made no tokens of it
            raise no_tokens() from None
        return {"checkpoint": self.name, "input": req.text, **traced, "tensors": tensors_json(traced)}
