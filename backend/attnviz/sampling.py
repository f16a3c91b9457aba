"""Choosing the next token: greedy, or sampled with temperature, top-k and top-p (nucleus).

Every generating model (the toy encoder-decoder and decoder, Hugging Face decoders and
encoder-decoders) picks its next token through a :class:`Sampler`, so the same settings mean the
same thing everywhere. Sampling draws from a ``torch.Generator`` of its own, seeded from the
request: the server runs requests in threads, and the global RNG would make one request's draws
depend on another's. The same text, settings and seed give the same tokens.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

MAX_TEMPERATURE = 5.0
"""Past this the distribution is close to uniform: nothing more to see, so larger values are refused."""
MAX_SEED = 2**31 - 1
"""Seeds are kept within a 31-bit integer: exact in JavaScript and short in a URL."""


@dataclass(frozen=True)
class Sampling:
    """How the next token is chosen. ``temperature`` 0 is greedy (the most probable token; the
    other settings are then unused); above 0 the logits are divided by it, the ``top_k`` most
    probable tokens kept (0: all), then the fewest most probable whose mass reaches ``top_p``
    (1: all), and one token drawn from what is left, renormalised."""

    temperature: float = 0.0
    top_k: int = 0
    top_p: float = 1.0
    seed: int | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.temperature <= MAX_TEMPERATURE:
            raise ValueError(f"temperature must be between 0 and {MAX_TEMPERATURE}, not {self.temperature}")
        if self.top_k < 0:
            raise ValueError(f"top_k must be 0 (all tokens) or more, not {self.top_k}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be above 0 and at most 1, not {self.top_p}")
        if self.seed is not None and not 0 <= self.seed <= MAX_SEED:
            raise ValueError(f"seed must be between 0 and {MAX_SEED}, not {self.seed}")

    @property
    def greedy(self) -> bool:
        return self.temperature == 0

    def seeded(self) -> Sampling:
        """The same settings with a seed: a fresh random one when none was given (returned in the
        document so the user can reproduce the draw). Greedy needs none."""
        if self.greedy or self.seed is not None:
            return self
        return Sampling(self.temperature, self.top_k, self.top_p, secrets.randbelow(MAX_SEED + 1))

    def describe(self) -> dict[str, Any]:
        return {"temperature": self.temperature, "top_k": self.top_k, "top_p": self.top_p, "seed": self.seed}


GREEDY = Sampling()


def distribution(logits: Tensor, s: Sampling) -> Tensor:
    """The sampling distribution ``(..., vocab)`` of ``logits`` under ``s`` (float32): softmax of
    logits / T over the tokens top-k and top-p keep, 0 elsewhere. Greedy: all mass on the argmax."""
    logits = logits.float()
    if s.greedy:
        return torch.nn.functional.one_hot(logits.argmax(dim=-1), logits.size(-1)).float()
    # in float64, shifted so the largest is 0: a tiny temperature (1e-300) then sends the rest to
    # -inf, never 0/0 or inf - inf
    shifted = logits.double() - logits.double().max(dim=-1, keepdim=True).values
    scaled = shifted / s.temperature
    if 0 < s.top_k < scaled.size(-1):
        kth = scaled.topk(s.top_k, dim=-1).values[..., -1:]  # (..., 1) the k-th largest
        scaled = scaled.masked_fill(scaled < kth, float("-inf"))
    probs = torch.softmax(scaled, dim=-1)
    if s.top_p < 1:
        sorted_p, order = probs.sort(dim=-1, descending=True)
        before = sorted_p.cumsum(dim=-1) - sorted_p  # mass of the more probable tokens
        drop_sorted = before >= s.top_p  # the most probable token is always kept (its `before` is 0)
        drop = drop_sorted.scatter(-1, order, drop_sorted)
        probs = probs.masked_fill(drop, 0.0)
        probs = probs / probs.sum(dim=-1, keepdim=True)
    return probs.float()


class Sampler:
    """Picks the next token of each row from its logits ``(B, vocab) -> (B,)``, and remembers the
    probability each pick had under the sampling distribution (row 0's, in ``chosen_p``).

    ``never``: ids that are never picked (the toy models' ``<pad>`` and ``<bos>``)."""

    def __init__(self, sampling: Sampling = GREEDY, never: tuple[int, ...] = ()) -> None:
        self.sampling = sampling.seeded()
        self.never = never
        self.generator: torch.Generator | None = None
        if not self.sampling.greedy:
            assert self.sampling.seed is not None
            self.generator = torch.Generator().manual_seed(self.sampling.seed)  # CPU: draws the same on any device
        self.chosen_p: list[float] = []

    def __call__(self, logits: Tensor) -> Tensor:
        if self.never:
            logits = logits.index_fill(-1, torch.tensor(self.never, device=logits.device), float("-inf"))
        if self.generator is None:
            picked = logits.argmax(dim=-1)  # (B,)
            self.chosen_p.append(1.0)
            return picked
        probs = distribution(logits.detach().float().cpu(), self.sampling)  # (B, vocab)
        picked = torch.multinomial(probs, 1, generator=self.generator)[:, 0]  # (B,)
        self.chosen_p.append(float(probs[0, picked[0]]))
        return picked.to(logits.device)
