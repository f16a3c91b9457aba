"""uvicorn's h11 protocol with a deadline for request headers.

uvicorn closes an idle keep-alive connection, but a client that opens a connection and sends its
headers a byte at a time (or never) holds it forever. Here every request's headers must arrive
within ``ATTNVIZ_TIMEOUT_HEADERS`` seconds of the connection opening or the previous response
ending; otherwise the connection is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

DEFAULT_TIMEOUT_HEADERS = 10.0


def _timeout_from_env() -> float:
    try:
        value = float(os.environ.get("ATTNVIZ_TIMEOUT_HEADERS", DEFAULT_TIMEOUT_HEADERS))
    except ValueError:
        return DEFAULT_TIMEOUT_HEADERS
    return value if value > 0 else DEFAULT_TIMEOUT_HEADERS


class HeaderTimeoutH11Protocol(H11Protocol):
    timeout_headers: float | None = None  # set by ``attnviz serve``; else read from the environment

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._headers_deadline: asyncio.TimerHandle | None = None

    def _arm(self) -> None:
        self._disarm()
        timeout = self.timeout_headers or _timeout_from_env()
        self._headers_deadline = self.loop.call_later(timeout, self._headers_timed_out)

    def _disarm(self) -> None:
        if self._headers_deadline is not None:
            self._headers_deadline.cancel()
            self._headers_deadline = None

    def _busy(self) -> bool:
        return self.cycle is not None and not self.cycle.response_complete

    def _headers_timed_out(self) -> None:
        self._headers_deadline = None
        if not self._busy() and not self.transport.is_closing():
            if self.conn.our_state in (h11.IDLE, h11.DONE):
                with contextlib.suppress(h11.LocalProtocolError):
                    self.conn.send(h11.ConnectionClosed())
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._busy():
            self._disarm()  # a request's headers are complete: it is being served

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)
