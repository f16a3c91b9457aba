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
