"""The wheel a user installs: ``deploy/build_dist.py`` (what ``make dist`` runs) builds it and the
sdist from this checkout's front-end build; the wheel carries the served app and the single-file
page; the sdist builds the same wheel with no Node on the PATH; and the wheel, installed into a
fresh venv beside the pinned torch of constraints.txt, gives a working ``attnviz`` away from the
checkout: ``attnviz demo`` trains a run, ``attnviz serve`` serves the same page as a clone does and
Chromium paints every view of it, ``save_html`` writes a file without importing torch, and
``pip uninstall`` leaves nothing behind."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tarfile
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from email.parser import Parser
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from ..browser import canvas_stats, open_app, wait_drawn
from ..live_server import DIST, REPO, free_port, log_tail, stop, wait_until_answers

BUILD = REPO / "deploy" / "build_dist.py"
WHEEL_LIMIT_BYTES = 3 * 1024 * 1024
VERSION = re.search(r'^version = "([^"]+)"', (REPO / "pyproject.toml").read_text(encoding="utf-8"), re.M)[1]  # type: ignore[index]
TORCH_PIN = next(
    line.strip() for line in (REPO / "constraints.txt").read_text(encoding="utf-8").splitlines() if line.startswith("torch==")
)


def clean_env(**extra: str) -> dict[str, str]:
    """The environment a user's shell has: no PYTHONPATH into this checkout, no ATTNVIZ_ settings."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH" and not k.startswith("ATTNVIZ_")}
    return {**env, **extra}


def run(cmd: list[str], *, timeout: float, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kwargs)
    assert r.returncode == 0, f"{' '.join(map(str, cmd))} exited {r.returncode}:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return r


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``{"wheel": ..., "sdist": ...}`` built like ``make dist`` does, from this checkout's front end."""
    if not (DIST / "index.html").is_file():
        pytest.fail(f"{DIST / 'index.html'} is missing: build the front end first with `make frontend` (or `make setup`).")
    out = tmp_path_factory.mktemp("dist")
    run([sys.executable, str(BUILD), "--out", str(out)], timeout=300, cwd=REPO)
    wheel = out / f"attnviz-{VERSION}-py3-none-any.whl"
    sdist = out / f"attnviz-{VERSION}.tar.gz"
    assert wheel.is_file() and sdist.is_file(), sorted(p.name for p in out.iterdir())
    return {"wheel": wheel, "sdist": sdist}


def built_files() -> set[str]:
    """Every file of the front-end build, as the package holds it (``attnviz/_static/app/...``)."""
    return {f"attnviz/_static/app/{p.relative_to(DIST).as_posix()}" for p in DIST.rglob("*") if p.is_file()}


def test_wheel_holds_the_app_and_the_single_file_page(dist: dict[str, Path]) -> None:
    wheel = dist["wheel"]
    assert wheel.stat().st_size <= WHEEL_LIMIT_BYTES, f"{wheel.name}: {wheel.stat().st_size / 1e6:.2f} MB"
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        assert built_files() <= names, sorted(built_files() - names)[:10]
        assert z.read("attnviz/_static/attnviz.html") == (DIST / "embed" / "index.html").read_bytes()
        assert z.read("attnviz/_static/app/index.html") == (DIST / "index.html").read_bytes()
        info = f"attnviz-{VERSION}.dist-info"
        meta = Parser().parsestr(z.read(f"{info}/METADATA").decode())
        entry_points = z.read(f"{info}/entry_points.txt").decode()
    assert "attnviz = attnviz.cli:main" in entry_points
    assert not [n for n in names if n.startswith(("tests/", "bench/", "frontend/", "deploy/"))]
    requires = meta.get_all("Requires-Dist") or []
    base = [r for r in requires if "extra ==" not in r]
    assert not [r for r in requires if "==" in r.split(";")[0]], "dependencies are ranges; pins belong in constraints.txt"
    torch_req = next(r for r in base if re.match(r"torch\b", r))
    assert ">=" in torch_req and "<" not in torch_req, torch_req
    assert {"notebook", "hf", "dev"} <= set(meta.get_all("Provides-Extra") or [])
    assert any(r.startswith("anywidget") and 'extra == "notebook"' in r for r in requires)
    assert any(r.startswith("transformers") and 'extra == "hf"' in r for r in requires)


