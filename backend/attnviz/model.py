"""The Transformer of "Attention Is All You Need" (Vaswani et al., 2017), small enough to train
on a laptop CPU in a minute, written so that every formula of the paper has one place in code.

| Paper | Formula                                                       | Code                          |
|-------|---------------------------------------------------------------|-------------------------------|
| 3.2.1 | Attention(Q,K,V) = softmax(QKᵀ/√d_k) V                        | ScaledDotProductAttention     |
| 3.2.2 | MultiHead(Q,K,V) = Concat(head_1..head_h) W^O                 | MultiHeadAttention            |
| 3.3   | FFN(x) = max(0, xW₁ + b₁)W₂ + b₂                              | FeedForward                   |
| 3.4   | embeddings × √d_model                                         | SmallTransformer              |
| 3.5   | PE(pos,2i) = sin(pos/10000^(2i/d_model)), PE(pos,2i+1) = cos  | PositionalEncoding            |
| 3.1   | LayerNorm(x + Sublayer(x)), masked decoder self-attention     | EncoderLayer, DecoderLayer    |

:class:`SmallDecoder` is the decoder stack alone (a decoder-only language model, as in GPT): the
same DecoderLayer without its cross-attention sub-layer, the same modules and formulas.

Conventions used everywhere in this file:
- Shapes: B batch, T_s source length, T_t target length, T_q / T_k query / key length,
  h = n_heads, d_k = d_model / h.
- Masks are boolean and ``True`` means "may attend". They are built in one place,
  :func:`padding_mask` and :func:`causal_mask`, and broadcast to ``(B, h, T_q, T_k)``.
- Every attention module returns its weights explicitly: ``(output, weights)`` with weights
  shaped ``(B, h, T_q, T_k)``. Nothing is stashed in hidden global state.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from typing import Any, Literal, cast, get_args

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .document import KINDS  # the three attention kinds, named once for the model and its documents

Arch = Literal["encoder-decoder", "decoder"]
ARCHS: tuple[Arch, ...] = get_args(Arch)


def head_dim(d_model: int, n_heads: int) -> int:
    """d_k = d_v = d_model / h (3.2.2): the one check that the heads split d_model evenly. A
    :class:`ModelConfig` makes it when built, so the checkpoint loader, the trainer and the training
    API check a width by building one. Raises ``ValueError``."""
    if n_heads < 1 or d_model % n_heads:
        raise ValueError(
            f"d_model ({d_model}) must be divisible by n_heads ({n_heads}): each head gets d_model / n_heads dimensions"
        )
    return d_model // n_heads


@dataclass(frozen=True)
class ModelConfig:
    """Hyper-parameters of :class:`SmallTransformer` (paper names, Table 3 of the paper)."""

    vocab_size: int  # number of tokens, specials included (shared by source and target)
    d_model: int = 64  # width of every token representation (paper: 512)
    n_heads: int = 4  # h, attention heads per attention module (paper: 8)
    n_layers: int = 2  # N, layers in the encoder and, separately, in the decoder (paper: 6)
    d_ff: int = 256  # inner width of the position-wise feed-forward network (paper: 2048)
    dropout: float = 0.1  # P_drop, applied to each sub-layer output and to embeddings + PE
    max_len: int = 128  # longest sequence the positional-encoding table covers
    pad_id: int = 0  # token id of <pad>; padded key positions are masked out
    arch: Arch = "encoder-decoder"  # "encoder-decoder" (SmallTransformer) or "decoder" (SmallDecoder)

    def __post_init__(self) -> None:
        head_dim(self.d_model, self.n_heads)
        if self.arch not in ARCHS:
            raise ValueError(f"unknown arch {self.arch!r}; choose one of {', '.join(ARCHS)}")

    @property
    def d_k(self) -> int:
        """Width of one head's queries, keys and values: d_k = d_v = d_model / h."""
        return head_dim(self.d_model, self.n_heads)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown config fields: {sorted(unknown)}")
        return cls(**data)


