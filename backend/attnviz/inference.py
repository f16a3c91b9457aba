"""Running a trained model on one text and collecting every attention map it computes.

Shared by the exporter (``export_attention_json``) and the service, so both return the same
numbers. The decoder side runs on the model's own output, greedy or sampled
(:mod:`attnviz.sampling`): the decoder queries are ``<bos>`` followed by the generated tokens
(the inputs that produced each next token).

The decoder-only model (:class:`~attnviz.model.SmallDecoder`) has one sequence: ``<bos>``, the
text (its prompt), then what it generates after it; its result has no source side
(``src_ids`` empty) and only ``decoder_self`` attention, as a Hugging Face decoder's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import Tensor

from .data import Vocab
from .document import KINDS
from .model import HeadMasks, SmallDecoder, SmallTransformer, _head_mask, causal_mask, padding_mask
from .sampling import GREEDY, Sampler, Sampling
from .weighting import reweight, value_norms

EXTRA_DECODE_TOKENS = 8
"""Greedy decoding may run this many tokens past the input length before it is cut off."""
DEFAULT_NEW_TOKENS = 20
"""Tokens the decoder-only model generates after the prompt unless asked for another number."""


@dataclass
class AttentionResult:
    """Everything one run of the model on one text produced."""

    text: str
    output: str
    src_ids: list[int]  # text + <eos> (empty for the decoder-only model)
    tgt_ids: list[
        int
    ]  # <bos> + generated tokens fed to the decoder (the decoder queries); decoder-only: <bos> + text + generated
    src_tokens: list[str]
    tgt_tokens: list[str]
    attentions: dict[str, Tensor]  # kind -> (n_layers, n_heads, T_q, T_k), float32
    logits: Tensor  # (T_t, vocab): row t predicts the token after tgt_ids[t]
    finished: bool  # decoding produced <eos>
    warnings: list[str]
    n_prompt: int = 1  # tgt_ids before the first generated token: <bos> (encoder-decoder), <bos> + text (decoder-only)
    produced: list[int] | None = None  # the generated ids, <eos> included (None: not recorded, take the argmax)
    sampling: Sampling | None = None  # how the tokens were chosen (None: greedy), its seed filled in
    sampled_p: list[float] | None = None  # per generated token, its probability under the sampling distribution


def encode_source(vocab: Vocab, text: str, model: SmallTransformer | SmallDecoder) -> Tensor:
    """``(1, T_s)`` ids of ``text + <eos>``; raises ``ValueError`` for empty or over-long text and
    :class:`~attnviz.data.UnknownCharactersError` for characters outside the vocabulary."""
    if text == "":
        raise ValueError("text is empty")
    ids = vocab.encode(text, add_eos=True)
    limit = model.config.max_len - 1
    if len(text) > limit:
        raise ValueError(f"text has {len(text)} characters; this model handles at most {limit}")
    return torch.tensor([ids], dtype=torch.long)  # (1, T_s)


def parse_head_masks(model: SmallTransformer | SmallDecoder, ablate: list[tuple[str, int, int]] | None) -> HeadMasks | None:
    """``[(kind, layer, head), ...]`` of heads to switch off -> per-kind, per-layer 0/1 vectors."""
    if not ablate:
        return None
    c = model.config
    masks: HeadMasks = {k: [None] * c.n_layers for k in KINDS}
    kinds = ("decoder_self",) if isinstance(model, SmallDecoder) else KINDS
    for kind, layer, head in ablate:
        if kind not in kinds:
            raise ValueError(f"unknown attention kind {kind!r}" if kind not in KINDS else f"this model has no {kind} attention")
        if not 0 <= layer < c.n_layers or not 0 <= head < c.n_heads:
            raise ValueError(f"no head {layer}.{head}: the model has {c.n_layers} layers × {c.n_heads} heads")
        vec = masks[kind][layer]
        if vec is None:
            vec = masks[kind][layer] = torch.ones(c.n_heads)
        vec[head] = 0.0
    return masks


@torch.no_grad()
def run_attention(
    model: SmallTransformer | SmallDecoder,
    vocab: Vocab,
    text: str,
    *,
    max_text_len: int | None = None,
    ablate: list[tuple[str, int, int]] | None = None,
    max_new_tokens: int | None = None,
    sampling: Sampling = GREEDY,
) -> AttentionResult:
    """Decode ``text`` (greedy, or as ``sampling`` says) and return the attention maps of a final
    teacher-forced pass over the decoded tokens (identical, row for row, to what each decoding
    step computed). ``max_new_tokens``: the decoder-only model's continuation (default
    ``DEFAULT_NEW_TOKENS``)."""
    head_masks = parse_head_masks(model, ablate)
    if isinstance(model, SmallDecoder):
        new = DEFAULT_NEW_TOKENS if max_new_tokens is None else max_new_tokens
        return _run_lm(model, vocab, text, new, max_text_len, head_masks, sampling)
    return _run_rows(model, vocab, text, [max_text_len], head_masks, sampling)[0]


def _run_lm(
    model: SmallDecoder,
    vocab: Vocab,
    text: str,
    max_new_tokens: int,
    max_text_len: int | None,
    head_masks: HeadMasks | None,
    sampling: Sampling = GREEDY,
) -> AttentionResult:
    """The decoder-only model: ``<bos>`` + ``text``, its continuation, then one pass over it all."""
    model.eval()
    if text == "":
        raise ValueError("text is empty")
    limit = model.config.max_len - 1
    if len(text) > limit:
        raise ValueError(f"text has {len(text)} characters; this model handles at most {limit}")
    prompt = torch.tensor([vocab.encode(text, add_bos=True)], dtype=torch.long)  # (1, 1 + T)
    never = (vocab.pad_id, vocab.bos_id)  # no sensible continuation: never generated, nor listed in the steps
    sampler = Sampler(sampling, never)
    seq = model.generate(prompt, max_new_tokens, vocab.eos_id, head_masks, never, sampler)  # (1, 1 + T + n)
    produced = seq[0, prompt.size(1) :].tolist()
    finished = bool(produced) and produced[-1] == vocab.eos_id
    fed = seq[:, :-1] if finished else seq  # (1, T_t): every token that was read
    logits, attn = model(fed, head_masks)  # (1, T_t, vocab)
    logits = logits.index_fill(-1, torch.tensor(never), float("-inf"))
    warnings: list[str] = []
    if max_text_len is not None and len(text) > max_text_len:
        warnings.append(
            f"The input has {len(text)} characters but this checkpoint was trained on sequences of {max_text_len}; "
            "expect mistakes past that length."
        )
    if len(produced) < max_new_tokens and not finished:
        warnings.append(f"Generation stopped after {len(produced)} new tokens: the model's context holds {model.config.max_len}.")
    tgt_ids = fed[0].tolist()
    return AttentionResult(
        text=text,
        output=vocab.decode(produced),
        src_ids=[],
        tgt_ids=tgt_ids,
        src_tokens=[],
        tgt_tokens=vocab.tokens(tgt_ids),
        attentions={"decoder_self": torch.stack([w[0] for w in attn["decoder_self"]])},  # (L, h, T_t, T_t)
        logits=logits[0],
        finished=finished,
        warnings=warnings,
        n_prompt=prompt.size(1),
        produced=produced,
        sampling=None if sampler.sampling.greedy else sampler.sampling,
        sampled_p=None if sampler.sampling.greedy else sampler.chosen_p,
    )


@torch.no_grad()
def run_attention_stacked(
    stacked: SmallTransformer, vocab: Vocab, text: str, max_text_lens: Sequence[int | None]
) -> list[AttentionResult]:
    """:func:`run_attention` for each of the models in ``stacked`` (:func:`attnviz.ensemble.stack_models`),
    all in one batched pass; ``max_text_lens[e]`` is model e's training length (for its warning)."""
    return _run_rows(stacked, vocab, text, max_text_lens, None)


