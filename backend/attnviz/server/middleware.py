"""The service's edge, as pure ASGI middleware (cheap, no buffering of large bodies):

- :class:`SecurityHeadersMiddleware`: ``nosniff``, ``Referrer-Policy``, a CSP on every response;
- :class:`CatchAllMiddleware`: an unexpected exception becomes a JSON 500 and the keep-alive
  connection stays usable (Starlette re-raises after its 500, and uvicorn then drops the connection);
- :class:`TrustedHostMiddleware`: a request that arrives on a loopback address must name a loopback
  host (DNS rebinding); on other addresses the configured ``allowed_hosts`` (any by default);
- :class:`JsonBodyMiddleware`: 415 for an API body not declared as JSON;
- :class:`BodySizeLimitMiddleware`: a declared ``Content-Length`` over the limit is refused before
  anything is read; otherwise the body is read here, counting bytes as they stream in (chunked
  requests have no length), refused with 413 as soon as it passes the limit, and replayed.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import error_body
from .settings import is_loopback

log = logging.getLogger("attnviz.server")

# The built app meets it: no inline script; D3 and KaTeX set style attributes ('unsafe-inline' styles).
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'self'"
)
# Swagger UI's page (FastAPI's template) starts the UI with one inline script.
DOCS_CSP = CSP.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'")
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"SAMEORIGIN"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


async def send_error(
    send: Send, status: int, body: bytes, close: bool = False, extra: Sequence[tuple[bytes, bytes]] = ()
) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *extra]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        csp = (DOCS_CSP if path == "/docs" or path.startswith("/docs/") else CSP).encode()

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", ())}
                added = [(n, v) for n, v in [*SECURITY_HEADERS, (b"content-security-policy", csp)] if n not in present]
                message = {**message, "headers": [*message.get("headers", ()), *added]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class CatchAllMiddleware:
    """The last resort: an unexpected exception is logged once with its traceback and answered
    with a JSON 500 (no re-raise, so uvicorn keeps the connection for the next request)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            path = str(scope.get("path", ""))
            log.exception("unexpected error in %s %s", scope.get("method"), path[:200])
            if started:  # the response is half sent: nothing sensible left to say
                return
            body = error_body("internal_error", "The server failed unexpectedly; the log has the details.")
            await send_error(send, 500, body)


def _host_of(value: str) -> str:
    """The host part of a ``Host`` header: ``[::1]:8000`` → ``::1``, ``Example.org.:80`` → ``example.org``."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0].rstrip(".") if value.count(":") == 1 else value.rstrip(".")


class TrustedHostMiddleware:
    """421 ``untrusted_host`` for a Host header the service does not answer to.

    On a loopback address (the default bind) only loopback names are served, so a web page whose
    DNS name is rebound to 127.0.0.1 cannot read the API; on any other address ``allowed_hosts``
    applies (``*`` by default, so a classroom reaches the laptop by IP or name)."""

    def __init__(self, app: ASGIApp, allowed_hosts: Sequence[str] = ("*",)) -> None:
        self.app = app
        self.allowed = [h.strip().lower() for h in allowed_hosts if h.strip()]

    def _allowed(self, host: str, local: bool) -> bool:
        if local:
            return is_loopback(host)
        for pattern in self.allowed:
            if pattern == "*" or pattern == host or (pattern.startswith("*.") and host.endswith(pattern[1:])):
                return True
        return False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        server = scope.get("server")
        local = server is not None and is_loopback(str(server[0]))
        raw = next((v for n, v in scope.get("headers", ()) if n == b"host"), None)
        if raw is not None:
            host = _host_of(raw.decode("latin-1"))
            if not self._allowed(host, local):
                where = "on a loopback address only localhost / 127.0.0.1 / [::1] names" if local else "ATTNVIZ_ALLOWED_HOSTS"
                body = error_body(
                    "untrusted_host",
                    f"This server does not answer to the host {host[:100]!r} ({where}); use the address it was started on.",
                )
                await send_error(send, 421, body)
                return
        await self.app(scope, receive, send)


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


class JsonBodyMiddleware:
    """415 ``unsupported_media_type`` for an /api request with a body not declared as JSON."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and str(scope.get("path", "")).startswith("/api/"):
            headers = dict(scope.get("headers", ()))
            has_body = headers.get(b"content-length", b"0").strip() not in (b"0", b"") or b"transfer-encoding" in headers
            if has_body and not _is_json(headers.get(b"content-type", b"").decode("latin-1")):
                body = error_body(
                    "unsupported_media_type",
                    "The request body must be JSON, declared with the header Content-Type: application/json.",
                )
                await send_error(send, 415, body)  # the body was read (BodySizeLimitMiddleware): keep-alive holds
                return
        await self.app(scope, receive, send)


class BodySizeLimitMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def _reject(self, send: Send) -> None:
        body = error_body(
            "body_too_large",
            f"The request body is larger than {self.max_bytes} bytes; send a shorter text.",
            limit=self.max_bytes,
        )
        await send_error(send, 413, body, close=True)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = self.max_bytes + 1
                if declared > self.max_bytes:
                    await self._reject(send)
                    return
        chunks: list[bytes] = []
        size = 0
        first: Message | None = None
        while True:
            message = await receive()
            if message["type"] != "http.request":  # disconnect: let the app see it
                first = message
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._reject(send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                first = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                assert first is not None
                return first
            return await receive()

        await self.app(scope, replay, send)
