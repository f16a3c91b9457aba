"""The process that trains a job from the page (:mod:`attnviz.server.training` spawns it).

Kept out of the ``attnviz.server`` package so a spawned worker imports only torch and the
trainer. A worker is started before it is needed and waits for its job, so pressing Train does
not wait for Python and torch to start.
"""

from __future__ import annotations

import contextlib
import os
import queue
import time
from pathlib import Path
from typing import Any

PROGRESS_INTERVAL = 0.2  # seconds between progress reports: a smooth chart, few events


class Cancelled(Exception):
    """Raised from the step callback when the server asked the job to stop."""


def _warm_up() -> None:
    """One tiny forward, backward and save: torch's first call of each costs about a second."""
    import io

    import torch

    from .data import Vocab, collate
    from .model import ModelConfig, SmallTransformer

    vocab = Vocab.default()
    model = SmallTransformer(ModelConfig(vocab_size=len(vocab), d_model=8, n_heads=2, n_layers=1, d_ff=8, pad_id=vocab.pad_id))
    batch = collate([(vocab.encode("ab", add_eos=True), vocab.encode("ab"))], vocab)
    logits, _ = model(batch.src, batch.tgt_in)
    logits.sum().backward()
    torch.optim.Adam(model.parameters()).step()
    torch.save(model.state_dict(), io.BytesIO())


def worker_main(jobs: Any, reports: Any, cancel: Any, ready: Any, parent: int | None = None) -> None:
    """Wait for one :class:`~attnviz.train.TrainConfig` on ``jobs``, train it, report to ``reports``; then exit.
    ``parent`` is the server's pid, passed in: read here, it may already be init's when the server
    died while this process was starting (it then waited forever, an orphan)."""
    import torch

    from .train import train

    with contextlib.suppress(OSError):
        os.nice(5)  # the page's requests come first when both cores are busy
    torch.set_num_threads(1)
    if parent is None:
        parent = os.getppid()
    _warm_up()
    ready.set()
    while True:  # wait for the job; a server that died (even SIGKILL) leaves no waiting worker behind
        try:
            config = jobs.get(timeout=1.0)
            break
        except queue.Empty:
            if os.getppid() != parent:
                return
    if config is None:  # the server is shutting down
        return
    steps_per_epoch = -(-config.n_train // config.batch_size)
    window: list[tuple[float, float]] = []
    last = [0.0]
    epochs_done = [0]

    def on_step(step: int, epoch: int, loss: float, acc: float) -> None:
        if cancel.is_set() or os.getppid() != parent:  # cancelled, or the server is gone
            raise Cancelled
        window.append((loss, acc))
        now = time.monotonic()
        if now - last[0] >= PROGRESS_INTERVAL or step == steps_per_epoch * config.epochs:
            last[0] = now
            n = len(window)
            loss_mean = sum(w[0] for w in window) / n
            acc_mean = sum(w[1] for w in window) / n
            reports.put(("progress", {"step": step, "epoch": epoch, "loss": loss_mean, "accuracy": acc_mean}))
            window.clear()

    def on_snapshot(step: int, epoch: int, path: Path) -> None:
        report: dict[str, Any] = {"step": step, "epoch": epoch, "file": path.name}
        if config.model.arch == "decoder":  # the held-out induction scores, for the page's chart
            report["metrics"] = torch.load(path, map_location="cpu", weights_only=True)["metrics"]
        reports.put(("snapshot", report))

    def on_epoch(epoch: int, metrics: dict[str, float], path: Path) -> None:
        epochs_done[0] = epoch
        reports.put(("epoch", {"epoch": epoch, "step": epoch * steps_per_epoch, "file": path.name, "metrics": metrics}))

    try:
        history = train(config, progress=False, on_epoch=on_epoch, on_step=on_step, on_snapshot=on_snapshot)
    except Cancelled:
        reports.put(("cancelled", {"epochs_done": epochs_done[0]}))
    except Exception as exc:  # reported to the page; the finished epochs stay on disk
        reports.put(("failed", {"detail": f"training failed: {type(exc).__name__}: {exc}", "epochs_done": epochs_done[0]}))
    else:
        reports.put(("done", {"epochs_done": len(history), "metrics": history[-1] if history else {}}))
