"""A real uvicorn server that trains from the page (tiny jobs: 300 examples an epoch, a snapshot
every 2 optimizer steps), and a reader for its server-sent events."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from ..live_server import serve

TINY_JOB: dict[str, Any] = {"task": "copy", "epochs": 2, "n_layers": 1, "n_heads": 2, "d_model": 16, "lr": 1e-2}
# long enough to be caught running (about 0.2 s an epoch), small enough to finish if it is not cancelled
LONG_JOB: dict[str, Any] = {"task": "copy", "epochs": 20, "n_layers": 2, "n_heads": 2, "d_model": 32}
TRAIN_ENV = {
    "ATTNVIZ_TRAINING_EXAMPLES": "300",
    "ATTNVIZ_TRAINING_SNAPSHOT_EVERY": "2",
    "ATTNVIZ_INFERENCE_THREADS": "1",
}


@dataclass
class TrainServer:
    url: str
    checkpoint_dir: Path

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30)


@pytest.fixture(scope="session")
def train_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TrainServer]:
    root = tmp_path_factory.mktemp("train-checkpoints")
    with serve(root, tmp_path_factory.mktemp("train-log") / "server.log", env=TRAIN_ENV) as url:
        yield TrainServer(url, root)


def read_events(client: httpx.Client, job_id: str, *, stop_after: str | None = None, headers: dict[str, str] | None = None,
                ) -> list[dict[str, Any]]:  # fmt: skip
    """The job's events, parsed from the real SSE stream, until its last one (or ``stop_after``)."""
    events: list[dict[str, Any]] = []
    current: dict[str, Any] = {}
    with client.stream("GET", f"/api/train/{job_id}/events", headers=headers or {}, timeout=60) as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        for line in stream.iter_lines():
            if line.startswith("event: "):
                current["event"] = line[7:]
            elif line.startswith("id: "):
                current["id"] = int(line[4:])
            elif line.startswith("data: "):
                current["data"] = json.loads(line[6:])
            elif line == "" and current:
                events.append(current)
                if current.get("event") == stop_after:
                    break
                current = {}
    return events


def wait_finished(client: httpx.Client, job_id: str) -> dict[str, Any]:
    """The job's status once it ended (its event stream ends with the last event)."""
    read_events(client, job_id)
    status: dict[str, Any] = client.get(f"/api/train/{job_id}").json()
    return status
