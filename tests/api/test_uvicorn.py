"""The real server: ``python -m attnviz.server`` under uvicorn on a free loopback port."""

from __future__ import annotations

from pathlib import Path

import httpx

from ..live_server import serve


def test_python_m_attnviz_server(trained_dir: Path, tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    with serve(trained_dir, log) as base, httpx.Client(base_url=base, timeout=10) as client:
        assert client.get("/api/health").json()["checkpoints"] == 3
        doc = client.post("/api/attention", json={"checkpoint": "copy/ckpt_epoch1.pt", "text": "hello world"})
        assert doc.status_code == 200 and doc.json()["input"] == "hello world"
        assert client.post("/api/attention", content=b"x" * 300_000).status_code == 413
        assert client.get("/docs").status_code == 200
    assert base in log.read_text()  # the URL is logged at startup
