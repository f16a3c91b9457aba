"""Several checkpoints of one architecture run as one batched model (the epochs of a timeline).

Attention over training runs the same text through every epoch's checkpoint. At toy size a
forward pass costs per-operation overhead, not arithmetic, so E models run one after another
cost about E times one model. :func:`stack_models` turns the E models into one
:class:`~attnviz.model.SmallTransformer` whose **batch index is the model index**: each
``nn.Linear``, ``nn.LayerNorm`` and ``nn.Embedding`` is replaced by a layer holding the E models'
weights stacked, applying model e's weights to batch row e. Everything else (the attention math,
the masks, greedy decoding) is the unchanged code of ``model.py``, so row e computes what model e
computes alone (to float rounding: ``tests/unit/test_ensemble.py`` checks 1e-5).

The stacked model is for inference only (``eval`` mode; no dropout, no training).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .model import SmallTransformer


class StackedLinear(nn.Module):
    """E ``nn.Linear(d_in, d_out)`` side by side: y_e = x_e W_eᵀ + b_e for batch row e.

    ``x``: ``(E, T, d_in)`` -> ``(E, T, d_out)``.
    """

    def __init__(self, layers: Sequence[nn.Linear]) -> None:
        super().__init__()
        weight = torch.stack([m.weight.detach() for m in layers])  # (E, d_out, d_in)
        self.weight_t = nn.Parameter(weight.transpose(1, 2).contiguous(), requires_grad=False)  # (E, d_in, d_out)
        bias = [m.bias.detach() if m.bias is not None else torch.zeros(m.out_features) for m in layers]
        self.bias = nn.Parameter(torch.stack(bias), requires_grad=False)  # (E, d_out)

    def forward(self, x: Tensor) -> Tensor:
        return torch.baddbmm(self.bias.unsqueeze(1), x, self.weight_t)  # (E, T, d_out)


class StackedLayerNorm(nn.Module):
    """E ``nn.LayerNorm(d)``: normalise each row, then row e's gain and bias. ``(E, T, d)`` in and out."""

    def __init__(self, layers: Sequence[nn.LayerNorm]) -> None:
        super().__init__()
        first = layers[0]
        self.normalized_shape = tuple(first.normalized_shape)
        self.eps = first.eps
        self.weight = nn.Parameter(torch.stack([m.weight.detach() for m in layers]), requires_grad=False)  # (E, d)
        self.bias = nn.Parameter(torch.stack([m.bias.detach() for m in layers]), requires_grad=False)  # (E, d)

    def forward(self, x: Tensor) -> Tensor:
        normed = F.layer_norm(x, self.normalized_shape, eps=self.eps)  # (E, T, d)
        return torch.addcmul(self.bias.unsqueeze(1), normed, self.weight.unsqueeze(1))  # (E, T, d)


class StackedEmbedding(nn.Module):
    """E ``nn.Embedding(vocab, d)``: row e's ids looked up in model e's table. ``(E, T)`` -> ``(E, T, d)``."""

    def __init__(self, layers: Sequence[nn.Embedding]) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.stack([m.weight.detach() for m in layers]), requires_grad=False)  # (E, V, d)

    def forward(self, ids: Tensor) -> Tensor:
        rows = torch.arange(ids.size(0), device=ids.device).unsqueeze(1)  # (E, 1)
        return self.weight[rows, ids]  # (E, T, d)


STACKABLE: dict[type[nn.Module], type[nn.Module]] = {
    nn.Linear: StackedLinear,
    nn.LayerNorm: StackedLayerNorm,
    nn.Embedding: StackedEmbedding,
}


def stack_models(models: Sequence[SmallTransformer]) -> SmallTransformer:
    """One model whose batch row e is ``models[e]`` (same config required; eval mode).

    Feed it a batch of exactly ``len(models)`` rows. Raises ``ValueError`` for an empty list or
    models of different architectures.
    """
    if not models:
        raise ValueError("no models to stack")
    config = models[0].config
    for i, m in enumerate(models[1:], start=1):
        if m.config != config:
            raise ValueError(f"model {i} has a different architecture ({m.config}) from model 0 ({config})")
    stacked = copy.deepcopy(models[0]).eval()
    for name, module in models[0].named_modules():
        replacement = STACKABLE.get(type(module))
        if replacement is None:
            continue
        parent_name, _, child = name.rpartition(".")
        parent = stacked.get_submodule(parent_name) if parent_name else stacked
        setattr(parent, child, replacement([m.get_submodule(name) for m in models]))
    return stacked.eval()
