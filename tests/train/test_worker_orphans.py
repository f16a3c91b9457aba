"""A server killed while its spare training worker is still starting leaves no worker behind: the
worker is told the server's pid, so it does not mistake init (the orphan's new parent) for it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from ..live_server import REPO, free_port
from .conftest import TRAIN_ENV


def children_of(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.add(int(entry.name))
    return found


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text(errors="replace")
    except OSError:
        return ""


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_a_server_killed_while_its_worker_starts_leaves_no_worker(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, **TRAIN_ENV, "PYTHONPATH": str(REPO / "backend")}
    cmd = [sys.executable, "-m", "attnviz.server", "--port", str(port), "--checkpoints", str(tmp_path), "--no-access-log"]
    with (tmp_path / "server.log").open("wb") as log:
        server = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
    try:
        deadline = time.monotonic() + 60
        while True:  # polling the server's readiness
            assert server.poll() is None and time.monotonic() < deadline, (tmp_path / "server.log").read_text()
            try:
                limits = httpx.get(f"http://127.0.0.1:{port}/api/train/limits", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert limits.status_code == 200 and limits.json()["allowed"] is True
        # asking for the limits starts a spare worker; it is still importing torch when the server dies
        deadline = time.monotonic() + 10
        while not (workers := children_of(server.pid) - {server.pid}):
            assert time.monotonic() < deadline, "no worker process was started"
            time.sleep(0.02)
        assert limits.json()["worker_ready"] is False
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=10)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    deadline = time.monotonic() + 30
    while left := [p for p in workers if alive(p)]:
        if time.monotonic() > deadline:
            for p in left:
                os.kill(p, signal.SIGKILL)
            raise AssertionError(f"worker processes {left} outlived their server")
        time.sleep(0.1)


def test_a_server_stopped_after_a_job_leaks_no_semaphores(tmp_path: Path) -> None:
    """SIGTERM (docker stop, systemd, Ctrl-C in some shells) after a finished job: the workers end
    and their queues' named semaphores are released, so the resource tracker logs no leak."""
    from ..live_server import serve

    log = tmp_path / "server.log"
    with serve(tmp_path / "ckpts", log, env=TRAIN_ENV) as base:
        spec = {"task": "copy", "epochs": 1, "n_layers": 1, "n_heads": 2, "d_model": 16}
        job = httpx.post(f"{base}/api/train", json=spec, timeout=30).json()["id"]
        deadline = time.monotonic() + 120
        while (state := httpx.get(f"{base}/api/train/{job}", timeout=5).json()["state"]) not in ("done", "failed"):
            assert time.monotonic() < deadline, state
            time.sleep(0.2)  # polling the job's state
        assert state == "done"
        port = base.rsplit(":", 1)[1]
        server = next(p for p in children_of(os.getpid()) if f"--port\x00{port}\x00" in cmdline(p))
        trackers = [p for p in children_of(server) if "resource_tracker" in cmdline(p)]
        assert trackers, "the server runs no resource tracker: nothing would report a leak"
    # serve() ends the server with SIGTERM; its resource tracker writes any warning as it exits
    deadline = time.monotonic() + 30
    while any(alive(p) for p in trackers):
        assert time.monotonic() < deadline, "the resource tracker outlived its server"
        time.sleep(0.1)
    text = log.read_text(errors="replace")
    assert "Application shutdown complete" in text
    assert "leaked semaphore" not in text, text[-2000:]
