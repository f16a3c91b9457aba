"""The notebook layer and the command line catch domain errors (attnviz.errors), not the web
service's: importing them loads nothing of ``attnviz.server``, and building a single file from a
checkpoint (which runs the service's code path) loads no FastAPI, no app and no HTTP error
mapping. Run in a fresh interpreter each, as a user's would be."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

from ..conftest import TinyRun

BACKEND = Path(__file__).resolve().parents[2] / "backend"
WEB = ("fastapi", "starlette", "uvicorn", "attnviz.server.app", "attnviz.server.errors", "attnviz.server.schemas")


def modules_after(code: str, cwd: Path) -> list[str]:
    """The ``attnviz.server*`` and web modules loaded after ``code`` runs in a fresh interpreter."""
    probe = f"{code}\nimport sys\nprint(sorted(m for m in sys.modules if m == 'attnviz.server' or m.startswith({WEB!r})))"
    env = {**os.environ, "PYTHONPATH": str(BACKEND)}
    r = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, cwd=cwd, timeout=300)
    assert r.returncode == 0, r.stderr
    return list(ast.literal_eval(r.stdout.strip().splitlines()[-1]))


def test_the_notebook_layer_and_the_cli_import_nothing_of_the_server(tmp_path: Path) -> None:
    code = "import attnviz.html, attnviz.cli, attnviz.display, attnviz.anywhere, attnviz.errors"
    assert modules_after(code, tmp_path) == []


def test_a_file_from_a_checkpoint_loads_no_web_service(tiny_run: TinyRun, tmp_path: Path) -> None:
    root, name = tiny_run.dir.parent, f"{tiny_run.dir.name}/{tiny_run.last.name}"
    code = (
        "from attnviz.runtime.page import LessonError, checkpoint_page\n"
        f"doc, data = checkpoint_page({name!r}, 'hello', {str(root)!r}, with_timeline=True)\n"
        "assert doc['tokens']['src'] and data['timeline']\n"
        "try:\n"
        f"    checkpoint_page('nope/ckpt.pt', 'hello', {str(root)!r})\n"
        "except LessonError as exc:\n"  # a domain error (unknown checkpoint), caught without the server's errors
        f"    assert 'no checkpoint named' in str(exc) and {name!r} in str(exc), exc\n"
        "else:\n"
        "    raise AssertionError('an unknown checkpoint built a page')\n"
        "try:\n"
        f"    checkpoint_page({name!r}, '', {str(root)!r})\n"
        "except LessonError as exc:\n"
        "    assert 'empty' in str(exc), exc\n"
        "else:\n"
        "    raise AssertionError('an empty text built a page')\n"
    )
    loaded = modules_after(code, tmp_path)
    assert not any(m.startswith(WEB) for m in loaded), loaded
