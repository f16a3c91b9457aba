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

import nbformat
import pytest
from playwright.sync_api import expect

from ..jupyter import Jupyter, jupyter_server, run_cell, wait_for_kernel
from ..live_server import REPO, NotAnswering
from .conftest import TWO_VIEWS, assert_only_local, assert_two_views, frame_of, recording_page

pytestmark = pytest.mark.browser

# the two views, a cell each (the call last: the cell shows it)
CELLS = [code + view + "\n" for code, view in TWO_VIEWS]


@pytest.fixture(scope="module")
def notebook_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding ``attention.ipynb``: the two CELLS, not yet run."""
    root = tmp_path_factory.mktemp("notebooks")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(cell) for cell in CELLS]
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
    with recording_page(offline_browser) as (page, requests, errors):
        page.goto(lab.notebook_url("attention.ipynb"))
        page.locator(".jp-Notebook .jp-Cell").first.wait_for()
        wait_for_kernel(page)
        run_cell(page, 0)
        run_cell(page, 1)
        outputs = page.locator(".jp-Cell.jp-CodeCell .jp-OutputArea")
        first, second = frame_of(outputs.nth(0)), frame_of(outputs.nth(1))
        assert_two_views(page, first, second)
        # nothing hovered in the second view: no token lit
        expect(second.locator("[data-testid=tokens-src] span.tok.lit")).to_have_count(0)
    assert_only_local(requests)
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
