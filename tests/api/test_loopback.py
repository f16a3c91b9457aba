"""One loopback rule (settings.is_loopback) for the two questions that need it: may a server bound
to this host train from the page, and may a request that came in on a loopback address name this
Host. A name one of them takes as "this machine" the other takes as well."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from attnviz.server.middleware import TrustedHostMiddleware
from attnviz.server.settings import Settings, is_loopback
from attnviz.server.training import training_permission

LOOPBACK = ["localhost", "LOCALHOST", "localhost.", "app.localhost", "127.0.0.1", "127.0.0.2", "::1", "[::1]"]
NOT_LOOPBACK = ["", "0.0.0.0", "::", "192.168.1.10", "example.org", "localhost.example.org", "mylocalhost", "[::2]"]


@pytest.mark.parametrize("host", LOOPBACK)
def test_loopback_names_and_addresses(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize("host", NOT_LOOPBACK)
def test_other_names_and_addresses(host: str) -> None:
    assert not is_loopback(host)


def host_status(host_header: str, server: tuple[str, int] = ("127.0.0.1", 8000)) -> int:
    """The status the Host check answers a request with (200: passed on to the app)."""
    sent: list[dict[str, Any]] = []

    async def ok(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "server": server, "headers": [(b"host", host_header.encode("latin-1"))], "path": "/"}
    # a thread of its own: once a browser suite has started Playwright's sync API, this thread
    # already runs an event loop, and asyncio.run refuses to start a second one here
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, TrustedHostMiddleware(ok)(scope, receive, send)).result(timeout=30)  # type: ignore[arg-type]
    return int(sent[0]["status"])


@pytest.mark.parametrize("host", ["localhost", "app.localhost", "127.0.0.1", "::1", "evil.example", "192.168.1.10"])
def test_training_on_a_bind_host_iff_a_loopback_request_may_name_it(host: str) -> None:
    header = f"[{host}]:8000" if ":" in host else f"{host}:8000"
    served = host_status(header) == 200
    allowed = training_permission(Settings(host=host))[0]
    assert served is allowed is is_loopback(host)


def test_a_request_on_an_ipv6_loopback_address_is_checked_as_loopback() -> None:
    assert host_status("evil.example", server=("::1", 8000)) == 421
    assert host_status("[::1]:8000", server=("[::1]", 8000)) == 200
