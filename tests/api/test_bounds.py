"""Validation that costs what the file costs, bounded work and bounded caches: the limits are
settings, verdicts are remembered by file identity, the model queue refuses with 503 when full
while the listing and health still answer."""

from __future__ import annotations

import os
import shutil
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import anyio
import pytest
from fastapi.testclient import TestClient

from attnviz.checkpoint import CheckpointError, CheckpointLimits, load_checkpoint
from attnviz.runtime.model_cache import ModelCache
from attnviz.server import Settings
from attnviz.server.errors import ApiError

from ..hostile_files import write_variant
from .conftest import make_app

CKPT = "copy/ckpt_epoch1.pt"


def test_a_model_past_the_byte_limit_is_refused_naming_the_limit_and_the_largest_tensor(ckpt_dir: Path) -> None:
    real = ckpt_dir / CKPT
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(real, CheckpointLimits(model_bytes=10_000))
    assert "ATTNVIZ_MAX_MODEL_BYTES" in info.value.reason and "largest tensor" in info.value.reason
    big = write_variant(real, ckpt_dir / "big" / "ckpt_epoch1.pt", config={"d_model": 1024, "n_layers": 24, "d_ff": 8192})
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(big)  # the default limits: 512 MiB
    assert "MiB of weights" in info.value.reason


def test_the_limits_are_settings(ckpt_dir: Path) -> None:
    with TestClient(make_app(ckpt_dir, max_d_model=8)) as client:
        listed = client.get("/api/checkpoints").json()["runs"][0]["checkpoints"][0]
        assert (
            listed["usable"] is False and "config.d_model is 16" in listed["error"] and "ATTNVIZ_MAX_D_MODEL" in listed["error"]
        )
        r = client.post("/api/attention", json={"checkpoint": CKPT, "text": "abc"})
        assert r.status_code == 409 and "ATTNVIZ_MAX_D_MODEL" in r.json()["detail"]
    assert Settings(_env_file=None, **{"max_n_layers": 3}).checkpoint_limits().n_layers == 3


def test_a_failed_verdict_is_remembered_until_the_file_changes(ckpt_dir: Path) -> None:
    bad = write_variant(ckpt_dir / CKPT, ckpt_dir / "bad" / "ckpt_epoch1.pt", epoch="three")
    cache = ModelCache()
    for _ in range(3):
        with pytest.raises(CheckpointError, match="epoch"):
            cache.get(bad)
    assert cache.failures == 1
    st = bad.stat()
    os.utime(bad, ns=(st.st_atime_ns, st.st_mtime_ns))  # same mtime, but ctime moves: read again
    with pytest.raises(CheckpointError):
        cache.get(bad)
    assert cache.failures == 2
    shutil.copy(ckpt_dir / CKPT, bad)  # fixed: loads
    assert cache.get(bad).ckpt.epoch == 1 and cache.failures == 2


def test_the_model_cache_is_bounded_in_bytes(ckpt_dir: Path) -> None:
    paths = [ckpt_dir / "copy" / "ckpt_epoch1.pt", ckpt_dir / "copy" / "ckpt_epoch2.pt", ckpt_dir / "reverse" / "ckpt_epoch1.pt"]
    one = ModelCache().get(paths[0]).nbytes
    assert one > 0
    cache = ModelCache(maxsize=8, max_bytes=int(one * 2.5))
    for p in paths:
        cache.get(p)
    assert len(cache) == 2 and cache.nbytes <= one * 2.5
    assert cache.get(paths[0]) is not None and cache.loads == 4  # the oldest was evicted, so it loads again


def test_a_full_model_queue_is_503_with_retry_after_while_the_listing_answers(ckpt_dir: Path) -> None:
    services = make_app(ckpt_dir, inference_threads=1, inference_queue=0).state.services
    started, release = threading.Event(), threading.Event()

    def heavy() -> str:
        started.set()
        release.wait(30)
        return "done"

    async def scenario() -> None:
        async with anyio.create_task_group() as tg:
            tg.start_soon(services.run, heavy)
            await anyio.to_thread.run_sync(started.wait, 30)
            with pytest.raises(ApiError) as info:
                await services.run(heavy)
            assert info.value.status_code == 503 and info.value.code == "busy"
            assert int(info.value.headers["Retry-After"]) > 0
            listing = await services.run_listing(services.registry.listing, 128)  # not behind model work
            assert [r["name"] for r in listing["runs"]] == ["copy", "reverse"]
            release.set()
        assert services.pending == 0

    # a thread of its own: once a browser suite has started Playwright's sync API, the main thread
    # already runs an event loop, and anyio.run refuses to start a second one there
    with ThreadPoolExecutor(1) as pool:
        pool.submit(anyio.run, scenario).result(timeout=60)


def test_allowed_hosts_apply_on_other_addresses(ckpt_dir: Path) -> None:
    app = make_app(ckpt_dir, allowed_hosts=["classroom.local", "*.school.org"])
    with TestClient(app) as client:  # the test client's address is not loopback
        for host, status in [
            ("classroom.local:8000", 200),
            ("a.school.org", 200),
            ("evil.example", 421),
            ("school.org.evil", 421),
        ]:
            r = client.get("/api/health", headers={"Host": host})
            assert r.status_code == status, (host, r.text)
    with TestClient(make_app(ckpt_dir)) as client:  # open by default, so a classroom LAN works
        assert client.get("/api/health", headers={"Host": "10.0.0.5:8000"}).status_code == 200


def test_allowed_hosts_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ATTNVIZ_ALLOWED_HOSTS", "classroom.local, 10.0.0.5")
    assert Settings().allowed_hosts == ["classroom.local", "10.0.0.5"]
