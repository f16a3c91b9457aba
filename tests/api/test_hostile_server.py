"""Issue 13's failures, each on a real server (``python -m attnviz.server`` under uvicorn) over
hostile files built from real checkpoints, through real keep-alive connections: no input gives a
5xx, and after every error the same connection serves the next request."""

from __future__ import annotations

import json
import math
import os
import shutil
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

from ..hostile_files import write_bombs, write_broken, write_nan_metrics, write_skipped_entries
from ..live_server import serve
from .keepalive import KeepAlive

CKPT = "copy/ckpt_epoch1.pt"
POSTS: dict[str, dict[str, Any]] = {
    "/api/attention": {"checkpoint": CKPT, "text": "abc"},
    "/api/attention/math": {"checkpoint": CKPT, "text": "abc", "kind": "cross", "layer": 0, "head": 0},
    "/api/timeline": {"run": "copy", "text": "abc"},
}


class Hostile:
    def __init__(self, root: Path, base: str, log: Path, reasons: dict[str, str], skipped: dict[str, str]) -> None:
        self.root, self.base, self.log, self.reasons, self.skipped = root, base, log, reasons, skipped


@pytest.fixture(scope="module")
def hostile(trained_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hostile]:
    root = tmp_path_factory.mktemp("hostile") / "checkpoints"
    shutil.copytree(trained_dir, root)
    real = root / CKPT
    reasons = {
        f"hostile/{k}": v for k, v in {**write_bombs(real, root / "hostile"), **write_broken(real, root / "hostile")}.items()
    }
    write_nan_metrics(real, root / "nan" / "ckpt_epoch1.pt")
    outside = tmp_path_factory.mktemp("outside") / "secret.pt"
    shutil.copy(real, outside)
    skipped = {f"odd/{k}": v for k, v in write_skipped_entries(root / "odd", outside).items()}
    log = root.parent / "server.log"
    with serve(root, log) as base:
        yield Hostile(root, base, log, reasons, skipped)


@pytest.fixture
def conn(hostile: Hostile) -> Iterator[KeepAlive]:
    c = KeepAlive(hostile.base)
    yield c
    c.close()


def _error(reply: Any, status: int, code: str) -> dict[str, Any]:
    assert reply.status == status, (reply.status, reply.body[:300])
    body: dict[str, Any] = reply.json()
    assert body["code"] == code and isinstance(body["detail"], str), body
    return body


@pytest.mark.parametrize("path", list(POSTS))
def test_a_lone_surrogate_in_any_string_field_is_422_and_the_connection_lives(conn: KeepAlive, path: str) -> None:
    for field, value in POSTS[path].items():
        if not isinstance(value, str):
            continue
        raw = json.dumps({**POSTS[path], field: "a\ud800b"}).encode()  # json.dumps writes the escape \ud800
        assert b"\\ud800" in raw
        body = _error(conn.post_json(path, raw), 422, "validation_error")
        assert "unicode" in body["detail"].lower() or "surrogate" in body["detail"], body
    # in a key, and as the whole body
    _error(conn.post_json(path, json.dumps({**POSTS[path], "\udfff": 1}).encode()), 422, "validation_error")
    _error(conn.post_json(path, b'"\\ud800"'), 422, "validation_error")
    conn.still_serves()


@pytest.mark.parametrize(
    ("path", "status"),
    [("/" + "a" * 300, 200), ("/assets/" + "b" * 256 + ".js", 404), ("/x/" + "c" * 5000, 200), ("/" + "d" * 255 + "/e", 200)],
)
def test_a_file_name_too_long_on_the_static_route_is_not_a_500(conn: KeepAlive, path: str, status: int) -> None:
    """A name longer than the file system allows is no file: a page route gets the app (a client-side
    route), a missing asset a 404 (OSError ENAMETOOLONG must not become a 500)."""
    reply = conn.request("GET", path)
    assert reply.status == status, reply.body[:200]
    if status == 200:
        assert reply.body.startswith(b"<!doctype html>")
    else:
        assert reply.json()["code"] == "not_found"
    conn.still_serves()


def test_broken_checkpoints_are_listed_with_the_key_and_refused_with_409(hostile: Hostile, conn: KeepAlive) -> None:
    listed = {c["name"]: c for run in conn.request("GET", "/api/checkpoints").json()["runs"] for c in run["checkpoints"]}
    for name, word in hostile.reasons.items():
        assert listed[name]["usable"] is False, listed[name]
        assert word in listed[name]["error"], (name, listed[name]["error"])
        for _ in range(2):  # the second answer comes from the remembered verdict
            body = _error(
                conn.post_json("/api/attention", json.dumps({"checkpoint": name, "text": "abc"}).encode()),
                409,
                "checkpoint_unusable",
            )
            assert word in body["detail"], body
        math_body = {"checkpoint": name, "text": "abc", "kind": "cross", "layer": 0, "head": 0}
        _error(conn.post_json("/api/attention/math", json.dumps(math_body).encode()), 409, "checkpoint_unusable")
    _error(conn.post_json("/api/timeline", json.dumps({"run": "hostile", "text": "abc"}).encode()), 409, "checkpoint_unusable")
    conn.still_serves()