# --------------------------------------------------------------------------------------------
# Masks: the one place the boolean convention (True = may attend) is decided.
# --------------------------------------------------------------------------------------------


def padding_mask(ids: Tensor, pad_id: int) -> Tensor:
    """Keys that are real tokens: ``(B, T) -> (B, 1, 1, T)``, True where ``ids != pad_id``."""
    return (ids != pad_id)[:, None, None, :]  # (B, 1, 1, T_k)


def causal_mask(size: int, device: torch.device | None = None) -> Tensor:
    """Section 3.2.3: a decoder position may attend to itself and earlier positions only.

    ``(1, 1, T, T)``, lower-triangular True (query i may see keys 0..i).
    """
    return torch.tril(torch.ones(size, size, dtype=torch.bool, device=device))[None, None]  # (1, 1, T, T)


# --------------------------------------------------------------------------------------------
# Building blocks
# --------------------------------------------------------------------------------------------


class PositionalEncoding(nn.Module):
    """Section 3.5, sinusoidal positional encoding, added to the (scaled) embeddings.

    PE(pos, 2i)   = sin(pos / 10000^(2i / d_model))
    PE(pos, 2i+1) = cos(pos / 10000^(2i / d_model))

    Input ``x``: ``(B, T, d_model)``; output: ``x + PE[:T]`` after dropout, same shape.
    The table ``pe`` is ``(max_len, d_model)`` and is a buffer, not a parameter.
    """

    pe: Tensor

    def __init__(self, d_model: int, max_len: int = 128, dropout: float = 0.0) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        position = torch.arange(max_len, dtype=torch.float32)[:, None]  # (max_len, 1)
        two_i = torch.arange(0, d_model, 2, dtype=torch.float32)  # (d_model/2,)
        div_term = torch.exp(-math.log(10000.0) * two_i / d_model)  # 1 / 10000^(2i/d_model)
        pe = torch.zeros(max_len, d_model)  # (max_len, d_model)
        pe[:, 0::2] = torch.sin(position * div_term)
        pe[:, 1::2] = torch.cos(position * div_term[: d_model // 2])
        self.register_buffer("pe", pe, persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        T = x.size(1)
        if self.pe.size(0) < T:
            raise ValueError(f"sequence of length {T} is longer than the positional table ({self.pe.size(0)})")
        out: Tensor = self.dropout(x + self.pe[:T])  # (B, T, d_model)
        return out


class ScaledDotProductAttention(nn.Module):
    """Section 3.2.1, Attention(Q, K, V) = softmax(QKᵀ / √d_k) V.

    ``q``: ``(..., T_q, d_k)``, ``k``: ``(..., T_k, d_k)``, ``v``: ``(..., T_k, d_v)``;
    ``mask`` boolean, True = may attend, broadcastable to ``(..., T_q, T_k)``.
    Returns ``(out, weights)``: ``(..., T_q, d_v)`` and ``(..., T_q, T_k)``; each row of
    ``weights`` sums to 1 and is exactly 0 where the mask is False.
    """

    def __init__(self, dropout: float = 0.0) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)

    @staticmethod
    def scores(q: Tensor, k: Tensor) -> Tensor:
        """QKᵀ / √d_k, before masking: ``(..., T_q, T_k)``."""
        d_k = q.size(-1)
        return q @ k.transpose(-2, -1) / math.sqrt(d_k)  # (..., T_q, T_k)

    def forward(self, q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None = None) -> tuple[Tensor, Tensor]:
        scores = self.scores(q, k)  # (..., T_q, T_k)
        if mask is not None:
            scores = scores.masked_fill(~mask, float("-inf"))
        weights = torch.softmax(scores, dim=-1)  # (..., T_q, T_k)
        out = self.dropout(weights) @ v  # (..., T_q, d_v)
        return out, weights


class MultiHeadAttention(nn.Module):
    """Section 3.2.2, multi-head attention.

    head_i = Attention(Q W_i^Q, K W_i^K, V W_i^V)
    MultiHead(Q, K, V) = Concat(head_1, ..., head_h) W^O

    The h projections W_i^Q (each d_model × d_k) are stored side by side as one
    ``nn.Linear(d_model, d_model)`` named ``w_q`` (likewise ``w_k``, ``w_v``); ``w_o`` is W^O.
    ``query``: ``(B, T_q, d_model)``, ``key`` / ``value``: ``(B, T_k, d_model)``.
    Returns ``(out, weights)``: ``(B, T_q, d_model)`` and ``(B, h, T_q, T_k)``.

    ``head_mask`` (optional, ``(h,)`` of 0/1) multiplies each head's output before the
    concatenation: 0 switches a head off (ablation); its returned weights are zeroed too.
    """

    def __init__(self, d_model: int, n_heads: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.d_model = d_model
        self.n_heads = n_heads
        self.d_k = head_dim(d_model, n_heads)
        self.w_q = nn.Linear(d_model, d_model)
        self.w_k = nn.Linear(d_model, d_model)
        self.w_v = nn.Linear(d_model, d_model)
        self.w_o = nn.Linear(d_model, d_model)
        self.attention = ScaledDotProductAttention(dropout)

    def split_heads(self, x: Tensor) -> Tensor:
        """``(B, T, d_model) -> (B, h, T, d_k)``."""
        B, T, _ = x.shape
        return x.view(B, T, self.n_heads, self.d_k).transpose(1, 2)  # (B, h, T, d_k)

    def project(self, query: Tensor, key: Tensor, value: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Q W^Q, K W^K, V W^V for all heads at once, each ``(B, h, T, d_k)``."""
        q = self.split_heads(self.w_q(query))  # (B, h, T_q, d_k)
        k = self.split_heads(self.w_k(key))  # (B, h, T_k, d_k)
        v = self.split_heads(self.w_v(value))  # (B, h, T_k, d_k)
        return q, k, v

    def forward(
        self,
        query: Tensor,
        key: Tensor,
        value: Tensor,
        mask: Tensor | None = None,
        head_mask: Tensor | None = None,
    ) -> tuple[Tensor, Tensor]:
        B, T_q, _ = query.shape
        q, k, v = self.project(query, key, value)  # each (B, h, T, d_k)
        heads, weights = self.attention(q, k, v, mask)  # (B, h, T_q, d_k), (B, h, T_q, T_k)
        if head_mask is not None:
            keep = head_mask.to(heads.dtype).view(1, self.n_heads, 1, 1)  # (1, h, 1, 1)
            heads = heads * keep
            weights = weights * keep
        concat = heads.transpose(1, 2).reshape(B, T_q, self.d_model)  # (B, T_q, h·d_k)
        return self.w_o(concat), weights  # (B, T_q, d_model), (B, h, T_q, T_k)

    @torch.no_grad()
    def trace(self, query: Tensor, key: Tensor, value: Tensor, mask: Tensor | None = None) -> dict[str, Tensor]:
        """Every intermediate tensor of the attention math, for the step-through view.

        Returns, all per head: ``q`` ``(B, h, T_q, d_k)``, ``k`` / ``v`` ``(B, h, T_k, d_k)``,
        ``scores`` = QKᵀ/√d_k ``(B, h, T_q, T_k)`` before masking, ``mask`` (bool, expanded to
        ``(B, h, T_q, T_k)``), ``weights`` = softmax of the masked scores and ``output`` =
        weights · V ``(B, h, T_q, d_k)`` (the head's output, before Concat and W^O).
        """
        q, k, v = self.project(query, key, value)
        scores = ScaledDotProductAttention.scores(q, k)  # (B, h, T_q, T_k)
        full_mask = torch.ones_like(scores, dtype=torch.bool) if mask is None else mask.expand_as(scores)
        weights = torch.softmax(scores.masked_fill(~full_mask, float("-inf")), dim=-1)  # (B, h, T_q, T_k)
        return {"q": q, "k": k, "v": v, "scores": scores, "mask": full_mask, "weights": weights, "output": weights @ v}


class FeedForward(nn.Module):
    """Section 3.3, position-wise feed-forward network: FFN(x) = max(0, xW₁ + b₁)W₂ + b₂.

    ``(B, T, d_model) -> (B, T, d_model)`` through an inner width ``d_ff``.
    """

    def __init__(self, d_model: int, d_ff: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.w_1 = nn.Linear(d_model, d_ff)
        self.w_2 = nn.Linear(d_ff, d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        out: Tensor = self.w_2(self.dropout(F.relu(self.w_1(x))))  # (B, T, d_model)
        return out


class EncoderLayer(nn.Module):
    """Section 3.1, one encoder layer: self-attention, then feed-forward, each wrapped as
    LayerNorm(x + Dropout(Sublayer(x))) (post-norm, as in the paper).

    ``x``: ``(B, T_s, d_model)``, ``src_mask``: ``(B, 1, 1, T_s)``.
    Returns ``(x, self_weights)``: ``(B, T_s, d_model)`` and ``(B, h, T_s, T_s)``.
    """

    def __init__(self, d_model: int, n_heads: int, d_ff: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.self_attn = MultiHeadAttention(d_model, n_heads, dropout)
        self.feed_forward = FeedForward(d_model, d_ff, dropout)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor, src_mask: Tensor | None, head_mask: Tensor | None = None) -> tuple[Tensor, Tensor]:
        attn_out, weights = self.self_attn(x, x, x, src_mask, head_mask)  # (B, T_s, d_model), (B, h, T_s, T_s)
        x = self.norm1(x + self.dropout(attn_out))  # (B, T_s, d_model)
        x = self.norm2(x + self.dropout(self.feed_forward(x)))  # (B, T_s, d_model)
        return x, weights


class DecoderLayer(nn.Module):
    """Section 3.1, one decoder layer: masked self-attention, cross-attention over the encoder
    output ("memory"), then feed-forward; each LayerNorm(x + Dropout(Sublayer(x))).

    ``y``: ``(B, T_t, d_model)``, ``memory``: ``(B, T_s, d_model)``, ``tgt_mask``:
    ``(B, 1, T_t, T_t)`` (causal and padding), ``src_mask``: ``(B, 1, 1, T_s)``.
    Returns ``(y, self_weights, cross_weights)``: ``(B, T_t, d_model)``,
    ``(B, h, T_t, T_t)`` (zero above the diagonal) and ``(B, h, T_t, T_s)``.

    With ``cross_attention=False`` the layer has no cross-attention sub-layer (nor its norm2):
    masked self-attention, then feed-forward, the decoder-only layer of :class:`SmallDecoder`;
    call it with ``memory=None`` and ``src_mask=None`` (its cross weights are then None).
    """

    cross_attn: MultiHeadAttention | None

    def __init__(self, d_model: int, n_heads: int, d_ff: int, dropout: float = 0.0, cross_attention: bool = True) -> None:
        super().__init__()
        self.self_attn = MultiHeadAttention(d_model, n_heads, dropout)
        self.cross_attn = MultiHeadAttention(d_model, n_heads, dropout) if cross_attention else None
        self.feed_forward = FeedForward(d_model, d_ff, dropout)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model) if cross_attention else None
        self.norm3 = nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(
        self,
        y: Tensor,
        memory: Tensor | None,
        tgt_mask: Tensor | None,
        src_mask: Tensor | None,
        self_head_mask: Tensor | None = None,
        cross_head_mask: Tensor | None = None,
    ) -> tuple[Tensor, Tensor, Tensor | None]:
        y, self_w = self.self_attention_block(y, tgt_mask, self_head_mask)  # (B, T_t, d), (B, h, T_t, T_t)
        cross_w: Tensor | None = None
        if self.cross_attn is not None and self.norm2 is not None:
            if memory is None:
                raise ValueError("this decoder layer has cross-attention: it needs the encoder output (memory)")
            cross_out, cross_w = self.cross_attn(y, memory, memory, src_mask, cross_head_mask)  # (B, h, T_t, T_s)
            y = self.norm2(y + self.dropout(cross_out))
        y = self.norm3(y + self.dropout(self.feed_forward(y)))  # (B, T_t, d_model)
        return y, self_w, cross_w

    def self_attention_block(self, y: Tensor, tgt_mask: Tensor | None, head_mask: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """The first sub-layer, LayerNorm(y + MaskedSelfAttention(y)): its output is the query of
        the cross-attention. Returns ``(y, self_weights)``: ``(B, T_t, d_model)``, ``(B, h, T_t, T_t)``."""
        attn_out, self_w = self.self_attn(y, y, y, tgt_mask, head_mask)
        return self.norm1(y + self.dropout(attn_out)), self_w


HeadMasks = dict[str, list[Tensor | None]]
"""Per attention kind, per layer, an optional ``(h,)`` 0/1 vector (0 = head switched off)."""


class SmallTransformer(nn.Module):
    """The encoder-decoder Transformer of Figure 1, at toy size.

    Section 3.4: one embedding matrix shared by the source and target embeddings and the
    pre-softmax projection; embeddings are multiplied by √d_model before the positional
    encoding (3.5) is added.

    ``forward(src, tgt_in)`` with ``src`` ``(B, T_s)`` and ``tgt_in`` ``(B, T_t)`` token ids
    (``tgt_in`` starts with <bos>) returns ``(logits, attentions)``: logits ``(B, T_t, vocab)``
    and ``attentions = {"encoder_self": [(B, h, T_s, T_s)] * N, "decoder_self":
    [(B, h, T_t, T_t)] * N, "cross": [(B, h, T_t, T_s)] * N}``.
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        c = config
        self.embedding = nn.Embedding(c.vocab_size, c.d_model, padding_idx=c.pad_id)
        self.positional = PositionalEncoding(c.d_model, c.max_len, c.dropout)
        self.encoder_layers = nn.ModuleList(EncoderLayer(c.d_model, c.n_heads, c.d_ff, c.dropout) for _ in range(c.n_layers))
        self.decoder_layers = nn.ModuleList(DecoderLayer(c.d_model, c.n_heads, c.d_ff, c.dropout) for _ in range(c.n_layers))
        self.generator = nn.Linear(c.d_model, c.vocab_size)
        self.generator.weight = self.embedding.weight  # weight tying (3.4)
        self._init_parameters()

    def _init_parameters(self) -> None:
        _init_parameters(self, self.embedding, self.config.pad_id)

    def embed(self, ids: Tensor) -> Tensor:
        """Section 3.4 + 3.5: ``(B, T) -> (B, T, d_model)``, embedding × √d_model + PE."""
        x: Tensor = self.positional(self.embedding(ids) * math.sqrt(self.config.d_model))  # (B, T, d_model)
        return x

    def encode(self, src: Tensor, head_masks: HeadMasks | None = None) -> tuple[Tensor, Tensor, list[Tensor]]:
        """``src`` ``(B, T_s)`` -> ``(memory (B, T_s, d_model), src_mask (B, 1, 1, T_s), weights per layer)``."""
        src_mask = padding_mask(src, self.config.pad_id)  # (B, 1, 1, T_s)
        x = self.embed(src)  # (B, T_s, d_model)
        weights = []
        for i, layer in enumerate(self.encoder_layers):
            x, w = layer(x, src_mask, _head_mask(head_masks, "encoder_self", i))  # w: (B, h, T_s, T_s)
            weights.append(w)
        return x, src_mask, weights

    def decode(
        self, tgt_in: Tensor, memory: Tensor, src_mask: Tensor, head_masks: HeadMasks | None = None
    ) -> tuple[Tensor, list[Tensor], list[Tensor]]:
        """``tgt_in`` ``(B, T_t)`` -> ``(logits (B, T_t, vocab), self weights, cross weights per layer)``."""
        T_t = tgt_in.size(1)
        tgt_mask = padding_mask(tgt_in, self.config.pad_id) & causal_mask(T_t, tgt_in.device)  # (B, 1, T_t, T_t)
        y = self.embed(tgt_in)  # (B, T_t, d_model)
        self_ws, cross_ws = [], []
        for i, layer in enumerate(self.decoder_layers):
            y, sw, cw = layer(
                y,
                memory,
                tgt_mask,
                src_mask,
                _head_mask(head_masks, "decoder_self", i),
                _head_mask(head_masks, "cross", i),
            )  # sw: (B, h, T_t, T_t), cw: (B, h, T_t, T_s)
            assert cw is not None  # the encoder-decoder's layers all have cross-attention
            self_ws.append(sw)
            cross_ws.append(cw)
        return self.generator(y), self_ws, cross_ws  # (B, T_t, vocab)

    def forward(self, src: Tensor, tgt_in: Tensor, head_masks: HeadMasks | None = None) -> tuple[Tensor, dict[str, list[Tensor]]]:
        memory, src_mask, enc_ws = self.encode(src, head_masks)
        logits, dec_ws, cross_ws = self.decode(tgt_in, memory, src_mask, head_masks)
        return logits, {"encoder_self": enc_ws, "decoder_self": dec_ws, "cross": cross_ws}

    def attention_module(self, kind: str, layer: int) -> MultiHeadAttention:
        """The :class:`MultiHeadAttention` of ``kind`` in ``layer``."""
        if kind not in KINDS:
            raise ValueError(f"unknown attention kind {kind!r}")
        if not 0 <= layer < self.config.n_layers:
            raise ValueError(f"no layer {layer}: the model has {self.config.n_layers} layers")
        if kind == "encoder_self":
            return cast(EncoderLayer, self.encoder_layers[layer]).self_attn
        dec = cast(DecoderLayer, self.decoder_layers[layer])
        if kind == "decoder_self":
            return dec.self_attn
        assert dec.cross_attn is not None  # the encoder-decoder's layers all have cross-attention
        return dec.cross_attn

    def attention_inputs(
        self, src: Tensor, tgt_in: Tensor, kind: str, layer: int, head_masks: HeadMasks | None = None
    ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """The ``(query, key, value, mask)`` one attention module receives in ``forward(src, tgt_in)``.

        Walks the layers exactly as :meth:`encode` / :meth:`decode` do and stops at the module of
        ``kind`` in ``layer`` (no hooks: safe when requests share the model). Shapes: query
        ``(B, T_q, d_model)``, key / value ``(B, T_k, d_model)``, mask broadcastable to
        ``(B, h, T_q, T_k)``.
        """
        if kind not in KINDS:
            raise ValueError(f"unknown attention kind {kind!r}")
        if not 0 <= layer < self.config.n_layers:
            raise ValueError(f"no layer {layer}: the model has {self.config.n_layers} layers")
        src_mask = padding_mask(src, self.config.pad_id)  # (B, 1, 1, T_s)
        x = self.embed(src)  # (B, T_s, d_model)
        for i, enc in enumerate(self.encoder_layers):
            if kind == "encoder_self" and i == layer:
                return x, x, x, src_mask
            x, _ = enc(x, src_mask, _head_mask(head_masks, "encoder_self", i))
        memory = x  # (B, T_s, d_model)
        T_t = tgt_in.size(1)
        tgt_mask = padding_mask(tgt_in, self.config.pad_id) & causal_mask(T_t, tgt_in.device)  # (B, 1, T_t, T_t)
        y = self.embed(tgt_in)  # (B, T_t, d_model)
        for i, dec in enumerate(self.decoder_layers):
            if kind == "decoder_self" and i == layer:
                return y, y, y, tgt_mask
            if kind == "cross" and i == layer:
                y_mid, _ = cast(DecoderLayer, dec).self_attention_block(y, tgt_mask, _head_mask(head_masks, "decoder_self", i))
                return y_mid, memory, memory, src_mask
            y, _, _ = dec(
                y,
                memory,
                tgt_mask,
                src_mask,
                _head_mask(head_masks, "decoder_self", i),
                _head_mask(head_masks, "cross", i),
            )
        raise AssertionError("unreachable")  # pragma: no cover

    @torch.no_grad()
    def greedy_decode(
        self,
        src: Tensor,
        max_new_tokens: int,
        bos_id: int,
        eos_id: int,
        head_masks: HeadMasks | None = None,
        choose: Callable[[Tensor], Tensor] | None = None,
    ) -> Tensor:
        """Greedy decoding: feed back the most probable token until every row has produced
        <eos> or ``max_new_tokens`` tokens. Returns ``(B, 1 + n)`` ids starting with <bos>
        (rows that finished early are padded with <pad> after their <eos>).
        ``choose``: picks the next ids from the last logits ``(B, vocab) -> (B,)`` instead of the
        argmax (a sampler, :mod:`attnviz.sampling`).
        """
        memory, src_mask, _ = self.encode(src, head_masks)  # (B, T_s, d_model)
        B = src.size(0)
        ys = torch.full((B, 1), bos_id, dtype=torch.long, device=src.device)  # (B, 1)
        done = torch.zeros(B, dtype=torch.bool, device=src.device)
        for _ in range(max_new_tokens):
            logits, _, _ = self.decode(ys, memory, src_mask, head_masks)  # (B, t, vocab)
            next_id = logits[:, -1].argmax(dim=-1) if choose is None else choose(logits[:, -1])  # (B,)
            next_id = next_id.masked_fill(done, self.config.pad_id)
            ys = torch.cat([ys, next_id[:, None]], dim=1)  # (B, t + 1)
            done |= next_id == eos_id
            if bool(done.all()):
                break
        return ys


class SmallDecoder(nn.Module):
    """A decoder-only Transformer (a causal language model, as in GPT): the decoder stack of
    Figure 1 without the encoder, each layer a :class:`DecoderLayer` without cross-attention.

    The same sections as :class:`SmallTransformer`: one embedding matrix shared with the
    pre-softmax projection, embeddings × √d_model plus the sinusoidal encoding (3.4, 3.5), and
    every layer LayerNorm(y + MaskedSelfAttention(y)), then LayerNorm(y + FFN(y)) (3.1, 3.2.3).

    ``forward(ids)`` with ``ids`` ``(B, T)`` (starting with <bos>) returns ``(logits,
    attentions)``: logits ``(B, T, vocab)``, position t predicting token t + 1, and
    ``attentions = {"decoder_self": [(B, h, T, T)] * N}`` (zero above the diagonal).
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        c = config
        self.embedding = nn.Embedding(c.vocab_size, c.d_model, padding_idx=c.pad_id)
        self.positional = PositionalEncoding(c.d_model, c.max_len, c.dropout)
        self.decoder_layers = nn.ModuleList(
            DecoderLayer(c.d_model, c.n_heads, c.d_ff, c.dropout, cross_attention=False) for _ in range(c.n_layers)
        )
        self.generator = nn.Linear(c.d_model, c.vocab_size)
        self.generator.weight = self.embedding.weight  # weight tying (3.4)
        _init_parameters(self, self.embedding, c.pad_id)

    def embed(self, ids: Tensor) -> Tensor:
        """Section 3.4 + 3.5: ``(B, T) -> (B, T, d_model)``, embedding × √d_model + PE."""
        x: Tensor = self.positional(self.embedding(ids) * math.sqrt(self.config.d_model))  # (B, T, d_model)
        return x

    def self_mask(self, ids: Tensor) -> Tensor:
        """Causal and padding: ``(B, 1, T, T)``, query t may see the real keys 0..t."""
        return padding_mask(ids, self.config.pad_id) & causal_mask(ids.size(1), ids.device)

    def forward(self, ids: Tensor, head_masks: HeadMasks | None = None) -> tuple[Tensor, dict[str, list[Tensor]]]:
        mask = self.self_mask(ids)  # (B, 1, T, T)
        y = self.embed(ids)  # (B, T, d_model)
        weights = []
        for i, layer in enumerate(self.decoder_layers):
            y, w, _ = layer(y, None, mask, None, _head_mask(head_masks, "decoder_self", i))  # w: (B, h, T, T)
            weights.append(w)
        return self.generator(y), {"decoder_self": weights}  # (B, T, vocab)

    def attention_module(self, kind: str, layer: int) -> MultiHeadAttention:
        """The masked self-attention of ``layer`` (the only kind this model has)."""
        if kind != "decoder_self":
            raise ValueError(f"a decoder-only model has no {kind!r} attention")
        if not 0 <= layer < self.config.n_layers:
            raise ValueError(f"no layer {layer}: the model has {self.config.n_layers} layers")
        return cast(DecoderLayer, self.decoder_layers[layer]).self_attn

    def attention_inputs(
        self, ids: Tensor, kind: str, layer: int, head_masks: HeadMasks | None = None
    ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """The ``(query, key, value, mask)`` the self-attention of ``layer`` receives in
        ``forward(ids)``: ``(B, T, d_model)`` three times and ``(B, 1, T, T)``."""
        self.attention_module(kind, layer)  # validates kind and layer
        mask = self.self_mask(ids)
        y = self.embed(ids)
        for i, dec in enumerate(self.decoder_layers):
            if i == layer:
                return y, y, y, mask
            y, _, _ = dec(y, None, mask, None, _head_mask(head_masks, "decoder_self", i))
        raise AssertionError("unreachable")  # pragma: no cover

    @torch.no_grad()
    def generate(
        self,
        ids: Tensor,
        max_new_tokens: int,
        eos_id: int | None = None,
        head_masks: HeadMasks | None = None,
        never: tuple[int, ...] = (),
        choose: Callable[[Tensor], Tensor] | None = None,
    ) -> Tensor:
        """Greedy continuation: append the most probable next token ``max_new_tokens`` times (or
        until every row produced ``eos_id``); ids in ``never`` (``<pad>``, ``<bos>``) are never
        chosen. ``(B, T) -> (B, T + n)``; positions past the positional table are not generated.
        ``choose``: picks the next ids from the last logits ``(B, vocab) -> (B,)`` instead of the argmax."""
        limit = min(max_new_tokens, self.config.max_len - ids.size(1))
        for _ in range(max(0, limit)):
            logits, _ = self(ids, head_masks)  # (B, t, vocab)
            last = logits[:, -1]  # (B, vocab)
            if never:
                last = last.index_fill(-1, torch.tensor(never, device=last.device), float("-inf"))
            next_id = last.argmax(dim=-1) if choose is None else choose(last)  # (B,)
            ids = torch.cat([ids, next_id[:, None]], dim=1)  # (B, t + 1)
            if eos_id is not None and bool((next_id == eos_id).all()):
                break
        return ids


def build_model(config: ModelConfig) -> SmallTransformer | SmallDecoder:
    """The model ``config.arch`` names, freshly initialised."""
    return SmallDecoder(config) if config.arch == "decoder" else SmallTransformer(config)


def _init_parameters(model: nn.Module, embedding: nn.Embedding, pad_id: int) -> None:
    """Xavier-uniform matrices, zero biases, a zero <pad> embedding."""
    for name, p in model.named_parameters():
        if p.dim() > 1:
            nn.init.xavier_uniform_(p)
        elif name.endswith("bias"):
            nn.init.zeros_(p)
    with torch.no_grad():
        embedding.weight[pad_id].zero_()


def _head_mask(head_masks: HeadMasks | None, kind: str, layer: int) -> Tensor | None:
    if head_masks is None or kind not in head_masks:
        return None
    per_layer = head_masks[kind]
    return per_layer[layer] if layer < len(per_layer) else None
