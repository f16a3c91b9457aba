"""The demo runs the image ships: ``make demo`` (which the Dockerfile runs) calls ``attnviz demo``
(``python -m attnviz.demo``, then the pretrained demo model); the same code with tiny settings
(conftest.build_tiny_demo) gives runs that a real uvicorn server lists as copy, reverse, sort and induction,
each usable, with its own task."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
import pytest

from ..browser import Server
from .conftest import DEMO_TASKS, ROOT, tiny


def test_make_demo_runs_the_demo_module() -> None:
    r = subprocess.run(["make", "-n", "demo", "CHECKPOINTS=/x/ck"], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "bin/attnviz demo --checkpoints /x/ck" in r.stdout
    assert "make demo" in (ROOT / "Dockerfile").read_text(encoding="utf-8")


def test_server_lists_the_demo_runs(server: Server, demo_dir: Path) -> None:
    body = httpx.get(f"{server.url}/api/checkpoints", timeout=30).json()
    runs = {r["name"]: r for r in body["runs"]}
    assert sorted(runs) == sorted(DEMO_TASKS)
    for task in DEMO_TASKS:
        run = runs[task]
        assert run["task"] == task
        assert run["checkpoints"] and all(c["usable"] for c in run["checkpoints"]), run
        epochs = [c["epoch"] for c in run["checkpoints"]]
        assert epochs == list(range(1, len(epochs) + 1))
        assert [p.name for p in sorted((demo_dir / task).glob("*.pt"))] == [c["name"].split("/")[-1] for c in run["checkpoints"]]
    doc = httpx.post(f"{server.url}/api/attention", json={"checkpoint": "sort/ckpt_epoch1.pt", "text": "banana"}, timeout=30)
    assert doc.status_code == 200, doc.text
    assert doc.json()["expected"] == "aaabnn"


def test_demo_epochs_and_rerun(demo_dir: Path) -> None:
    """Each run has as many epochs as DEMO_RUNS says (so the lesson's run links open that epoch), and a
    second ``make demo`` trains nothing (the image build and ``make run`` rely on it)."""
    demo = pytest.importorskip("attnviz.demo", reason="attnviz.demo is not on this branch yet")
    for task in DEMO_TASKS:
        assert len(list((demo_dir / task).glob("*.pt"))) == demo.DEMO_RUNS[task].epochs
    before = {p: p.stat().st_mtime_ns for p in demo_dir.rglob("*.pt")}
    saved = dict(demo.DEMO_RUNS)
    demo.DEMO_RUNS.update({task: tiny(cfg) for task, cfg in saved.items()})  # seconds, should it retrain
    try:
        assert demo.main(["--checkpoints", str(demo_dir), "--quiet"]) == 0
    finally:
        demo.DEMO_RUNS.update(saved)
    assert {p: p.stat().st_mtime_ns for p in demo_dir.rglob("*.pt")} == before
