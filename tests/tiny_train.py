"""Tiny training settings shared by the suites that train their own checkpoints (a few seconds each)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from attnviz.train import TrainConfig

TINY_SETTINGS: dict[str, Any] = dict(
    d_model=16, n_heads=2, n_layers=2, d_ff=32, n_train=300, n_eval=50, max_text_len=8, batch_size=32, warmup_steps=10, threads=1,
)  # fmt: skip


def tiny_train_config(task: str, save_dir: Path, epochs: int, **overrides: Any) -> TrainConfig:
    """d_model 16, 2 heads, 2 layers, 300 examples of up to 8 characters, one thread; ``overrides``
    replace any of these (each suite keeps the settings its tests depend on)."""
    return TrainConfig.for_task(task, epochs=epochs, save_dir=str(save_dir), **{**TINY_SETTINGS, **overrides})