def test_sdist_carries_the_build_and_makes_the_same_wheel_without_node(dist: dict[str, Path], tmp_path: Path) -> None:
    with tarfile.open(dist["sdist"]) as t:
        t.extractall(tmp_path, filter="data")
    src = tmp_path / f"attnviz-{VERSION}"
    assert (src / "backend" / "attnviz" / "_static" / "app" / "index.html").is_file()
    bin_dir = tmp_path / "bin"  # a PATH with nothing on it: no node, no npm (python by its full path)
    bin_dir.mkdir()
    env = clean_env(PATH=str(bin_dir))
    assert subprocess.run(["/bin/sh", "-c", "command -v node npm"], env=env, capture_output=True).returncode != 0
    out = tmp_path / "out"
    code = f"from setuptools import build_meta; print(build_meta.build_wheel({str(out)!r}))"
    out.mkdir()
    name = run([sys.executable, "-c", code], timeout=300, cwd=src, env=env).stdout.strip().splitlines()[-1]
    with zipfile.ZipFile(dist["wheel"]) as a, zipfile.ZipFile(out / name) as b:
        assert sorted(b.namelist()) == sorted(a.namelist())
        for n in a.namelist():
            if "/_static/" in n:
                assert a.read(n) == b.read(n), n


# ---- installed into a fresh venv ------------------------------------------------------------------


