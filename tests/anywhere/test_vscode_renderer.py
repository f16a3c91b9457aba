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
from urllib.parse import quote, urlsplit

import pytest
from playwright.sync_api import expect

from ..jupyter import Jupyter, jupyter_server
from ..live_server import REPO, NotAnswering
from .conftest import frame_of, painted

pytestmark = pytest.mark.browser

CELL = """\
import numpy as np
import attnviz
rng = np.random.default_rng(0)
w = rng.random((2, 3, 5, 5)) ** 4 + 1e-3
w /= w.sum(-1, keepdims=True)
display(attnviz.show(w, ["The", "cat", "sat", "on", "mats"], height=700))
v = rng.random((1, 2, 4, 4)) + 0.1
v /= v.sum(-1, keepdims=True)
display(attnviz.show(v, ["a", "b", "c", "d"], height=600))
"""


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
    context = offline_browser.new_context(viewport={"width": 1440, "height": 1000})
    requests: list[str] = []
    errors: list[str] = []
    context.on("request", lambda r: requests.append(r.url))
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.on("pageerror", lambda e: errors.append(f"{e} {e.stack}"))
    try:
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
        for layer in range(2):
            for head in range(3):
                st = painted(first, f"model-view-{layer}-{head}")
                assert (st["width"], st["height"], st["opaque"]) == (5, 5, 25)
        assert painted(first, "focus-heatmap-canvas")["colours"] >= 8
        assert painted(first, "arc-canvas")["opaque"] > 0
        # the frame is as tall as asked, and hover links the views inside it
        assert outputs.nth(0).locator("iframe.attnviz-frame").evaluate("f => f.clientHeight") == 700
        first.locator("[data-testid=tokens-src] span.tok").nth(2).hover()
        expect(first.locator("[data-testid=focus-heatmap] g.labels-q text.lit")).to_have_text("sat")
        expect(first.locator("[data-testid=arc-view] svg text.lit")).to_have_count(2)
        # the second view is its own page, untouched by the first one's hover
        assert second.locator("[data-testid=tokens-src] span.tok").all_text_contents() == ["a", "b", "c", "d"]
        expect(second.locator("[data-testid=arc-view] svg text.lit")).to_have_count(0)
        assert painted(second, "model-view-0-1")["opaque"] == 16
        # no CSS leaks out of the frames into the renderer's page
        assert page.evaluate("() => document.querySelectorAll('.topbar, #model-view').length") == 0
    finally:
        context.close()
    network = [urlsplit(u) for u in requests if urlsplit(u).scheme in ("http", "https", "ws", "wss")]
    outside = [u.geturl() for u in network if u.hostname != "127.0.0.1"]
    assert outside == [], outside
    assert errors == [], errors
