"""What the service asks of a model, whatever its family: the :class:`ModelAdapter` interface,
the request it is given (:class:`RunRequest`) and the server's bounds (:class:`Limits`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ... import longctx
from ...anywhere import Detail
from ...encoding import Encoding
from ...errors import OutOfRange
from ...sampling import Sampling
from ...weighting import Weighting

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
