"""The attention document (schema version 1) for a checkpoint and a text, as a library function
and a command-line tool::

    python -m attnviz.export_attention_json --checkpoint checkpoints/copy/ckpt_epoch3.pt \\
        --out attention.json --text "hello world"

The document's shape (schema version 1) and its extra fields are described in ``docs/api.md``
(``expected``, ``encoding``) and the compact encodings.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from .atomic import atomic_file
from .checkpoint import Checkpoint, CheckpointError, load_checkpoint
from .data import SAMPLE_INPUTS, TASKS, UnknownCharactersError, Vocab, target_for
from .document import envelope
from .encoding import ENCODINGS, Encoding, encode_weights
from .inference import AttentionResult, run_attention, value_weighted
from .model import SmallDecoder, SmallTransformer
from .weighting import WEIGHTINGS, Weighting, check_weighting

DEFAULT_TOP_K = 5
"""Predictions listed per decoding step in the document's optional ``steps``."""


def step_rows(
    probs: Tensor, n_prompt: int, produced: list[int] | None, sampled_p: list[float] | None, top_k: int, precision: int
) -> list[tuple[int, dict[str, Any], list[int], list[float]]]:
    """Per row ``t`` of ``probs`` (the model's softmax, ``(T_t, vocab)``): the chosen id, the
    step's fields besides ``token`` and ``top`` (``p``; ``p_sampled`` on a sampled token), and
    the ids and probabilities of the ``top_k``. Shared by the toy and Hugging Face documents.

    Row ``t`` predicts the token after ``tgt[0..t]``: a generated token from row ``n_prompt - 1``
    on; the rows before it (a decoder's prompt), and any past the last generated token, show the
    model's most probable next token."""
    k = max(0, min(top_k, probs.size(-1)))
    top_p, top_ids = probs.topk(k, dim=-1)  # (T_t, k)
    argmax = probs.argmax(dim=-1).tolist()
    first = max(0, n_prompt - 1)  # the row that produced the first generated token
    rows = []
    for t in range(probs.size(0)):
        g = t - first
        generated = produced is not None and 0 <= g < len(produced)
        chosen = produced[g] if produced is not None and generated else argmax[t]
        extra: dict[str, Any] = {"p": round(float(probs[t, chosen]), precision)}
        if generated and sampled_p is not None and g < len(sampled_p):
            extra["p_sampled"] = round(sampled_p[g], precision)
        rows.append((chosen, extra, top_ids[t].tolist(), top_p[t].tolist()))
    return rows


def decoding_steps(result: AttentionResult, vocab: Vocab, top_k: int = DEFAULT_TOP_K, precision: int = 4) -> list[dict[str, Any]]:
    """Per decoding step ``t``: the token it produced (greedy or sampled), its probability under
    the model (``p``, softmax of ``result.logits[t]``) and, when sampled, under the sampling
    distribution (``p_sampled``), and the ``top_k`` most probable tokens with their probabilities
    (the model's, rounded to ``precision``).

    Row ``t`` of the logits is the prediction made after reading ``tgt_tokens[:t + 1]``, so
    ``steps[t]["token"]`` is the output's ``t``-th token (``<eos>`` last when decoding finished).
    """
    probs = torch.softmax(result.logits.float(), dim=-1)  # (T_t, vocab)
    steps = []
    rows = step_rows(probs, result.n_prompt, result.produced, result.sampled_p, top_k, precision)
    for t, (chosen, extra, ids, ps) in enumerate(rows):
        top = [{"token": name, "p": round(float(p), precision)} for name, p in zip(vocab.tokens(ids), ps, strict=True)]
        steps.append({"t": t, "token": vocab.tokens([chosen])[0], **extra, "top": top})
    return steps


def default_checkpoint_name(path: Path) -> str:
    """``<run>/<file>``: the name the service lists a checkpoint under when its checkpoint
    directory is the file's grandparent (the layout ``train --save_dir checkpoints/<run>`` makes),
    so a page that opens an exported document can reload it from the server by that name."""
    return f"{path.parent.name}/{path.name}"


