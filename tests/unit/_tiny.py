"""A tiny real checkpoint from the real trainer (a few seconds), shared by the unit tests here."""

from __future__ import annotations

from pathlib import Path

from attnviz.checkpoint import Checkpoint, load_checkpoint
from attnviz.train import train

from ..tiny_train import tiny_train_config


def train_tiny(save_dir: Path, task: str = "copy", epochs: int = 1) -> Checkpoint:
    """d_model 32, 2 heads (d_k 16), 2 layers; returns the last epoch's checkpoint."""
    cfg = tiny_train_config(task, save_dir, epochs, d_model=32, d_ff=64, n_train=400)
    train(cfg, progress=False)
    return load_checkpoint(save_dir / f"ckpt_epoch{epochs}.pt")
