"""The real server for the suites that need one: ``python -m attnviz.server`` (real uvicorn) as a
subprocess on a free loopback port, over a checkpoint directory, serving this checkout's
frontend/dist (or ``$ATTNVIZ_FRONTEND_DIST``); ready once /api/health answers, stopped (terminate, then kill) on exit."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[1]
# the build served: the checkout's, or another one to compare (bench A/B runs)
DIST = Path(os.environ.get("ATTNVIZ_FRONTEND_DIST") or REPO / "frontend" / "dist")
LOG_TAIL_LINES = 60


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def log_tail(log: Path, lines: int = LOG_TAIL_LINES) -> str:
    """The last ``lines`` lines of the server log (for failure messages)."""
    if not log.is_file():
        return f"(no log at {log})"
    text = log.read_text(errors="replace").splitlines()
    cut = f"... ({len(text) - lines} earlier lines in {log})\n" if len(text) > lines else ""
    return cut + "\n".join(text[-lines:])


class NotAnswering(RuntimeError):
    """A server process exited, or did not answer, before it was up."""


def wait_until_answers(
    proc: subprocess.Popen[bytes],
    url: str,
    *,
    params: dict[str, str] | None = None,
    timeout: float = 60,
    what: str = "the server",
) -> None:
    """Poll ``url`` until it answers 200; NotAnswering if ``proc`` exits first or ``timeout`` s pass."""
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise NotAnswering(f"{what} exited with code {proc.returncode} before answering")
        try:
            if httpx.get(url, params=params, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise NotAnswering(f"{what} did not answer {url} within {timeout:g} s")
        time.sleep(0.1)  # polling the process's readiness, not waiting for a result


def stop(proc: subprocess.Popen[bytes], timeout: float = 10) -> None:
    """Terminate ``proc``; kill it if it is still there after ``timeout`` s."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextmanager
def serve(checkpoints: Path, log: Path, *, env: dict[str, str] | None = None, timeout: float = 60) -> Iterator[str]:
    """Run the server over ``checkpoints`` (stdout and stderr to ``log``) and yield its base URL,
    ``http://127.0.0.1:<port>``. ``env`` adds to (or overrides) the inherited environment, which gets
    ``PYTHONPATH=<repo>/backend`` first and ``ATTNVIZ_FRONTEND_DIST=<repo>/frontend/dist``.
    Fails the test, with the log tail, if the server exits or does not answer within ``timeout`` s."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    python_path = os.pathsep.join(p for p in (str(REPO / "backend"), os.environ.get("PYTHONPATH", "")) if p)
    full_env = {**os.environ, "PYTHONPATH": python_path, "ATTNVIZ_FRONTEND_DIST": str(DIST), **(env or {})}
    cmd = [sys.executable, "-m", "attnviz.server", "--port", str(port), "--checkpoints", str(checkpoints), "--no-access-log"]
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, env=full_env, stdout=out, stderr=subprocess.STDOUT, cwd=REPO)
    try:
        try:
            wait_until_answers(proc, f"{base}/api/health", timeout=timeout, what=f"the server over {checkpoints}")
        except NotAnswering as e:
            pytest.fail(f"{e}:\n{log_tail(log)}")
        yield base
    finally:
        stop(proc)