def _run_rows(
    model: SmallTransformer,
    vocab: Vocab,
    text: str,
    max_text_lens: Sequence[int | None],
    head_masks: HeadMasks | None,
    sampling: Sampling = GREEDY,
) -> list[AttentionResult]:
    """Decode ``text`` in each of ``E = len(max_text_lens)`` batch rows (one model, or E stacked
    models), then one teacher-forced pass; row e's results are cut to its own decoded length.
    ``sampling`` other than greedy: one row only (its draws are recorded for row 0)."""
    model.eval()
    E = len(max_text_lens)
    src = encode_source(vocab, text, model).expand(E, -1)  # (E, T_s)
    max_new = min(len(text) + EXTRA_DECODE_TOKENS, model.config.max_len - 1)
    if not sampling.greedy and E != 1:
        raise ValueError("sampling decodes one model at a time")
    # a sampled <pad> or <bos> would read as the end of the row or a restart: never drawn
    sampler = Sampler(sampling, () if sampling.greedy else (vocab.pad_id, vocab.bos_id))
    chooser = None if sampling.greedy else sampler  # greedy keeps the model's own argmax
    ys = model.greedy_decode(src, max_new, vocab.bos_id, vocab.eos_id, head_masks, chooser)  # (E, 1 + n), <pad> after <eos>
    logits, attn = model(src, ys[:, :-1], head_masks)  # (E, n, vocab): row t predicts ys[:, t + 1]
    src_ids = src[0].tolist()
    results = []
    for e, max_text_len in enumerate(max_text_lens):
        generated = ys[e, 1:].tolist()
        finished = vocab.eos_id in generated
        n = generated.index(vocab.eos_id) + 1 if finished else len(generated)  # tokens this row produced
        tgt_ids = ys[e, :n].tolist()  # <bos> + the tokens fed back: the decoder queries
        warnings: list[str] = []
        if max_text_len is not None and len(text) > max_text_len:
            warnings.append(
                f"The input has {len(text)} characters but this checkpoint was trained on at most "
                f"{max_text_len}; expect mistakes past that length."
            )
        if not finished:
            warnings.append(f"Decoding stopped after {max_new} tokens without producing <eos>.")
        attentions = {  # kind -> (L, h, T_q, T_k), cut to this row's n decoder positions
            "encoder_self": torch.stack([w[e] for w in attn["encoder_self"]]),
            "decoder_self": torch.stack([w[e, :, :n, :n] for w in attn["decoder_self"]]),
            "cross": torch.stack([w[e, :, :n] for w in attn["cross"]]),
        }
        results.append(
            AttentionResult(
                text=text,
                output=vocab.decode(generated[:n]),
                src_ids=src_ids,
                tgt_ids=tgt_ids,
                src_tokens=vocab.tokens(src_ids),
                tgt_tokens=vocab.tokens(tgt_ids),
                attentions=attentions,
                logits=logits[e, :n],
                finished=finished,
                warnings=warnings,
                n_prompt=1,
                produced=generated[:n],
                sampling=None if sampler.sampling.greedy else sampler.sampling,
                sampled_p=None if sampler.sampling.greedy else sampler.chosen_p[:n],
            )
        )
    return results


