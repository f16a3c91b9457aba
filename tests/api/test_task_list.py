"""The toy task list (and each task's learning rate) is said once, in the backend: the API's schema (and through it the front
end's TrainTask type, which its alignment rules and labels must cover) is generated from it, and
what the server lists for training is the same list."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from attnviz.data import ALL_TASKS, LM_TASKS, TASK_NAMES, TASKS
from attnviz.train import TrainConfig

OPENAPI = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def enum_of(schema: dict, model: str, field: str) -> list[str]:
    prop = schema["components"]["schemas"][model]["properties"][field]
    for option in prop.get("anyOf", [prop]):
        if "enum" in option:
            return list(option["enum"])
        if option.get("type") == "array":
            return list(option["items"]["enum"])
    raise AssertionError(f"{model}.{field} has no enum: {prop}")


def test_the_schema_lists_the_tasks_of_attnviz_data() -> None:
    schema = json.loads(OPENAPI.read_text(encoding="utf-8"))
    assert list(TASKS) == list(TASK_NAMES) and set(ALL_TASKS) == {*TASK_NAMES, *LM_TASKS}
    for model, field in [("TrainRequest", "task"), ("CheckpointInfo", "task"), ("RunInfo", "task"), ("TrainLimits", "tasks")]:
        assert enum_of(schema, model, field) == list(ALL_TASKS), (model, field)


def test_the_server_offers_every_task_for_training(app: FastAPI) -> None:
    with TestClient(app) as client:
        limits = client.get("/api/train/limits").json()
    assert limits["tasks"] == list(ALL_TASKS)
    # the page fills in the learning rate the server would use: the trainer's recipe of each task
    assert limits["default_lr"] == {task: TrainConfig.for_task(task).lr for task in ALL_TASKS}
    assert limits["default_lr"]["induction"] != limits["default_lr"]["copy"]
