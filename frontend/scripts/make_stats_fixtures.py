#!/usr/bin/env python3
"""Reference values for the front end's head statistics and attention rollout, computed with numpy
independently of the TypeScript code (src/lib/stats.ts, src/lib/rollout.ts).

Writes src/lib/__fixtures__/stats_reference.json: a few random row-stochastic stacks [L, H, n, n]
(plus one causal and one non-square stack) with their layer means, rollout and per-head statistics.
Run with the project venv:  .venv/bin/python frontend/scripts/make_stats_fixtures.py
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

OUT = Path(__file__).resolve().parents[1] / "src" / "lib" / "__fixtures__" / "stats_reference.json"
OFFSET = -1


def softmax_rows(x: np.ndarray, causal: bool) -> np.ndarray:
    if causal:
        nq, nk = x.shape[-2:]
        mask = np.arange(nk)[None, :] > np.arange(nq)[:, None]
        x = np.where(mask, -np.inf, x)
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def rollout(a: np.ndarray) -> np.ndarray:
    """Abnar & Zuidema 2020: Ã = rownorm(0.5·mean_h A + 0.5·I), R_l = Ã_l · R_{l-1}."""
    layers, _, n, _ = a.shape
    out = []
    r = np.eye(n)
    for l in range(layers):
        t = 0.5 * a[l].mean(axis=0) + 0.5 * np.eye(n)
        t = t / t.sum(axis=-1, keepdims=True)
        r = t @ r
        out.append(r)
    return np.stack(out)


def head_stats(m: np.ndarray, causal: bool, k_tokens: list[str], expected: list[int]) -> dict[str, Any]:
    nq, nk = m.shape
    ii, jj = np.meshgrid(np.arange(nq), np.arange(nk), indexing="ij")
    allowed = (jj <= ii) if causal else np.ones_like(m, dtype=bool)
    n_allowed = allowed.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        plogp = np.where((m > 0) & allowed, m * np.log(np.where(m > 0, m, 1)), 0.0)
    h = -plogp.sum(axis=1)
    norm_rows = n_allowed > 1
    entropy_norm = float((h[norm_rows] / np.log(n_allowed[norm_rows])).mean()) if norm_rows.any() else None
    distance = float((np.where(allowed, m, 0) * np.abs(ii - jj)).sum(axis=1).mean())

    def line(cols: np.ndarray, limit: int) -> float | None:
        vals = [m[i, j] for i, j in enumerate(cols) if 0 <= j < limit and allowed[i, j]]
        return float(np.mean(vals)) if vals else None

    na = nk - 1 if k_tokens and k_tokens[-1] in ("<eos>", "[SEP]") else nk
    special = {}
    for tok in ("<bos>", "<eos>", "[CLS]", "[SEP]"):
        cols = [j for j, t in enumerate(k_tokens) if t == tok]
        if cols:
            special[tok] = float(np.where(allowed, m, 0)[:, cols].sum(axis=1).mean())
    agree = [m[i, e] for i, e in enumerate(expected) if e >= 0 and allowed[i, e]]
    return {
        "entropy": float(h.mean()),
        "entropyNorm": entropy_norm,
        "distance": distance,
        "diagonal": line(np.arange(nq), nk),
        "offset": line(np.arange(nq) + OFFSET, nk),
        "anti": line(na - 1 - np.arange(nq), na),
        "agreement": float(np.mean(agree)) if agree else None,
        "special": special,
    }


def case(
    rng: np.random.Generator, name: str, layers: int, heads: int, nq: int, nk: int, causal: bool, k_tokens: list[str]
) -> dict[str, Any]:
    a = softmax_rows(rng.normal(scale=2.0, size=(layers, heads, nq, nk)), causal).astype(np.float32)
    a64 = a.astype(np.float64)  # the TS code reads the float32 values
    expected = [int(x) for x in rng.integers(-1, nk, size=nq)]
    out: dict[str, Any] = {
        "name": name,
        "layers": layers,
        "heads": heads,
        "nq": nq,
        "nk": nk,
        "causal": causal,
        "kTokens": k_tokens,
        "offset": OFFSET,
        "expected": expected,
        "data": [round(float(x), 9) for x in a.ravel()],
        "means": a64.mean(axis=1).ravel().tolist(),
        "stats": [head_stats(a64[l, h], causal, k_tokens, expected) for l in range(layers) for h in range(heads)],
    }
    if nq == nk and not causal:
        out["rollout"] = rollout(a64).ravel().tolist()
    return out


def main() -> None:
    rng = np.random.default_rng(20240601)
    cases = [
        case(rng, "encoder 3x2x5 with <eos>", 3, 2, 5, 5, False, ["a", "b", "c", "d", "<eos>"]),
        case(rng, "encoder 2x3x7, no tokens", 2, 3, 7, 7, False, []),
        case(rng, "decoder causal 2x2x6", 2, 2, 6, 6, True, ["<bos>", "a", "b", "c", "d", "e"]),
        case(rng, "cross 2x2 6x4", 2, 2, 6, 4, False, ["x", "y", "z", "<eos>"]),
    ]
    # the float32 data are re-read by numpy from the rounded JSON values for the reference
    for c in cases:
        a = np.array(c["data"], dtype=np.float32).reshape(c["layers"], c["heads"], c["nq"], c["nk"]).astype(np.float64)
        c["means"] = a.mean(axis=1).ravel().tolist()
        c["stats"] = [
            head_stats(a[l, h], c["causal"], c["kTokens"], c["expected"]) for l in range(c["layers"]) for h in range(c["heads"])
        ]
        if "rollout" in c:
            c["rollout"] = rollout(a).ravel().tolist()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(
        json.dumps({"generator": "frontend/scripts/make_stats_fixtures.py", "cases": cases}, separators=(",", ":")) + "\n"
    )
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes, {len(cases)} cases)")


if __name__ == "__main__":
    main()
