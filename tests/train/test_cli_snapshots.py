"""The CLI trainer's intermediate snapshots and its clean-up of a killed save's leftovers (real runs)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from attnviz.checkpoint import load_checkpoint
from attnviz.train import parse_args, snapshot_path, train

from ..tiny_train import tiny_train_config


def test_snapshots_are_checkpoints_with_their_step(tmp_path: Path) -> None:
    cfg = tiny_train_config("copy", tmp_path, epochs=2, snapshot_every=4)  # 300 examples / 32 = 10 steps an epoch
    seen: list[tuple[int, int, Path]] = []
    train(cfg, progress=False, on_snapshot=lambda step, epoch, path: seen.append((step, epoch, path)))
    steps = [s for s, _, _ in seen]
    assert steps == [0, 4, 8, 12, 16, 20]
    files = sorted((tmp_path / "snapshots").glob("*.pt"))
    assert files == [snapshot_path(tmp_path, s) for s in steps]  # zero-padded: sorted by name = by step
    for step, epoch, path in seen:
        ckpt = load_checkpoint(path)  # the ordinary format: usable with /api/attention and the timeline
        assert (ckpt.step, ckpt.epoch) == (step, epoch)
        assert epoch == (step - 1) // 10 if step else epoch == 0
    last = load_checkpoint(tmp_path / "ckpt_epoch2.pt")
    assert last.step == 20
    snap = load_checkpoint(snapshot_path(tmp_path, 20))
    assert all(torch.equal(snap.state_dict[k], last.state_dict[k]) for k in last.state_dict)  # same weights at step 20
    first = load_checkpoint(snapshot_path(tmp_path, 0))
    assert not all(torch.equal(first.state_dict[k], last.state_dict[k]) for k in last.state_dict)


def test_snapshots_do_not_change_the_weights(tmp_path: Path) -> None:
    train(tiny_train_config("copy", tmp_path / "plain", epochs=1), progress=False)
    train(tiny_train_config("copy", tmp_path / "snap", epochs=1, snapshot_every=3), progress=False)
    a = load_checkpoint(tmp_path / "plain" / "ckpt_epoch1.pt").state_dict
    b = load_checkpoint(tmp_path / "snap" / "ckpt_epoch1.pt").state_dict
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_start_removes_orphan_temp_files_and_old_snapshots(tmp_path: Path) -> None:
    (tmp_path / "snapshots").mkdir(parents=True)
    orphans = [tmp_path / ".ckpt_epoch1.pt.k2j3h4.tmp", tmp_path / "snapshots" / ".step000040.pt.zz9.tmp"]
    stale = tmp_path / "snapshots" / "step009999.pt"
    kept = [tmp_path / "notes.txt", tmp_path / ".gitkeep", tmp_path / "snapshots" / "README"]
    for p in [*orphans, stale, *kept]:
        p.write_bytes(b"half a checkpoint")
    train(tiny_train_config("copy", tmp_path, epochs=1, snapshot_every=5), progress=False)
    assert not any(p.exists() for p in orphans)
    assert not stale.exists()  # the previous run's snapshots would mix into this run's timeline
    assert all(p.read_bytes() == b"half a checkpoint" for p in kept)
    assert sorted(p.name for p in (tmp_path / "snapshots").glob("*.pt")) == ["step000000.pt", "step000005.pt", "step000010.pt"]


def test_cli_flag(capsys: pytest.CaptureFixture[str]) -> None:
    assert parse_args(["--snapshot_every", "25"]).snapshot_every == 25
    assert parse_args([]).snapshot_every == 0
    with pytest.raises(SystemExit):
        parse_args(["--snapshot_every", "-1"])
    assert "--snapshot_every must be 0" in capsys.readouterr().err
