"""Files in and out: PNG / SVG / JSON downloads, and documents exported by the real CLI opened with
the file picker and by drag and drop, drawn without asking the server."""

from __future__ import annotations

import base64
import json
import os
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from playwright.sync_api import expect

from tests.browser import Server, assert_no_request, canvas_stats, decode_weights, decoded_weights, open_app, shown, wait_drawn
from tests.live_server import REPO

pytestmark = pytest.mark.browser

KINDS = ("encoder_self", "decoder_self", "cross")


def is_attention(r: Any) -> bool:
    return bool(r.url.endswith("/api/attention") and r.method == "POST")


def download(page: Any, testid: str, tmp_path: Path) -> tuple[str, bytes]:
    with page.expect_download() as dl:
        page.get_by_test_id(testid).click()
    path = tmp_path / dl.value.suggested_filename
    dl.value.save_as(path)
    return dl.value.suggested_filename, path.read_bytes()


def test_downloads_png_svg_and_json(page: Any, server: Server, tmp_path: Path) -> None:
    open_app(page, server.url, "?ckpt=copy%2Fckpt_epoch2.pt&text=abcba&layer=1&head=2")
    wait_drawn(page, "abcba")

    name, png = download(page, "download-png", tmp_path)
    assert name == "attnviz_copy_encoder_self_L1H2_heatmap.png"
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR"
    width, height = struct.unpack(">II", png[16:24])
    assert width > 100 and height > 100

    name, svg = download(page, "download-svg", tmp_path)
    assert name == "attnviz_copy_encoder_self_L1H2_heatmap.svg"
    root = ET.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert "layer 1 · head 2" in svg.decode()

    page.get_by_test_id("arc-view").click(position={"x": 5, "y": 5})
    name, svg = download(page, "download-svg", tmp_path)
    assert name == "attnviz_copy_encoder_self_L1H2_arcs.svg"
    root = ET.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert len(root.findall(".//{http://www.w3.org/2000/svg}path")) > 0

    name, raw = download(page, "download-json", tmp_path)
    assert name == "attnviz_copy_encoder_self.json"
    got = json.loads(raw)
    api = server.api("/api/attention", {"checkpoint": "copy/ckpt_epoch2.pt", "text": "abcba"}).json()
    assert got["schema_version"] == 1
    # every field the service sent is written back, those the page does not read included
    assert set(api) <= set(got), sorted(set(api) - set(got))
    for key in ("checkpoint", "model", "input", "output", "expected", "tokens", "warnings"):
        assert got[key] == api[key], key
    assert set(got["attentions"]) == set(api["attentions"]) == set(KINDS)
    for kind in KINDS:
        mine = np.asarray(got["attentions"][kind], dtype=np.float64)
        theirs = np.asarray(api["attentions"][kind], dtype=np.float64)
        assert mine.shape == theirs.shape
        # float16 on the wire (~3 significant digits) vs 4 decimals in the API's JSON
        np.testing.assert_allclose(mine, theirs, atol=6e-4, rtol=0)
        np.testing.assert_allclose(mine.sum(axis=-1), 1.0, atol=5e-3)


