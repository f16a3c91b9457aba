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
import inspect
import math
import random
import re
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import Field, asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal, get_args, get_origin, get_type_hints

import torch
import torch.nn.functional as F
from tqdm import tqdm

from .checkpoint import save_checkpoint
from .data import ALL_TASKS, LM_TASKS, Batch, Example, Vocab, induction_batch, make_loader, make_splits
from .model import Arch, ModelConfig, SmallDecoder, SmallTransformer, build_model


def task_arch(task: str) -> Arch:
    """The model a task trains: the decoder-only model for a language-model task (induction), else the encoder-decoder."""
    return "decoder" if task in LM_TASKS else "encoder-decoder"


def default_model() -> ModelConfig:
    """The model the trainer builds unless told otherwise: :class:`ModelConfig`'s shape with a narrower
    feed-forward (2 x d_model: 256 learned no better, and 40% slower) and no dropout (the toy data is
    unlimited: none needed)."""
    vocab = Vocab.default()
    return ModelConfig(vocab_size=len(vocab), pad_id=vocab.pad_id, d_ff=128, dropout=0.0)


DERIVED = ("vocab_size", "pad_id", "max_len")  # the model's fields the trainer sets, from its vocabulary and text length
MODEL_OPTIONS = tuple(f.name for f in fields(ModelConfig) if f.name not in DERIVED)

# The lengths are the encoder-decoder's (its input texts) or the induction task's (its sequences and
# their repeated segment); each kind has the options --min_len / --max_len of its own task.
TOY: dict[str, Any] = {"lm": False}
LM: dict[str, Any] = {"lm": True}


@dataclass
class TrainConfig:
    """Everything a training run depends on. Each checkpoint records it: the model in its ``config``,
    the rest in its ``train`` field. ``python -m attnviz.train`` has an option per field (the
    model's included, but for DERIVED), its help the field's comment."""

    task: str = field(default="copy", metadata={"choices": ALL_TASKS})  # the toy task (induction: the decoder-only model)
    epochs: int = 3  # passes over the training set; one checkpoint per epoch (3: the quick start's copy model, >= 99 % exact)
    save_dir: str = "checkpoints"  # directory for the checkpoints (a 'run'): ckpt_epoch{N}.pt files
    seed: int = 0  # seeds data, initialisation and shuffling: same seed, same weights
    model: ModelConfig = field(default_factory=default_model)  # the model; its arch must be the task's
    lr: float = 5e-3  # peak Adam learning rate (after warm-up); high, as the model is tiny
    warmup_steps: int = 200  # linear warm-up steps (section 5.3), then cosine decay to 10% of lr (50: copy 97 % at epoch 3)
    batch_size: int = 64  # sequences per step
    min_text_len: int = field(default=1, metadata=TOY | {"option": "min_len"})  # shortest training input (characters)
    max_text_len: int = field(default=16, metadata=TOY | {"option": "max_len"})  # longest training input (characters)
    n_train: int = 12000  # training examples per epoch (a fixed set): 3 x 12,000 costs what 4 x 9,000 did
    n_eval: int = 500  # held-out examples, none shared with training
    label_smoothing: float = 0.0  # section 5.4 uses 0.1; 0 learns toy tasks faster
    threads: int = 1  # torch CPU threads: 1 is fastest for a model this small, and 2 collapse when a core is busy
    snapshot_every: int = 0  # also write SAVE_DIR/snapshots/step{S}.pt every K optimizer steps (0: none)
    seq_len: int = field(default=32, metadata=LM)  # induction: characters per sequence (after <bos>)
    min_seg: int = field(default=5, metadata=LM | {"option": "min_len"})  # induction: shortest repeated segment
    max_seg: int = field(default=15, metadata=LM | {"option": "max_len"})  # induction: longest repeated segment

    def __post_init__(self) -> None:
        if self.task not in ALL_TASKS:
            raise ValueError(f"unknown task {self.task!r}; choose one of {', '.join(ALL_TASKS)}")
        if self.model.arch != task_arch(self.task):
            raise ValueError(f"task {self.task!r} needs the {task_arch(self.task)} arch")
        lm = self.task in LM_TASKS
        if lm:  # every induction sequence is seq_len characters: its texts' length, recorded for the service
            self.min_text_len = self.max_text_len = self.seq_len
        vocab = Vocab.default()
        # positions: the longest source or target (text + <eos>, <bos> + text; <bos> + sequence), with room to spare
        positions = max(128, self.max_text_len + (1 if lm else 16))
        self.model = replace(self.model, vocab_size=len(vocab), pad_id=vocab.pad_id, max_len=positions)

    @classmethod
    def for_task(cls, task: str, **values: Any) -> TrainConfig:
        """The defaults of ``task`` (induction has its own recipe, see INDUCTION_DEFAULTS), then
        ``values``: fields of TrainConfig or of its model (``d_model=32``), as on the command line."""
        values = {**(INDUCTION_DEFAULTS if task in LM_TASKS else {}), **values}
        shape = {name: values.pop(name) for name in MODEL_OPTIONS if name in values}
        shape.setdefault("arch", task_arch(task))
        return cls(task=task, model=replace(default_model(), **shape), **values)

    def record(self) -> dict[str, Any]:
        """What a checkpoint's ``train`` field holds: every field but the model (the file's ``config``)."""
        return {k: v for k, v in asdict(self).items() if k != "model"}


