"""Checkpoints: round trip, every kind of bad file rejected with a reason, atomic saves."""

from __future__ import annotations

import os
import pickle
import shutil
from pathlib import Path
from typing import Any

import pytest
import torch

from attnviz.checkpoint import FORMAT_NAME, FORMAT_VERSION, CheckpointError, load_checkpoint, save_checkpoint
from attnviz.data import Vocab
from attnviz.model import ModelConfig, build_model
from attnviz.train import TrainConfig

from ..conftest import TinyRun


def test_round_trip(tiny_run: TinyRun, tmp_path: Path) -> None:
    ckpt = load_checkpoint(tiny_run.last)
    assert ckpt.task == "copy" and ckpt.epoch == tiny_run.config.epochs
    assert ckpt.vocab == Vocab.default()
    assert ckpt.metrics["sequence_accuracy"] == pytest.approx(tiny_run.history[-1]["sequence_accuracy"])
    assert ckpt.train["seed"] == 0 and ckpt.max_text_len == tiny_run.config.max_text_len
    model = ckpt.build_model()
    again = save_checkpoint(tmp_path / "again.pt", model, ckpt.vocab, ckpt.task, ckpt.epoch, ckpt.metrics, ckpt.train)
    reloaded = load_checkpoint(again)
    assert reloaded.config == ckpt.config
    for name, tensor in ckpt.state_dict.items():
        assert torch.equal(tensor, reloaded.state_dict[name]), name


# The ``train`` record as the version before TrainConfig held its ModelConfig wrote it: the model's
# fields repeated, the lengths named min_len / max_len (the input's; induction: the segment's).
OLD_RECORD: dict[str, Any] = {
    "task": "copy", "arch": "encoder-decoder", "epochs": 3, "save_dir": "checkpoints/copy", "seed": 7, "d_model": 16,
    "n_heads": 2, "n_layers": 1, "d_ff": 32, "dropout": 0.0, "lr": 0.005, "warmup_steps": 200, "batch_size": 64,
    "min_len": 2, "max_len": 9, "n_train": 12000, "n_eval": 500, "label_smoothing": 0.0, "threads": 1,
    "snapshot_every": 0, "seq_len": 32, "extra": {}, "max_text_len": 9,
}  # fmt: skip


@pytest.mark.parametrize("task", ["copy", "induction"])
def test_a_checkpoint_in_the_old_train_layout_loads_in_the_new_one(tmp_path: Path, task: str) -> None:
    vocab = Vocab.default()
    arch = "decoder" if task == "induction" else "encoder-decoder"
    config = ModelConfig(vocab_size=len(vocab), d_model=16, n_heads=2, n_layers=1, d_ff=32, dropout=0.0, arch=arch)
    old = {**OLD_RECORD, "task": task, "arch": arch}
    if task == "induction":  # the previous trainer recorded the sequence length as the text length
        old |= {"min_len": 4, "max_len": 12, "max_text_len": 32}
    torch.manual_seed(0)
    path = save_checkpoint(tmp_path / "old.pt", build_model(config), vocab, task, 3, {}, old)

    ckpt = load_checkpoint(path)
    assert not {"min_len", "max_len", "d_model", "arch", "extra"} & set(ckpt.train)  # the model is in the config alone
    if task == "induction":
        assert (ckpt.train["min_seg"], ckpt.train["max_seg"]) == (4, 12)
        assert (ckpt.train["min_text_len"], ckpt.max_text_len) == (32, 32)
    else:
        assert (ckpt.train["min_text_len"], ckpt.max_text_len) == (2, 9) and "min_seg" not in ckpt.train
    # the migrated record is a TrainConfig's, with the file's model: the same run, in today's names
    again = TrainConfig(model=ckpt.config, **ckpt.train)
    assert again.model.d_model == 16 and again.seed == 7
    assert {k: v for k, v in again.record().items() if k in ckpt.train} == ckpt.train
    assert ckpt.build_model().config == config


def _rejected(path: Path, *reason_words: str) -> str:
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    message = str(info.value)
    assert str(path) in message, message
    for word in reason_words:
        assert word in message.lower(), message
    return message


