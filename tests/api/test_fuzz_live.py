"""Property-based: arbitrary methods, paths, headers and JSON bodies against every route of a real
uvicorn server, all on one keep-alive connection. No answer is a 5xx and, after each one, the same
connection serves the next request. ``ATTNVIZ_FUZZ_EXAMPLES`` sets the number of examples
(bounded by default so ``make test`` stays quick; bench/bench_abuse.py runs more).

Also: an unexpected exception in a route is a JSON 500 that keeps the connection."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import uvicorn
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from attnviz.server import Settings, create_app
from attnviz.server.protocol import HeaderTimeoutH11Protocol

from ..live_server import free_port, serve
from .keepalive import KeepAlive

EXAMPLES = int(os.environ.get("ATTNVIZ_FUZZ_EXAMPLES", "150"))
ROUTES = [
    "/",
    "/api/health",
    "/api/checkpoints",
    "/api/attention",
    "/api/attention/math",
    "/api/timeline",
    "/docs",
    "/openapi.json",
    "/static-offline-docs/swagger-ui.css",
    "/assets/",
    "/api/",
]
METHODS = ["GET", "POST", "HEAD", "PUT", "DELETE", "PATCH", "OPTIONS"]
VALID = {
    "/api/attention": {"checkpoint": "copy/ckpt_epoch1.pt", "text": "abc", "precision": 4, "encoding": "json", "ablate": []},
    "/api/attention/math": {"checkpoint": "copy/ckpt_epoch1.pt", "text": "abc", "kind": "cross", "layer": 0, "head": 0},
    "/api/timeline": {"run": "copy", "text": "abc", "precision": 4, "encoding": "float16"},
}
# headers whose job is to end the connection or frame the body (http.client sets those)
FRAMING = {"connection", "content-length", "transfer-encoding", "host", "expect", "upgrade", "te", "trailer", "keep-alive"}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
header_names = st.sampled_from(
    ["accept", "accept-encoding", "origin", "referer", "cookie", "user-agent", "content-type", "authorization", "range",
     "if-none-match", "if-modified-since", "x-forwarded-for", "accept-language"]
) | st.from_regex(r"\AX-[A-Za-z0-9-]{1,20}\Z")  # fmt: skip
header_values = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=60)


@st.composite
def bodies(draw: st.DrawFn, path: str) -> bytes | None:
    kind = draw(st.sampled_from(["none", "valid-ish", "any-json", "bytes"]))
    if kind == "none":
        return None
    if kind == "valid-ish" and path in VALID:
        body: dict[str, Any] = dict(VALID[path])
        for key in draw(st.lists(st.sampled_from(sorted(body)), max_size=2)):
            body[key] = draw(json_values | st.text(max_size=30))
        return json.dumps(body).encode()
    if kind == "bytes":
        return draw(st.binary(max_size=200))
    return json.dumps(draw(json_values)).encode()


@st.composite
def requests(draw: st.DrawFn) -> tuple[str, str, dict[str, str], bytes | None]:
    route = draw(st.sampled_from(ROUTES))
    suffix = draw(st.text(max_size=40) | st.sampled_from(["%zz", "%ED%A0%80", "/../../etc/passwd", "?a=%00", "x" * 300]))
    path = route + quote(suffix, safe="/?=&%.:@-_~")
    method = draw(st.sampled_from(METHODS))
    headers = {
        k: v for k, v in draw(st.dictionaries(header_names, header_values, max_size=4)).items() if k.lower() not in FRAMING
    }
    if draw(st.booleans()):
        headers["Content-Type"] = "application/json"
    return method, path, headers, draw(bodies(route))


@pytest.fixture(scope="module")
def live(trained_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    log = tmp_path_factory.mktemp("fuzz") / "server.log"
    with serve(trained_dir, log) as base:
        yield base, log


def test_no_input_gives_a_5xx_or_drops_the_connection(live: tuple[str, Path]) -> None:
    base, log = live
    conn = KeepAlive(base)

    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(requests())
    def probe(request: tuple[str, str, dict[str, str], bytes | None]) -> None:
        method, path, headers, body = request
        reply = conn.request(method, path, body, headers)
        assert reply.status < 500, (method, path, headers, body, reply.status, reply.body[:300])
        if path.startswith("/api/") and reply.status >= 400 and method != "HEAD":
            error = reply.json()
            assert isinstance(error["detail"], str) and isinstance(error["code"], str)
        conn.still_serves()

    probe()
    conn.close()
    assert "Traceback" not in log.read_text(errors="replace")


@pytest.fixture
def failing_server(tmp_path: Path) -> Iterator[str]:
    """The real app, plus a route that fails unexpectedly, under an in-process uvicorn."""
    app = create_app(Settings(checkpoint_dir=tmp_path, frontend_dist=tmp_path / "no-dist"))

    @app.get("/api/boom", include_in_schema=False)
    async def boom() -> None:
        raise RuntimeError("a bug")

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, http=HeaderTimeoutH11Protocol, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_an_unexpected_error_is_a_json_500_that_keeps_the_connection(failing_server: str) -> None:
    conn = KeepAlive(failing_server)
    for _ in range(2):
        reply = conn.request("GET", "/api/boom")
        assert reply.status == 500 and reply.json()["code"] == "internal_error"
        assert reply.headers["content-security-policy"]
        conn.still_serves()
    conn.close()