def test_config_bombs_name_the_limit_setting(hostile: Hostile, conn: KeepAlive) -> None:
    listed = {c["name"]: c for run in conn.request("GET", "/api/checkpoints").json()["runs"] for c in run["checkpoints"]}
    assert "ATTNVIZ_MAX_D_MODEL" in listed["hostile/bomb_d_model.pt"]["error"]
    assert "ATTNVIZ_MAX_N_LAYERS" in listed["hostile/bomb_n_layers.pt"]["error"]
    assert "ATTNVIZ_MAX_MAX_LEN" in listed["hostile/bomb_max_len.pt"]["error"]


def test_skipped_entries_are_listed_with_their_reason(hostile: Hostile, conn: KeepAlive) -> None:
    body = conn.request("GET", "/api/checkpoints").json()
    skipped = {s["name"]: s["reason"] for s in body["skipped"]}
    for name, word in hostile.skipped.items():
        assert word in skipped.get(name, ""), (name, skipped)
    names = {c["name"] for run in body["runs"] for c in run["checkpoints"]}
    assert not names & set(hostile.skipped)
    assert not os.path.isabs(body["checkpoint_dir"]) and body["checkpoint_dir"] == "checkpoints"


def test_non_finite_metrics_are_null(conn: KeepAlive) -> None:
    runs = {r["name"]: r for r in conn.request("GET", "/api/checkpoints").json()["runs"]}
    metrics = runs["nan"]["checkpoints"][0]["metrics"]
    assert metrics["loss"] is None and metrics["token_accuracy"] is None
    timeline = conn.post_json("/api/timeline", json.dumps({"run": "nan", "text": "abc"}).encode())
    assert timeline.status == 200 and timeline.json()["epochs"][0]["metrics"]["loss"] is None


def _doc(conn: KeepAlive, name: str) -> dict[str, Any]:
    reply = conn.post_json("/api/attention", json.dumps({"checkpoint": name, "text": "abc", "precision": 8}).encode())
    assert reply.status == 200, reply.body[:300]
    doc: dict[str, Any] = reply.json()
    return doc


@pytest.mark.parametrize("how", ["in place", "renamed over"])
def test_a_file_replaced_with_the_same_size_and_mtime_is_reloaded(hostile: Hostile, conn: KeepAlive, how: str) -> None:
    target = hostile.root / "swap" / "ckpt_epoch1.pt"
    target.parent.mkdir(exist_ok=True)
    raw = torch.load(hostile.root / CKPT, weights_only=True)
    torch.save(raw, target)
    before = _doc(conn, "swap/ckpt_epoch1.pt")
    raw["epoch"] = 7  # same pickle length as 1
    for tensor in raw["state_dict"].values():
        tensor.neg_()  # other weights, same storage layout
    other = target.parent / "next" / target.name  # torch.save names the archive after the file
    other.parent.mkdir(exist_ok=True)
    torch.save(raw, other)
    assert other.stat().st_size == target.stat().st_size, "precondition: the replacement has the same size"
    st = target.stat()
    if how == "in place":
        target.write_bytes(other.read_bytes())
        other.unlink()
    else:
        os.replace(other, target)
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert target.stat().st_mtime_ns == st.st_mtime_ns and target.stat().st_size == st.st_size
    after = _doc(conn, "swap/ckpt_epoch1.pt")
    assert before["model"]["epoch"] == 1 and after["model"]["epoch"] == 7
    assert after["attentions"]["encoder_self"] != before["attentions"]["encoder_self"]


def test_security_headers_on_the_page_the_api_and_errors(conn: KeepAlive) -> None:
    for method, path in [("GET", "/"), ("GET", "/api/health"), ("GET", "/api/nothing"), ("GET", "/docs")]:
        headers = conn.request(method, path).headers
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "no-referrer"
        csp = headers["content-security-policy"]
        assert "frame-ancestors 'self'" in csp and "default-src 'self'" in csp
        if path != "/docs":
            assert "script-src 'self';" in csp
    conn.still_serves()


def test_docs_are_served_from_bundled_files(conn: KeepAlive) -> None:
    page = conn.request("GET", "/docs")
    assert page.status == 200
    html = page.body.decode()
    assert "cdn" not in html.lower() and "//" not in html.replace("http://", "").replace("https://", "").split("<script>")[0][:0]
    for asset in ["/static-offline-docs/swagger-ui-bundle.js", "/static-offline-docs/swagger-ui.css"]:
        assert asset in html
        reply = conn.request("GET", asset)
        assert reply.status == 200 and len(reply.body) > 10_000
    assert "https://" not in html and "http://" not in html


def test_host_headers_on_a_loopback_address(conn: KeepAlive, hostile: Hostile) -> None:
    port = conn.port
    for host in ["evil.example", f"attacker.test:{port}", "192.168.1.10"]:
        _error(conn.request("GET", "/api/checkpoints", headers={"Host": host}), 421, "untrusted_host")
    for host in [f"localhost:{port}", f"127.0.0.1:{port}", f"[::1]:{port}"]:
        assert conn.request("GET", "/api/health", headers={"Host": host}).status == 200


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data"])
def test_a_body_not_declared_as_json_is_415(conn: KeepAlive, content_type: str | None) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    body = json.dumps(POSTS["/api/attention"]).encode()
    _error(conn.request("POST", "/api/attention", body, headers), 415, "unsupported_media_type")
    assert conn.request("POST", "/api/attention", body, {"Content-Type": "application/json; charset=utf-8"}).status == 200
    conn.still_serves()


