"""Settings from the environment, CORS, and the command line."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from attnviz import cli
from attnviz.server import Settings

from .conftest import make_app


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ATTNVIZ_CHECKPOINT_DIR", str(tmp_path))
    monkeypatch.setenv("ATTNVIZ_PORT", "8123")
    monkeypatch.setenv("ATTNVIZ_MAX_BODY_BYTES", "4096")
    monkeypatch.setenv("ATTNVIZ_CORS_ORIGINS", "http://localhost:5173, http://127.0.0.1:5173")
    s = Settings()
    assert (s.checkpoint_dir, s.port, s.max_body_bytes) == (tmp_path, 8123, 4096)
    assert s.cors_origins == ["http://localhost:5173", "http://127.0.0.1:5173"]
    monkeypatch.setenv("ATTNVIZ_CORS_ORIGINS", '["http://a.example"]')
    assert Settings().cors_origins == ["http://a.example"]
    assert Settings(port=9000).port == 9000  # explicit values win over the environment


def test_no_cors_by_default_and_configured_origins(ckpt_dir: Path) -> None:
    with TestClient(make_app(ckpt_dir)) as c:
        assert "access-control-allow-origin" not in c.get("/api/health", headers={"origin": "http://evil.example"}).headers
    with TestClient(make_app(ckpt_dir, cors_origins=["http://localhost:5173"])) as c:
        r = c.get("/api/health", headers={"origin": "http://localhost:5173"})
        assert r.headers["access-control-allow-origin"] == "http://localhost:5173"


def test_body_limit_is_configurable(ckpt_dir: Path) -> None:
    with TestClient(make_app(ckpt_dir, max_body_bytes=1024)) as c:
        r = c.post("/api/attention", json={"checkpoint": "copy/ckpt_epoch1.pt", "text": "a" * 2000})
        assert r.status_code == 413 and r.json()["limit"] == 1024


def test_cli_help(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["--help"], ["serve", "--help"]):
        with pytest.raises(SystemExit) as exc:
            cli.main(argv)
        assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "--checkpoints" in out and "serve" in out


def test_an_empty_variable_means_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    """Compose files write ``ATTNVIZ_TRAINING:`` with nothing after it; that is "not set", not a bad bool."""
    for name in ("ATTNVIZ_TRAINING", "ATTNVIZ_PORT", "ATTNVIZ_HF_MODELS", "ATTNVIZ_CORS_ORIGINS"):
        monkeypatch.setenv(name, "")
    s = Settings()
    assert (s.training, s.port, s.hf_models, s.cors_origins) == (None, 8000, [], [])


def test_serve_with_an_empty_variable_starts(tmp_path: Path) -> None:
    """The real server process over ``ATTNVIZ_TRAINING=`` answers; before, pydantic's traceback ended it."""
    from ..live_server import serve

    with serve(tmp_path, tmp_path / "server.log", env={"ATTNVIZ_TRAINING": "", "ATTNVIZ_WORKERS": ""}) as base:
        import httpx

        assert httpx.get(f"{base}/api/health").status_code == 200


def test_serve_with_a_bad_variable_says_which_in_one_line(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    from ..live_server import REPO

    env = {**os.environ, "PYTHONPATH": str(REPO / "backend"), "ATTNVIZ_TRAINING": "maybe"}
    cmd = [sys.executable, "-m", "attnviz.server", "--checkpoints", str(tmp_path), "--port", "0"]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ATTNVIZ_TRAINING:") and "'maybe'" in lines[0], done.stderr
    assert "Traceback" not in done.stderr
