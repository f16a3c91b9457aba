"""Fixtures for the API tests: real checkpoints written by the real training code (a tiny model,
a few seconds), and an app over a fresh copy of them."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from attnviz.server import Settings, create_app
from attnviz.train import train

from ..tiny_train import tiny_train_config


@pytest.fixture(scope="session")
def trained_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``copy/ckpt_epoch{1,2}.pt`` and ``reverse/ckpt_epoch1.pt`` from the real trainer."""
    root = tmp_path_factory.mktemp("trained")
    train(tiny_train_config("copy", root / "copy", epochs=2), progress=False)
    train(tiny_train_config("reverse", root / "reverse", epochs=1), progress=False)
    return root


@pytest.fixture
def ckpt_dir(trained_dir: Path, tmp_path: Path) -> Path:
    """A fresh, writable copy of the trained checkpoints for one test."""
    target = tmp_path / "checkpoints"
    shutil.copytree(trained_dir, target)
    return target


def make_app(ckpt_dir: Path, **overrides: Any) -> FastAPI:
    options: dict[str, Any] = {"checkpoint_dir": ckpt_dir, "frontend_dist": ckpt_dir / "no-dist", **overrides}
    app: FastAPI = create_app(Settings(**options))
    return app


@pytest.fixture
def app(ckpt_dir: Path) -> FastAPI:
    return make_app(ckpt_dir)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


@pytest.fixture(scope="session")
def shared_app(trained_dir: Path) -> FastAPI:
    """One app over the session's checkpoints (read-only tests, schemathesis)."""
    return make_app(trained_dir)
