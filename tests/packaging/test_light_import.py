"""``import attnviz`` and ``save_html`` / ``document_from`` of a numpy array stay light: none of
torch, the web service (fastapi, starlette, uvicorn), matplotlib or transformers is imported until
a function needs it (a notebook user pays for what they use). Run in a fresh interpreter."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

BACKEND = Path(__file__).resolve().parents[2] / "backend"
HEAVY = ("torch", "fastapi", "starlette", "uvicorn", "matplotlib", "transformers", "anywidget")


def loaded_after(code: str, cwd: Path) -> list[str]:
    probe = f"{code}\nimport sys\nprint(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    env = {**os.environ, "PYTHONPATH": str(BACKEND)}
    r = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, cwd=cwd, timeout=120)
    assert r.returncode == 0, r.stderr
    return list(ast.literal_eval(r.stdout.strip().splitlines()[-1]))


def test_import_attnviz_loads_nothing_heavy(tmp_path: Path) -> None:
    assert loaded_after("import attnviz\nattnviz.__version__", tmp_path) == []


def test_save_html_of_a_numpy_array_loads_nothing_heavy(tmp_path: Path) -> None:
    from attnviz.html import FrontendNotBuiltError, template_path

    try:
        template_path()
    except FrontendNotBuiltError:
        pytest.fail("the single-file page is missing: build the front end first with `make frontend`")
    code = (
        "import numpy as np, attnviz\n"
        "w = np.full((2, 2, 3, 3), 1 / 3)\n"
        "attnviz.document_from(w, list('abc'))\n"
        "assert attnviz.save_html(w, 'a.html', tokens=list('abc')).stat().st_size > 0"
    )
    assert loaded_after(code, tmp_path) == []
    assert (tmp_path / "a.html").is_file()


def test_the_heavy_parts_load_when_used(tmp_path: Path) -> None:
    """The probe can fail: what a function needs does show up."""
    assert "torch" in loaded_after(
        "import attnviz, torch\nattnviz.document_from(torch.full((1, 1, 2, 2), 0.5), list('ab'))", tmp_path
    )
    assert {"fastapi", "torch"} <= set(loaded_after("from attnviz.server import create_app", tmp_path))
