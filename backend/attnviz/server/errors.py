"""The one error shape ``{detail, code, ...}`` (docs/api.md) and the handlers that produce it."""

from __future__ import annotations

import logging
import math
from typing import Any

import orjson
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from .schemas import ErrorResponse

log = logging.getLogger("attnviz.server")


class ApiError(Exception):
    """An error a client can act on: HTTP status, stable ``code``, a sentence, extra fields."""

    def __init__(self, status_code: int, code: str, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.code = code
        self.detail = detail
        self.extra = extra


def error_body(code: str, detail: str, **extra: Any) -> bytes:
    return orjson.dumps({"detail": detail, "code": code, **extra})


def error_response(status_code: int, code: str, detail: str, **extra: Any) -> Response:
    return Response(error_body(code, detail, **extra), status_code=status_code, media_type="application/json")


def _safe(value: Any) -> Any:
    """Echoed input made serialisable: huge ints and NaN/inf (Python's JSON parser accepts them) as strings."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return value if -(2**63) <= value < 2**64 else str(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, dict):
        return {str(k): _safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_safe(v) for v in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _jsonable_errors(errors: Any) -> list[dict[str, Any]]:
    """Pydantic's error items, made JSON-safe (``ctx`` may hold exception objects; ``input`` bytes)."""
    out = []
    for item in errors:
        clean = {k: v for k, v in dict(item).items() if k not in ("ctx", "url")}
        if "ctx" in item:
            clean["ctx"] = {k: _safe(v) for k, v in item["ctx"].items()}
        if "input" in clean:
            clean["input"] = _safe(clean["input"])
        clean["loc"] = [str(x) if not isinstance(x, int) else x for x in clean.get("loc", ())]
        out.append(clean)
    return out


def _summarise(errors: list[dict[str, Any]]) -> str:
    parts = []
    for item in errors[:3]:
        loc = ".".join(str(x) for x in item.get("loc", ()) if x != "body") or "body"
        parts.append(f"{loc}: {item.get('msg', 'invalid')}")
    more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
    return "The request is not valid: " + "; ".join(parts) + more + "."


async def api_error_handler(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc.status_code, exc.code, exc.detail, **exc.extra)


async def validation_error_handler(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = _jsonable_errors(exc.errors())
    body = orjson.dumps({"detail": _summarise(errors), "code": "validation_error", "errors": errors}, default=str)
    return Response(body, status_code=422, media_type="application/json")


_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "body_too_large", 400: "bad_request"}


async def http_error_handler(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    if exc.status_code == 400 and "parsing the body" in detail:  # not JSON at all (e.g. bad UTF-8)
        return error_response(422, "validation_error", "The request body is not valid JSON (UTF-8).", errors=[])
    if exc.status_code == 404 and detail == "Not Found":
        detail = "There is nothing at this address; the API lives under /api (see /docs)."
    response = error_response(exc.status_code, code, detail)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


async def unexpected_error_handler(_request: Request, exc: Exception) -> Response:
    log.exception("unexpected error", exc_info=exc)
    return error_response(500, "internal_error", "The server failed unexpectedly; the log has the details.")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, api_error_handler)
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    app.add_exception_handler(StarletteHTTPException, http_error_handler)
    app.add_exception_handler(Exception, unexpected_error_handler)


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route: each status described with :class:`ErrorResponse`."""
    descriptions = {
        404: "Unknown checkpoint or run (names never leave the checkpoint directory).",
        409: "The checkpoint file exists but cannot be loaded; `detail` says why.",
        413: "The request body is larger than the configured limit.",
        422: "Empty, too long or unknown characters (`invalid_characters`), layer/head out of range, or wrong JSON types.",
    }
    return {s: {"model": ErrorResponse, "description": descriptions.get(s, "Error")} for s in statuses}
