"""Attention at any length in a notebook and a file: ``attnviz.show`` of 4,096 tokens keeps the
tensors in the kernel and answers the page's tiles over the widget's messages (a real JupyterLab,
a real Chromium, no server, no request off the machine); ``attnviz.save_html`` under a small
``max_bytes`` embeds the overview and every head pooled in the smallest blocks that fit, and the
page says so in place."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import nbformat
import numpy as np
import pytest
import torch
from playwright.sync_api import expect

import attnviz
from attnviz.anywhere import AttentionInputError, prepare_document
from attnviz.display import answer_request
from attnviz.encoding import decode_weights

from ..browser import wait_drawn
from ..jupyter import Jupyter, jupyter_server, run_cell, wait_for_kernel
from ..live_server import NotAnswering
from .conftest import Tab, assert_only_local, frame_of, recording_page

# the tiled view's plot: its left and top margins for the token labels (views/tiledHeatmap.ts)
LEFT, TOP = 78, 62


def causal_weights(layers: int, heads: int, n: int, seed: int = 0) -> torch.Tensor:
    """Softmax weights ``[layers, heads, n, n]`` under a causal mask, peaked enough to have structure."""
    g = torch.Generator().manual_seed(seed)
    out = torch.empty(layers, heads, n, n)
    mask = torch.ones(n, n, dtype=torch.bool).triu(1)
    for layer in range(layers):
        s = torch.randn(heads, n, n, generator=g) * 3
        out[layer] = torch.softmax(s.masked_fill_(mask, float("-inf")), dim=-1)
    return out


def block_max(w: np.ndarray, b: int) -> np.ndarray:
    """``[..., n, n]`` → block maxima of ``b`` × ``b`` (the last block partial)."""
    n = w.shape[-1]
    idx = np.arange(0, n, b)
    return np.maximum.reduceat(np.maximum.reduceat(w, idx, axis=-1), idx, axis=-2)


# ---- the kernel side: the overview, the kept tensors, the messages --------------------------------


def test_a_long_input_is_an_overview_of_the_given_weights() -> None:
    w = causal_weights(2, 3, 300)
    tokens = [f"t{i}" for i in range(300)]
    full = attnviz.document_from(w, tokens, kind="decoder_self")
    assert "attentions" in full and full.get("detail") is None  # fits the default 50 MB
    doc = attnviz.document_from(w, tokens, kind="decoder_self", max_bytes=100_000)
    assert doc["detail"] == "overview" and "attentions" not in doc and doc["overview"]["handle"] is None
    ov = doc["overview"]["kinds"]["decoder_self"]
    assert (ov["layers"], ov["heads"], ov["nq"], ov["nk"]) == (2, 3, 300, 300)
    thumbs = decode_weights(ov["thumbnails"])
    assert thumbs.shape == (2, 3, 128, 128)
    starts = (np.arange(128) * 300) // 128  # the bins of longctx.bin_starts
    want = np.maximum.reduceat(np.maximum.reduceat(w.numpy(), starts, axis=-1), starts, axis=-2)
    np.testing.assert_allclose(thumbs, want, rtol=2e-3, atol=1e-6)
    ent = -(torch.xlogy(w, w).sum(-1)).mean(-1).numpy()
    np.testing.assert_allclose(ov["stats"]["entropy"], ent, rtol=1e-4)
    # the same weights asked for in full still get the full document
    assert "attentions" in attnviz.document_from(w, tokens, kind="decoder_self", max_bytes=100_000, detail="full")


def test_the_kept_tensors_answer_tiles_and_topk_as_the_server_would() -> None:
    w = causal_weights(2, 2, 500, seed=1)
    att = tuple(w[layer][None] for layer in range(2))  # Hugging Face: [batch, heads, q, k] a layer
    _, run = prepare_document(att, [f"t{i}" for i in range(500)], kind="decoder_self", detail="overview")
    assert run is not None and run.nbytes == w.numel() * 4  # kept as given, not copied to float64
    msg = {
        "attnviz": "tile",
        "id": 7,
        "request": {"kind": "decoder_self", "layer": 1, "head": 1, "q0": 100, "q1": 140, "k0": 90, "k1": 130},
    }
    out = answer_request(run, msg)
    assert out["id"] == 7 and "error" not in out, out
    tile = out["response"]
    assert tile["block"] == [1, 1]
    np.testing.assert_allclose(decode_weights(tile["weights"]), w[1, 1, 100:140, 90:130].numpy(), rtol=1e-3, atol=1e-7)
    pooled = answer_request(
        run, {**msg, "request": {**msg["request"], "q0": 0, "q1": 500, "k0": 0, "k1": 500, "max_cells": 2500}}
    )
    assert pooled["response"]["block"] == [10, 10]
    np.testing.assert_allclose(decode_weights(pooled["response"]["weights"]), block_max(w[1, 1].numpy(), 10), rtol=1e-3)
    top = answer_request(
        run,
        {"attnviz": "topk", "id": 8, "request": {"kind": "decoder_self", "layer": 0, "head": 1, "q0": 480, "q1": 500, "k": 5}},
    )
    ref = torch.topk(w[0, 1, 480:500], 5, dim=-1)
    assert top["response"]["indices"] == ref.indices.tolist()
    bad = answer_request(run, {**msg, "request": {**msg["request"], "q1": 501}})
    assert bad["error"]["code"] == "out_of_range" and "outside" in bad["error"]["detail"]
    assert (
        answer_request(run, {"attnviz": "tile", "id": 9, "request": {"kind": "decoder_self"}})["error"]["code"] == "bad_request"
    )
    assert answer_request(None, msg)["error"]["code"] == "no_run"


def test_save_html_embeds_what_fits(tmp_path: Path, single_file_build: Path) -> None:
    w = causal_weights(1, 2, 1000, seed=2)
    tokens = [f"t{i}" for i in range(1000)]
    small = attnviz.save_html(w, tmp_path / "small.html", tokens, kind="decoder_self", max_bytes=2_000_000)
    assert small.stat().st_size <= 2_000_000
    doc = embedded_document(small)
    ov = doc["overview"]
    assert doc["detail"] == "overview" and ov["source"] == "file" and ov["max_bytes"] == 2_000_000
    pooled = ov["kinds"]["decoder_self"]["pooled"]
    b = pooled["block"]
    assert b > 1
    np.testing.assert_allclose(decode_weights(pooled["weights"]), block_max(w.numpy(), b), rtol=1e-3, atol=1e-7)
    assert any(f"pooled: each cell the largest of a {b} × {b} block" in x for x in doc["warnings"])
    # room for every weight: the whole document
    whole = embedded_document(attnviz.save_html(w, tmp_path / "whole.html", tokens, kind="decoder_self"))
    assert "attentions" in whole and "overview" not in whole
    with pytest.raises(AttentionInputError, match="max_bytes must be at least"):
        attnviz.save_html(w, tmp_path / "x.html", tokens, max_bytes=1000)


def embedded_document(path: Path) -> dict[str, Any]:
    html = path.read_text(encoding="utf-8")
    start = html.index('<script type="application/json" id="attnviz-document">') + len(
        '<script type="application/json" id="attnviz-document">'
    )
    doc: dict[str, Any] = json.loads(html[start : html.index("</script>", start)])
    return doc


# ---- the browser: a saved file at 4,096 tokens, and the notebook in a real JupyterLab ------------

N = 4096

EXACT_TILE = """() => {
  const e = document.querySelector('[data-testid=tiled-heatmap]');
  return e.dataset.tileState === 'ready' && e.dataset.tile.endsWith(',1x1');
}"""
PAINTED = """(el) => {
  const d = el.getContext('2d').getImageData(0, 0, el.width, el.height).data;
  for (let i = 4; i < d.length; i += 4) if (d[i] !== d[0] || d[i + 1] !== d[1] || d[i + 2] !== d[2]) return true;
  return false;
}"""


@pytest.mark.browser
def test_a_file_at_4096_tokens_under_a_small_max_bytes_opens_offline_and_says_what_is_pooled(
    tmp_path: Path, single_file_build: Path, new_tab: Callable[[], Tab]
) -> None:
    w = causal_weights(1, 2, N, seed=3)
    path = attnviz.save_html(w, tmp_path / "long.html", [f"t{i}" for i in range(N)], kind="decoder_self", max_bytes=4_000_000)
    b = embedded_document(path)["overview"]["kinds"]["decoder_self"]["pooled"]["block"]
    del w
    tab = new_tab()
    page = tab.page
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(path.as_uri())
    wait_drawn(page)
    heat = page.get_by_test_id("tiled-heatmap")
    page.wait_for_function("() => document.querySelector('[data-testid=tiled-heatmap]')?.dataset.tileState === 'ready'")
    assert page.get_by_test_id("tiled-canvas").evaluate(PAINTED)
    note = page.get_by_test_id("tiled-note")
    expect(note).to_contain_text(f"this file holds every weight pooled in {b}×{b} blocks")
    expect(note).to_contain_text("max_bytes 3.8 MiB")
    # zoomed all the way in, the cells are the file's blocks, and the page still says so
    heat.focus()
    for _ in range(10):
        page.keyboard.press("+")
    page.wait_for_function(f"() => document.querySelector('[data-testid=tiled-heatmap]')?.dataset.tile?.endsWith(',{b}x{b}')")
    expect(note).to_contain_text(f"pooled in {b}×{b} blocks")
    assert [u for u in tab.requests if not u.startswith(("file:", "data:", "blob:"))] == []


NOTEBOOK_CELL = f"""import json, torch, attnviz
from transformers import GPT2Config, GPT2LMHeadModel
torch.manual_seed(0)
cfg = GPT2Config(vocab_size=500, n_positions={N}, n_embd=32, n_layer=2, n_head=2, bos_token_id=0, eos_token_id=0)
model = GPT2LMHeadModel(cfg).eval()
model.set_attn_implementation("eager")  # the weights are returned by eager attention only
ids = torch.randint(0, 500, (1, {N}))
with torch.no_grad():
    out = model(ids, output_attentions=True)
