"""The lessons suite: the lesson files (frontend/src/lessons/*.json) opened step by step in Chromium
against the real server over tiny demo runs (copy, reverse, sort, induction: the runs the lessons name, made by
the classroom suite's ``build_tiny_demo``, i.e. ``attnviz.demo`` shrunk to seconds)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ..browser import Server
from ..classroom.conftest import build_tiny_demo
from ..live_server import REPO

LESSON_DIR = REPO / "frontend" / "src" / "lessons"


def lessons() -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted(LESSON_DIR.glob("*.json"))]


@pytest.fixture(scope="session")
def lesson_runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("lesson-runs")
    build_tiny_demo(root)
    return root


@pytest.fixture(scope="session")
def server(lesson_runs: Path, start_server: Callable[..., Server]) -> Server:
    return start_server(lesson_runs)
