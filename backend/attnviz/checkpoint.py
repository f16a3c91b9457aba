"""Checkpoint files (format version 1): save atomically, load safely, validate thoroughly.

A checkpoint is ``torch.save`` of a plain dict::

    {"format": "attnviz-checkpoint", "version": 1,
     "config": {...ModelConfig...}, "vocab": ["<pad>", "<bos>", "<eos>", "a", ...],
     "task": "copy", "epoch": 3, "metrics": {"loss": ..., "token_accuracy": ..., ...},
     "train": {"max_text_len": 16, "seed": 0, ...}, "created_at": "2026-...+00:00",
     "step": 564, "state_dict": {...tensors...}}

``train`` is the run's :class:`~attnviz.train.TrainConfig` but its model (``config``); a record
written before that layout is read in it (:func:`_migrate_train`). ``step`` (optional) is the
number of optimizer steps behind the weights; intermediate snapshots
(``RUN/snapshots/step{S}.pt``) are ordinary checkpoints whose ``epoch`` is the epochs completed.

It is read back only with ``torch.load(weights_only=True, map_location="cpu")``: tensors and
plain containers, never arbitrary objects, so code inside a hostile pickle never runs.
"""

from __future__ import annotations

import math
import os
import zipfile
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch

from .atomic import atomic_file
from .data import ALL_TASKS, LM_TASKS, Vocab
from .model import ARCHS, ModelConfig, SmallDecoder, SmallTransformer, build_model

FORMAT_NAME = "attnviz-checkpoint"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class CheckpointLimits:
    """Bounds a checkpoint's config must meet before anything is built from it (the server's
    settings ``ATTNVIZ_MAX_D_MODEL`` ... ``ATTNVIZ_MAX_MODEL_BYTES``); a small file cannot ask for a
    huge model. The defaults are far above the toy models and below what a laptop can hold."""

    d_model: int = 1024
    n_layers: int = 24
    n_heads: int = 64
    d_ff: int = 8192
    max_len: int = 4096
    vocab_size: int = 65536
    model_bytes: int = 512 * 1024 * 1024

    def setting(self, key: str) -> str:
        return "ATTNVIZ_MAX_MODEL_BYTES" if key == "model_bytes" else f"ATTNVIZ_MAX_{key.upper()}"


DEFAULT_LIMITS = CheckpointLimits()
_CONFIG_INTS = ("vocab_size", "d_model", "n_heads", "n_layers", "d_ff", "max_len", "pad_id")


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

    @property
    def arch(self) -> str:
        """``encoder-decoder`` (:class:`SmallTransformer`) or ``decoder`` (:class:`SmallDecoder`)."""
        return self.config.arch

    def build_model(self) -> SmallTransformer | SmallDecoder:
        """The model ``config.arch`` names, with these weights, in eval mode."""
        model = build_model(self.config)
        model.load_state_dict(self.state_dict)
        return model.eval()


