"""Train a :class:`SmallTransformer` on a toy task and save a checkpoint after every epoch::

    python -m attnviz.train --epochs 3 --save_dir checkpoints            # copy, the default
    python -m attnviz.train --task reverse --epochs 5 --save_dir checkpoints/reverse

After each epoch the model is scored on a held-out set (no input string shared with training):
token accuracy (teacher-forced next-token predictions) and exact-sequence accuracy (greedy
decoding reproduces the whole target), and ``SAVE_DIR/ckpt_epoch{N}.pt`` is written atomically
with those metrics. ``--snapshot_every K`` also writes ``SAVE_DIR/snapshots/step{S}.pt`` (the
same checkpoint format, with ``step`` recorded) before the first step and after every K optimizer
steps, so the timeline and the live view can show attention forming between epochs. The same seed
gives the same weights. The decoder-only model learns the in-context copying task (``induction``, see
:mod:`attnviz.induction`)::

    python -m attnviz.train --arch decoder --task induction --save_dir checkpoints/induction

Its sequences are drawn fresh for every step (an epoch is ``n_train`` sequences); each epoch and
snapshot records the held-out in-context accuracy and the best heads' induction and
previous-token scores. Ctrl-C stops cleanly: every checkpoint already written stays intact, and
the epoch in progress is not saved. At start the trainer deletes the temporary files a killed save
left behind in SAVE_DIR, and the previous run's snapshots there.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from tqdm import tqdm

from .checkpoint import save_checkpoint
from .data import ALL_TASKS, LM_TASKS, Batch, Example, Vocab, induction_batch, make_loader, make_splits
from .model import ModelConfig, SmallDecoder, SmallTransformer, head_dim


@dataclass
class TrainConfig:
    """Everything a training run depends on (recorded in each checkpoint's ``train`` field)."""

    task: str = "copy"  # copy | reverse | sort | shift | swap; induction (decoder-only)
    arch: str = ""  # "encoder-decoder" or "decoder"; empty: the task's (induction: decoder)
    epochs: int = 3  # passes over the training set; one checkpoint per epoch (3: the quick start's copy model, >= 99 % exact)
    save_dir: str = "checkpoints"  # where ckpt_epoch{N}.pt files go
    seed: int = 0  # seeds data, initialisation and shuffling: same seed, same weights
    d_model: int = 64  # model width
    n_heads: int = 4  # attention heads per module
    n_layers: int = 2  # encoder layers and decoder layers (each)
    d_ff: int = 128  # feed-forward inner width (2 x d_model: 256 learned no better, and 40% slower)
    dropout: float = 0.0  # dropout on sub-layer outputs (the toy data is unlimited: none needed)
    lr: float = 5e-3  # peak Adam learning rate (after warm-up); high, as the model is tiny
    warmup_steps: int = 200  # linear warm-up steps (section 5.3), then cosine decay to 10% of lr (50: copy 97 % at epoch 3)
    batch_size: int = 64  # sequences per step
    min_len: int = 1  # shortest training input (characters)
    max_len: int = 16  # longest training input (characters)
    n_train: int = 12000  # training examples per epoch (a fixed set): 3 x 12,000 costs what 4 x 9,000 did
    n_eval: int = 500  # held-out examples, none shared with training
    label_smoothing: float = 0.0  # section 5.4 uses 0.1; 0 learns toy tasks faster
    threads: int = 1  # torch CPU threads: 1 is fastest for a model this small, and 2 collapse when a core is busy
    snapshot_every: int = 0  # write snapshots/step{S}.pt every K optimizer steps (0: none)
    seq_len: int = 32  # induction: characters per sequence (after <bos>)
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.arch:
            self.arch = "decoder" if self.task in LM_TASKS else "encoder-decoder"

    @classmethod
    def for_task(cls, task: str, **overrides: Any) -> TrainConfig:
        """The defaults of ``task`` (induction has its own recipe, see INDUCTION_DEFAULTS), then ``overrides``."""
        return cls(task=task, **{**(INDUCTION_DEFAULTS if task in LM_TASKS else {}), **overrides})


# The induction recipe (bench/NOTES.md "The induction head" lists what was tried): sequences of 32
# random letters with a segment of 5-15 repeated at once, loss on the predictable second-copy tokens
# only, fresh sequences every step. n_train is sequences per epoch (250 steps of 64). One head per
# layer: with more, every layer-2 head becomes an induction head and switching one off costs little.
INDUCTION_DEFAULTS: dict[str, Any] = {
    "n_heads": 1,  # one previous-token head (layer 1) feeding one induction head (layer 2)
    "epochs": 3,
    "lr": 3e-3,
    "warmup_steps": 200,
    "min_len": 5,  # shortest repeated segment
    "max_len": 15,  # longest repeated segment
    "n_train": 16000,
    "n_eval": 512,
}


EpochCallback = Callable[[int, dict[str, float], Path], None]
StepCallback = Callable[[int, int, float, float], None]  # (step, epoch, loss, accuracy); may raise to stop
SnapshotCallback = Callable[[int, int, Path], None]  # (step, epoch, path)

SNAPSHOT_DIR = "snapshots"
_TEMP_GLOB = ".*.pt.*.tmp"  # what save_checkpoint's mkstemp names look like


def snapshot_path(save_dir: str | Path, step: int) -> Path:
    """``SAVE_DIR/snapshots/step{S:06d}.pt``: zero-padded so names sort by step."""
    return Path(save_dir) / SNAPSHOT_DIR / f"step{step:06d}.pt"


def prepare_run_dir(save_dir: str | Path) -> list[Path]:
    """Delete the temporary files of saves that were killed mid-write, and the previous run's
    snapshots (they would mix with this run's in the timeline); return what was removed."""
    root = Path(save_dir)
    removed: list[Path] = []
    for folder in (root, root / SNAPSHOT_DIR):
        if not folder.is_dir():
            continue
        stale = list(folder.glob(_TEMP_GLOB))
        if folder.name == SNAPSHOT_DIR:
            stale += list(folder.glob("step*.pt"))
        for path in stale:
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def build_model(cfg: TrainConfig, vocab: Vocab) -> SmallTransformer | SmallDecoder:
    torch.manual_seed(cfg.seed)
    if cfg.arch == "decoder":
        return SmallDecoder(
            ModelConfig(
                vocab_size=len(vocab),
                d_model=cfg.d_model,
                n_heads=cfg.n_heads,
                n_layers=cfg.n_layers,
                d_ff=cfg.d_ff,
                dropout=cfg.dropout,
                max_len=max(128, cfg.seq_len + 1),
                pad_id=vocab.pad_id,
                arch="decoder",
            )
        )
    config = ModelConfig(
        vocab_size=len(vocab),
        d_model=cfg.d_model,
        n_heads=cfg.n_heads,
        n_layers=cfg.n_layers,
        d_ff=cfg.d_ff,
        dropout=cfg.dropout,
        max_len=max(128, cfg.max_len + 16),
        pad_id=vocab.pad_id,
    )
    return SmallTransformer(config)


def loss_fn(logits: torch.Tensor, batch: Batch, vocab: Vocab, label_smoothing: float = 0.0) -> torch.Tensor:
    """Cross-entropy of the next-token predictions, padding ignored."""
    return F.cross_entropy(
        logits.reshape(-1, logits.size(-1)),  # (B·T_t, vocab)
        batch.tgt_out.reshape(-1),  # (B·T_t,)
        ignore_index=vocab.pad_id,
        label_smoothing=label_smoothing,
    )


@torch.no_grad()
def evaluate(model: SmallTransformer, examples: list[Example], vocab: Vocab, batch_size: int = 256) -> dict[str, float]:
    """Held-out loss, token accuracy (teacher forced) and exact-sequence accuracy (greedy)."""
    model.eval()
    total_loss = total_tokens = correct_tokens = exact = 0.0
    for batch in make_loader(examples, vocab, batch_size, shuffle=False):
        logits, _ = model(batch.src, batch.tgt_in)  # (B, T_t, vocab)
        real = batch.tgt_out != vocab.pad_id  # (B, T_t)
        n = float(real.sum())
        total_loss += float(loss_fn(logits, batch, vocab)) * n
        total_tokens += n
        correct_tokens += float(((logits.argmax(-1) == batch.tgt_out) & real).sum())
        max_new = batch.tgt_out.size(1)
        decoded = model.greedy_decode(batch.src, max_new, vocab.bos_id, vocab.eos_id)[:, 1:]  # (B, ≤ T_t)
        width = batch.tgt_out.size(1)
        if decoded.size(1) < width:
            decoded = F.pad(decoded, (0, width - decoded.size(1)), value=vocab.pad_id)
        same = (decoded[:, :width] == batch.tgt_out) | ~real  # padding positions don't count
        exact += float(same.all(dim=1).sum())
    return {
        "loss": total_loss / max(total_tokens, 1.0),
        "token_accuracy": correct_tokens / max(total_tokens, 1.0),
        "sequence_accuracy": exact / max(len(examples), 1),
    }


def lr_at(step: int, total: int, cfg: TrainConfig) -> float:
    """Linear warm-up, then cosine decay to 10% of the peak."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    progress = (step - cfg.warmup_steps) / max(1, total - cfg.warmup_steps)
    return cfg.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


def train(
    cfg: TrainConfig,
    progress: bool = True,
    on_epoch: EpochCallback | None = None,
    on_step: StepCallback | None = None,
    on_snapshot: SnapshotCallback | None = None,
) -> list[dict[str, float]]:
    """Train, evaluate and checkpoint every epoch (and snapshot every ``cfg.snapshot_every`` steps);
    return each epoch's metrics. An exception raised by a callback stops training; every file
    already written stays intact."""
    if cfg.task not in ALL_TASKS:
        raise ValueError(f"unknown task {cfg.task!r}; choose one of {', '.join(ALL_TASKS)}")
    if (cfg.task in LM_TASKS) != (cfg.arch == "decoder"):
        raise ValueError(f"task {cfg.task!r} needs the {'decoder' if cfg.task in LM_TASKS else 'encoder-decoder'} arch")
    torch.set_num_threads(cfg.threads)
    if cfg.arch == "decoder":
        return train_lm(cfg, progress, on_epoch, on_step, on_snapshot)
    vocab = Vocab.default()
    train_set, eval_set = make_splits(cfg.task, vocab, cfg.n_train, cfg.n_eval, cfg.min_len, cfg.max_len, cfg.seed)
    model = build_model(cfg, vocab)
    assert isinstance(model, SmallTransformer)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr, betas=(0.9, 0.98), eps=1e-9)
    loader = make_loader(train_set, vocab, cfg.batch_size, shuffle=True, seed=cfg.seed)
    total_steps = cfg.epochs * len(loader)
    save_dir = Path(cfg.save_dir)
    prepare_run_dir(save_dir)
    history: list[dict[str, float]] = []
    step = 0
    train_record = {**asdict(cfg), "max_text_len": cfg.max_len}
    steps_per_epoch = len(loader)

    def snapshot(epochs_done: int, loss: float | None, acc: float | None) -> None:
        metrics = {"epoch_progress": step / steps_per_epoch}
        if loss is not None and acc is not None:
            metrics |= {"train_loss": loss, "train_accuracy": acc}
        path = save_checkpoint(
            snapshot_path(save_dir, step), model, vocab, cfg.task, epochs_done, metrics, train_record, step=step
        )
        if on_snapshot is not None:
            on_snapshot(step, epochs_done, path)

    if cfg.snapshot_every > 0:
        snapshot(0, None, None)  # the untrained model: where the pattern starts from
    for epoch in range(1, cfg.epochs + 1):
        model.train()
        started = time.perf_counter()
        # disable=None: no bar when stderr is not a terminal (CI, docker build, a log file), whose
        # logs a bar floods with a line per refresh; the per-epoch summary below is still written
        bar = tqdm(
            loader,
            desc=f"{cfg.task} epoch {epoch}/{cfg.epochs}",
            disable=None if progress else True,
            leave=True,
            dynamic_ncols=True,
        )
        running_loss = running_acc = 0.0
        for batch in bar:
            for group in optimizer.param_groups:
                group["lr"] = lr_at(step, total_steps, cfg)
            logits, _ = model(batch.src, batch.tgt_in)  # (B, T_t, vocab)
            loss = loss_fn(logits, batch, vocab, cfg.label_smoothing)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            step += 1
            with torch.no_grad():
                real = batch.tgt_out != vocab.pad_id
                acc = float(((logits.argmax(-1) == batch.tgt_out) & real).sum() / real.sum())
            loss_value = loss.item()
            running_loss = 0.9 * running_loss + 0.1 * loss_value if step > 1 else loss_value
            running_acc = 0.9 * running_acc + 0.1 * acc if step > 1 else acc
            bar.set_postfix(loss=f"{running_loss:.3f}", acc=f"{running_acc:.1%}")
            if on_step is not None:
                on_step(step, epoch, loss_value, acc)
            if cfg.snapshot_every > 0 and step % cfg.snapshot_every == 0:
                snapshot(epoch - 1, running_loss, running_acc)
        metrics = evaluate(model, eval_set, vocab)
        metrics["train_loss"] = running_loss
        metrics["epoch_seconds"] = time.perf_counter() - started
        path = save_checkpoint(
            save_dir / f"ckpt_epoch{epoch}.pt", model, vocab, cfg.task, epoch, metrics, train_record, step=step
        )
        history.append(metrics)
        if progress:
            tqdm.write(
                f"epoch {epoch}: held-out loss {metrics['loss']:.4f}, token accuracy {metrics['token_accuracy']:.2%}, "
                f"exact-sequence accuracy {metrics['sequence_accuracy']:.2%} -> {path}"
            )
        if on_epoch is not None:
            on_epoch(epoch, metrics, path)
    return history


def train_lm(
    cfg: TrainConfig,
    progress: bool = True,
    on_epoch: EpochCallback | None = None,
    on_step: StepCallback | None = None,
    on_snapshot: SnapshotCallback | None = None,
) -> list[dict[str, float]]:
    """:func:`train` for the decoder-only model on a language-model task (induction): next-token
    loss on the predictable tokens, fresh seeded sequences every step, the held-out induction
    metrics (:func:`attnviz.induction.evaluate_induction`) at every epoch and snapshot."""
    from .induction import heldout_batch, induction_metrics

    vocab = Vocab.default()
    model = build_model(cfg, vocab)
    assert isinstance(model, SmallDecoder)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr, betas=(0.9, 0.98), eps=1e-9)
    rng = random.Random(cfg.seed)
    shape = (cfg.seq_len, cfg.min_len, cfg.max_len)  # sequence length, shortest and longest segment
    eval_batch = heldout_batch(vocab, cfg.n_eval, seq_len=cfg.seq_len, min_seg=cfg.min_len, max_seg=cfg.max_len)
    steps_per_epoch = -(-cfg.n_train // cfg.batch_size)
    total_steps = cfg.epochs * steps_per_epoch
    save_dir = Path(cfg.save_dir)
    prepare_run_dir(save_dir)
    train_record = {**asdict(cfg), "max_text_len": cfg.seq_len}
    history: list[dict[str, float]] = []
    step = 0
    running_loss = running_acc = 0.0

    def snapshot(epochs_done: int) -> None:
        metrics = {"epoch_progress": step / steps_per_epoch, **induction_metrics(model, eval_batch)}
        if step > 0:
            metrics |= {"train_loss": running_loss, "train_accuracy": running_acc}
        path = save_checkpoint(
            snapshot_path(save_dir, step), model, vocab, cfg.task, epochs_done, metrics, train_record, step=step
        )
        if on_snapshot is not None:
            on_snapshot(step, epochs_done, path)

    if cfg.snapshot_every > 0:
        snapshot(0)
    for epoch in range(1, cfg.epochs + 1):
        model.train()
        started = time.perf_counter()
        bar = tqdm(range(steps_per_epoch), desc=f"{cfg.task} epoch {epoch}/{cfg.epochs}", disable=None if progress else True)
        for _ in bar:
            for group in optimizer.param_groups:
                group["lr"] = lr_at(step, total_steps, cfg)
            batch = induction_batch(cfg.batch_size, vocab, rng, *shape)
            logits, _ = model(batch.ids[:, :-1])  # (B, T, vocab): position t predicts ids[t + 1]
            targets = batch.ids[:, 1:][batch.target_mask]
            loss = F.cross_entropy(logits[batch.target_mask], targets, label_smoothing=cfg.label_smoothing)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            step += 1
            with torch.no_grad():
                acc = float((logits[batch.target_mask].argmax(-1) == targets).float().mean())
            loss_value = loss.item()
            running_loss = 0.9 * running_loss + 0.1 * loss_value if step > 1 else loss_value
            running_acc = 0.9 * running_acc + 0.1 * acc if step > 1 else acc
            bar.set_postfix(loss=f"{running_loss:.3f}", acc=f"{running_acc:.1%}")
            if on_step is not None:
                on_step(step, epoch, loss_value, acc)
            if cfg.snapshot_every > 0 and step % cfg.snapshot_every == 0:
                snapshot(epoch - 1)
        metrics = induction_metrics(model, eval_batch)
        metrics["train_loss"] = running_loss
        metrics["epoch_seconds"] = time.perf_counter() - started
        path = save_checkpoint(
            save_dir / f"ckpt_epoch{epoch}.pt", model, vocab, cfg.task, epoch, metrics, train_record, step=step
        )
        history.append(metrics)
        if progress:
            tqdm.write(
                f"epoch {epoch}: held-out in-context accuracy {metrics['in_context_accuracy']:.2%}, best induction "
                f"score {metrics['best_induction']:.2f} (layer 2+), best previous-token score "
                f"{metrics['best_previous_token']:.2f} (layer 1) -> {path}"
            )
        if on_epoch is not None:
            on_epoch(epoch, metrics, path)
    return history


def parse_args(argv: list[str] | None = None) -> TrainConfig:
    defaults = TrainConfig()
    parser = argparse.ArgumentParser(
        prog="python -m attnviz.train",
        description="Train the small Transformer on a toy task; writes SAVE_DIR/ckpt_epoch{N}.pt after each epoch.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--task", choices=ALL_TASKS, default=defaults.task, help="the toy task (induction: --arch decoder)")
    parser.add_argument(
        "--arch",
        choices=("encoder-decoder", "decoder"),
        default="",
        help="the model: the encoder-decoder, or the decoder-only model (the induction task's); default: the task's",
    )
    parser.add_argument("--epochs", type=int, default=defaults.epochs)
    parser.add_argument("--save_dir", default=defaults.save_dir, help="directory for the checkpoints (a 'run')")
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--d_model", type=int, default=defaults.d_model)
    parser.add_argument("--n_heads", type=int, default=defaults.n_heads)
    parser.add_argument("--n_layers", type=int, default=defaults.n_layers)
    parser.add_argument("--d_ff", type=int, default=defaults.d_ff)
    parser.add_argument("--dropout", type=float, default=defaults.dropout)
    parser.add_argument("--lr", type=float, default=defaults.lr)
    parser.add_argument("--warmup_steps", type=int, default=defaults.warmup_steps)
    parser.add_argument("--batch_size", type=int, default=defaults.batch_size)
    parser.add_argument(
        "--min_len", type=int, default=defaults.min_len, help="shortest training input (induction: shortest repeated segment)"
    )
    parser.add_argument(
        "--max_len",
        type=int,
        default=defaults.max_len,
        help="longest training input in characters (induction: longest repeated segment)",
    )
    parser.add_argument("--n_train", type=int, default=defaults.n_train)
    parser.add_argument("--n_eval", type=int, default=defaults.n_eval)
    parser.add_argument("--label_smoothing", type=float, default=defaults.label_smoothing)
    parser.add_argument("--threads", type=int, default=defaults.threads, help="torch CPU threads")
    parser.add_argument(
        "--snapshot_every",
        type=int,
        default=defaults.snapshot_every,
        help="also write SAVE_DIR/snapshots/step{S}.pt every K optimizer steps (0: none)",
    )
    # the induction task has its own recipe: its defaults apply to every flag not given
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--task", default=defaults.task)
    task = pre.parse_known_args(argv)[0].task
    if task in LM_TASKS:
        parser.set_defaults(**INDUCTION_DEFAULTS)
    args = parser.parse_args(argv)
    cfg = TrainConfig(**vars(args))
    problems = []
    if (cfg.task in LM_TASKS) != (cfg.arch == "decoder"):
        problems.append(
            f"--task {cfg.task} needs --arch {'decoder' if cfg.task in LM_TASKS else 'encoder-decoder'}"
            " (the induction task is the decoder-only model's; the others the encoder-decoder's)"
        )
    if cfg.task in LM_TASKS and not 2 * cfg.min_len <= cfg.seq_len:
        problems.append("--seq_len must hold the segment twice: --seq_len >= 2 * --min_len")
    if cfg.epochs < 1:
        problems.append("--epochs must be at least 1")
    if not 1 <= cfg.min_len <= cfg.max_len:
        problems.append("need 1 <= --min_len <= --max_len")
    try:
        head_dim(cfg.d_model, cfg.n_heads)
    except ValueError as exc:
        problems.append(f"--{exc}")
    if cfg.snapshot_every < 0:
        problems.append("--snapshot_every must be 0 (none) or positive")
    if cfg.n_train < 1 or cfg.n_eval < 1 or cfg.batch_size < 1:
        problems.append("--n_train, --n_eval and --batch_size must be positive")
    if problems:
        parser.error("; ".join(problems))
    return cfg


def main(argv: list[str] | None = None) -> int:
    cfg = parse_args(argv)
    try:
        train(cfg)
    except KeyboardInterrupt:
        print("\ninterrupted: checkpoints already written are intact; the epoch in progress was not saved.", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
