"""``attnviz.show`` through the widget renderer of VS Code's Jupyter extension: the extension itself
is only on the VS Code Marketplace and Open VSX, out of this machine's reach, but the code that
renders widgets in its notebook webview is published on npm (@vscode/jupyter-ipywidgets8). The
harness (frontend/vscode-harness) loads that bundle as the webview does (with requirejs), connects
it to a real kernel of a real Jupyter server, runs a cell and renders the widget it displays; the
widget's own code (anywidget's) is loaded as the extension loads it, from the kernel environment's
nbextension. Headless Chromium, every non-local host unresolvable."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from playwright.sync_api import expect

from ..jupyter import Jupyter, jupyter_server
from ..live_server import REPO, NotAnswering
from .conftest import TWO_VIEWS, assert_only_local, assert_two_views, frame_of, recording_page

pytestmark = pytest.mark.browser

# one cell displaying both views
CELL = "".join(f"{code}display({view})\n" for code, view in TWO_VIEWS)


@pytest.fixture(scope="module")
def static_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What the Jupyter server serves under /static/: the harness, built, and the kernel
    environment's anywidget nbextension (where the extension finds a widget's code)."""
    static = tmp_path_factory.mktemp("vscode-static")
    frontend = REPO / "frontend"
    build = subprocess.run(
        ["npx", "vite", "build", "-c", "vscode-harness/vite.config.ts", "--outDir", str(static / "vscode")],
        cwd=frontend, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert build.returncode == 0, build.stdout + build.stderr
    nbext = Path(sys.prefix) / "share" / "jupyter" / "nbextensions" / "anywidget"
    assert (nbext / "index.js").is_file(), f"anywidget's nbextension is missing from {nbext} (pip install anywidget)"
    shutil.copytree(nbext, static / "nbextensions" / "anywidget")
    return static


@pytest.fixture(scope="module")
def server(static_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Jupyter]:
    try:
        root, home = tmp_path_factory.mktemp("vscode-root"), tmp_path_factory.mktemp("vscode-home")
        with jupyter_server("jupyterlab", root, home, static=static_dir) as s:
            yield s
    except NotAnswering as e:
        pytest.fail(str(e))


def test_vscode_widget_renderer_paints_the_view(server: Jupyter, offline_browser: Any) -> None:
    with recording_page(offline_browser) as (page, requests, errors):
        page.goto(f"{server.url}/static/vscode/index.html?token={server.token}&code={quote(CELL)}")
        ran = "() => (window.harnessLog || []).some((l) => l.kind === 'done' || l.kind === 'error')"
        page.wait_for_function(ran, timeout=120_000)
        outputs = page.locator("#output > .lm-Widget")
        expect(outputs).to_have_count(2, timeout=60_000)
        log = page.evaluate("() => window.harnessLog")
        assert [entry for entry in log if entry["kind"] == "error"] == [], log
        # the widget's classes came from anywidget's nbextension, through requirejs, as in VS Code
        loaded = [entry["text"] for entry in log if entry["kind"] == "loaded"]
        assert any(t.startswith("anywidget@") and t.endswith(":AnyView") for t in loaded), log
        first, second = frame_of(outputs.nth(0)), frame_of(outputs.nth(1))
        # the frame is as tall as asked
        assert outputs.nth(0).locator("iframe.attnviz-frame").evaluate("f => f.clientHeight") == 700
        assert_two_views(page, first, second)
    assert_only_local(requests)
    assert errors == [], errors
