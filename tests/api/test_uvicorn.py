"""The real server: ``python -m attnviz.server`` under uvicorn on a free loopback port."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_python_m_attnviz_server(trained_dir: Path, tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "attnviz.server", "--port", str(port), "--checkpoints", str(trained_dir)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        with httpx.Client(base_url=base, timeout=10) as client:
            while True:
                assert proc.poll() is None, log.read_text()
                try:
                    r = client.get("/api/health")
                    if r.status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "server did not start:\n" + log.read_text()
                time.sleep(0.2)
            assert r.json()["checkpoints"] == 3
            doc = client.post("/api/attention", json={"checkpoint": "copy/ckpt_epoch1.pt", "text": "hello world"})
            assert doc.status_code == 200 and doc.json()["input"] == "hello world"
            assert client.post("/api/attention", content=b"x" * 100_000).status_code == 413
            assert client.get("/docs").status_code == 200
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    assert f"http://127.0.0.1:{port}" in log.read_text()  # the URL is logged at startup