@torch.no_grad()
def toy_value_norms(
    model: SmallTransformer | SmallDecoder, result: AttentionResult, ablate: list[tuple[str, int, int]] | None = None
) -> dict[str, Tensor]:
    """kind -> ``(L, h, T_k)``: ``‖v_j W^O_h‖`` of every head and key in the final pass of
    ``result`` (run with the same ``ablate``), from each module's own W^V and W^O."""
    model.eval()
    values = _value_inputs(model, result, parse_head_masks(model, ablate))
    out: dict[str, Tensor] = {}
    for kind in result.attentions:
        per_layer = []
        for layer, value in enumerate(values[kind]):
            module = model.attention_module(kind, layer)
            v = module.split_heads(module.w_v(value))  # (1, h, T_k, d_k)
            per_layer.append(value_norms(v[0], module.w_o.weight, module.n_heads))  # (h, T_k)
        out[kind] = torch.stack(per_layer)  # (L, h, T_k)
    return out


def _value_inputs(
    model: SmallTransformer | SmallDecoder, result: AttentionResult, head_masks: HeadMasks | None
) -> dict[str, list[Tensor]]:
    """kind -> per layer, the ``value`` input ``(1, T_k, d_model)`` each attention module received
    in the final pass: one walk through the layers, as :meth:`SmallTransformer.encode` / ``decode``
    (``attention_inputs`` walks again for every module)."""
    tgt = torch.tensor([result.tgt_ids])  # (1, T_t)
    pad = model.config.pad_id
    tgt_mask = padding_mask(tgt, pad) & causal_mask(tgt.size(1), tgt.device)  # (1, 1, T_t, T_t)
    y = model.embed(tgt)  # (1, T_t, d_model)
    if isinstance(model, SmallDecoder):
        dec = []
        for i, layer in enumerate(model.decoder_layers):
            dec.append(y)
            y, _, _ = layer(y, None, tgt_mask, None, _head_mask(head_masks, "decoder_self", i))
        return {"decoder_self": dec}
    src = torch.tensor([result.src_ids])  # (1, T_s)
    src_mask = padding_mask(src, pad)  # (1, 1, 1, T_s)
    x = model.embed(src)  # (1, T_s, d_model)
    enc = []
    for i, layer in enumerate(model.encoder_layers):
        enc.append(x)
        x, _ = layer(x, src_mask, _head_mask(head_masks, "encoder_self", i))
    dec = []
    for i, layer in enumerate(model.decoder_layers):
        dec.append(y)
        y, _, _ = layer(y, x, tgt_mask, src_mask, _head_mask(head_masks, "decoder_self", i), _head_mask(head_masks, "cross", i))
    return {"encoder_self": enc, "decoder_self": dec, "cross": [x] * len(dec)}  # cross reads the encoder output


