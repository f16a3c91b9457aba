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
from typing import Any, Literal, Protocol

from .. import longctx
from ..data import LM_TASKS
from ..encoding import Encoding
from ..errors import EmptyText, NotSupported, OutOfRange, TextNotInVocabulary, TextTooLong
from ..export_attention_json import document_from_result
from ..hf import HFModel, HFTextTooLongError, HFUnsupportedError, document_of_run, hf_document, hf_math
from ..induction import heldout_summary
from ..inference import EXTRA_DECODE_TOKENS, parse_head_masks, run_attention, trace_head, value_weighted
from ..model import SmallDecoder, SmallTransformer
from ..sampling import GREEDY, Sampling
from ..weighting import Weighting
from .model_cache import LoadedHF, LoadedModel
from .registry import FAMILY_SUPPORTS, toy_family

MAX_LISTED = 20  # characters named in an error sentence (all are in invalid_characters)
Ablate = Sequence[tuple[str, int, int]]
Detail = Literal["auto", "full", "overview"]
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
        """The default when absent, else ``requested`` within the bound (422 past it)."""
        if requested is None:
            return self.max_new_tokens
        if requested > self.max_new_tokens_limit:
            raise OutOfRange(
                f"max_new_tokens is {requested}; this server generates at most {self.max_new_tokens_limit} tokens.",
                max_new_tokens_limit=self.max_new_tokens_limit,
            )
        return requested


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

    def prepare(
        self, text: str, ablate: Ablate, max_new_tokens: int | None, sampling: Sampling | None, detail: Detail
    ) -> tuple[int, int]:
        """Check the request before the model runs; the fewest and the most weights its full
        document may hold (a generating model's size depends on what it generates)."""
        ...

    def document(
        self,
        text: str,
        precision: int,
        encoding: Encoding,
        ablate: Ablate,
        max_new_tokens: int | None,
        sampling: Sampling | None,
        weighting: Weighting,
    ) -> dict[str, Any]:
        """The whole document (weights encoded as ``json_as_array``)."""
        ...

    def overview(
        self,
        text: str,
        precision: int,
        encoding: Encoding,
        ablate: Ablate,
        max_new_tokens: int | None,
        sampling: Sampling | None,
        weighting: Weighting,
    ) -> Overview:
        """The document without its weights, the run its tiles are cut from, and each kind's overview."""
        ...

    def math(
        self, text: str, kind: str, layer: int, head: int, max_new_tokens: int | None, sampling: Sampling | None
    ) -> dict[str, Any]:
        """The step-through of one head: its inputs, Q, K, V, scores, weights and output."""
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
        """422 ``empty_text`` / ``text_too_long`` / ``unknown_characters`` (with every position)."""
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
        """422 ``not_supported`` for a kind the decoder-only model lacks, ``out_of_range`` past the heads."""
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
        """The decoder-only model's ``max_new_tokens`` (the default when absent, 422 past the
        bound); None for the encoder-decoder, which decodes until <eos> (the request's value unused)."""
        return self.limits.new_tokens(requested) if self.decoder_only else None

    def prepare(
        self, text: str, ablate: Ablate, max_new_tokens: int | None, sampling: Sampling | None, detail: Detail
    ) -> tuple[int, int]:
        self.check_text(text)
        for i, (kind, layer, head) in enumerate(ablate):
            self.check_head(kind, layer, head, f"ablate[{i}]: ")
        self.new_tokens(max_new_tokens)
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

    def _run(self, text: str, ablate: Ablate, max_new_tokens: int | None, sampling: Sampling | None, weighting: Weighting) -> Any:
        model, ckpt = self.loaded.model, self.loaded.ckpt
        result = run_attention(
            model,
            ckpt.vocab,
            text,
            max_text_len=ckpt.max_text_len,
            ablate=list(ablate) or None,
            max_new_tokens=self.new_tokens(max_new_tokens),
            sampling=sampling or GREEDY,  # every toy model generates
        )
        if weighting == "value_norm":
            result = value_weighted(model, result, list(ablate) or None)
        return result

    def document(
        self,
        text: str,
        precision: int,
        encoding: Encoding,
        ablate: Ablate,
        max_new_tokens: int | None,
        sampling: Sampling | None,
        weighting: Weighting,
    ) -> dict[str, Any]:
        result = self._run(text, ablate, max_new_tokens, sampling, weighting)
        ckpt = self.loaded.ckpt
        doc = document_from_result(
            ckpt,
            result,
            checkpoint_name=self.name,
            precision=precision,
            encoding=encoding,
            json_as_array=True,
            weighting=weighting,
        )
        model = self.loaded.model
        if ckpt.task in LM_TASKS and isinstance(model, SmallDecoder):
            # what switching heads off does to the task, measured on held-out sequences (not only this text)
            masks = parse_head_masks(model, list(ablate) or None)
            doc["heldout"] = heldout_summary(model, ckpt.vocab, masks, ckpt.train)
        return doc

    def overview(
        self,
        text: str,
        precision: int,
        encoding: Encoding,
        ablate: Ablate,
        max_new_tokens: int | None,
        sampling: Sampling | None,
        weighting: Weighting,
    ) -> Overview:
        model = self.loaded.model
        assert isinstance(model, SmallTransformer)  # prepare() keeps a toy decoder's documents whole
        result = self._run(text, ablate, max_new_tokens, sampling, weighting)
        long, overviews = longctx.toy_overview(model, result, ablate, self.limits.overview_size)
        doc = document_from_result(
            self.loaded.ckpt,
            replace(result, attentions={}),
            checkpoint_name=self.name,
            precision=precision,
            encoding=encoding,
            weighting=weighting,
        )
        return doc, long, overviews

    def math(
        self, text: str, kind: str, layer: int, head: int, max_new_tokens: int | None, sampling: Sampling | None
    ) -> dict[str, Any]:
        self.check_text(text)
        self.check_head(kind, layer, head)
        result = self._run(text, (), max_new_tokens, sampling, "attention")
        traced = trace_head(self.loaded.model, result, kind, layer, head)  # no hooks: shares the model safely
        return {"checkpoint": self.name, "input": text, "output": result.output, **traced, "tensors": tensors_json(traced)}


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
        """422 ``not_supported`` for a kind the model lacks, ``out_of_range`` past its layers/heads."""
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
        """The text's tokens (special tokens included); 422 when empty or past the model's context
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
        """``max_new_tokens`` of a request: the default when absent, 422 past the bound (or for a
        model that generates nothing)."""
        if requested is not None and "generate" not in self.m.supports:
            raise self.refuse("Generating tokens (max_new_tokens)")
        return self.limits.new_tokens(requested)

    def generating(self, sampling: Sampling | None) -> Sampling:
        """The sampling settings (None: greedy); 422 for an encoder, which generates nothing to sample."""
        if sampling is not None and "generate" not in self.m.supports:
            raise self.refuse("Sampling (temperature, top_k, top_p, seed)")
        return sampling or GREEDY

    def check_run(self, ablate: Ablate, weighting: Weighting) -> None:
        if ablate and "ablate" not in self.m.supports:
            raise self.refuse("Switching heads off (ablate)")
        for i, (kind, layer, head) in enumerate(ablate):
            self.check_head(kind, layer, head, f"ablate[{i}]: ")
        # value-norm weighting needs the attention modules' value and output projections
        if weighting == "value_norm" and "math" not in self.m.supports:
            raise self.refuse("Value-norm weighting (weighting 'value_norm')")

    def prepare(
        self, text: str, ablate: Ablate, max_new_tokens: int | None, sampling: Sampling | None, detail: Detail
    ) -> tuple[int, int]:
        m = self.m
        n = self.tokens(text)
        new = self.new_tokens(max_new_tokens) if m.family != "encoder" else self.limits.max_new_tokens
        self.generating(sampling)
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

    def document(
        self,
        text: str,
        precision: int,
        encoding: Encoding,
        ablate: Ablate,
        max_new_tokens: int | None,
        sampling: Sampling | None,
        weighting: Weighting,
    ) -> dict[str, Any]:
        self.check_run(ablate, weighting)
        try:
            return hf_document(
                self.m,
                text,
                name=self.name,
                precision=precision,
                encoding=encoding,
                json_as_array=True,
                max_new_tokens=self.new_tokens(max_new_tokens),
                ablate=ablate,
                sampling=self.generating(sampling),
                weighting=weighting,
            )
        except HFTextTooLongError as exc:
            raise too_many_tokens(exc) from None
        except ValueError:  # the tokenizer made no tokens of it
            raise no_tokens() from None

    def overview(
        self,
        text: str,
        precision: int,
        encoding: Encoding,
        ablate: Ablate,
        max_new_tokens: int | None,
        sampling: Sampling | None,
        weighting: Weighting,
    ) -> Overview:
        self.check_run(ablate, weighting)
        new, how = self.new_tokens(max_new_tokens), self.generating(sampling)
        try:
            run, long, overviews = longctx.hf_overview(self.m, text, new, ablate, self.limits.overview_size, how, weighting)
        except HFTextTooLongError as exc:
            raise too_many_tokens(exc) from None
        except HFUnsupportedError:
            raise self.refuse("The overview of a long input (its attention modules are not recognised)") from None
        except ValueError:
            raise no_tokens() from None
        doc = document_of_run(
            self.m, run, name=self.name, precision=precision, encoding=encoding, json_as_array=True, weighting=weighting
        )
        return doc, long, overviews

    def math(
        self, text: str, kind: str, layer: int, head: int, max_new_tokens: int | None, sampling: Sampling | None
    ) -> dict[str, Any]:
        if "math" not in self.m.supports:
            raise self.refuse("The step-through of the attention math")
        if text.strip() == "":
            raise EmptyText("The text is empty; type at least one word.")
        self.check_head(kind, layer, head)
        new, how = self.new_tokens(max_new_tokens), self.generating(sampling)
        try:
            traced = hf_math(self.m, text, kind, layer, head, new, how)
        except HFTextTooLongError as exc:
            raise too_many_tokens(exc) from None
        except HFUnsupportedError as exc:
            raise NotSupported(f"The step-through is not available: {exc}.") from None
        except ValueError:  # the tokenizer made no tokens of it
            raise no_tokens() from None
        return {"checkpoint": self.name, "input": text, **traced, "tensors": tensors_json(traced)}
