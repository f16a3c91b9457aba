"""attnviz.longctx without a model: recomputed rows against a direct softmax (causal, sliding
window, grouped-query heads, an additive bias), the overview's maxima and statistics on weights
whose rows do not fit one block, pooled tile sizes, and the handle store's bounds."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from attnviz import longctx
from attnviz.encoding import decode_weights


def direct(q: torch.Tensor, k: torch.Tensor, scale: float, mask: torch.Tensor | None, bias: torch.Tensor | None) -> torch.Tensor:
    groups = q.shape[0] // k.shape[0]
    s = q @ k.repeat_interleave(groups, 0).transpose(-1, -2) * scale
    if bias is not None:
        s = s + bias
    if mask is not None:
        s = s.masked_fill(~mask, float("-inf"))
    return torch.softmax(s, -1)


@pytest.mark.parametrize(("causal", "window", "with_bias"), [(False, None, False), (True, None, True), (True, 5, False)])
def test_rows_equal_a_direct_softmax(causal: bool, window: int | None, with_bias: bool) -> None:
    g = torch.Generator().manual_seed(0)
    H, Hkv, n, d = 4, 2, 50, 8
    q, k = torch.randn(H, n, d, generator=g), torch.randn(Hkv, n, d, generator=g)
    table = torch.randn(H, n, n, generator=g)
    i, j = torch.arange(n)[:, None], torch.arange(n)[None, :]
    mask = (j <= i) & (i - j < (window or n)) if causal else None
    hr = longctx.HeadRows(
        q, k, 0.3, causal=causal, window=window, bias=(lambda a, b: table[:, a:b]) if with_bias else None, ablated=frozenset({3})
    )
    ref = direct(q, k, 0.3, mask, table if with_bias else None)
    ref[3] = 0.0
    torch.testing.assert_close(hr.rows(0, H, 0, n), ref)
    torch.testing.assert_close(hr.rows(1, 3, 7, 19), ref[1:3, 7:19])


def test_overview_over_many_blocks_matches_its_definitions(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(longctx, "CHUNK_BYTES", 3 * 97 * 4 * 5)  # five rows a block: rows cross the bins' edges
    g = torch.Generator().manual_seed(1)
    L, H, nq, nk = 2, 3, 83, 97
    w = torch.softmax(torch.randn(L, H, nq, nk, generator=g) * 3, -1)
    ov = longctx.Overview(L, H, nq, nk, size=32, cross=True)
    for layer in range(L):
        ov.add(layer, w[layer])
    res = ov.result("float16")
    arr = w.numpy()
    expected = np.zeros((L, H, 32, 32), np.float32)
    for a in range(32):
        for b in range(32):
            expected[..., a, b] = arr[..., a * nq // 32 : (a + 1) * nq // 32, b * nk // 32 : (b + 1) * nk // 32].max((-1, -2))
    np.testing.assert_allclose(decode_weights(res["thumbnails"]), expected, rtol=1e-3, atol=1e-7)  # float16
    pos = np.arange(nq) * nk // nq
    dist = np.abs(np.arange(nk)[None] - pos[:, None])
    np.testing.assert_allclose(res["stats"]["distance"], (arr * dist).sum(-1).mean(-1), atol=1e-4)
    np.testing.assert_allclose(res["stats"]["entropy"], -(arr * np.log(arr)).sum(-1).mean(-1), atol=1e-4)
    np.testing.assert_allclose(res["stats"]["self_token"], arr[..., np.arange(nq), pos].mean(-1), atol=1e-4)
    np.testing.assert_allclose(res["stats"]["local"], (arr * (dist <= 2)).sum(-1).mean(-1), atol=1e-4)


def test_a_causal_overview_skips_only_zeros(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(longctx, "CHUNK_BYTES", 2 * 60 * 4 * 7)
    g = torch.Generator().manual_seed(2)
    n = 60
    hr = longctx.HeadRows(torch.randn(2, n, 4, generator=g), torch.randn(2, n, 4, generator=g), 0.5, causal=True)
    causal, dense = longctx.Overview(1, 2, n, n, 32, causal=True), longctx.Overview(1, 2, n, n, 32)
    causal.add(0, hr)
    dense.add(0, hr)
    a, b = causal.result("float16"), dense.result("float16")
    assert a["thumbnails"]["data"] == b["thumbnails"]["data"]
    for key in longctx.STATS:
        np.testing.assert_allclose(a["stats"][key], b["stats"][key], atol=1e-5)
    assert a["stats"]["previous_token"][0][0] > 0 and a["thumbnails"]["shape"] == [1, 2, 32, 32]


@pytest.mark.parametrize(
    ("rows", "cols", "cells"), [(1, 8192, 100), (8192, 1, 100), (8192, 8192, 1 << 20), (300, 7, 20), (5, 5, 1)]
)
def test_pooled_tiles_fit_max_cells(rows: int, cols: int, cells: int) -> None:
    bq, bk = longctx.tile_blocks(rows, cols, cells)
    assert 1 <= bq <= rows and 1 <= bk <= cols
    assert math.ceil(rows / bq) * math.ceil(cols / bk) <= cells


def test_the_handle_store_is_bounded_in_bytes_and_time() -> None:
    now = [0.0]
    store = longctx.HandleStore(max_bytes=3000, ttl=10, clock=lambda: now[0])

    def run(nbytes: int) -> longctx.LongRun:
        n = nbytes // 8 // 4  # q and k of one head, d 4, float32
        return longctx.LongRun({"encoder_self": [longctx.HeadRows(torch.zeros(1, n, 4), torch.zeros(1, n, 4), 1.0)]})

    a, b = store.put(run(1024)), store.put(run(1024))
    assert a and b and store.get(a)  # a is now the most recently used
    c = store.put(run(1024))  # past 3000 bytes: b, the least recently used, goes
    assert c and store.nbytes <= 3000
    with pytest.raises(longctx.UnknownHandleError):
        store.get(b)
    assert store.put(run(4096)) is None  # bigger than the whole store: not kept
    now[0] = 11
    with pytest.raises(longctx.UnknownHandleError):
        store.get(a)
    assert len(store) == 0


@pytest.mark.parametrize("max_cells", [1 << 20, 50, 7, 1])
def test_tiles_pool_across_blocks_of_rows(monkeypatch: pytest.MonkeyPatch, max_cells: int) -> None:
    monkeypatch.setattr(longctx, "CHUNK_BYTES", 70 * 4 * 3)  # three rows at a time: blocks span several
    g = torch.Generator().manual_seed(3)
    hr = longctx.HeadRows(torch.randn(2, 70, 4, generator=g), torch.randn(1, 70, 4, generator=g), 0.7, causal=True)
    run = longctx.LongRun({"decoder_self": [hr]})
    full = hr.rows(1, 2, 0, 70)[0].numpy()
    t = longctx.tile(run, "decoder_self", 0, 1, 5, 61, 9, 66, max_cells=max_cells, dtype="float16")
    bq, bk = t["block"]
    region = full[5:61, 9:66]
    expected = np.maximum.reduceat(np.maximum.reduceat(region, np.arange(0, 56, bq), 0), np.arange(0, 57, bk), 1)
    got = decode_weights(t["weights"])
    assert got.shape == expected.shape and got.size <= max_cells
    assert (t["weights"]["reduce"] is None) == ((bq, bk) == (1, 1))
    np.testing.assert_allclose(got, expected, rtol=1e-3, atol=1e-6)
