"""Every error of docs/api.md, and hostile inputs: traversal, malicious and truncated files,
huge bodies, NUL and emoji characters, wrong JSON types."""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from fastapi.testclient import TestClient

CKPT = "copy/ckpt_epoch2.pt"


def post(client: TestClient, body: Any, path: str = "/api/attention") -> tuple[int, dict[str, Any]]:
    r = client.post(path, json=body)
    data = r.json()
    assert set(data) >= {"detail", "code"} and isinstance(data["detail"], str), data
    return r.status_code, data


@pytest.mark.parametrize(
    "name",
    [
        "copy/ckpt_epoch9.pt",
        "../checkpoints/copy/ckpt_epoch2.pt",
        "copy/../copy/ckpt_epoch2.pt",
        "./copy/ckpt_epoch2.pt",
        "/etc/passwd",
        "/tmp/x.pt",
        "copy\\ckpt_epoch2.pt",
        "copy/ckpt_epoch2.pt\x00.txt",
        "copy//ckpt_epoch2.pt",
        "",
        "..",
        "copy/.hidden.pt",
        "C:/Windows/x.pt",
        "copy",
        "copy/",
        "%2e%2e/copy/ckpt_epoch2.pt",
        "copy/ckpt_epoch2.txt",
    ],
)
def test_unknown_or_unsafe_checkpoint_names_are_404(client: TestClient, name: str) -> None:
    status, data = post(client, {"checkpoint": name, "text": "abc"})
    assert status == 404 and data["code"] == "unknown_checkpoint"
    status, data = post(
        client, {"checkpoint": name, "text": "abc", "kind": "cross", "layer": 0, "head": 0}, "/api/attention/math"
    )
    assert status == 404


@pytest.mark.parametrize("run", ["..", "../copy", "/copy", "copy/..", "a\x00b", "c\\d"])
def test_unsafe_run_names_are_404(client: TestClient, run: str) -> None:
    status, data = post(client, {"run": run, "text": "abc"}, "/api/timeline")
    assert status == 404 and data["code"] == "unknown_run"


