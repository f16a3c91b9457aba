"""Weights beyond attention (Kobayashi et al., EMNLP 2020): what a head actually mixes in.

A head's output for query i is ``Σ_j α_ij · f(x_j)`` with ``f(x_j) = v_j W^O_h`` (key j's value
vector through the head's slice of the output projection). A head that puts 90 % of its weight
on the first token may move almost nothing when that token's ``‖f(x_j)‖`` is tiny, so the
``value_norm`` weighting shows ``α_ij · ‖v_j W^O_h‖``, renormalised per row (each row sums to 1;
a row of zeros — a switched-off head — stays zeros). The output projection's bias is added once
per query, not per key, so it is left out (as in the paper).
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor

Weighting = Literal["attention", "value_norm"]
WEIGHTINGS: tuple[Weighting, ...] = ("attention", "value_norm")


def value_norms(v: Tensor, w_o: Tensor, n_heads: int) -> Tensor:
    """``‖v_j W^O_h‖`` of every head h and key j: ``(..., n_heads, T_k)``.

    ``v``: ``(..., n_kv_heads, T_k, d)`` value vectors (grouped-query heads share a value head:
    head h reads value head ``h // (n_heads / n_kv_heads)``); ``w_o``: ``(d_model, n_heads·d)``,
    the output projection as ``out = concat(heads) @ w_oᵀ`` (``nn.Linear.weight``)."""
    d = v.shape[-1]
    groups = n_heads // v.shape[-3]
    if groups > 1:
        v = v.repeat_interleave(groups, dim=-3)  # (..., n_heads, T_k, d)
    v = v.float()
    w = w_o.float().reshape(w_o.shape[0], n_heads, d)  # (d_model, h, d): W^O_h = w[:, h]
    # ‖v W^O_hᵀ‖² = v G_h vᵀ with G_h = W^O_hᵀ W^O_h (d × d): T·d² a head instead of T·d·d_model
    gram = torch.einsum("mhd,mhe->hde", w, w)  # (h, d, d)
    sq = ((v @ gram) * v).sum(dim=-1)  # (..., h, T_k)
    norms: Tensor = sq.clamp_min(0.0).sqrt()
    return norms


def reweight(weights: Tensor, norms: Tensor) -> Tensor:
    """``α_ij · n_j`` renormalised per row: ``weights`` ``(..., h, T_q, T_k)``, ``norms``
    ``(..., h, T_k)``; rows summing to 0 stay 0 (never NaN)."""
    w = weights.float() * norms.float().unsqueeze(-2)  # (..., h, T_q, T_k)
    total = w.sum(dim=-1, keepdim=True)
    return torch.where(total > 0, w / total.clamp_min(torch.finfo(torch.float32).tiny), torch.zeros_like(w))


def check_weighting(weighting: str) -> Weighting:
    """``weighting`` itself; ``ValueError`` naming the choices for anything else."""
    if weighting not in WEIGHTINGS:
        raise ValueError(f"unknown weighting {weighting!r}: one of {', '.join(WEIGHTINGS)}")
    return weighting
