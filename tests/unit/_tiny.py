"""A tiny real checkpoint from the real trainer (a few seconds), shared by the unit tests here."""

from __future__ import annotations

from pathlib import Path

from attnviz.checkpoint import Checkpoint, load_checkpoint
from attnviz.train import TrainConfig, train


def train_tiny(save_dir: Path, task: str = "copy", epochs: int = 1) -> Checkpoint:
    """d_model 32, 2 heads (d_k 16), 2 layers; returns the last epoch's checkpoint."""
    cfg = TrainConfig(
        task=task,
        epochs=epochs,
        save_dir=str(save_dir),
        d_model=32,
        n_heads=2,
        n_layers=2,
        d_ff=64,
        n_train=400,
        n_eval=50,
        max_len=8,
        batch_size=32,
        warmup_steps=10,
        threads=1,
    )
    train(cfg, progress=False)
    return load_checkpoint(save_dir / f"ckpt_epoch{epochs}.pt")
