"""``attnviz.show`` in a real JupyterLab 4 server and a real Notebook 7 server, the notebook open in
headless Chromium (every non-local host unresolvable): run the cell, the views are painted inside
its output, hover links them, two views in one notebook stay independent, no request leaves the
machine. One server of each for the module (its start-up is the slow part); the cells run through
the page, like a user's."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import nbformat
import pytest
from playwright.sync_api import expect

from ..jupyter import Jupyter, jupyter_server, run_cell, wait_for_kernel
from ..live_server import REPO, NotAnswering
from .conftest import frame_of, painted

pytestmark = pytest.mark.browser

CELL_1 = """\
import numpy as np
import attnviz
rng = np.random.default_rng(0)
w = rng.random((2, 3, 5, 5)) ** 4 + 1e-3
w /= w.sum(-1, keepdims=True)
attnviz.show(w, ["The", "cat", "sat", "on", "mats"], height=700)
"""
CELL_2 = """\
v = rng.random((1, 2, 4, 4)) + 0.1
v /= v.sum(-1, keepdims=True)
attnviz.show(v, ["a", "b", "c", "d"], height=700)
"""


@pytest.fixture(scope="module")
def notebook_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding ``attention.ipynb``: the two cells above, not yet run."""
    root = tmp_path_factory.mktemp("notebooks")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(CELL_1), nbformat.v4.new_code_cell(CELL_2)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, root / "attention.ipynb")
    return root


@pytest.fixture(scope="module", params=["jupyterlab", "notebook"])
def lab(
    request: pytest.FixtureRequest, single_file_build: Path, notebook_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Jupyter]:
    """A real `jupyter lab` or Notebook 7 (`jupyter notebook`) over a copy of ``notebook_dir``."""
    app: str = request.param
    root = tmp_path_factory.mktemp(app)
    shutil.copy(notebook_dir / "attention.ipynb", root / "attention.ipynb")
    try:
        with jupyter_server(app, root, tmp_path_factory.mktemp("lab-home")) as server:
            yield server
    except NotAnswering as e:
        pytest.fail(str(e))


def test_show_paints_every_view_inside_the_notebook(lab: Jupyter, offline_browser: Any) -> None:
    context = offline_browser.new_context(viewport={"width": 1440, "height": 1000})
    requests: list[str] = []
    errors: list[str] = []
    context.on("request", lambda r: requests.append(r.url))
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.on("pageerror", lambda e: errors.append(f"{e} {e.stack}"))
    try:
        page.goto(lab.notebook_url("attention.ipynb"))
        page.locator(".jp-Notebook .jp-Cell").first.wait_for()
        wait_for_kernel(page)
        run_cell(page, 0)
        run_cell(page, 1)
        outputs = page.locator(".jp-Cell.jp-CodeCell .jp-OutputArea")
        first, second = frame_of(outputs.nth(0)), frame_of(outputs.nth(1))

        # the first view: every head painted, the focus heatmap and the arcs
        for layer in range(2):
            for head in range(3):
                st = painted(first, f"model-view-{layer}-{head}")
                assert (st["width"], st["height"], st["opaque"]) == (5, 5, 25)
        assert painted(first, "focus-heatmap-canvas")["colours"] >= 8
        assert painted(first, "arc-canvas")["opaque"] > 0
        # hover linking inside the output: a token lights its labels in the heatmap and the arcs
        first.locator("[data-testid=tokens-src] span.tok").nth(2).hover()
        expect(first.locator("[data-testid=focus-heatmap] g.labels-q text.lit")).to_have_text("sat")
        expect(first.locator("[data-testid=arc-view] svg text.lit")).to_have_count(2)
        # the second view is its own page: its own document, untouched by the first one's hover
        assert second.locator("[data-testid=tokens-src] span.tok").all_text_contents() == ["a", "b", "c", "d"]
        # nothing hovered there: no readout of a cell or token, no token lit
        expect(second.locator("[data-testid=tokens-src] span.tok.lit")).to_have_count(0)
        expect(second.locator("[data-testid=arc-view] svg text.lit")).to_have_count(0)
        assert painted(second, "model-view-0-1")["opaque"] == 16
        # no CSS leaks: the notebook's own cells keep JupyterLab's font, the app's rules stay in its frame
        assert page.evaluate("() => document.querySelectorAll('.topbar, #model-view').length") == 0
    finally:
        context.close()
    network = [urlsplit(u) for u in requests if urlsplit(u).scheme in ("http", "https", "ws", "wss")]
    outside = [u.geturl() for u in network if u.hostname != "127.0.0.1"]
    assert outside == [], outside
    # Notebook 7.6's own bundle throws one TypeError while it loads its settings, before any cell
    # runs (also with no attnviz output in the notebook); an error anywhere else fails the test
    ours = [e for e in errors if not (lab.app == "notebook" and "reading 'schema'" in e and "/static/notebook/" in e)]
    assert ours == [], ours


def test_show_output_is_a_widget_carrying_the_single_file_page(notebook_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Headless (nbclient, as nbconvert / CI would run it): the cell's output is an anywidget view
    whose state holds the whole offline page with the cell's document."""
    from nbclient import NotebookClient

    nb = nbformat.read(notebook_dir / "attention.ipynb", as_version=4)
    env_path = os.pathsep.join(p for p in (str(REPO / "backend"), os.environ.get("PYTHONPATH", "")) if p)
    monkeypatch.setenv("PYTHONPATH", env_path)  # the kernel imports this checkout's attnviz
    client = NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(notebook_dir)}})
    client.execute()
    outputs = nb.cells[0].outputs
    views = [o for o in outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert len(views) == 1, outputs
    model_id = views[0]["data"]["application/vnd.jupyter.widget-view+json"]["model_id"]
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"][model_id]["state"]
    assert state["height"] == 700
    html = state["html"]
    assert 'id="attnviz-document"' in html and '"src":["The","cat","sat","on","mats"]' in html
    assert "http://" not in html.split('id="attnviz-document"')[1]  # the embedded part names no server


@pytest.mark.parametrize("height", [-5, 0, 199, 10_001, float("nan"), True, "700", None])
def test_show_refuses_a_height_that_is_not_pixels(height: Any) -> None:
    import attnviz

    with pytest.raises(ValueError, match="height must be a number of pixels"):
        attnviz.show([[0.5, 0.5], [0.5, 0.5]], ["a", "b"], height=height)


def test_show_takes_any_real_height_in_range() -> None:
    import numpy as np

    import attnviz

    assert [attnviz.show([[1.0]], ["a"], height=h).height for h in (200, np.int64(640), 700.6)] == [200, 640, 700]