@torch.no_grad()
def value_weighted(
    model: SmallTransformer | SmallDecoder, result: AttentionResult, ablate: list[tuple[str, int, int]] | None = None
) -> AttentionResult:
    """``result`` with every weight α_ij times ``‖v_j W^O_h‖``, each row renormalised
    (:mod:`attnviz.weighting`); a switched-off head's zero rows stay zero."""
    norms = toy_value_norms(model, result, ablate)
    return replace(result, attentions={kind: reweight(w, norms[kind]) for kind, w in result.attentions.items()})


@torch.no_grad()
def trace_head(
    model: SmallTransformer | SmallDecoder, result: AttentionResult, kind: str, layer: int, head: int
) -> dict[str, Any]:
    """The intermediate tensors of one head's attention math for a text already run through
    :func:`run_attention`: Q, K, V, QKᵀ/√d_k, mask, softmax weights and weights·V.

    The inputs of the chosen attention module are recomputed by walking the layers
    (:meth:`SmallTransformer.attention_inputs`, no hooks, so concurrent callers may share the
    model), then :meth:`MultiHeadAttention.trace` recomputes its math.
    """
    c = model.config
    if kind not in KINDS:
        raise ValueError(f"unknown attention kind {kind!r}")
    if not 0 <= layer < c.n_layers or not 0 <= head < c.n_heads:
        raise ValueError(f"no head {layer}.{head}: the model has {c.n_layers} layers × {c.n_heads} heads")
    module = model.attention_module(kind, layer)  # ValueError for a kind the model lacks
    model.eval()
    if isinstance(model, SmallDecoder):
        query, key, value, mask = model.attention_inputs(torch.tensor([result.tgt_ids]), kind, layer)
    else:
        query, key, value, mask = model.attention_inputs(
            torch.tensor([result.src_ids]), torch.tensor([result.tgt_ids]), kind, layer
        )
    traced = module.trace(query, key, value, mask)
    tensors = {name: t[0, head] for name, t in traced.items()}  # drop batch, pick the head
    query_tokens = result.src_tokens if kind == "encoder_self" else result.tgt_tokens
    key_tokens = result.tgt_tokens if kind == "decoder_self" else result.src_tokens
    return {
        "kind": kind,
        "layer": layer,
        "head": head,
        "d_k": c.d_k,
        "query_tokens": query_tokens,
        "key_tokens": key_tokens,
        "tensors": tensors,
    }