def document_from_result(
    ckpt: Checkpoint,
    result: AttentionResult,
    *,
    checkpoint_name: str | None = None,
    precision: int = 4,
    encoding: Encoding = "json",
    top_k: int = DEFAULT_TOP_K,
    json_as_array: bool = False,
    weighting: Weighting = "attention",
) -> dict[str, Any]:
    """Assemble the attention document of an :class:`AttentionResult`; ``weighting`` names how
    ``result.attentions`` is weighted (:func:`~attnviz.inference.value_weighted` made it so).

    ``top_k`` > 0 adds ``steps`` (see :func:`decoding_steps`); 0 leaves it out. ``json_as_array``:
    see :func:`~attnviz.encoding.encode_weights` (the document then needs ``orjson.OPT_SERIALIZE_NUMPY``).
    """
    c = ckpt.config
    doc = envelope(
        checkpoint=checkpoint_name if checkpoint_name is not None else default_checkpoint_name(ckpt.path),
        model={"task": ckpt.task, "epoch": ckpt.epoch, "n_layers": c.n_layers, "n_heads": c.n_heads, "d_model": c.d_model},
        text=result.text,
        output=result.output,
        # a language-model task (induction) has no one right output for a text
        expected=target_for(ckpt.task, result.text, ckpt.vocab) if ckpt.task in TASKS else None,
        tokens={"src": result.src_tokens, "tgt": result.tgt_tokens},
        encoding=encoding,
        weighting=weighting,
        attentions={
            kind: encode_weights(weights.numpy(), encoding, precision, json_as_array=json_as_array)
            for kind, weights in result.attentions.items()
        },
        warnings=list(result.warnings),
    )
    if top_k > 0 and result.tgt_ids:
        doc["steps"] = decoding_steps(result, ckpt.vocab, top_k, precision)
    if result.sampling is not None:
        doc["sampling"] = result.sampling.describe()
    return doc


def build_document(
    ckpt: Checkpoint,
    text: str | None = None,
    *,
    model: SmallTransformer | SmallDecoder | None = None,
    checkpoint_name: str | None = None,
    precision: int = 4,
    encoding: Encoding = "json",
    ablate: list[tuple[str, int, int]] | None = None,
    top_k: int = DEFAULT_TOP_K,
    weighting: Weighting = "attention",
) -> dict[str, Any]:
    """Run ``ckpt`` on ``text`` (default: a sample input for its task) and return the document.

    ``model`` may be passed to reuse an already-built model (the service caches them);
    ``weighting`` ``value_norm``: each weight times its key's ``‖v_j W^O_h‖``, rows renormalised.
    """
    check_weighting(weighting)
    if not 0 <= precision <= 8:
        raise ValueError(f"precision must be between 0 and 8 decimals, not {precision}")
    if top_k < 0:
        raise ValueError(f"top_k must be 0 (no decoding steps) or more, not {top_k}")
    if text is None:
        text = SAMPLE_INPUTS.get(ckpt.task, "hello world")
    model = model if model is not None else ckpt.build_model()
    result = run_attention(model, ckpt.vocab, text, max_text_len=ckpt.max_text_len, ablate=ablate)
    if weighting == "value_norm":
        result = value_weighted(model, result, ablate)
    return document_from_result(
        ckpt, result, checkpoint_name=checkpoint_name, precision=precision, encoding=encoding, top_k=top_k, weighting=weighting
    )


def write_json_atomic(path: str | os.PathLike[str], data: Any) -> Path:
    """Write JSON to ``path`` through a temporary file and a rename (never half-written)."""
    with atomic_file(path, "w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False, separators=(",", ":"))
    return Path(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m attnviz.export_attention_json",
        description="Run a checkpoint on a text and write its attention document (schema v1) as JSON.",
    )
    parser.add_argument("--checkpoint", required=True, help="checkpoint file (.pt) written by attnviz.train")
    parser.add_argument("--out", required=True, help="JSON file to write")
    parser.add_argument("--text", default=None, help="input text (default: a sample for the checkpoint's task)")
    parser.add_argument("--precision", type=int, default=4, help="decimals kept in each weight (default 4)")
    parser.add_argument("--encoding", choices=ENCODINGS, default="json", help="weights as nested lists (json) or compact base64")
    parser.add_argument("--name", default=None, help="checkpoint name recorded in the document (default: <run dir>/<file>)")
    parser.add_argument(
        "--weighting", choices=WEIGHTINGS, default="attention", help="attention, or value_norm (α·‖v W^O‖, renormalised)"
    )
    parser.add_argument("--top_k", type=int, default=DEFAULT_TOP_K, help="predictions listed per decoding step (0 = no steps)")
    args = parser.parse_args(argv)
    try:
        ckpt = load_checkpoint(args.checkpoint)
        doc = build_document(
            ckpt,
            args.text,
            checkpoint_name=args.name,
            precision=args.precision,
            encoding=args.encoding,
            top_k=args.top_k,
            weighting=args.weighting,
        )
    except CheckpointError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except UnknownCharactersError as exc:
        print(f"error: the text has {exc}. The vocabulary is: {ckpt.vocab.chars!r}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    write_json_atomic(args.out, doc)
    print(f"wrote {args.out}: {doc['input']!r} -> {doc['output']!r} ({ckpt.task}, epoch {ckpt.epoch})")
    for warning in doc["warnings"]:
        print(f"warning: {warning}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
