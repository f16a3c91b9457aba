"""Errors at the edge: the service raises typed domain errors (attnviz.errors) and one mapping in
attnviz.server.errors gives each its HTTP status; every code the API can send is an enum value of
the error body in the committed OpenAPI schema."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from attnviz.errors import AttnvizError, error_types
from attnviz.server.errors import _HTTP_CODES

from .conftest import make_app

OPENAPI = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
SERVER = Path(__file__).resolve().parents[2] / "backend" / "attnviz" / "server"

# the statuses docs/api.md promises for each domain code (written out, not read from the mapping)
DOCUMENTED_STATUS = {
    "unknown_checkpoint": 404,
    "unknown_run": 404,
    "unknown_handle": 404,
    "unknown_job": 404,
    "empty_text": 422,
    "text_too_long": 422,
    "unknown_characters": 422,
    "out_of_range": 422,
    "out_of_bounds": 422,
    "invalid_model_size": 422,
    "invalid_name": 422,
    "not_supported": 422,
    "checkpoint_unusable": 409,
    "response_too_large": 413,
    "training_disabled": 403,
    "training_busy": 409,
    "run_exists": 409,
    "training_dir_unwritable": 409,
}


def openapi_codes() -> set[str]:
    schema = json.loads(OPENAPI.read_text(encoding="utf-8"))
    return set(schema["components"]["schemas"]["ErrorResponse"]["properties"]["code"]["enum"])


def test_every_domain_error_code_is_in_the_openapi_enum() -> None:
    types = error_types()
    codes = [cls.code for cls in types]
    assert len(codes) == len(set(codes)), "two error types share a code"
    assert set(codes) == set(DOCUMENTED_STATUS), "a domain error without a documented status (or the reverse)"
    missing = set(codes) - openapi_codes()
    assert not missing, f"codes missing from docs/openapi.json (regenerate it): {sorted(missing)}"


# where the code is among the arguments of each way the server writes an error body
CODE_ARG = {"error_body": 0, "error_response": 1, "ApiError": 1}


def codes_written_by_the_server() -> set[str]:
    """Every literal code the web service writes (its handlers, middleware, request checks), read
    from its source, so a code added there is checked without being listed here."""
    found: set[str] = set()
    for path in SERVER.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in CODE_ARG:
                args = node.args[CODE_ARG[node.func.id] :]
                if args and isinstance(args[0], ast.Constant) and isinstance(args[0].value, str):
                    found.add(args[0].value)
    return found


def test_every_code_of_the_edge_is_in_the_openapi_enum() -> None:
    written = codes_written_by_the_server()
    # the reader finds the codes of the handlers, the middleware and the request checks (deps.py)
    assert {"validation_error", "internal_error", "untrusted_host", "busy", "client_closed_request"} <= written
    edge = {*_HTTP_CODES.values(), "http_error", *written}
    missing = edge - openapi_codes()
    assert not missing, f"codes the server sends missing from docs/openapi.json: {sorted(missing)}"


@pytest.fixture
def raising_app(ckpt_dir: Path) -> FastAPI:
    """The real app plus one route that raises each domain error type (with an extra field)."""
    app = make_app(ckpt_dir)
    by_code = {cls.code: cls for cls in error_types()}

    def boom(code: str) -> None:
        raise by_code[code](f"Sentence for {code}.", hint=code)

    app.add_api_route("/api/_raise/{code}", boom, methods=["GET"])
    return app


@pytest.mark.parametrize("code", sorted(DOCUMENTED_STATUS))
def test_a_domain_error_becomes_its_status_and_body_at_the_edge(raising_app: FastAPI, code: str) -> None:
    with TestClient(raising_app) as client:
        r = client.get(f"/api/_raise/{code}")
    assert r.status_code == DOCUMENTED_STATUS[code]
    assert r.json() == {"detail": f"Sentence for {code}.", "code": code, "hint": code}


def test_an_error_type_without_a_code_cannot_reach_a_client() -> None:
    """The abstract kinds (NotFound, InvalidInput, Conflict) carry no code: only concrete types are raised."""
    assert all("code" in vars(cls) for cls in error_types())
    assert AttnvizError not in error_types()
