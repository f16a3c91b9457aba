"""Runs mounted one level down, as docker-compose mounts the host's ./checkpoints at
``checkpoints/local`` (read-only): ``local/<run>/ckpt_epochN.pt`` is listed as run ``local/<run>``
next to the demo runs, and can be run by name."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

from fastapi.testclient import TestClient

from attnviz.checkpoint import load_checkpoint, save_checkpoint

from .conftest import make_app


def _read_only(tree: Path) -> None:
    for dirpath, _dirs, files in os.walk(tree):
        for f in files:
            os.chmod(Path(dirpath) / f, stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
        os.chmod(dirpath, stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)


def test_nested_local_runs_are_listed_and_runnable(trained_dir: Path, tmp_path: Path) -> None:
    root = tmp_path / "checkpoints"
    shutil.copytree(trained_dir / "copy", root / "copy")  # a demo run baked into the image
    shutil.copytree(trained_dir / "copy", root / "local" / "myrun")  # ./checkpoints/myrun on the host
    shutil.copytree(trained_dir / "reverse", root / "local" / "reverse")  # a host run named like a demo
    _read_only(root / "local")
    try:
        with TestClient(make_app(root)) as client:
            body = client.get("/api/checkpoints").json()
            runs = {r["name"]: r for r in body["runs"]}
            assert sorted(runs) == ["copy", "local/myrun", "local/reverse"]
            mine = runs["local/myrun"]
            assert mine["task"] == "copy"
            assert [c["name"] for c in mine["checkpoints"]] == ["local/myrun/ckpt_epoch1.pt", "local/myrun/ckpt_epoch2.pt"]
            assert all(c["usable"] and c["run"] == "local/myrun" for c in mine["checkpoints"])
            assert runs["local/reverse"]["task"] == "reverse"
            assert client.get("/api/health").json()["checkpoints"] == 5

            r = client.post("/api/attention", json={"checkpoint": "local/myrun/ckpt_epoch2.pt", "text": "abc"})
            assert r.status_code == 200, r.text
            assert r.json()["checkpoint"] == "local/myrun/ckpt_epoch2.pt"
            timeline = client.post("/api/timeline", json={"run": "local/myrun", "text": "abc"})
            assert timeline.status_code == 200, timeline.text
            assert [e["checkpoint"] for e in timeline.json()["epochs"]] == [c["name"] for c in mine["checkpoints"]]
    finally:
        for dirpath, _dirs, _files in os.walk(root):
            os.chmod(dirpath, 0o755)


def test_saved_checkpoints_are_readable_by_other_users(trained_dir: Path, tmp_path: Path) -> None:
    """The container runs as uid 10001; a run the teacher trained on the host (another uid) must be
    readable through the mount, so checkpoints get open()'s usual mode, not mkstemp's 0600."""
    ckpt = load_checkpoint(trained_dir / "copy" / "ckpt_epoch1.pt")
    old = os.umask(0o022)
    try:
        path = save_checkpoint(tmp_path / "run" / "ckpt_epoch1.pt", ckpt.build_model(), ckpt.vocab, "copy", 1, {})
        assert stat.S_IMODE(path.stat().st_mode) == 0o644
        os.umask(0o077)  # a user who wants private files still gets them
        path = save_checkpoint(tmp_path / "run" / "ckpt_epoch2.pt", ckpt.build_model(), ckpt.vocab, "copy", 2, {})
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    finally:
        os.umask(old)
