"""Attention at any length (attnviz.longctx) against transformers' own eager attention: tiny models
of every family with 8,192 positions, run on texts of more than 2,048 tokens. The reference is
``output_attentions`` of the same model on the same tokens (``run_model``, the full document's
path); tiles, thumbnails and statistics are compared with it."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("transformers")

import torch

from attnviz import longctx
from attnviz.encoding import decode_weights
from attnviz.hf import HFModel, load_hf_model, run_model

from .long_models import LONG, build_long_models, long_text

N_WORDS = 2100  # > 2,048 tokens with every tokenizer here (the test checks)


@pytest.fixture(scope="module")
def long_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return build_long_models(tmp_path_factory.mktemp("long-models"))


@pytest.fixture(scope="module")
def runs(long_dirs: dict[str, Path]) -> dict[str, tuple[HFModel, Any, Any, Any, Any]]:
    """Per model: (model, reference run, overview run, LongRun, overviews), one head ablated."""
    torch.set_num_threads(1)
    out = {}
    for name in LONG:
        m = load_hf_model(long_dirs[name])
        text = long_text(N_WORDS)
        ablate = [(next(iter(m.sites)), 1, 2)]
        ref = run_model(m, text, 2, ablate)
        run, long, overviews = longctx.hf_overview(m, text, 2, ablate)
        out[name] = (m, ref, run, long, overviews)
    return out


def block_max(w: np.ndarray, pq: int, pk: int) -> np.ndarray:
    """``(..., nq, nk)`` → ``(..., pq, pk)`` block maxima over the contract's bins, the slow way."""
    nq, nk = w.shape[-2:]
    out = np.zeros((*w.shape[:-2], pq, pk), dtype=np.float32)
    for i in range(pq):
        for j in range(pk):
            r0, r1 = i * nq // pq, (i + 1) * nq // pq
            c0, c1 = j * nk // pk, (j + 1) * nk // pk
            out[..., i, j] = w[..., r0:r1, c0:c1].max(axis=(-1, -2))
    return out


def reference_stats(w: np.ndarray, cross: bool) -> dict[str, np.ndarray]:
    """The statistics of ``(L, H, nq, nk)`` weights from their definitions, in float64."""
    w = w.astype(np.float64)
    nq, nk = w.shape[-2:]
    i = np.arange(nq)
    pos = i * nk // nq if cross else i + nk - nq
    d = np.abs(np.arange(nk)[None, :] - pos[:, None])
    with np.errstate(divide="ignore", invalid="ignore"):
        ent = -np.where(w > 0, w * np.log(w), 0).sum(-1).mean(-1)
    prev_ok = (pos >= 1) & (pos - 1 < nk)
    self_ok = pos < nk
    return {
        "entropy": ent,
        "distance": (w * d).sum(-1).mean(-1),
        "first_token": w[..., 0].mean(-1),
        "previous_token": w[..., i[prev_ok], pos[prev_ok] - 1].sum(-1) / max(1, prev_ok.sum()),
        "self_token": w[..., i[self_ok], pos[self_ok]].sum(-1) / max(1, self_ok.sum()),
        "local": (w * (d <= longctx.LOCAL_BAND)).sum(-1).mean(-1),
    }


@pytest.mark.parametrize("name", list(LONG))
def test_tiles_equal_eager_attention_at_length(runs: dict[str, Any], name: str) -> None:
    _, ref, run, long, _ = runs[name]
    assert run.src_ids == ref.src_ids and run.tgt_ids == ref.tgt_ids
    longest = max(w.shape[-1] for w in ref.attentions.values())
    assert longest >= 2048, f"{name}: only {longest} tokens"
    rng = np.random.default_rng(0)
    for kind, w in ref.attentions.items():
        L, H, nq, nk = w.shape
        for _ in range(6):
            layer, head = int(rng.integers(L)), int(rng.integers(H))
            q0 = int(rng.integers(nq))
            q1 = int(rng.integers(q0 + 1, nq + 1))
            k0 = int(rng.integers(nk))
            k1 = int(rng.integers(k0 + 1, nk + 1))
            t = longctx.tile(long, kind, layer, head, q0, q1, k0, k1, max_cells=1 << 20)
            expected = w[layer, head, q0:q1, k0:k1].numpy()
            if t["block"] == [1, 1]:
                got = decode_weights(t["weights"])
                np.testing.assert_allclose(got, expected, atol=1e-3)
            else:  # pooled: the maxima of bq × bk blocks from (q0, k0)
                bq, bk = t["block"]
                got = decode_weights(t["weights"])
                pooled = np.maximum.reduceat(
                    np.maximum.reduceat(expected, np.arange(0, q1 - q0, bq), 0), np.arange(0, k1 - k0, bk), 1
                )
                assert got.shape == pooled.shape and got.size <= 1 << 20
                np.testing.assert_allclose(got, pooled, atol=1e-3)
        # exact rows of every head against the reference, tighter than the wire's float16
        for layer in range(L):
            for head in range(H):
                rows = long.kinds[kind][layer].rows(head, head + 1, 0, min(nq, 64))[0]
                assert float((rows - w[layer, head, : min(nq, 64)]).abs().max()) < 1e-5


