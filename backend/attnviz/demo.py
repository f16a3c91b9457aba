"""Train the demo runs the visualizer ships with, skipping any that already exist::

    python -m attnviz.demo --checkpoints checkpoints                  # copy, reverse, sort, induction
    python -m attnviz.demo --checkpoints checkpoints --tasks copy --force
    attnviz demo --checkpoints DIR                                    # the same, from an installed package
    attnviz demo --checkpoints DIR --tasks copy --epochs 1            # a quick look (not the lessons' runs)

Each task trains into ``CHECKPOINTS/<task>/`` (one checkpoint per epoch, so the front end can
show attention over training) only when that directory holds no ``*.pt`` file yet; ``--force``
retrains anyway; ``--epochs N`` trains N epochs instead of the table's (a quick try; the
lessons link to the table's epochs). ``make demo`` and the Docker image build call exactly this
(as ``attnviz demo``, which also registers the pretrained demo model, see hf_demo). The settings of
every run are in :data:`DEMO_RUNS` and are recorded in each checkpoint's ``train`` field.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

from .train import TrainConfig, train

# One table of settings per task; anything not named is the TrainConfig default
# (2 layers × 4 heads, d_model 64, lr 5e-3, inputs of 1-16 characters, seed 0, 1 thread); induction
# is the decoder-only model with its own recipe (train.INDUCTION_DEFAULTS: 1 head a layer, 3 epochs).
# The demo runs keep the wider, longer-warm-up settings they were tuned with (and their epoch
# counts, which the lessons link to); `python -m attnviz.train` alone is the fast copy run.
DEMO_RUNS: dict[str, TrainConfig] = {
    "copy": TrainConfig.for_task("copy", epochs=3, d_ff=256, warmup_steps=200, n_train=12000),  # the diagonal
    "reverse": TrainConfig.for_task("reverse", epochs=6, d_ff=256, warmup_steps=200, n_train=12000),  # the anti-diagonal
    "sort": TrainConfig.for_task("sort", epochs=8, d_ff=256, warmup_steps=200, n_train=12000),  # where each character sits
    # decoder-only, the induction recipe (1 head a layer, 3 x 250 steps); a snapshot every 25 steps
    # so the Training tab shows the phase change (between steps 175 and 250 in bench/NOTES.md)
    "induction": TrainConfig.for_task("induction", snapshot_every=25),
}


def has_checkpoints(run_dir: Path) -> bool:
    return run_dir.is_dir() and any(run_dir.glob("*.pt"))


def _parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Train the demo checkpoints (copy, reverse, sort, induction) into CHECKPOINTS/<task>/ unless already there.",
    )
    parser.add_argument("--checkpoints", default="checkpoints", help="checkpoint directory (default: checkpoints)")
    parser.add_argument("--tasks", nargs="+", choices=list(DEMO_RUNS), default=list(DEMO_RUNS), help="which demo runs")
    parser.add_argument("--force", action="store_true", help="retrain even if the run directory has checkpoints")
    parser.add_argument(
        "--epochs", type=int, default=None, help="epochs per run instead of the demo's own (a quick try: --epochs 1)"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    return parser


def checkpoint_dir(argv: list[str]) -> Path:
    """The ``--checkpoints`` directory the arguments name (after a successful ``main``)."""
    return Path(_parser("attnviz demo").parse_args(argv).checkpoints)


def main(argv: list[str] | None = None, prog: str = "python -m attnviz.demo") -> int:
    parser = _parser(prog)
    args = parser.parse_args(argv)
    if args.epochs is not None and args.epochs < 1:
        parser.error("--epochs must be at least 1")
    root = Path(args.checkpoints)
    try:
        for task in args.tasks:
            run_dir = root / task
            if has_checkpoints(run_dir) and not args.force:
                print(f"demo {task}: {run_dir} already has checkpoints, skipping (--force retrains)")
                continue
            cfg = replace(DEMO_RUNS[task], save_dir=str(run_dir))
            if args.epochs is not None:
                cfg = replace(cfg, epochs=args.epochs)
            print(f"demo {task}: training {cfg.epochs} epochs into {run_dir}/ ...", flush=True)
            started = time.perf_counter()
            history = train(cfg, progress=not args.quiet)
            final = history[-1]
            # a language-model run (induction) is scored on the repeated segment, not on whole outputs
            score = (
                f"held-out in-context accuracy {final['in_context_accuracy']:.1%}"
                if "in_context_accuracy" in final
                else f"held-out exact-sequence accuracy {final['sequence_accuracy']:.1%}"
            )
            print(f"demo {task}: done in {time.perf_counter() - started:.0f} s, {score}", flush=True)
    except KeyboardInterrupt:
        print("\ninterrupted: finished runs are intact; rerun to train the rest.", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
