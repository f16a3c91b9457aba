"""A real Jupyter server for the notebook test and bench: JupyterLab 4 (``app="jupyterlab"``) or
Notebook 7 (``app="notebook"``) over a directory, on a free loopback port, as root if need be
(``--allow-root``), with its own config, runtime and settings folders (nothing from the user's),
no news or update checks, and this checkout's ``attnviz`` on the kernel's path."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from .live_server import REPO, NotAnswering, free_port, log_tail, stop, wait_until_answers


@dataclass
class Jupyter:
    url: str
    token: str
    root: Path
    app: str  # "jupyterlab" or "notebook"

    def notebook_url(self, name: str) -> str:
        """Where the notebook ``name`` (relative to ``root``) opens in this app."""
        path = "lab/tree" if self.app == "jupyterlab" else "notebooks"
        return f"{self.url}/{path}/{name}?token={self.token}"


@contextmanager
def jupyter_server(app: str, root: Path, home: Path, *, timeout: float = 120, static: Path | None = None) -> Iterator[Jupyter]:
    """Run ``python -m <app>`` over ``root`` (its state and log under ``home``) until the block ends;
    ``static``: a directory it also serves under ``/static/`` (same origin as its API).
    NotAnswering, with the log tail, when it does not come up within ``timeout`` s."""
    port, token = free_port(), secrets.token_hex(16)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(p for p in (str(REPO / "backend"), os.environ.get("PYTHONPATH", "")) if p),
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
        "IPYTHONDIR": str(home / "ipython"),
    }
    cmd = [
        sys.executable, "-m", app, "--allow-root", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
        f"--ServerApp.token={token}", "--ServerApp.root_dir=" + str(root),
        "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]  # fmt: skip
    if static is not None:
        cmd.append(f"--ServerApp.extra_static_paths={static}")
    home.mkdir(parents=True, exist_ok=True)
    log = home / f"{app}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=root)
    base = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_until_answers(proc, f"{base}/api/status", params={"token": token}, timeout=timeout, what=app)
        except NotAnswering as e:
            raise NotAnswering(f"{e}:\n{log_tail(log)}") from None
        yield Jupyter(base, token, root, app)
    finally:
        stop(proc, timeout=20)


def wait_for_kernel(page: Any, *, timeout_ms: float = 120_000) -> None:
    """Wait until the open notebook's Python kernel is up and idle. The execution indicator also
    reads "idle" for a moment while the notebook still has "No Kernel" (a cell run then goes
    nowhere), so the toolbar must name the kernel too."""
    expect(page.locator(".jp-NotebookPanel-toolbar .jp-KernelName")).to_contain_text("Python", timeout=timeout_ms)
    expect(page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']")).to_have_count(1, timeout=timeout_ms)


def run_cell(page: Any, index: int, *, timeout_ms: float = 120_000) -> None:
    """Run code cell ``index`` of the open notebook the way a user does: click into its editor,
    Shift+Enter. The keys are pressed only once its editor has the focus (a click that lands
    while the notebook is still settling is otherwise lost), and this returns once the cell is
    queued or has run: its prompt reads ``[*]`` or ``[n]``."""
    cell = page.locator(".jp-Notebook .jp-Cell.jp-CodeCell").nth(index)
    cell.locator(".jp-InputArea-editor").click()
    expect(cell.locator(".cm-editor.cm-focused")).to_have_count(1)
    page.keyboard.press("Shift+Enter")
    expect(cell.locator(".jp-InputPrompt")).to_have_text(re.compile(r"\[(\*|\d+)\]"), timeout=timeout_ms)
