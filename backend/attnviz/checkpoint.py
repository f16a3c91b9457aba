"""Checkpoint files (format version 1): save atomically, load safely, validate thoroughly.

A checkpoint is ``torch.save`` of a plain dict::

    {"format": "attnviz-checkpoint", "version": 1,
     "config": {...ModelConfig...}, "vocab": ["<pad>", "<bos>", "<eos>", "a", ...],
     "task": "copy", "epoch": 3, "metrics": {"loss": ..., "token_accuracy": ..., ...},
     "train": {"max_text_len": 16, "seed": 0, ...}, "created_at": "2026-...+00:00",
     "step": 564, "state_dict": {...tensors...}}

``step`` (optional) is the number of optimizer steps behind the weights; intermediate snapshots
(``RUN/snapshots/step{S}.pt``) are ordinary checkpoints whose ``epoch`` is the epochs completed.

It is read back only with ``torch.load(weights_only=True, map_location="cpu")``: tensors and
plain containers, never arbitrary objects, so code inside a hostile pickle never runs.
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch

from .data import TASKS, Vocab
from .model import ModelConfig, SmallTransformer

FORMAT_NAME = "attnviz-checkpoint"
FORMAT_VERSION = 1


class CheckpointError(Exception):
    """A file that cannot be used as a checkpoint; the message names the file and the reason."""

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


@dataclass
class Checkpoint:
    """A loaded, validated checkpoint."""

    path: Path
    config: ModelConfig
    vocab: Vocab
    task: str
    epoch: int
    metrics: dict[str, float]
    created_at: str
    train: dict[str, Any] = field(default_factory=dict)
    step: int | None = None
    state_dict: dict[str, torch.Tensor] = field(default_factory=dict, repr=False)

    @property
    def max_text_len(self) -> int | None:
        """The longest input text seen in training, if recorded."""
        value = self.train.get("max_text_len")
        return int(value) if value is not None else None

    def build_model(self) -> SmallTransformer:
        """A :class:`SmallTransformer` with these weights, in eval mode."""
        model = SmallTransformer(self.config)
        model.load_state_dict(self.state_dict)
        return model.eval()


def _current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def save_checkpoint(
    path: str | os.PathLike[str],
    model: SmallTransformer,
    vocab: Vocab,
    task: str,
    epoch: int,
    metrics: dict[str, float],
    train: dict[str, Any] | None = None,
    step: int | None = None,
) -> Path:
    """Write a checkpoint atomically: a temporary file in the same directory, then a rename,
    so a reader (or a Ctrl-C) never sees a half-written file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "config": model.config.to_dict(),
        "vocab": list(vocab.itos),
        "task": task,
        "epoch": int(epoch),
        "metrics": {k: float(v) for k, v in metrics.items()},
        "train": dict(train or {}),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        **({"step": int(step)} if step is not None else {}),
        "state_dict": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
    }
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(payload, f)
            f.flush()
            os.fsync(f.fileno())
        # mkstemp creates 0600; give the file the mode open() would (0644 under umask 022), so a run
        # trained on the host is readable by the classroom container's user through the mount
        os.chmod(tmp, 0o666 & ~_current_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_checkpoint(path: str | os.PathLike[str]) -> Checkpoint:
    """Load and validate ``path``; raise :class:`CheckpointError` saying what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(path, "no such file")
    try:
        raw = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for bad files; all mean "unreadable"
        raise CheckpointError(path, _describe_load_error(exc, path)) from None
    return _validate(path, raw)


def _describe_load_error(exc: Exception, path: Path) -> str:
    text = str(exc)
    lower = text.lower()
    if "unsupported global" in lower or "is blocked" in lower:
        return "refused: the file holds pickled Python objects, not just tensors (only weights_only loading is allowed)"
    if "zip archive" in lower or "central directory" in lower or isinstance(exc, EOFError) or "truncated" in lower:
        return "not a readable checkpoint: the file is truncated or corrupt"
    if not zipfile.is_zipfile(path):
        return "not a readable checkpoint: the file was not written by torch.save (unrecognised contents)"
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return f"not a readable checkpoint: {first[:200]}"


def _validate(path: Path, raw: Any) -> Checkpoint:
    if not isinstance(raw, dict) or raw.get("format") != FORMAT_NAME:
        raise CheckpointError(path, f"not an attnviz checkpoint (no format marker {FORMAT_NAME!r})")
    version = raw.get("version")
    if not isinstance(version, int):
        raise CheckpointError(path, "checkpoint has no integer format version")
    if version > FORMAT_VERSION:
        raise CheckpointError(
            path, f"checkpoint format version {version} is newer than this attnviz reads ({FORMAT_VERSION}); upgrade attnviz"
        )
    if version < 1:
        raise CheckpointError(path, f"unknown checkpoint format version {version}")
    missing = [k for k in ("config", "vocab", "task", "epoch", "metrics", "state_dict") if k not in raw]
    if missing:
        raise CheckpointError(path, f"checkpoint is missing {', '.join(missing)}")
    try:
        config = ModelConfig.from_dict(dict(raw["config"]))
        vocab = Vocab(list(raw["vocab"]))
    except (TypeError, ValueError) as exc:
        raise CheckpointError(path, f"invalid config or vocabulary: {exc}") from None
    if config.vocab_size != len(vocab):
        raise CheckpointError(path, f"config.vocab_size {config.vocab_size} does not match the vocabulary ({len(vocab)})")
    task = raw["task"]
    if task not in TASKS:
        raise CheckpointError(path, f"unknown task {task!r}")
    state_dict = raw["state_dict"]
    if not isinstance(state_dict, dict) or not all(isinstance(v, torch.Tensor) for v in state_dict.values()):
        raise CheckpointError(path, "state_dict is not a mapping of tensors")
    ckpt = Checkpoint(
        path=path,
        config=config,
        vocab=vocab,
        task=task,
        epoch=int(raw["epoch"]),
        metrics={str(k): float(v) for k, v in dict(raw["metrics"]).items()},
        created_at=str(raw.get("created_at", "")),
        train=dict(raw.get("train") or {}),
        step=int(raw["step"]) if isinstance(raw.get("step"), int) else None,
        state_dict=state_dict,
    )
    try:
        ckpt.build_model()
    except (RuntimeError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0]
        raise CheckpointError(path, f"weights do not fit the model config: {first[:200]}") from None
    return ckpt
