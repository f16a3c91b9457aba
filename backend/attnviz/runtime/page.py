"""The data of a single-file page of a named checkpoint (``attnviz html --checkpoint``): its
document on a text, through the service's own code path, and the server data the file embeds
(the run's timeline, the math step-through of every head). Domain errors only; no HTTP."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson

from ..errors import AttnvizError, UnknownCheckpoint, UnknownRun
from ..hf import resolve_device, resolve_dtype
from .model_cache import ModelCache
from .registry import CheckpointRegistry, run_of
from .service import AttentionService

MATH_BUDGET_BYTES = 32 * 1024 * 1024
"""Largest math step-through data a file embeds (every head of every kind, every query row)."""


class LessonError(ValueError):
    """A checkpoint or text the single file cannot be built from; the message says why."""


def checkpoint_page(
    checkpoint: str,
    text: str,
    checkpoints: str | os.PathLike[str] = "checkpoints",
    *,
    with_timeline: bool = False,
    with_math: bool = False,
    max_text_len: int = 128,
    device: str = "cpu",
    dtype: str = "float32",
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The document of ``checkpoint`` (a name in the ``checkpoints`` directory, as the service
    lists it) on ``text``, through the service's own code path, plus the embedded server data
    asked for: the run's timeline (and its listing, which the timeline view reads), and the
    math step-through of every head of every kind. Raises :class:`LessonError`; ``device`` and
    ``dtype`` are where a Hugging Face model runs (:func:`attnviz.hf.load_hf_model`; a device this
    torch does not have raises :class:`~attnviz.hf.DeviceUnavailableError` before anything loads)."""
    root = Path(checkpoints)
    if not root.is_dir():
        raise LessonError(f"the checkpoint directory {str(root)!r} does not exist (pass --checkpoints DIR)")
    resolve_device(device), resolve_dtype(dtype)
    models = ModelCache(2, device=device, dtype=dtype)
    registry = CheckpointRegistry(root, hf_loader=lambda p: models.get_hf(p).model)
    service = AttentionService(registry=registry, models=models, max_text_len=max_text_len, timeline_cache_size=0)
    try:
        doc = orjson.loads(service.attention_json(checkpoint, text, 4, "float16", ()))
        data: dict[str, Any] = {}
        if with_timeline:
            run = run_of(checkpoint)
            data["timeline"] = [orjson.loads(service.timeline_json(run, text, 4, "float16"))]
            listing = registry.listing(max_text_len)
            # only this run, and not where it lives on this machine: the file is handed out
            data["checkpoints"] = {"checkpoint_dir": "", "runs": [r for r in listing["runs"] if r["name"] == run]}
        if with_math:
            if not service.adapter(checkpoint).family.startswith("toy"):
                raise LessonError(f"{checkpoint!r} is a pretrained model: the math step-through is for the toy models only")
            entries, size = [], 0
            for kind, layers in doc["attentions"].items():
                n_layers, n_heads = layers["shape"][:2]
                for layer in range(n_layers):
                    for head in range(n_heads):
                        body = service.math_json(checkpoint, text, kind, layer, head)
                        size += len(body)
                        if size > MATH_BUDGET_BYTES:
                            raise LessonError(
                                f"the math of every head is over {MATH_BUDGET_BYTES >> 20} MB for this text; "
                                "use a shorter text or leave out --with math"
                            )
                        request = {"checkpoint": checkpoint, "text": text, "kind": kind, "layer": layer, "head": head}
                        entries.append({"request": request, "response": orjson.loads(body)})
            data["math"] = entries
    except (UnknownCheckpoint, UnknownRun):
        names = [c["name"] for r in registry.listing(max_text_len)["runs"] for c in r["checkpoints"] if c.get("usable")]
        have = ", ".join(names[:12]) + (" ..." if len(names) > 12 else "") if names else "none"
        raise LessonError(f"there is no checkpoint named {checkpoint!r} in {root}; usable checkpoints: {have}") from None
    except AttnvizError as exc:
        raise LessonError(exc.detail) from None
    return doc, data or None