# The induction recipe (bench/NOTES.md "The induction head" lists what was tried): sequences of 32
# random letters with a segment of 5-15 repeated at once (the field defaults), loss on the
# predictable second-copy tokens only, fresh sequences every step. n_train is sequences per epoch
# (250 steps of 64). One head per layer: with more, every layer-2 head becomes an induction head and
# switching one off costs little.
INDUCTION_DEFAULTS: dict[str, Any] = {
    "n_heads": 1,  # one previous-token head (layer 1) feeding one induction head (layer 2)
    "epochs": 3,
    "lr": 3e-3,
    "warmup_steps": 200,
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
    torch.set_num_threads(cfg.threads)
    if cfg.model.arch == "decoder":
        return train_lm(cfg, progress, on_epoch, on_step, on_snapshot)
    vocab = Vocab.default()
    train_set, eval_set = make_splits(cfg.task, vocab, cfg.n_train, cfg.n_eval, cfg.min_text_len, cfg.max_text_len, cfg.seed)
    torch.manual_seed(cfg.seed)
    model = build_model(cfg.model)
    assert isinstance(model, SmallTransformer)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr, betas=(0.9, 0.98), eps=1e-9)
    loader = make_loader(train_set, vocab, cfg.batch_size, shuffle=True, seed=cfg.seed)
    total_steps = cfg.epochs * len(loader)
    save_dir = Path(cfg.save_dir)
    prepare_run_dir(save_dir)
    history: list[dict[str, float]] = []
    step = 0
    train_record = cfg.record()
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
    torch.manual_seed(cfg.seed)
    model = build_model(cfg.model)
    assert isinstance(model, SmallDecoder)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr, betas=(0.9, 0.98), eps=1e-9)
    rng = random.Random(cfg.seed)
    shape = (cfg.seq_len, cfg.min_seg, cfg.max_seg)  # sequence length, shortest and longest segment
    eval_batch = heldout_batch(vocab, cfg.n_eval, seq_len=cfg.seq_len, min_seg=cfg.min_seg, max_seg=cfg.max_seg)
    steps_per_epoch = -(-cfg.n_train // cfg.batch_size)
    total_steps = cfg.epochs * steps_per_epoch
    save_dir = Path(cfg.save_dir)
    prepare_run_dir(save_dir)
    train_record = cfg.record()
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


def _comments(cls: type) -> dict[str, str]:
    """Each field's comment in ``cls``'s source, the help of its option: what a field means is
    written once, beside it (an install without sources gets options without help)."""
    try:
        source = inspect.getsource(cls)
    except OSError:
        return {}
    return dict(re.findall(r"^    (\w+): [^#\n]*#\s*(.+)$", source, re.M))


def _options(task: str) -> Iterator[tuple[Field[Any], Any, str]]:
    """The command line's options for ``task``, as (field, type, help): TrainConfig's fields, its
    model's in place of ``model`` (but for DERIVED), and the lengths of ``task``'s kind only."""
    lm = task in LM_TASKS
    hints, helps = get_type_hints(TrainConfig), _comments(TrainConfig)
    model_hints, model_helps = get_type_hints(ModelConfig), _comments(ModelConfig)
    for f in fields(TrainConfig):
        if f.name == "model":
            for m in fields(ModelConfig):
                if m.name not in DERIVED:
                    yield m, model_hints[m.name], model_helps.get(m.name, "")
        elif f.metadata.get("lm", lm) == lm:
            yield f, hints[f.name], helps.get(f.name, "")


def parse_args(argv: list[str] | None = None) -> TrainConfig:
    parser = argparse.ArgumentParser(
        prog="python -m attnviz.train",
        description="Train the small Transformer on a toy task; writes SAVE_DIR/ckpt_epoch{N}.pt after each epoch.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    # the induction task has its own recipe and lengths: its defaults apply to every flag not given
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--task", default=TrainConfig.task)
    task = pre.parse_known_args(argv)[0].task
    defaults = TrainConfig.for_task(task if task in ALL_TASKS else TrainConfig.task)  # a bad --task: refused below
    for f, kind, help_text in _options(task):
        default = getattr(defaults.model if f.name in MODEL_OPTIONS else defaults, f.name)
        choices = f.metadata.get("choices") or (get_args(kind) if get_origin(kind) is Literal else None)
        option = f.metadata.get("option", f.name)
        parser.add_argument(
            f"--{option}",
            dest=f.name,
            metavar=None if choices else option.upper(),
            type=type(default),
            default=default,
            choices=choices,
            help=help_text.replace("%", "%%"),  # argparse formats help with %
        )
    args = vars(parser.parse_args(argv))
    task = args.pop("task")
    lm = task in LM_TASKS
    problems = []
    if args["arch"] != task_arch(task):
        problems.append(
            f"--task {task} needs --arch {task_arch(task)}"
            " (the induction task is the decoder-only model's; the others the encoder-decoder's)"
        )
    if lm and not 2 * args["min_seg"] <= args["seq_len"]:
        problems.append("--seq_len must hold the segment twice: --seq_len >= 2 * --min_len")
    if args["epochs"] < 1:
        problems.append("--epochs must be at least 1")
    if not 1 <= args["min_seg" if lm else "min_text_len"] <= args["max_seg" if lm else "max_text_len"]:
        problems.append("need 1 <= --min_len <= --max_len")
    try:  # the model's own check of its shape (d_model / n_heads)
        replace(defaults.model, **{name: args[name] for name in MODEL_OPTIONS})
    except ValueError as exc:
        problems.append(f"--{exc}")
    if args["snapshot_every"] < 0:
        problems.append("--snapshot_every must be 0 (none) or positive")
    if args["n_train"] < 1 or args["n_eval"] < 1 or args["batch_size"] < 1:
        problems.append("--n_train, --n_eval and --batch_size must be positive")
    if problems:
        parser.error("; ".join(problems))
    return TrainConfig.for_task(task, **args)


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
