"""The one error shape ``{detail, code, ...}`` (docs/api.md) and the handlers that produce it.

The status of a domain error (:mod:`attnviz.errors`) is decided here, by its type, and nowhere else;
:class:`ApiError` is for what only the web service knows (a full queue, a closed connection)."""

from __future__ import annotations

import logging
import math
from typing import Any

import orjson
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Route

from ..errors import AttnvizError, Conflict, InvalidInput, NotAllowed, NotFound, NotSupported, TooLarge, Unusable
from .schemas import ErrorCode, ErrorResponse

log = logging.getLogger("attnviz.server")


STATUS: dict[type[AttnvizError], int] = {
    NotFound: 404,
    InvalidInput: 422,
    NotSupported: 422,
    Unusable: 409,
    Conflict: 409,
    TooLarge: 413,
    NotAllowed: 403,
}
"""The HTTP status of each kind of domain error (a subclass takes its nearest listed base's)."""


def status_of(exc: AttnvizError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    raise TypeError(f"no HTTP status for {type(exc).__name__}: add its type to attnviz.server.errors.STATUS")


class ApiError(Exception):
    """An error a client can act on: HTTP status, stable ``code``, a sentence, extra fields."""

    def __init__(
        self, status_code: int, code: ErrorCode, detail: str, headers: dict[str, str] | None = None, **extra: Any
    ) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.code = code
        self.detail = detail
        self.headers = headers or {}
        self.extra = extra


def clean_text(text: str) -> str:
    """``text`` as valid UTF-8: a lone surrogate (``\\ud800``, which JSON parsers accept) becomes
    its escape, so echoing a client's input can never fail to serialise."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def error_body(code: ErrorCode, detail: str, **extra: Any) -> bytes:
    body = {"detail": detail, "code": code, **extra}
    try:
        return orjson.dumps(body)
    except TypeError:  # a lone surrogate or an odd value echoed from the request
        return orjson.dumps(_safe(body))


def error_response(
    status_code: int, code: ErrorCode, detail: str, headers: dict[str, str] | None = None, **extra: Any
) -> Response:
    return Response(error_body(code, detail, **extra), status_code=status_code, media_type="application/json", headers=headers)


def _safe(value: Any) -> Any:
    """Echoed input made serialisable: huge ints and NaN/inf (Python's JSON parser accepts them) as
    strings, lone surrogates escaped."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return value if -(2**63) <= value < 2**64 else str(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, dict):
        return {clean_text(str(k)): _safe(v) for k, v in value.items()}
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
        clean["loc"] = [clean_text(str(x)) if not isinstance(x, int) else x for x in clean.get("loc", ())]
        clean["msg"] = clean_text(str(clean.get("msg", "")))
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
    return error_response(exc.status_code, exc.code, exc.detail, headers=exc.headers, **exc.extra)


async def domain_error_handler(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AttnvizError)
    return error_response(status_of(exc), exc.code, exc.detail, **exc.extra)


async def validation_error_handler(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = _jsonable_errors(exc.errors())
    body = error_body("validation_error", _summarise(errors), errors=errors)
    return Response(body, status_code=422, media_type="application/json")


_HTTP_CODES: dict[int, ErrorCode] = {
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
    400: "bad_request",
    415: "unsupported_media_type",
}


async def http_error_handler(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    if exc.status_code == 400 and "parsing the body" in detail:  # not JSON at all (e.g. bad UTF-8)
        return error_response(422, "validation_error", "The request body is not valid JSON (UTF-8).", errors=[])
    if exc.status_code == 404 and detail == "Not Found":
        detail = "There is nothing at this address; the API lives under /api (see /docs)."
    response = error_response(exc.status_code, code, clean_text(detail))
    if exc.headers:
        response.headers.update(exc.headers)
    if exc.status_code == 405:
        # Starlette names only the first route whose path matched; GET and DELETE of one path are two routes
        response.headers["Allow"] = ", ".join(_allowed_methods(_request))
    return response


def _allowed_methods(request: Request) -> list[str]:
    methods: set[str] = set()
    for route in request.app.router.routes:
        if isinstance(route, Route | APIRoute) and route.methods and route.path_regex.match(request.url.path):
            methods |= route.methods
    return sorted(methods)


def install_error_handlers(app: FastAPI) -> None:
    """Handlers for the expected errors; anything else is caught by
    :class:`~attnviz.server.middleware.CatchAllMiddleware` (a JSON 500 that keeps the connection)."""
    app.add_exception_handler(ApiError, api_error_handler)
    app.add_exception_handler(AttnvizError, domain_error_handler)
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    app.add_exception_handler(StarletteHTTPException, http_error_handler)


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route: each status described with :class:`ErrorResponse`."""
    descriptions = {
        404: "Unknown checkpoint or run (names never leave the checkpoint directory); `unknown_handle`: a long run's "
        "handle is unknown or expired (ask for the attention document again).",
        409: "The checkpoint file exists but cannot be loaded; `detail` says why.",
        413: "The request body is larger than the configured limit (`body_too_large`), or the response would pass "
        "the response budget (`response_too_large`: ask for detail `overview`, a compact encoding, fewer tokens or a lower "
        "precision).",
        415: "The body is not declared as JSON (`Content-Type: application/json`).",
        503: "`busy`: every inference thread is taken and the queue is full; retry after `Retry-After` seconds.",
        422: "Empty, too long (`text_too_long`: a pretrained model's limit is its context in tokens, checked before the "
        "model runs) or unknown characters (`invalid_characters`), layer/head or a tile's region out of range, or wrong "
        "JSON types.",
    }
    return {s: {"model": ErrorResponse, "description": descriptions.get(s, "Error")} for s in statuses}