def test_a_60_kb_url_writes_a_proportionate_log(hostile: Hostile, conn: KeepAlive) -> None:
    before = hostile.log.stat().st_size
    for path in ["/api/attention?" + "q" * 15_000, "/" + "z" * 15_000, "/assets/" + "y/" * 7_000]:
        reply = conn.request("GET", path)
        assert reply.status < 500
    # a 60 KB request line on its own connection: an answer, and no traceback in the log
    raw = socket.create_connection((conn.host, conn.port), timeout=30)
    with raw:
        raw.sendall(b"GET /" + b"w" * 60_000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        answer = raw.recv(100)
        assert answer.startswith(b"HTTP/1.1 ") and not answer.startswith(b"HTTP/1.1 5"), answer
    conn.still_serves()
    assert hostile.log.stat().st_size - before < 2_000, hostile.log.read_text()[before:][:3000]


def test_unexpected_errors_never_pass_as_500s_here(hostile: Hostile) -> None:
    assert "Traceback" not in hostile.log.read_text(errors="replace")


def _wait_closed(sock: socket.socket, limit: float) -> float:
    started = time.monotonic()
    sock.settimeout(limit)
    while sock.recv(1024):
        pass
    return time.monotonic() - started


def test_slow_request_headers_are_cut_off(trained_dir: Path, tmp_path: Path) -> None:
    env = {"ATTNVIZ_TIMEOUT_HEADERS": "1"}
    with serve(trained_dir, tmp_path / "server.log", env=env) as base:
        port = int(base.rsplit(":", 1)[1])
        # headers that never finish, then a connection that sends nothing
        for opening in [b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ", b""]:
            with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
                if opening:
                    sock.sendall(opening)
                assert _wait_closed(sock, 20) >= 0.9
        # an ordinary keep-alive client is unaffected
        conn = KeepAlive(base)
        conn.still_serves()
        conn.still_serves()
        conn.close()


def test_the_response_budget_refuses_with_advice(trained_dir: Path, tmp_path: Path) -> None:
    with serve(trained_dir, tmp_path / "server.log", env={"ATTNVIZ_MAX_RESPONSE_BYTES": "1024"}) as base:
        conn = KeepAlive(base)
        body = {"checkpoint": CKPT, "text": "abcdefg", "precision": 8, "detail": "full"}
        err = _error(conn.post_json("/api/attention", json.dumps(body).encode()), 413, "response_too_large")
        assert "uint8" in err["detail"] and "ATTNVIZ_MAX_RESPONSE_BYTES" in err["detail"] and "overview" in err["detail"]
        assert err["limit"] == 1024 and err["estimated_bytes"] == err["weights"] * 11
        small = conn.post_json("/api/attention", json.dumps({**body, "encoding": "uint8"}).encode())
        assert small.status == 200
        auto = conn.post_json("/api/attention", json.dumps({**body, "detail": "auto"}).encode())  # the default
        assert auto.status == 200 and auto.json()["detail"] == "overview"
        timeline = conn.post_json("/api/timeline", json.dumps({"run": "copy", "text": "abcdef", "precision": 8}).encode())
        _error(timeline, 413, "response_too_large")
        conn.still_serves()
        conn.close()


def test_the_bombs_cost_little(hostile: Hostile, conn: KeepAlive) -> None:
    """A config-only file never builds its model: the listing stays a file read (the bench times it)."""
    for name in [n for n in hostile.reasons if "bomb" in n]:
        assert (hostile.root / name).stat().st_size < 200_000
    health = conn.request("GET", "/api/health").json()
    assert health["status"] == "ok"
    assert not math.isnan(float(health["checkpoints"]))


def test_the_access_log_cuts_a_long_url(trained_dir: Path, tmp_path: Path) -> None:
    """A real server with its access log on: a 15 KB URL that fails writes one short line."""
    import subprocess
    import sys

    from ..live_server import REPO, free_port

    port = free_port()
    log = tmp_path / "access.log"
    env = {**os.environ, "PYTHONPATH": str(REPO / "backend")}
    cmd = [sys.executable, "-m", "attnviz.server", "--port", str(port), "--checkpoints", str(trained_dir)]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=REPO)
    try:
        deadline = time.monotonic() + 60
        while "Uvicorn running" not in log.read_text(errors="replace"):
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        conn = KeepAlive(f"http://127.0.0.1:{port}")
        before = log.stat().st_size
        assert conn.request("GET", "/api/attention?" + "q" * 15_000).status == 405
        conn.still_serves()
        while log.stat().st_size - before == 0 or "/api/health" not in log.read_text()[before:]:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        written = log.read_text()[before:]
        assert "chars)" in written and len(written) < 1_000, written[:2000]
        conn.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
