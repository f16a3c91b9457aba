"""docs/openapi.json (the front end generates TypeScript types from it) matches the app."""

from __future__ import annotations

from pathlib import Path

from attnviz.server.openapi import schema_text

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def test_committed_openapi_schema_is_current() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == schema_text(), (
        "docs/openapi.json is out of date: run `python -m attnviz.server.openapi --out docs/openapi.json`"
    )


def test_every_operation_declares_its_errors() -> None:
    import json

    schema = json.loads(schema_text())
    for path, ops in schema["paths"].items():
        for method, op in ops.items():
            if method == "post":
                # every body can be too large, not JSON, or invalid; a named checkpoint or run can be unknown
                assert {"413", "415", "422"} <= set(op["responses"]), path
                if path != "/api/train":
                    assert "404" in op["responses"], path
