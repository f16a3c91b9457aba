"""The paper's encoder-decoder, as this project's trainer writes it (family ``toy``); the decoder-only
model extends it (:mod:`.toy_decoder`)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from ... import longctx
from ...anywhere import Detail
from ...errors import EmptyText, OutOfRange, TextNotInVocabulary, TextTooLong
from ...export_attention_json import document_from_result
from ...inference import EXTRA_DECODE_TOKENS, AttentionResult, run_attention, trace_head, value_weighted
from ...model import SmallTransformer
from ...sampling import GREEDY
from ..model_cache import LoadedModel
from ..registry import FAMILY_SUPPORTS, toy_family
from .base import MAX_LISTED, Limits, Overview, RunRequest, tensors_json


@dataclass
class ToyAdapter:
    """A checkpoint of this project's trainer: the encoder-decoder (section 3.1), which decodes
    greedily (or samples) until <eos>."""

    name: str
    loaded: LoadedModel
    limits: Limits

    @property
    def family(self) -> str:
        return toy_family(self.loaded.ckpt.config.arch)  # the listing's name for it, one mapping

    @property
    def supports(self) -> tuple[str, ...]:
        return FAMILY_SUPPORTS[self.family]

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
        """``OutOfRange`` past the heads."""
        c = self.loaded.ckpt.config
        if not 0 <= layer < c.n_layers or not 0 <= head < c.n_heads:
            raise OutOfRange(
                f"{what}There is no head {layer}.{head}: this model has layers 0–{c.n_layers - 1} and heads 0–{c.n_heads - 1}.",
                n_layers=c.n_layers,
                n_heads=c.n_heads,
            )

    def new_tokens(self, requested: int | None) -> int | None:
        """How many tokens to generate: None, the encoder-decoder decodes until <eos> (the request's
        value unused)."""
        return None

    def prepare(self, req: RunRequest, detail: Detail) -> tuple[int, int]:
        text = req.text
        self.check_text(text)
        for i, (kind, layer, head) in enumerate(req.ablate):
            self.check_head(kind, layer, head, f"ablate[{i}]: ")
        self.new_tokens(req.max_new_tokens)
        return self.sizes(req.text, detail)

    def sizes(self, text: str, detail: Detail) -> tuple[int, int]:
        """The fewest and the most weights of the document of ``text``: the encoder-decoder decodes
        at most len + 8 tokens."""
        c = self.loaded.ckpt.config
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
        return self._document(req, self._run(req))

    def overview(self, req: RunRequest) -> Overview:
        model = self.loaded.model
        assert isinstance(model, SmallTransformer)  # a toy decoder's prepare() keeps its documents whole
        result = self._run(req)
        long, overviews = longctx.toy_overview(model, result, req.ablate, self.limits.overview_size)
        return self._document(req, replace(result, attentions={}), json_as_array=False), long, overviews

    def math(self, req: RunRequest, kind: str, layer: int, head: int) -> dict[str, Any]:
        self.check_text(req.text)
        self.check_head(kind, layer, head)
        result = self._run(replace(req, ablate=(), weighting="attention"))
        traced = trace_head(self.loaded.model, result, kind, layer, head)  # no hooks: shares the model safely
        return {"checkpoint": self.name, "input": req.text, "output": result.output, **traced, "tensors": tensors_json(traced)}