tokens = [f"w{{i}}" for i in ids[0].tolist()]
# the reference: every head's weights around the middle, as the model computed them
json.dump([[a[0, h, 2000:2100, 2000:2100].tolist() for h in range(2)] for a in out.attentions], open("reference.json", "w"))
attnviz.show(out.attentions, tokens, kind="decoder_self", height=760)
"""


@pytest.fixture(scope="module")
def lab(single_file_build: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Jupyter]:
    pytest.importorskip("transformers")
    root = tmp_path_factory.mktemp("long-notebook")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(NOTEBOOK_CELL)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, root / "long.ipynb")
    try:
        with jupyter_server("jupyterlab", root, tmp_path_factory.mktemp("lab-home")) as server:
            yield server
    except NotAnswering as e:
        pytest.fail(str(e))
    shutil.rmtree(root, ignore_errors=True)


@pytest.mark.browser
def test_show_at_4096_tokens_zooms_to_exact_weights_from_the_kernel(lab: Jupyter, offline_browser: Any) -> None:
    with recording_page(offline_browser) as (page, requests, errors):
        page.goto(lab.notebook_url("long.ipynb"))
        page.locator(".jp-Notebook .jp-Cell").first.wait_for()
        wait_for_kernel(page)
        run_cell(page, 0)
        frame = frame_of(page.locator(".jp-Cell.jp-CodeCell .jp-OutputArea").first)
        # painted: every head's thumbnail, the focus heatmap from the kernel's first (pooled) tile
        expect(frame.get_by_test_id("model-view-canvas")).to_have_count(4)
        for c in frame.get_by_test_id("model-view-canvas").all():
            assert c.evaluate(PAINTED)
        frame.wait_for_function(
            "() => document.querySelector('[data-testid=tiled-heatmap]')?.dataset.tileState === 'ready'", timeout=120_000
        )
        heat = frame.get_by_test_id("tiled-heatmap")
        assert heat.get_attribute("data-tile") is not None and not heat.get_attribute("data-tile").endswith(",1x1")
        assert frame.get_by_test_id("tiled-canvas").evaluate(PAINTED)
        # zoomed in to single cells: the kernel's exact tile
        heat.scroll_into_view_if_needed()
        heat.focus()
        for _ in range(10):
            page.keyboard.press("+")
        frame.wait_for_function(
            EXACT_TILE,
            timeout=120_000,
        )
        (q0, q1), (k0, k1) = ([int(x) for x in part.split("-")] for part in heat.get_attribute("data-tile").split(",")[:2])
        assert q1 - q0 <= 8 and k1 - k0 <= 8
        expect(frame.get_by_test_id("tiled-note")).to_contain_text("exact weights")
        # the weight under the pointer is the model's own
        cq, ck = q1 - 1, k0 + 1
        box = frame.get_by_test_id("tiled-canvas").bounding_box()
        side = box["width"] - LEFT - 8
        page.mouse.move(box["x"] + LEFT + (ck - k0 + 0.5) * side / (k1 - k0), box["y"] + TOP + (cq - q0 + 0.5) * side / (q1 - q0))
        frame.wait_for_function("() => document.querySelector('[data-testid=tiled-readout]').dataset.weight !== undefined")
        shown = float(frame.get_by_test_id("tiled-readout").get_attribute("data-weight") or "nan")
        layer, head = (int(x) for x in frame.get_by_test_id("tiled-title").inner_text().replace("Layer", "").split("· Head"))
        ref = json.loads((lab.root / "reference.json").read_text())
        want = ref[layer][head][cq - 2000][ck - 2000]
        assert want > 0 and shown == pytest.approx(want, rel=1e-3)
        assert f"({cq})" in frame.get_by_test_id("tiled-readout").inner_text()
    assert_only_local(requests)
    assert errors == [], errors