@contextmanager
def serving(attnviz: Path, checkpoints: Path, cwd: Path, log: Path) -> Iterator[str]:
    """``attnviz serve`` of the venv on a free port, from a directory outside the checkout."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    cmd = [str(attnviz), "serve", "--port", str(port), "--checkpoints", str(checkpoints), "--no-access-log", "--device", "cpu"]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=cwd, env=clean_env(ATTNVIZ_INFERENCE_THREADS="1"), stdout=out, stderr=subprocess.STDOUT)
    try:
        try:
            wait_until_answers(proc, f"{base}/api/health", timeout=90, what="attnviz serve from the wheel")
        except Exception as e:
            pytest.fail(f"{e}:\n{log_tail(log)}")
        yield base
    finally:
        stop(proc)


def without_listing(html: bytes) -> bytes:
    """The served page less the checkpoint listing the server writes into it (frontend.py)."""
    return re.sub(rb'<script type="application/json" id="attnviz-checkpoints">.*?</script>', b"", html, flags=re.S)


def paints_every_view(page: Any) -> None:
    """Every attention kind: every thumbnail of the model view fully painted, the focus heatmap and
    the token arcs drawn."""
    for kind in ("encoder_self", "decoder_self", "cross"):
        page.get_by_test_id(f"kind-{kind}").click()
        expect(page.get_by_test_id(f"kind-{kind}")).to_have_attribute("aria-selected", "true")
        wait_drawn(page)
        thumbs = page.locator("button.thumb:not(.agg)")
        expect(thumbs).to_have_count(8)  # the demo model: 2 layers × 4 heads
        for layer in range(2):
            for head in range(4):
                st = canvas_stats(page.get_by_test_id(f"model-view-{layer}-{head}"))
                assert st["opaque"] == st["width"] * st["height"] > 0, (kind, layer, head, st)
        assert canvas_stats(page.get_by_test_id("focus-heatmap-canvas"))["colours"] >= 4, kind
        page.get_by_test_id("arc-view").click(position={"x": 5, "y": 5})
        arcs = canvas_stats(page.get_by_test_id("arc-canvas"))
        assert arcs["opaque"] > 200 and arcs["colours"] > 2, (kind, arcs)


@pytest.mark.slow
@pytest.mark.browser
def test_installed_wheel_demo_serve_save_html_uninstall(dist: dict[str, Path], tmp_path: Path, new_page: Any) -> None:
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)], timeout=120)
    py, pip, attnviz = venv / "bin" / "python", [str(venv / "bin" / "python"), "-m", "pip"], venv / "bin" / "attnviz"
    quiet = ["--quiet", "--disable-pip-version-check"]
    # the torch a user already has (here the pinned CPU build)
    run([*pip, "install", *quiet, TORCH_PIN], timeout=600, env=clean_env())
    started = time.monotonic()
    run([*pip, "install", *quiet, "-c", str(REPO / "constraints.txt"), str(dist["wheel"])], timeout=600, env=clean_env())
    print(f"pip install of the wheel beside torch: {time.monotonic() - started:.1f} s")
    home = tmp_path / "user"  # the user's own directory: no checkout, no frontend/dist in sight
    home.mkdir()

    assert run([str(attnviz), "--version"], timeout=60, cwd=home, env=clean_env()).stdout.strip() == f"attnviz {VERSION}"
    where = run([str(py), "-c", "import attnviz; print(attnviz.__file__)"], timeout=60, cwd=home, env=clean_env()).stdout
    assert Path(where.strip()).is_relative_to(venv), where

    checkpoints = home / "checkpoints"
    demo = [str(attnviz), "demo", "--checkpoints", str(checkpoints), "--tasks", "copy", "--epochs", "1", "--quiet"]
    out = run(demo, timeout=600, cwd=home, env=clean_env()).stdout
    assert "demo copy: done" in out and "'hf' extra is not installed" in out, out
    assert sorted(p.name for p in (checkpoints / "copy").iterdir()) == ["ckpt_epoch1.pt"]

    with serving(attnviz, checkpoints, home, tmp_path / "serve.log") as url:
        served = httpx.get(f"{url}/", timeout=30)
        assert served.status_code == 200
        assert without_listing(served.content) == (DIST / "index.html").read_bytes()  # the same page as from a clone
        for asset in re.findall(rb'(?:src|href)="\.?/(assets/[^"]+)"', served.content):
            got = httpx.get(f"{url}/{asset.decode()}", timeout=30)
            assert got.status_code == 200 and got.content == (DIST / asset.decode()).read_bytes(), asset
        listing = httpx.get(f"{url}/api/checkpoints", timeout=30).json()
        assert [r["name"] for r in listing["runs"]] == ["copy"]

        page = new_page()
        open_app(page, url, "/?ckpt=copy/ckpt_epoch1.pt&text=hello", drawn=True)
        paints_every_view(page)

    # save_html of a numpy array, without torch, fastapi or matplotlib
    code = (
        "import sys, numpy as np, attnviz\n"
        "w = np.random.default_rng(0).random((1, 2, 3, 3)); w /= w.sum(-1, keepdims=True)\n"
        "path = attnviz.save_html(w, 'attention.html', tokens=['a', 'b', 'c'])\n"
        "print(path); print(sorted(m for m in ('torch', 'fastapi', 'matplotlib', 'transformers') if m in sys.modules))\n"
    )
    lines = run([str(py), "-c", code], timeout=120, cwd=home, env=clean_env()).stdout.strip().splitlines()
    assert lines[-1] == "[]", lines
    saved = home / "attention.html"
    text = saved.read_text(encoding="utf-8")
    assert '<script type="application/json" id="attnviz-document">' in text
    file_page = new_page(local_only=True)
    open_app(file_page, saved.as_uri(), drawn=True)
    st = canvas_stats(file_page.get_by_test_id("model-view-0-1"))
    assert st["opaque"] == 9, st

    run([*pip, "uninstall", *quiet, "-y", "attnviz"], timeout=120, env=clean_env())
    site = Path(run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], timeout=60).stdout.strip())
    left = [p.name for p in site.iterdir() if p.name.lower().startswith("attnviz")]
    assert left == [] and not attnviz.exists(), left
    gone = subprocess.run([str(py), "-c", "import attnviz"], cwd=home, env=clean_env(), capture_output=True, text=True)
    assert gone.returncode != 0 and "No module named 'attnviz'" in gone.stderr


def test_make_dist_runs_the_build_script() -> None:
    # --no-print-directory: under `make test` this is a sub-make, which would print make[1] lines
    r = subprocess.run(["make", "--no-print-directory", "-n", "dist"], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == ".venv/bin/python deploy/build_dist.py --out dist"
