"""The attention document: the one JSON object every producer writes and every reader checks.

Its version, its kinds, which tokens are each kind's queries and keys, the envelope every producer
fills (the toy models' export, the Hugging Face runner, ``document_from``) and the one check every
reader runs (``document_from`` and ``load_document``, the plotting helpers) live here, once. The
HTTP API describes the same fields for OpenAPI in ``server/schemas.py`` (``AttentionDocument``),
from which the front end's types are generated; ``docs/api.md`` is the reader's description.

Pure Python and numpy (no torch): ``save_html`` and ``import attnviz`` stay light.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

SCHEMA_VERSION = 1
KINDS = ("encoder_self", "decoder_self", "cross")
"""The attention kinds, in the order views list them: the encoder's self-attention, the decoder's
masked self-attention, and the decoder's attention over the encoder (paper §3.2.3)."""


FIELDS = ("schema_version", "checkpoint", "model", "input", "output", "expected", "tokens", "encoding", "weighting")
"""The fields every document has, in the order :func:`envelope` writes them (then ``attentions`` or
``overview``, ``warnings`` and the optional ones)."""


class DocumentError(ValueError):
    """A value that is not a usable attention document; the message says why and where."""


def sides(tokens: Mapping[str, Any]) -> dict[str, tuple[list[str], list[str]]]:
    """``kind -> (query tokens, key tokens)``: encoder rows and keys are the source tokens, decoder
    rows the target tokens, cross-attention's keys the source."""
    src, tgt = list(tokens.get("src") or []), list(tokens.get("tgt") or [])
    return {"encoder_self": (src, src), "decoder_self": (tgt, tgt), "cross": (tgt, src)}


def envelope(
    *,
    checkpoint: str | None,
    model: dict[str, Any],
    text: str,
    output: str | None,
    expected: str | None,
    tokens: dict[str, list[str]],
    encoding: str,
    weighting: str,
    warnings: list[str],
    attentions: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A document's fields in their one order (``attentions`` already encoded, or None for an
    overview, which the caller completes); optional fields (``steps``, ``sampling``,
    ``special_tokens``, ``overview``) are the producer's to add."""
    values = (SCHEMA_VERSION, checkpoint, model, text, output, expected, tokens, encoding, weighting)
    doc: dict[str, Any] = dict(zip(FIELDS, values, strict=True))
    if attentions is not None:
        doc["attentions"] = attentions
    doc["warnings"] = warnings
    return doc


def check(doc: Any, source: str = "document") -> dict[str, Any]:
    """``doc`` as given (any encoding, not decoded), after checking what every reader relies on:
    the version, the tokens and attentions objects, at least one kind, and each kind's shape
    ``[layers, heads, queries, keys]`` against its tokens. Raises :class:`DocumentError`."""
    weights(doc, source)
    return dict(doc)


def weights(doc: Any, source: str = "document") -> dict[str, Any]:
    """Each kind's weights decoded (``kind -> float32 array [layers, heads, queries, keys]``),
    after :func:`check`'s checks: a reader that needs the numbers decodes them once."""
    from .encoding import decode_weights  # numpy: only when a document is read

    if not isinstance(doc, Mapping):
        raise DocumentError(f"{source}: an attention document is a JSON object, not {type(doc).__name__}")
    version = doc.get("schema_version")
    if version is None:
        raise DocumentError(f"{source}: no schema_version; this is not an attnviz attention document")
    if version != SCHEMA_VERSION:
        raise DocumentError(
            f"{source}: schema_version {version!r} is not supported (this attnviz reads version {SCHEMA_VERSION})"
        )
    tokens, attentions = doc.get("tokens"), doc.get("attentions")
    if not isinstance(tokens, Mapping) or not isinstance(attentions, Mapping):
        raise DocumentError(f"{source}: a document needs a 'tokens' and an 'attentions' object")
    out = {}
    for kind, (q, k) in sides(tokens).items():
        if attentions.get(kind) is None:
            continue
        try:
            w = decode_weights(attentions[kind])
        except (ValueError, KeyError, TypeError) as exc:
            raise DocumentError(f"{source}: attentions.{kind} cannot be decoded ({exc})") from None
        if w.ndim != 4 or w.shape[2:] != (len(q), len(k)):
            raise DocumentError(
                f"{source}: attentions.{kind} has shape {list(w.shape)} but the tokens need [layers, heads, {len(q)}, {len(k)}]"
            )
        out[kind] = w
    if not out:
        raise DocumentError(f"{source}: the document holds no attention weights (encoder_self, decoder_self or cross)")
    return out
