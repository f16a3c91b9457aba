"""The model cache reuses loaded models, reloads changed files, and the listing rereads only
changed files."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from attnviz.runtime import registry as registry_module
from attnviz.runtime.model_cache import ModelCache

CKPT = "copy/ckpt_epoch2.pt"


def services(client: TestClient) -> Any:
    return client.app.state.services  # type: ignore[attr-defined]


def test_model_is_loaded_once_and_reloaded_when_the_file_changes(client: TestClient, ckpt_dir: Path) -> None:
    cache = services(client).service.models
    body = {"checkpoint": CKPT, "text": "abc"}
    assert client.post("/api/attention", json=body).json()["model"]["epoch"] == 2
    loads = cache.loads
    for _ in range(3):
        assert client.post("/api/attention", json=body).status_code == 200
    assert cache.loads == loads
    target = ckpt_dir / CKPT
    shutil.copyfile(ckpt_dir / "copy" / "ckpt_epoch1.pt", target)  # retrained into the same file
    st = target.stat()
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert client.post("/api/attention", json=body).json()["model"]["epoch"] == 1
    assert cache.loads == loads + 1
    target.write_bytes(b"now broken")
    r = client.post("/api/attention", json=body)
    assert r.status_code == 409 and r.json()["code"] == "checkpoint_unusable"


def test_cache_is_bounded_lru(trained_dir: Path) -> None:
    cache = ModelCache(maxsize=2)
    a, b, c = (
        trained_dir / "copy" / "ckpt_epoch1.pt",
        trained_dir / "copy" / "ckpt_epoch2.pt",
        trained_dir / "reverse" / "ckpt_epoch1.pt",
    )
    first = cache.get(a)
    cache.get(b)
    assert cache.get(a) is first  # a is now most recent
    cache.get(c)  # evicts b
    assert len(cache) == 2 and cache.loads == 3
    assert cache.get(a) is first
    cache.get(b)
    assert cache.loads == 4


def test_listing_rereads_only_changed_files(client: TestClient, ckpt_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    client.get("/api/checkpoints")
    calls: list[Path] = []
    real = registry_module.load_checkpoint

    def counting(path: Path, *args: Any) -> Any:
        calls.append(Path(path))
        return real(path, *args)

    monkeypatch.setattr(registry_module, "load_checkpoint", counting)
    client.get("/api/checkpoints")
    assert calls == []
    (ckpt_dir / "copy" / "ckpt_epoch3.pt").write_bytes(b"junk")
    listed = client.get("/api/checkpoints").json()["runs"][0]["checkpoints"]
    assert [p.name for p in calls] == ["ckpt_epoch3.pt"]
    assert listed[-1]["usable"] is False