def save_checkpoint(
    path: str | os.PathLike[str],
    model: SmallTransformer | SmallDecoder,
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
    with atomic_file(path) as f:
        torch.save(payload, f)
    return path


def load_checkpoint(path: str | os.PathLike[str], limits: CheckpointLimits = DEFAULT_LIMITS) -> Checkpoint:
    """Load and validate ``path``; raise :class:`CheckpointError` saying what is wrong.

    Validation costs what the file costs: the config is checked against ``limits`` and every
    tensor's shape against the config before any model is built."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(path, "no such file")
    try:
        f = path.open("rb")
    except OSError as exc:
        raise CheckpointError(path, f"cannot be read: {exc.strerror or type(exc).__name__}") from None
    try:
        with f:
            raw = torch.load(f, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for bad files; all mean "unreadable"
        raise CheckpointError(path, _describe_load_error(exc, path)) from None
    return _validate(path, raw, limits)


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


def _check_config(path: Path, data: Any, limits: CheckpointLimits) -> ModelConfig:
    """The config as a :class:`ModelConfig`, every field of the right type and within ``limits``."""
    if not isinstance(data, dict):
        raise CheckpointError(path, "config is not a mapping")
    unknown = sorted(str(k) for k in data if k not in {f.name for f in fields(ModelConfig)})
    if unknown:
        raise CheckpointError(path, f"config has unknown fields: {', '.join(unknown)}")
    if "vocab_size" not in data:
        raise CheckpointError(path, "config.vocab_size is missing")
    for key in _CONFIG_INTS:
        if key in data and (isinstance(data[key], bool) or not isinstance(data[key], int)):
            raise CheckpointError(path, f"config.{key} must be an integer, not {type(data[key]).__name__}")
    arch = data.get("arch", "encoder-decoder")
    if arch not in ARCHS:
        raise CheckpointError(path, f"config.arch {str(arch)[:50]!r} is not one of {', '.join(ARCHS)}")
    dropout = data.get("dropout", 0.0)
    if isinstance(dropout, bool) or not isinstance(dropout, int | float) or not 0.0 <= dropout < 1.0:
        raise CheckpointError(path, "config.dropout must be a number in [0, 1)")
    defaults = {f.name: f.default for f in fields(ModelConfig) if f.name != "vocab_size"}
    values = {**defaults, **data}
    for key in ("vocab_size", "d_model", "n_heads", "n_layers", "d_ff", "max_len"):
        limit = getattr(limits, key)
        if not 1 <= values[key] <= limit:
            raise CheckpointError(
                path, f"config.{key} is {values[key]}; it must be between 1 and {limit} (the limit {limits.setting(key)})"
            )
    if not 0 <= values["pad_id"] < values["vocab_size"]:
        raise CheckpointError(path, f"config.pad_id {values['pad_id']} is not a token id (vocab_size {values['vocab_size']})")
    try:  # the model's own checks (d_model / n_heads)
        return ModelConfig.from_dict(dict(data))
    except ValueError as exc:
        raise CheckpointError(path, f"config.{exc}") from None


# The train record's keys before TrainConfig held its ModelConfig: the model's fields (the file's
# config holds them) and the lengths min_len / max_len (the input texts', or induction's segment's).
_OLD_MODEL_KEYS = ("arch", "d_model", "n_heads", "n_layers", "d_ff", "dropout")


def _migrate_train(train: dict[str, Any], task: str) -> dict[str, Any]:
    """A ``train`` record in the current layout (:meth:`attnviz.train.TrainConfig.record`): files
    written before it name the lengths ``min_len`` / ``max_len`` and repeat the model's fields."""
    if "min_len" not in train and "max_len" not in train:
        return train
    old = dict(train)
    new = {k: v for k, v in old.items() if k not in (*_OLD_MODEL_KEYS, "min_len", "max_len", "extra")}
    names = ("min_seg", "max_seg") if task in LM_TASKS else ("min_text_len", "max_text_len")
    for old_key, new_key in zip(("min_len", "max_len"), names, strict=True):
        if old_key in old:
            new.setdefault(new_key, old[old_key])
    if task in LM_TASKS and "seq_len" in old:  # every sequence is seq_len characters long
        new.setdefault("min_text_len", old["seq_len"])
        new.setdefault("max_text_len", old["seq_len"])
    return new


def _encodable(text: str) -> bool:
    """Whether ``text`` is valid Unicode (no lone surrogates), so it can go out as JSON."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def expected_shapes(config: ModelConfig) -> dict[str, torch.Size]:
    """Every ``state_dict`` key of a model with ``config`` and its shape, from a model built on the
    meta device (no memory, no computation)."""
    with torch.device("meta"):
        model = build_model(config)
    return {k: v.shape for k, v in model.state_dict().items()}


def _check_weights(path: Path, state_dict: Any, config: ModelConfig, limits: CheckpointLimits) -> None:
    """Refuse a model past ``limits.model_bytes`` and any tensor that does not fit the config."""
    if not isinstance(state_dict, dict):
        raise CheckpointError(path, "state_dict is not a mapping of tensors")
    shapes = expected_shapes(config)
    need = sum(math.prod(s) for s in shapes.values()) * 4  # float32 parameters
    if need > limits.model_bytes:
        biggest = max(shapes, key=lambda k: math.prod(shapes[k]))
        raise CheckpointError(
            path,
            f"config asks for {need / 2**20:.0f} MiB of weights (d_model {config.d_model}, n_layers {config.n_layers}, "
            f"d_ff {config.d_ff}, vocab_size {config.vocab_size}; largest tensor {biggest}), past the limit "
            f"{limits.model_bytes / 2**20:.0f} MiB ({limits.setting('model_bytes')})",
        )
    for key, value in state_dict.items():
        if not isinstance(value, torch.Tensor):
            raise CheckpointError(path, f"state_dict[{str(key)[:100]!r}] is not a tensor")
    missing = [k for k in shapes if k not in state_dict]
    if missing:
        more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
        raise CheckpointError(path, f"weights do not fit the model config: state_dict is missing {missing[0]!r}{more}")
    extra = [str(k) for k in state_dict if k not in shapes]
    if extra:
        raise CheckpointError(path, f"weights do not fit the model config: unexpected key {extra[0][:100]!r} in state_dict")
    for key, shape in shapes.items():
        tensor = state_dict[key]
        if tensor.shape != shape:
            raise CheckpointError(
                path,
                f"weights do not fit the model config: state_dict[{key!r}] has shape {list(tensor.shape)}, "
                f"the config needs {list(shape)}",
            )
        if not tensor.is_floating_point():
            raise CheckpointError(path, f"state_dict[{key!r}] holds {tensor.dtype}, not floating-point weights")


def _validate(path: Path, raw: Any, limits: CheckpointLimits = DEFAULT_LIMITS) -> Checkpoint:
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
    config = _check_config(path, raw["config"], limits)
    if not isinstance(raw["vocab"], list | tuple) or not all(isinstance(t, str) for t in raw["vocab"]):
        raise CheckpointError(path, "vocab is not a list of strings")
    odd = next((i for i, t in enumerate(raw["vocab"][3:], 3) if len(t) != 1 or not _encodable(t)), None)
    if odd is not None:
        raise CheckpointError(path, f"vocab[{odd}] is not one printable character")
    try:
        vocab = Vocab(list(raw["vocab"]))
    except (TypeError, ValueError) as exc:
        raise CheckpointError(path, f"invalid vocab: {str(exc)[:200]}") from None
    if config.vocab_size != len(vocab):
        raise CheckpointError(path, f"config.vocab_size {config.vocab_size} does not match the vocabulary ({len(vocab)})")
    task = raw["task"]
    if not isinstance(task, str) or task not in ALL_TASKS:
        raise CheckpointError(path, f"unknown task {str(task)[:100]!r}")
    if (task in LM_TASKS) != (config.arch == "decoder"):
        raise CheckpointError(path, f"task {task!r} does not go with config.arch {config.arch!r}")
    epoch = raw["epoch"]
    if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
        raise CheckpointError(path, f"epoch must be a non-negative integer, not {str(epoch)[:50]!r}")
    metrics = raw["metrics"]
    if not isinstance(metrics, dict) or not all(
        isinstance(k, str) and _encodable(k) and isinstance(v, int | float) and not isinstance(v, bool)
        for k, v in metrics.items()
    ):
        raise CheckpointError(path, "metrics must map names to numbers")
    train = raw.get("train") or {}
    if not isinstance(train, dict):
        raise CheckpointError(path, "train is not a mapping")
    train = _migrate_train(train, task)
    max_text_len = train.get("max_text_len")
    if max_text_len is not None and (isinstance(max_text_len, bool) or not isinstance(max_text_len, int)):
        raise CheckpointError(path, "train.max_text_len must be an integer")
    _check_weights(path, raw["state_dict"], config, limits)
    ckpt = Checkpoint(
        path=path,
        config=config,
        vocab=vocab,
        task=task,
        epoch=epoch,
        metrics={str(k): float(v) for k, v in metrics.items()},
        created_at=str(raw.get("created_at", ""))[:100].encode("utf-8", "replace").decode(),
        train=dict(train),
        step=int(raw["step"]) if isinstance(raw.get("step"), int) and not isinstance(raw.get("step"), bool) else None,
        state_dict=raw["state_dict"],
    )
    return ckpt