@pytest.mark.parametrize("name", list(LONG))
def test_thumbnails_are_block_maxima_and_statistics_match(runs: dict[str, Any], name: str) -> None:
    _, ref, _, _, overviews = runs[name]
    assert set(overviews) == set(ref.attentions)
    for kind, w in ref.attentions.items():
        ov = overviews[kind]
        arr = w.numpy()
        L, H, nq, nk = arr.shape
        assert (ov.pq, ov.pk) == (min(128, nq), min(128, nk))
        res = ov.result("uint8")
        expected = block_max(arr, ov.pq, ov.pk)
        thumbs = decode_weights(res["thumbnails"])
        assert res["thumbnails"]["shape"] == [L, H, ov.pq, ov.pk] and res["thumbnails"]["reduce"] == "max"
        # uint8 (square-root companded): within half a step of sqrt(w) · 255
        assert np.abs(np.sqrt(thumbs) - np.sqrt(expected)).max() <= 0.5 / 255 + 1e-6
        np.testing.assert_allclose(decode_weights(ov.result("float16")["thumbnails"]), expected, rtol=1e-3, atol=1e-6)
        stats = reference_stats(arr, cross=kind == "cross")
        for key, value in stats.items():
            np.testing.assert_allclose(np.array(res["stats"][key]), value, atol=1e-4, err_msg=f"{name} {kind} {key}")


def test_an_ablated_head_is_zero_everywhere(runs: dict[str, Any]) -> None:
    _, ref, _, long, overviews = runs["llama-long"]
    res = overviews["decoder_self"].result("float16")
    assert not decode_weights(res["thumbnails"])[1, 2].any()
    assert all(res["stats"][k][1][2] == 0 for k in longctx.STATS)
    t = longctx.tile(long, "decoder_self", 1, 2, 0, 100, 0, 100)
    assert not decode_weights(t["weights"]).any() and not ref.attentions["decoder_self"][1, 2].any()
    assert decode_weights(longctx.tile(long, "decoder_self", 1, 1, 0, 100, 0, 100)["weights"]).any()


def test_top_k_lists_the_largest_exact_weights(runs: dict[str, Any]) -> None:
    _, ref, _, long, _ = runs["gpt2-long"]
    w = ref.attentions["decoder_self"][1, 3]
    out = longctx.topk(long, "decoder_self", 1, 3, k=5, q0=1000, q1=1010)
    for row, (idx, vals) in enumerate(zip(out["indices"], out["weights"], strict=True)):
        expected = torch.topk(w[1000 + row], 5)
        assert np.allclose(vals, expected.values.numpy(), atol=1e-5)
        assert np.allclose(w[1000 + row, idx].numpy(), vals, atol=1e-5)  # ties may swap places


def test_regions_outside_the_matrix_and_pooled_sizes(runs: dict[str, Any]) -> None:
    _, ref, _, long, _ = runs["bert-long"]
    n = ref.attentions["encoder_self"].shape[-1]
    for q0, q1, k0, k1 in [(0, n + 1, 0, 5), (5, 5, 0, 5), (-1, 3, 0, 5), (0, 3, 4, 2)]:
        with pytest.raises(longctx.RegionError):
            longctx.tile(long, "encoder_self", 0, 0, q0, q1, k0, k1)
    with pytest.raises(longctx.RegionError):
        longctx.tile(long, "cross", 0, 0, 0, 1, 0, 1)
    with pytest.raises(longctx.RegionError):
        longctx.tile(long, "encoder_self", 2, 0, 0, 1, 0, 1)
    for cells in (1, 7, 1000, 4096):
        t = longctx.tile(long, "encoder_self", 0, 0, 0, n, 0, n, max_cells=cells)
        bq, bk = t["block"]
        assert t["weights"]["shape"] == [math.ceil(n / bq), math.ceil(n / bk)]
        assert t["weights"]["shape"][0] * t["weights"]["shape"][1] <= cells
