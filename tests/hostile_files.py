"""Hostile checkpoint files, built from a real checkpoint of the real trainer: config bombs (a tiny
file that asks for a huge model), wrong types, wrong shapes, non-finite metrics, and directory
entries the listing must skip with a reason (links out, dangling links, FIFOs, unfinished saves).
Shared by tests/api and bench/bench_abuse.py."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import torch


def _raw(real: Path) -> dict[str, Any]:
    raw: dict[str, Any] = torch.load(real, map_location="cpu", weights_only=True)
    return raw


def write_variant(real: Path, target: Path, **changes: Any) -> Path:
    """``real``'s payload with top-level ``changes`` (``config=`` is merged into the config)."""
    raw = _raw(real)
    config = changes.pop("config", None)
    if config is not None:
        raw["config"] = {**raw["config"], **config}
    raw.update(changes)
    target.parent.mkdir(parents=True, exist_ok=True)
    torch.save(raw, target)
    return target


# name -> (top-level changes, a word the unusable reason must contain)
CONFIG_BOMBS: dict[str, tuple[dict[str, Any], str]] = {
    "bomb_d_model.pt": ({"config": {"d_model": 4096}, "state_dict": {}}, "config.d_model"),
    "bomb_n_layers.pt": ({"config": {"n_layers": 2000}, "state_dict": {}}, "config.n_layers"),
    "bomb_max_len.pt": ({"config": {"max_len": 5_000_000}, "state_dict": {}}, "config.max_len"),
}
BROKEN: dict[str, tuple[dict[str, Any], str]] = {
    "epoch_text.pt": ({"epoch": "three"}, "epoch"),
    "heads_zero.pt": ({"config": {"n_heads": 0}}, "config.n_heads"),
    "heads_text.pt": ({"config": {"n_heads": "4"}}, "config.n_heads"),
    "empty_weights.pt": ({"state_dict": {}}, "state_dict is missing"),
}


def write_bombs(real: Path, directory: Path) -> dict[str, str]:
    """The three config bombs in ``directory``; name -> the word their reason names."""
    for name, (changes, _word) in CONFIG_BOMBS.items():
        write_variant(real, directory / name, **dict(changes))
    return {name: word for name, (_c, word) in CONFIG_BOMBS.items()}


def write_broken(real: Path, directory: Path) -> dict[str, str]:
    """Files with a wrong type, a zero, or missing weights; name -> the word their reason names."""
    for name, (changes, _word) in BROKEN.items():
        write_variant(real, directory / name, **dict(changes))
    out = {name: word for name, (_c, word) in BROKEN.items()}
    raw = _raw(real)
    key = next(iter(raw["state_dict"]))
    raw["state_dict"][key] = torch.zeros(3, 5)
    torch.save(raw, directory / "wrong_shape.pt")
    out["wrong_shape.pt"] = key
    return out


def write_nan_metrics(real: Path, target: Path) -> Path:
    """A usable checkpoint whose loss is NaN and whose accuracy is infinite."""
    raw = _raw(real)
    raw["metrics"] = {**raw["metrics"], "loss": math.nan, "token_accuracy": math.inf}
    target.parent.mkdir(parents=True, exist_ok=True)
    torch.save(raw, target)
    return target


def write_skipped_entries(directory: Path, outside: Path) -> dict[str, str]:
    """Entries the listing must skip; name -> a word of the reason. ``outside`` is a real file
    outside the checkpoint directory."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "link_out.pt").symlink_to(outside)
    (directory / "dangling.pt").symlink_to(directory / "no-such-file.pt")
    os.mkfifo(directory / "pipe.pt")
    (directory / ".ckpt_epoch9.pt.x1y2z3.tmp").write_bytes(b"half a checkpoint")
    return {"link_out.pt": "out of the checkpoint directory", "dangling.pt": "dangling", "pipe.pt": "FIFO",
            ".ckpt_epoch9.pt.x1y2z3.tmp": "temporary"}  # fmt: skip
