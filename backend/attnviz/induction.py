"""Measuring the induction task: in-context accuracy and the two head scores of Olsson et al. (2022).

- in-context accuracy: the share of the predictable tokens (the second copy's characters after its
  first) the model predicts (argmax) from the sequence so far;
- induction score of a head: the attention a token of the second copy pays to the token after its
  earlier occurrence (query ``p + k + j`` → key ``p + j + 1``), averaged;
- previous-token score of a head: the attention each token pays to the token just before it.

Scores are ``[layer][head]`` lists of floats in [0, 1] (1: all of the head's weight goes there).
"""

from __future__ import annotations

import random
from typing import cast

import torch
from torch import Tensor

from .data import INDUCTION_CHARS, InductionBatch, Vocab, induction_batch
from .model import HeadMasks, SmallDecoder

EVAL_SEED = 10_007  # held-out sequences come from their own stream, never the training one


def heldout_batch(
    vocab: Vocab, n: int = 512, seed: int = EVAL_SEED, seq_len: int = 32, min_seg: int = 5, max_seg: int = 15
) -> InductionBatch:
    """A fixed set of held-out induction sequences (its own seed: none of the training stream's)."""
    return induction_batch(n, vocab, random.Random(seed), seq_len, min_seg, max_seg)


def in_context_accuracy(logits: Tensor, batch: InductionBatch) -> float:
    """Share of the predictable tokens predicted right; logits ``(B, T, vocab)`` of ``ids[:, :-1]``."""
    predicted = logits.argmax(dim=-1)  # (B, T)
    right = (predicted == batch.ids[:, 1:]) & batch.target_mask
    return float(right.sum()) / max(1, int(batch.target_mask.sum()))


def induction_scores(weights: list[Tensor], batch: InductionBatch) -> list[list[float]]:
    """Per layer and head, the mean weight from each second-copy token to the token after its earlier
    occurrence. ``weights``: per layer ``(B, h, T, T)`` over ``ids[:, :-1]``."""
    T = weights[0].size(-1)
    j = torch.arange(T)[None, :]  # (1, T) offset within the segment
    valid = j < batch.seg_len[:, None]  # (B, T)
    query = (batch.seg_start + batch.seg_len)[:, None] + j  # (B, T) second copy
    key = batch.seg_start[:, None] + j + 1  # (B, T) after the first occurrence
    valid &= query < T
    b = torch.arange(query.size(0))[:, None].expand_as(query)
    out = []
    for w in weights:
        picked = w[b[valid], :, query[valid], key[valid]]  # (n, h)
        out.append([float(x) for x in picked.mean(dim=0)])
    return out


def previous_token_scores(weights: list[Tensor]) -> list[list[float]]:
    """Per layer and head, the mean weight from each token (but the first) to the one before it."""
    out = []
    for w in weights:
        sub = torch.diagonal(w, offset=-1, dim1=-2, dim2=-1)  # (B, h, T - 1): query t, key t - 1
        out.append([float(x) for x in sub.mean(dim=(0, 2))])
    return out


@torch.no_grad()
def evaluate_induction(model: SmallDecoder, batch: InductionBatch, head_masks: HeadMasks | None = None) -> dict[str, object]:
    """Held-out loss on the predictable tokens, in-context accuracy and both head scores."""
    was_training = model.training
    model.eval()
    logits, attentions = model(batch.ids[:, :-1], head_masks)  # (B, T, vocab)
    model.train(was_training)
    ws = attentions["decoder_self"]
    targets = batch.ids[:, 1:]
    loss = torch.nn.functional.cross_entropy(logits[batch.target_mask], targets[batch.target_mask])
    ind = induction_scores(ws, batch)
    prev = previous_token_scores(ws)
    return {
        "loss": float(loss),
        "in_context_accuracy": in_context_accuracy(logits, batch),
        "induction": ind,
        "previous_token": prev,
        "best_induction": max(max(row) for row in ind),
        "best_previous_token": max(max(row) for row in prev),
    }


def induction_metrics(model: SmallDecoder, batch: InductionBatch) -> dict[str, float]:
    """The numbers a checkpoint records (metrics are flat): held-out loss, in-context accuracy,
    the best induction score of a head past the first layer (an induction head needs a layer
    before it to shift keys by one), the best previous-token score in the first layer, and where
    those heads are (``best_induction_layer`` / ``_head``, 0-based)."""
    r = evaluate_induction(model, batch)
    ind = cast(list[list[float]], r["induction"])
    prev = cast(list[list[float]], r["previous_token"])
    later = [
        (score, layer, head) for layer, row in enumerate(ind) if layer > 0 or len(ind) == 1 for head, score in enumerate(row)
    ]
    best_ind = max(later)
    best_prev = max((score, 0, head) for head, score in enumerate(prev[0]))
    return {
        "loss": float(cast(float, r["loss"])),
        "in_context_accuracy": float(cast(float, r["in_context_accuracy"])),
        "best_induction": best_ind[0],
        "best_induction_layer": float(best_ind[1]),
        "best_induction_head": float(best_ind[2]),
        "best_previous_token": best_prev[0],
        "best_previous_token_head": float(best_prev[2]),
    }


HELDOUT_SEQUENCES = 256  # what a document's held-out figures are measured on (about 0.05 s a pass)


@torch.no_grad()
def heldout_summary(
    model: SmallDecoder, vocab: Vocab, head_masks: HeadMasks | None, train: dict[str, object]
) -> dict[str, float]:
    """A document's ``heldout``: in-context accuracy on held-out induction sequences with the
    requested heads switched off (``in_context_accuracy``) and with every head on (``baseline``),
    and ``chance`` (one in the number of letters). The sequences have the shape the checkpoint was
    trained on (its ``train`` record)."""

    def num(key: str, default: int) -> int:
        value = train.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else default

    seq_len = min(num("seq_len", 32), model.config.max_len - 1)
    min_seg = max(1, min(num("min_seg", 5), seq_len // 2))
    max_seg = max(min_seg, num("max_seg", 15))
    batch = heldout_batch(vocab, HELDOUT_SEQUENCES, seq_len=seq_len, min_seg=min_seg, max_seg=max_seg)
    model.eval()
    baseline = in_context_accuracy(model(batch.ids[:, :-1])[0], batch)
    ablated = baseline if head_masks is None else in_context_accuracy(model(batch.ids[:, :-1], head_masks)[0], batch)
    return {
        "in_context_accuracy": ablated,
        "baseline": baseline,
        "chance": 1.0 / len(INDUCTION_CHARS),
        "sequences": float(HELDOUT_SEQUENCES),
    }
