#!/usr/bin/env python3
"""Browser benchmark of the head statistics (insight views) in headless Chromium.

Serves frontend/dist on a free loopback port, loads a synthetic 6 layers x 12 heads x 128 token
encoder-only document (and a 2x4x32 encoder-decoder one) through the page's test hook
(window.__attnviz.loadDocument), then times, uncached, in the page:

- the statistics of every head of a kind (entropy, normalised entropy, distance, diagonal, offset,
  anti-diagonal, special-token mass, agreement): window.__attnviz.insight.timeStats();
- the layer means and the attention rollout (encoder self-attention);
- the synchronous re-render of the statistics table and of the model view coloured by a statistic
  (store.set -> DOM updated, style + layout forced), stats cache cleared by reloading the document.

Median of --runs runs (after one warm-up run). Target: statistics of a 6x12x128^2 document <= 50 ms.
Usage:  python bench/bench_stats.py [--runs 15] [--build]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_frontend import CHROMIUM, CHROMIUM_ARGS, DIST, FRONTEND, LOAD_JS, serve
from run_all import cpu_model  # bench/ is on sys.path when a benchmark runs as a script

DOCS = {
    "enc_6x12x128": (
        ["--layers", "6", "--heads", "12", "--tokens", "128", "--encoder-only", "--encoding", "float16"],
        "6L x 12H x 128 tok, encoder",
    ),
    "encdec_2x4x32": (
        ["--layers", "2", "--heads", "4", "--tokens", "32", "--task", "reverse", "--encoding", "float16"],
        "2L x 4H x 32 tok, enc-dec",
    ),
}
TARGET_MS = 50.0

VIEW_JS = """async (patch) => {
  const a = window.__attnviz;
  const t0 = performance.now();
  a.store.set(patch);
  void document.body.offsetHeight;
  return performance.now() - t0;
}"""


def machine() -> str:
    cpu = cpu_model()
    return f"{cpu}, {os.cpu_count()} cores, load avg {os.getloadavg()[0]:.1f}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=15, help="timed runs per figure (default 15)")
    ap.add_argument("--build", action="store_true", help="run `npm run build` first")
    args = ap.parse_args()
    if args.build or not (DIST / "index.html").exists():
        subprocess.run(["npm", "run", "build"], cwd=FRONTEND, check=True)
    from playwright.sync_api import sync_playwright

    tmp = Path(tempfile.mkdtemp(prefix="attnviz-bench-stats-"))
    rows: list[tuple[str, str, list[float], float | None]] = []
    try:
        for name, (gen, _) in DOCS.items():
            subprocess.run(
                ["node", str(FRONTEND / "scripts" / "make_sample_doc.mjs"), *gen, "--out", str(tmp / f"{name}.json")], check=True
            )
        srv, port = serve(tmp)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            version = browser.version
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            page.goto(f"http://127.0.0.1:{port}/")
            page.wait_for_function("window.__attnviz && window.__attnviz.isReady")
            for name, (_, label) in DOCS.items():
                page.evaluate(LOAD_JS, name)
                kinds = page.evaluate("Object.keys(window.__attnviz.store.get().doc.kinds)")
                for kind in kinds:
                    page.evaluate("(k) => window.__attnviz.insight.timeStats(k)", kind)  # warm-up (JIT)
                    runs = [page.evaluate("(k) => window.__attnviz.insight.timeStats(k)", kind) for _ in range(args.runs)]
                    shape = "x".join(map(str, runs[0]["shape"]))
                    rows.append(
                        (
                            f"{label}: {kind} stats",
                            shape,
                            [r["statsMs"] for r in runs],
                            TARGET_MS if name == "enc_6x12x128" else None,
                        )
                    )
                    rows.append((f"{label}: {kind} layer means", shape, [r["meansMs"] for r in runs], None))
                    if kind == "encoder_self":
                        rows.append((f"{label}: {kind} rollout", shape, [r["rolloutMs"] for r in runs], None))
                # views: table render and model view coloured by a statistic (stats cache cleared by reloading the doc)
                table, model = [], []
                for _ in range(args.runs + 1):
                    page.evaluate("() => window.__attnviz.store.set({aside: 'arcs', mvstat: ''})")
                    page.evaluate(LOAD_JS, name)
                    table.append(page.evaluate(VIEW_JS, {"aside": "stats"}))
                    model.append(page.evaluate(VIEW_JS, {"mvstat": "entropy", "mvorder": True}))
                rows.append((f"{label}: stats table render (incl. stats)", "", table[1:], None))
                rows.append((f"{label}: model view by entropy, ordered", "", model[1:], None))
            browser.close()
        srv.shutdown()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"attnviz head-statistics benchmark - Chromium {version} headless, --disable-gpu")
    print(f"machine: {machine()}; median of {args.runs} runs after one warm-up\n")
    print(f"{'what':66} {'shape':>14} {'median':>9} {'min':>8} {'max':>8}  target")
    for what, shape, xs, target in rows:
        med = statistics.median(xs)
        verdict = "" if target is None else f"<= {target:.0f} ms {'ok' if med <= target else 'MISSED'}"
        print(f"{what:66} {shape:>14} {med:7.1f}ms {min(xs):6.1f}ms {max(xs):6.1f}ms  {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