def test_random_bytes(tmp_path: Path) -> None:
    path = tmp_path / "noise.pt"
    path.write_bytes(os.urandom(4096))
    _rejected(path, "not a readable checkpoint")


def test_missing_file(tmp_path: Path) -> None:
    _rejected(tmp_path / "absent.pt", "no such file")


def test_plain_tensor(tmp_path: Path) -> None:
    path = tmp_path / "tensor.pt"
    torch.save(torch.zeros(3), path)
    _rejected(path, "not an attnviz checkpoint")


def test_dict_without_marker(tmp_path: Path) -> None:
    path = tmp_path / "dict.pt"
    torch.save({"state_dict": {"w": torch.zeros(2)}, "epoch": 1}, path)
    _rejected(path, "not an attnviz checkpoint", FORMAT_NAME)


def test_newer_version(tiny_run: TinyRun, tmp_path: Path) -> None:
    raw = torch.load(tiny_run.last, weights_only=True)
    raw["version"] = FORMAT_VERSION + 1
    path = tmp_path / "future.pt"
    torch.save(raw, path)
    _rejected(path, "newer", "upgrade")


def test_truncated(tiny_run: TinyRun, tmp_path: Path) -> None:
    data = tiny_run.last.read_bytes()
    path = tmp_path / "truncated.pt"
    path.write_bytes(data[: len(data) // 2])
    _rejected(path, "truncated or corrupt")


def test_weights_that_do_not_fit(tiny_run: TinyRun, tmp_path: Path) -> None:
    raw = torch.load(tiny_run.last, weights_only=True)
    raw["config"]["d_model"] = 64
    path = tmp_path / "misfit.pt"
    torch.save(raw, path)
    _rejected(path, "do not fit")


class _Sneaky:
    """Unpickling this would call ``reduce_fn(*args)``."""

    def __init__(self, reduce_fn: Any, args: tuple[Any, ...]) -> None:
        self.reduce = (reduce_fn, args)

    def __reduce__(self) -> tuple[Any, ...]:
        return self.reduce


@pytest.mark.parametrize("how", ["os.system", "open"])
def test_pickle_carrying_code_runs_nothing(tmp_path: Path, how: str) -> None:
    victim = tmp_path / "pwned.txt"
    payload = _Sneaky(os.system, (f"touch {victim}",)) if how == "os.system" else _Sneaky(open, (str(victim), "w"))
    path = tmp_path / "evil.pt"
    torch.save({"format": FORMAT_NAME, "version": 1, "config": payload}, path)
    _rejected(path, "refused")
    assert not victim.exists()
    # the same payload as a bare pickle file (not a torch zip) is refused too
    bare = tmp_path / "evil.pkl"
    bare.write_bytes(pickle.dumps(payload, protocol=2))
    _rejected(bare, "refused")
    assert not victim.exists()


class _Interrupt:
    """Pickling this raises, as a Ctrl-C in the middle of ``torch.save`` would."""

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    def __reduce__(self) -> tuple[Any, ...]:
        raise self.exc


@pytest.mark.parametrize("exc", [KeyboardInterrupt(), OSError("disk full")])
def test_interrupted_save_leaves_the_earlier_file_intact(tiny_run: TinyRun, tmp_path: Path, exc: BaseException) -> None:
    path = tmp_path / "ckpt_epoch1.pt"
    shutil.copy(tiny_run.last, path)
    before = path.read_bytes()
    ckpt = load_checkpoint(path)
    with pytest.raises(type(exc)):
        save_checkpoint(path, ckpt.build_model(), ckpt.vocab, "copy", 9, {}, {"boom": _Interrupt(exc)})
    assert path.read_bytes() == before
    assert load_checkpoint(path).epoch == ckpt.epoch
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt_epoch1.pt"]  # no temporary file left


def test_training_writes_one_file_per_epoch_and_no_temporaries(tiny_run: TinyRun) -> None:
    names = sorted(p.name for p in tiny_run.dir.iterdir())
    assert names == [f"ckpt_epoch{i}.pt" for i in range(1, tiny_run.config.epochs + 1)]