def test_symlink_pointing_outside_is_404_and_not_listed(client: TestClient, ckpt_dir: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.pt"
    outside.write_bytes((ckpt_dir / CKPT).read_bytes())
    (ckpt_dir / "copy" / "ckpt_epoch7.pt").symlink_to(outside)
    (ckpt_dir / "linked").symlink_to(tmp_path, target_is_directory=True)
    status, _data = post(client, {"checkpoint": "copy/ckpt_epoch7.pt", "text": "abc"})
    assert status == 404
    assert post(client, {"checkpoint": "linked/outside.pt", "text": "abc"})[0] == 404
    names = [c["name"] for run in client.get("/api/checkpoints").json()["runs"] for c in run["checkpoints"]]
    assert "copy/ckpt_epoch7.pt" not in names
    # a symlink that stays inside the directory is fine
    (ckpt_dir / "copy" / "latest.pt").symlink_to(ckpt_dir / CKPT)
    assert client.post("/api/attention", json={"checkpoint": "copy/latest.pt", "text": "abc"}).status_code == 200


class _Evil:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (open, (str(self.marker), "w"))


def test_malicious_pickle_is_listed_unusable_and_never_executed(client: TestClient, ckpt_dir: Path, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    evil_dir = ckpt_dir / "evil"
    evil_dir.mkdir()
    torch.save({"format": "attnviz-checkpoint", "version": 1, "payload": _Evil(marker)}, evil_dir / "ckpt_epoch1.pt")
    with open(evil_dir / "ckpt_epoch2.pt", "wb") as f:
        pickle.dump(_Evil(marker), f)
    runs = {run["name"]: run for run in client.get("/api/checkpoints").json()["runs"]}
    evil = runs["evil"]["checkpoints"]
    assert [c["usable"] for c in evil] == [False, False]
    assert all(c["error"] and c["metrics"] is None and c["config"] is None for c in evil)
    assert [c["epoch"] for c in evil] == [1, 2]  # from the file name
    assert runs["copy"]["checkpoints"][0]["usable"]  # the rest still listed
    for name in ("evil/ckpt_epoch1.pt", "evil/ckpt_epoch2.pt"):
        status, data = post(client, {"checkpoint": name, "text": "abc"})
        assert status == 409 and data["code"] == "checkpoint_unusable" and name in data["detail"]
    status, data = post(client, {"run": "evil", "text": "abc"}, "/api/timeline")
    assert status == 409
    assert not marker.exists()


def test_truncated_checkpoint_is_unusable_409(client: TestClient, ckpt_dir: Path) -> None:
    data = (ckpt_dir / CKPT).read_bytes()
    (ckpt_dir / "copy" / "ckpt_epoch3.pt").write_bytes(data[: len(data) // 2])
    (ckpt_dir / "copy" / "ckpt_epoch4.pt").write_bytes(b"")
    listed = client.get("/api/checkpoints").json()["runs"][0]["checkpoints"]
    by_name = {c["name"]: c for c in listed}
    assert by_name["copy/ckpt_epoch3.pt"]["usable"] is False and by_name["copy/ckpt_epoch3.pt"]["error"]
    assert by_name["copy/ckpt_epoch4.pt"]["usable"] is False
    status, body = post(client, {"checkpoint": "copy/ckpt_epoch3.pt", "text": "abc"})
    assert status == 409 and body["code"] == "checkpoint_unusable"
    assert client.get("/api/health").status_code == 200


def test_body_too_large_413(client: TestClient) -> None:
    huge = b'{"checkpoint": "copy/ckpt_epoch2.pt", "text": "' + b"a" * (10 * 1024 * 1024) + b'"}'
    r = client.post("/api/attention", content=huge, headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.json()["code"] == "body_too_large"

    def chunks() -> Iterator[bytes]:  # no Content-Length: enforced while streaming
        yield b'{"checkpoint": "copy/ckpt_epoch2.pt", "text": "'
        for _ in range(10 * 1024):
            yield b"a" * 1024
        yield b'"}'

    r = client.post("/api/attention", content=chunks(), headers={"content-type": "application/json"})
    assert "content-length" not in r.request.headers
    assert r.status_code == 413 and r.json()["code"] == "body_too_large"

    def small() -> Iterator[bytes]:  # a small chunked body still works
        yield b'{"checkpoint": "copy/ckpt_epoch2.pt",'
        yield b' "text": "abc"}'

    assert client.post("/api/attention", content=small(), headers={"content-type": "application/json"}).status_code == 200


def test_text_errors_name_each_character(client: TestClient) -> None:
    status, data = post(client, {"checkpoint": CKPT, "text": ""})
    assert status == 422 and data["code"] == "empty_text"
    status, data = post(client, {"checkpoint": CKPT, "text": "a" * 500})
    assert status == 422 and data["code"] == "text_too_long" and "500" in data["detail"]
    status, data = post(client, {"checkpoint": CKPT, "text": "hi\x00 😀 ÉA<eos>"})
    assert status == 422 and data["code"] == "unknown_characters"
    assert data["invalid_characters"] == [
        {"char": "\x00", "position": 2},
        {"char": "😀", "position": 4},
        {"char": "É", "position": 6},
        {"char": "A", "position": 7},
        {"char": "<", "position": 8},
        {"char": ">", "position": 12},
    ]
    assert "'😀' at position 4" in data["detail"] and "'\\x00' at position 2" in data["detail"]
    status, data = post(client, {"checkpoint": CKPT, "text": "😀", "kind": "cross", "layer": 0, "head": 0}, "/api/attention/math")
    assert status == 422 and data["invalid_characters"] == [{"char": "😀", "position": 0}]


def test_layer_or_head_out_of_range(client: TestClient) -> None:
    for layer, head in [(2, 0), (0, 2), (9, 9)]:
        body = {"checkpoint": CKPT, "text": "abc", "kind": "cross", "layer": layer, "head": head}
        status, data = post(client, body, "/api/attention/math")
        assert status == 422 and data["code"] == "out_of_range", data
        body = {"checkpoint": CKPT, "text": "abc", "ablate": [{"kind": "cross", "layer": layer, "head": head}]}
        status, data = post(client, body)
        assert status == 422 and data["code"] == "out_of_range"
    status, data = post(
        client, {"checkpoint": CKPT, "text": "abc", "kind": "cross", "layer": -1, "head": 0}, "/api/attention/math"
    )
    assert status == 422 and data["code"] == "validation_error"


@pytest.mark.parametrize(
    "body",
    [
        {"checkpoint": CKPT, "text": 3},
        {"checkpoint": 1, "text": "abc"},
        {"checkpoint": CKPT},
        {"checkpoint": CKPT, "text": "abc", "precision": "four"},
        {"checkpoint": CKPT, "text": "abc", "precision": 9},
        {"checkpoint": CKPT, "text": "abc", "encoding": "gzip"},
        {"checkpoint": CKPT, "text": "abc", "ablate": [{"kind": "sideways", "layer": 0, "head": 0}]},
        {"checkpoint": CKPT, "text": "abc", "ablate": {"kind": "cross"}},
        {"checkpoint": CKPT, "text": ["a"]},
        {"checkpoint": CKPT, "text": "abc", "unexpected": True},
        [1, 2, 3],
        "text",
        None,
    ],
)
def test_wrong_json_types_are_validation_errors(client: TestClient, body: Any) -> None:
    status, data = post(client, body)
    assert status == 422 and data["code"] == "validation_error"
    assert data["errors"] and all("loc" in e and "msg" in e for e in data["errors"])


def test_malformed_json_is_a_validation_error(client: TestClient) -> None:
    r = client.post("/api/attention", content=b'{"checkpoint": ', headers={"content-type": "application/json"})
    assert r.status_code == 422 and r.json()["code"] == "validation_error"


def test_unknown_route_and_method(client: TestClient) -> None:
    r = client.get("/api/nothing")
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    r = client.get("/api/attention")
    assert r.status_code == 405 and r.json()["code"] == "method_not_allowed"


def test_missing_checkpoint_directory_lists_nothing(tmp_path: Path) -> None:
    from .conftest import make_app

    with TestClient(make_app(tmp_path / "missing")) as c:
        assert c.get("/api/checkpoints").json()["runs"] == []
        assert c.get("/api/health").json()["checkpoints"] == 0


@pytest.mark.parametrize(
    "raw", [b'{"checkpoint": "a.pt", "text": "x", "precision": 18446744073709551616}', b'{"checkpoint": "a.pt", "text": NaN}']
)
def test_odd_json_numbers_are_validation_errors(client: TestClient, raw: bytes) -> None:
    r = client.post("/api/attention", content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 422 and r.json()["code"] == "validation_error"
