"""One HTTP/1.1 keep-alive connection to a real server, asserting it is never dropped: every
request must go out on the same socket as the first (``http.client`` would silently reconnect)."""

from __future__ import annotations

import http.client
import json
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class KeepAlive:
    def __init__(self, base: str, timeout: float = 30) -> None:
        url = urlsplit(base)
        self.host = url.hostname or "127.0.0.1"
        self.port = url.port or 80
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        self.conn.connect()
        self.sock: socket.socket | None = self.conn.sock

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> Reply:
        """Send one request on the connection; fail if the server closed it or said it will."""
        assert self.conn.sock is self.sock, "the server closed the keep-alive connection"
        all_headers = {"Host": f"{self.host}:{self.port}", **(headers or {})}
        self.conn.request(method, path, body=body, headers=all_headers)
        response = self.conn.getresponse()
        data = response.read()
        assert not response.will_close, f"{method} {path[:80]} -> {response.status}: the server closes the connection"
        return Reply(response.status, response.headers, data)

    def post_json(self, path: str, raw: bytes) -> Reply:
        return self.request("POST", path, raw, {"Content-Type": "application/json"})

    def still_serves(self) -> None:
        """The same connection answers the next request."""
        reply = self.request("GET", "/api/health")
        assert reply.status == 200, reply.body[:200]

    def close(self) -> None:
        self.conn.close()
