"""A Hugging Face model directory of any family (``encoder``, ``decoder``, ``encoder-decoder``, by
the model's own ``family``), loaded offline with eager attention."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ... import longctx
from ...anywhere import Detail
from ...errors import EmptyText, NotSupported, OutOfRange, TextTooLong
from ...hf import HFModel, HFTextTooLongError, HFUnsupportedError, document_of_run, hf_document, hf_math
from ...sampling import GREEDY, Sampling
from ..model_cache import LoadedHF
from .base import Limits, Overview, RunRequest, tensors_json


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