def export_with_cli(server: Server, out: Path, text: str, encoding: str) -> dict[str, Any]:
    """Run ``python -m attnviz.export_attention_json`` (the real CLI) on a trained checkpoint."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(REPO / "backend"), os.environ.get("PYTHONPATH", "")) if p)}
    ckpt = server.checkpoint_dir / "copy" / "ckpt_epoch2.pt"
    cmd = [
        sys.executable,
        "-m",
        "attnviz.export_attention_json",
        "--checkpoint",
        str(ckpt),
        "--out",
        str(out),
        "--text",
        text,
        "--encoding",
        encoding,
    ]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    doc: dict[str, Any] = json.loads(out.read_text())
    return doc


def assert_views_drawn_from(page: Any, doc: dict[str, Any], file_name: str) -> None:
    s = shown(page)  # drawn from the file: the meta line says so (below)
    assert s["doc"]["input"] == doc["input"] and s["doc"]["output"] == doc["output"]
    assert s["doc"]["src"] == doc["tokens"]["src"] and s["doc"]["tgt"] == doc["tokens"]["tgt"]
    expect(page.locator(".output-panel .meta")).to_contain_text(f"from file {file_name}")
    expect(page.get_by_test_id("empty-state")).to_be_hidden()
    n_layers, n_heads = doc["model"]["n_layers"], doc["model"]["n_heads"]
    expect(page.locator("button.thumb:not(.agg)")).to_have_count(n_layers * n_heads)
    n = len(doc["tokens"]["src"])
    for layer in range(n_layers):
        for head in range(n_heads):
            st = canvas_stats(page.get_by_test_id(f"model-view-{layer}-{head}"))
            assert st["opaque"] == n * n and st["colours"] >= 2, (layer, head, st)
    assert canvas_stats(page.get_by_test_id("focus-heatmap-canvas"))["colours"] >= 8
    assert canvas_stats(page.get_by_test_id("arc-canvas"))["opaque"] > 500
    # the page holds the file's weights
    enc = decode_weights(doc, "encoder_self")
    np.testing.assert_allclose(decoded_weights(page, "encoder_self"), enc, atol=1e-6)


def test_open_an_exported_file_with_the_file_picker(page: Any, empty_server: Server, server: Server, tmp_path: Path) -> None:
    doc = export_with_cli(server, tmp_path / "abcab.json", "abcab", "json")
    sent: list[Any] = []
    page.on("request", lambda r: sent.append(r.url) if "/api/attention" in r.url else None)
    open_app(page, empty_server.url)  # a server with no checkpoints: the file is all there is
    expect(page.get_by_test_id("empty-state")).to_contain_text("No checkpoints yet")
    with page.expect_file_chooser() as chooser:
        page.get_by_test_id("open-file").click()
    chooser.value.set_files(str(tmp_path / "abcab.json"))
    wait_drawn(page, "abcab")
    assert_views_drawn_from(page, doc, "abcab.json")
    assert_no_request(page, lambda r: "/api/attention" in r.url, 500)  # longer than the auto-run delay
    assert sent == []


def test_drop_an_exported_file_on_the_page(page: Any, server: Server, tmp_path: Path) -> None:
    doc = export_with_cli(server, tmp_path / "dropped.json", "cab", "float16")
    open_app(page, server.url)
    wait_drawn(page, "hello")  # the sample shown at boot came from the API; nothing after
    sent: list[Any] = []
    page.on("request", lambda r: sent.append(r.url) if "/api/attention" in r.url else None)
    transfer = page.evaluate_handle(
        """([name, text]) => {
             const dt = new DataTransfer();
             dt.items.add(new File([text], name, {type: 'application/json'}));
             return dt;
           }""",
        ["dropped.json", (tmp_path / "dropped.json").read_text()],
    )
    page.dispatch_event("#app", "dragenter", {"dataTransfer": transfer})
    expect(page.locator("body")).to_have_class("dragging")
    expect(page.locator("#drop-overlay")).to_be_visible()
    page.dispatch_event("#app", "dragover", {"dataTransfer": transfer})
    page.dispatch_event("#app", "drop", {"dataTransfer": transfer})
    wait_drawn(page, "cab")
    expect(page.locator("#drop-overlay")).to_be_hidden()
    assert_views_drawn_from(page, doc, "dropped.json")
    assert_no_request(page, lambda r: "/api/attention" in r.url, 500)
    assert sent == []


def test_float16_weights_decode_exactly_in_the_browser(page: Any, empty_server: Server) -> None:
    """Every float16 in [0, 1] (subnormals included) decodes to the same float32 as numpy, through
    the engine's Float16Array in Chromium (lib/float16.ts; vitest covers the table path)."""
    halves = np.arange(0, 0x3C01, dtype=np.uint16)  # +0 ... 1.0
    n = 124  # 124² = 15 376 cells ≥ 15 361 patterns; the rest are zeros
    bits = np.zeros(n * n, dtype=np.uint16)
    bits[: len(halves)] = halves
    tokens = [f"t{i}" for i in range(n)]
    doc = {
        "schema_version": 1,
        "checkpoint": None,
        "model": {"n_layers": 1, "n_heads": 1},
        "input": "",
        "output": None,
        "expected": None,
        "tokens": {"src": tokens, "tgt": []},
        "attentions": {
            "encoder_self": {
                "dtype": "float16",
                "shape": [1, 1, n, n],
                "data": base64.b64encode(bits.astype("<u2").tobytes()).decode(),
            }
        },
        "warnings": [],
    }
    open_app(page, empty_server.url)
    # opened as a user does: the file picker, a JSON file
    with page.expect_file_chooser() as chooser:
        page.get_by_test_id("open-file").click()
    chooser.value.set_files(files=[{"name": "halves.json", "mimeType": "application/json", "buffer": json.dumps(doc).encode()}])
    wait_drawn(page, "")
    expect(page.get_by_test_id("model-view-0-0")).to_be_visible()
    got = decoded_weights(page, "encoder_self").reshape(-1)
    want = bits.view(np.float16).astype(np.float32)
    assert page.evaluate("() => typeof Float16Array") == "function"  # the native path ran
    np.testing.assert_array_equal(got, want)
