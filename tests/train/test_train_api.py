"""The training API end to end on a real uvicorn: start, the event stream, the run on disk and in
the listing and timeline, one job at a time, cancel, SIGKILL of the worker, bounds, and 403."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from attnviz.checkpoint import load_checkpoint
from attnviz.server.settings import Settings
from attnviz.server.training import training_permission

from ..live_server import serve
from .conftest import LONG_JOB, TINY_JOB, TrainServer, read_events, wait_finished


def start(client: httpx.Client, name: str, **spec: Any) -> dict[str, Any]:
    r = client.post("/api/train", json={**TINY_JOB, "name": name, **spec})
    assert r.status_code == 202, r.text
    body: dict[str, Any] = r.json()
    assert body["run"] == f"live/{name}"
    return body


def assert_run_intact(root: Path, run: str, epochs: int) -> None:
    """Every finished epoch loads; nothing half-written is visible; no epoch beyond ``epochs``."""
    folder = root / run
    for n in range(1, epochs + 1):
        assert load_checkpoint(folder / f"ckpt_epoch{n}.pt").epoch == n
    assert not (folder / f"ckpt_epoch{epochs + 1}.pt").exists()
    for snap in (folder / "snapshots").glob("step*.pt"):
        load_checkpoint(snap)


def test_train_stream_and_the_finished_run(train_server: TrainServer) -> None:
    with train_server.client() as c:
        limits = c.get("/api/train/limits").json()
        assert limits["allowed"] is True and limits["tasks"] == ["copy", "reverse", "sort", "shift", "swap", "induction"]
        job = start(c, "api-done")
        events = read_events(c, job["id"])
        kinds = [e["event"] for e in events]
        assert kinds[-1] == "done" and kinds.count("done") == 1
        assert [e["id"] for e in events] == list(range(len(events)))
        assert {"progress", "snapshot", "epoch"} <= set(kinds)
        progress = [e["data"] for e in events if e["event"] == "progress"]
        assert all({"step", "loss", "accuracy"} <= p.keys() for p in progress)
        snaps = [e["data"] for e in events if e["event"] == "snapshot"]
        assert [s["step"] for s in snaps] == list(range(0, 2 * 5 + 1, 2))  # 300 examples / 64 = 5 steps an epoch
        # a snapshot is a checkpoint name /api/attention takes
        r = c.post("/api/attention", json={"checkpoint": snaps[-1]["checkpoint"], "text": "abc"})
        assert r.status_code == 200, r.text
        epochs = [e["data"] for e in events if e["event"] == "epoch"]
        assert [e["checkpoint"] for e in epochs] == ["live/api-done/ckpt_epoch1.pt", "live/api-done/ckpt_epoch2.pt"]
        assert events[-1]["data"]["checkpoints"] == [e["checkpoint"] for e in epochs]
        status = c.get(f"/api/train/{job['id']}").json()
        assert (status["state"], status["epoch"], status["step"]) == ("done", 2, 10)
        assert status["metrics"] == epochs[-1]["metrics"]

        # an ordinary run: in the listing (snapshots not as a run of their own), in the timeline
        runs = {r["name"]: r for r in c.get("/api/checkpoints").json()["runs"]}
        assert [ck["epoch"] for ck in runs["live/api-done"]["checkpoints"]] == [1, 2]
        assert not any(name.endswith("snapshots") for name in runs)
        plain = c.post("/api/timeline", json={"run": "live/api-done", "text": "ab"}).json()
        assert [e["epoch"] for e in plain["epochs"]] == [1, 2]
        full = c.post("/api/timeline", json={"run": "live/api-done", "text": "ab", "snapshots": True}).json()
        steps = [(e["step"], not e["snapshot"]) for e in full["epochs"]]  # at equal steps the epoch last
        assert steps == sorted(steps) and len(steps) == 2 + len(snaps)
        assert [e["checkpoint"] for e in full["epochs"] if e["snapshot"]] == [s["checkpoint"] for s in snaps]

        # re-attach after a reload: replay after the last event seen
        again = read_events(c, job["id"], headers={"Last-Event-ID": "2"})
        assert [e["id"] for e in again] == [e["id"] for e in events[3:]]
    assert_run_intact(train_server.checkpoint_dir, "live/api-done", 2)


def test_one_job_at_a_time_cancel_keeps_finished_epochs(train_server: TrainServer) -> None:
    with train_server.client() as c:
        job = start(c, "api-cancel", **LONG_JOB)
        read_events(c, job["id"], stop_after="epoch")  # a client that goes away: the job goes on
        busy = c.post("/api/train", json={**TINY_JOB, "name": "api-second"})
        assert busy.status_code == 409
        assert busy.json()["code"] == "training_busy" and busy.json()["job"] == job["id"]
        assert job["id"] in busy.json()["detail"]
        assert c.delete(f"/api/train/{job['id']}").status_code == 200
        status = wait_finished(c, job["id"])
        assert status["state"] == "cancelled" and status["detail"] == "cancelled"
        assert 1 <= status["epoch"] < LONG_JOB["epochs"]
        last = read_events(c, job["id"])[-1]
        assert last["event"] == "cancelled" and last["data"]["epochs_done"] == status["epoch"]
    assert_run_intact(train_server.checkpoint_dir, "live/api-cancel", status["epoch"])


def test_sigkilled_worker_fails_the_job_and_leaves_epochs_intact(train_server: TrainServer) -> None:
    with train_server.client() as c:
        job = start(c, "api-killed", **LONG_JOB)
        read_events(c, job["id"], stop_after="epoch")
        pid = c.get(f"/api/train/{job['id']}").json()["worker_pid"]
        assert isinstance(pid, int)
        os.kill(pid, signal.SIGKILL)
        status = wait_finished(c, job["id"])
        assert status["state"] == "failed" and "-9" in status["detail"]
        assert_run_intact(train_server.checkpoint_dir, "live/api-killed", status["epoch"])
        after = start(c, "api-after-kill")  # the slot is free again
        assert wait_finished(c, after["id"])["state"] == "done"


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"n_layers": 99}, "out_of_bounds", "n_layers"),
        ({"n_heads": 64}, "out_of_bounds", "n_heads"),
        ({"d_model": 4096}, "out_of_bounds", "d_model"),
        ({"epochs": 1000}, "out_of_bounds", "epochs"),
        ({"d_model": 30, "n_heads": 4}, "invalid_model_size", "d_model"),
        ({"name": "../../etc"}, "invalid_name", "name"),
        ({"name": "Has Spaces"}, "invalid_name", "name"),
        ({"name": "snapshots"}, "invalid_name", "name"),
        ({"task": "bogus"}, "validation_error", None),
        ({"epochs": 0}, "validation_error", None),
        ({"lr": -1}, "validation_error", None),
    ],
)
def test_bad_specs_get_specific_422s(train_server: TrainServer, change: dict[str, Any], code: str, field: str | None) -> None:
    with train_server.client() as c:
        r = c.post("/api/train", json={**TINY_JOB, "name": "bad", **change})
    assert r.status_code == 422, r.text
    assert r.json()["code"] == code
    if field is not None:
        assert r.json()["field"] == field


def test_unknown_job_is_404(train_server: TrainServer) -> None:
    with train_server.client() as c:
        for method, path in [("GET", "/api/train/nope"), ("GET", "/api/train/nope/events"), ("DELETE", "/api/train/nope")]:
            r = c.request(method, path)
            assert r.status_code == 404 and r.json()["code"] == "unknown_job", (method, path)


def test_disabled_is_403_naming_the_setting(tmp_path: Path) -> None:
    with serve(tmp_path, tmp_path / "server.log", env={"ATTNVIZ_TRAINING": "0"}) as url, httpx.Client(base_url=url) as c:
        limits = c.get("/api/train/limits").json()
        assert limits["allowed"] is False and "ATTNVIZ_TRAINING" in limits["reason"]
        r = c.post("/api/train", json=TINY_JOB)
        assert r.status_code == 403
        assert r.json()["code"] == "training_disabled" and r.json()["setting"] == "ATTNVIZ_TRAINING"
        assert "ATTNVIZ_TRAINING" in r.json()["detail"]
    assert not (tmp_path / "live").exists()


def test_allowed_by_default_only_on_loopback() -> None:
    assert training_permission(Settings(host="127.0.0.1"))[0] is True
    assert training_permission(Settings(host="::1"))[0] is True
    assert training_permission(Settings(host="localhost"))[0] is True
    allowed, reason = training_permission(Settings(host="0.0.0.0"))
    assert allowed is False and reason is not None and "ATTNVIZ_TRAINING=1" in reason
    assert training_permission(Settings(host="0.0.0.0", training=True))[0] is True
    assert training_permission(Settings(host="127.0.0.1", training=False))[0] is False


def test_wall_time_limit_stops_the_job(tmp_path: Path) -> None:
    env = {"ATTNVIZ_TRAINING_EXAMPLES": "300", "ATTNVIZ_TRAINING_MAX_SECONDS": "1.5"}
    with serve(tmp_path, tmp_path / "server.log", env=env) as url, httpx.Client(base_url=url, timeout=30) as c:
        job = start(c, "slow", **{**LONG_JOB, "epochs": 20, "d_model": 64})
        started = time.monotonic()
        status = wait_finished(c, job["id"])
        assert status["state"] == "cancelled" and status["detail"] == "time_limit"
        assert time.monotonic() - started < 15
        assert_run_intact(tmp_path, "live/slow", status["epoch"])
