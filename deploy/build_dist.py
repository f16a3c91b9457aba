"""Build the wheel and the sdist a user installs (``make dist`` runs this after ``make frontend``)::

    python deploy/build_dist.py [--out dist]

The built front end goes inside the package first: ``frontend/dist`` → ``attnviz/_static/app/``
(what ``attnviz serve`` serves when no ``frontend/dist`` sits next to the source) and its
single-file build → ``attnviz/_static/attnviz.html`` (``show`` / ``save_html`` / ``attnviz html``).
Both are package data, so the sdist carries them too and builds a working wheel without Node.

setuptools' own build backend is called in this environment (no isolated build environment to
download): torch depends on setuptools, so every environment that runs attnviz already has it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DIST = ROOT / "frontend" / "dist"
STATIC = ROOT / "backend" / "attnviz" / "_static"


def stage_frontend(dist: Path = DIST, static: Path = STATIC) -> None:
    """Copy the built front end into the package (replacing an older copy)."""
    if not (dist / "index.html").is_file() or not (dist / "embed" / "index.html").is_file():
        raise SystemExit(f"{dist} is not a front-end build: run `make frontend` (cd frontend && npm run build) first")
    static.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(static / "app", ignore_errors=True)
    shutil.copytree(dist, static / "app")
    shutil.copyfile(dist / "embed" / "index.html", static / "attnviz.html")


def build(out: Path) -> list[Path]:
    """The sdist and the wheel of the project at ROOT, written to ``out``; returns their paths."""
    from setuptools import build_meta

    out = out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    # setuptools copies into build/ and never removes what a previous build left there
    shutil.rmtree(ROOT / "build", ignore_errors=True)
    cwd = Path.cwd()
    try:
        os.chdir(ROOT)
        sdist = build_meta.build_sdist(str(out))
        wheel = build_meta.build_wheel(str(out))
    finally:
        os.chdir(cwd)
        shutil.rmtree(ROOT / "build", ignore_errors=True)
    return [out / sdist, out / wheel]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build attnviz's wheel and sdist with the front end inside.")
    parser.add_argument("--out", type=Path, default=ROOT / "dist", help="output directory (default: dist)")
    args = parser.parse_args(argv)
    stage_frontend()
    for path in build(args.out):
        print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
