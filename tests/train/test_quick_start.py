"""The seed's quick start holds: ``python -m attnviz.train --epochs 3 --save_dir checkpoints`` (every
other setting its default) gives a copy model at >= 99 % exact-sequence accuracy on the held-out set."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from attnviz.checkpoint import load_checkpoint

from ..live_server import REPO


@pytest.mark.slow
def test_three_default_epochs_copy_at_99_percent(tmp_path: Path) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "attnviz.train", "--epochs", "3", "--save_dir", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    ckpt = load_checkpoint(tmp_path / "ckpt_epoch3.pt")
    assert ckpt.task == "copy"
    assert ckpt.metrics["sequence_accuracy"] >= 0.99, ckpt.metrics
