"""docs/openapi.json (the front end generates TypeScript types from it) matches the app."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient

from attnviz.server.openapi import schema_text

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def test_committed_openapi_schema_is_current() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == schema_text(), (
        "docs/openapi.json is out of date: run `python -m attnviz.server.openapi --out docs/openapi.json`"
    )


def test_every_operation_declares_its_errors() -> None:
    schema = json.loads(schema_text())
    for path, ops in schema["paths"].items():
        for method, op in ops.items():
            if method == "post":
                # every body can be too large, not JSON, or invalid; a named checkpoint or run can be unknown
                assert {"413", "415", "422"} <= set(op["responses"]), path
                if path != "/api/train":
                    assert "404" in op["responses"], path


def test_every_field_of_a_document_is_in_the_schema(client: TestClient) -> None:
    # the front end's types are generated from the schema: a field the service writes that
    # server/schemas.py does not declare would reach the page untyped
    schemas = json.loads(schema_text())["components"]["schemas"]
    requests = [
        ({}, "AttentionDocument"),
        ({"temperature": 0.7, "seed": 1, "encoding": "float16"}, "AttentionDocument"),
        ({"detail": "overview"}, "OverviewDocument"),
    ]
    for extra, name in requests:
        doc = client.post("/api/attention", json={"checkpoint": "copy/ckpt_epoch2.pt", "text": "hello", **extra}).json()
        assert {"steps", "warnings"} <= set(doc) and ("sampling" in doc) == ("temperature" in extra)
        undeclared = set(doc) - set(schemas[name]["properties"])
        assert not undeclared, f"{name}: add {sorted(undeclared)} to server/schemas.py, then regenerate docs/openapi.json"
