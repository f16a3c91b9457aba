"""Training and inference figures for the foundation issue's targets.

- time to target: copy with the defaults (``python -m attnviz.train``, target ≥ 99% exact in
  ≤ 20 s), reverse and sort with the settings of ``attnviz.demo`` (≥ 95% in ≤ 180 s),
  each really trained into a temporary directory;
- forward pass + greedy decode of a 32-character input on the trained copy model, 1 thread,
  median of 50 runs;
- export (``build_document``) time, median of 50 runs.

Prints Markdown tables. Exit code 0 whether or not a target is met (benchmarks report).
``--tasks copy`` limits the training runs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import torch

from attnviz.checkpoint import load_checkpoint
from attnviz.demo import DEMO_RUNS
from attnviz.export_attention_json import build_document
from attnviz.train import TrainConfig, train

TARGETS = {"copy": (0.99, 20.0), "reverse": (0.95, 180.0), "sort": (0.95, 180.0)}
RUNS = 50


def median_ms(fn: object, runs: int = RUNS) -> float:
    assert callable(fn)
    fn()  # warm-up
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=list(TARGETS), choices=list(TARGETS))
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix="attnviz-bench-") as tmp:
        for task in args.tasks:
            base = TrainConfig() if task == "copy" else DEMO_RUNS[task]
            cfg = replace(base, save_dir=str(Path(tmp) / task))
            started = time.perf_counter()
            history = train(cfg, progress=False)
            wall = time.perf_counter() - started
            acc = history[-1]["sequence_accuracy"]
            target_acc, target_s = TARGETS[task]
            met = acc >= target_acc and wall <= target_s
            settings = f"{cfg.epochs} epochs × {cfg.n_train} ex, bs {cfg.batch_size}, lr {cfg.lr:g}, {cfg.threads} thread"
            rows.append(
                f"| {task} | {settings} | {wall:.1f} | {acc:.1%} | ≥ {target_acc:.0%} in ≤ {target_s:.0f} s | "
                f"{'yes' if met else '**no**'} |"
            )
            print(f"trained {task}: {wall:.1f} s, exact {acc:.1%}", file=sys.stderr, flush=True)
        print("| task | settings | wall s | held-out exact | target | met |")
        print("|---|---|---:|---:|---|---|")
        print("\n".join(rows))

        copy_dir = Path(tmp) / "copy"
        if not copy_dir.is_dir():
            cfg = replace(TrainConfig(), save_dir=str(copy_dir))
            train(cfg, progress=False)
        torch.set_num_threads(1)
        ckpt = load_checkpoint(copy_dir / f"ckpt_epoch{TrainConfig().epochs}.pt")
        model = ckpt.build_model()
        text = "the quick brown fox jumps over t"  # 32 characters
        assert len(text) == 32
        src = torch.tensor([ckpt.vocab.encode(text, add_eos=True)])

        def decode() -> None:
            model.greedy_decode(src, len(text) + 8, ckpt.vocab.bos_id, ckpt.vocab.eos_id)

        decode_ms = median_ms(decode)
        short = "hello world"
        export_ms = median_ms(lambda: build_document(ckpt, short, model=model))
        export32_ms = median_ms(lambda: build_document(ckpt, text, model=model))
        print()
        print("| inference (copy model, 1 thread, median of 50) | ms |")
        print("|---|---:|")
        print(f"| forward + greedy decode, 32-character input | {decode_ms:.1f} |")
        print(f"| export document (`build_document`), {len(short)} characters | {export_ms:.1f} |")
        print(f"| export document (`build_document`), 32 characters | {export32_ms:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
