#!/usr/bin/env python3
"""Browser benchmark of the web visualizer (frontend/dist) in headless Chromium.

Serves frontend/dist on a free loopback port (stdlib http.server in a thread), loads synthetic
attention documents through the page's test hook (window.__attnviz.loadDocument) and prints:

- first paint after data arrival: from the parsed document in page memory (decode included) to
  the end of the first frame that shows every view (rAF, then a task queued from it);
  "cold" = first document of a fresh tab, given the instant the page has booted (the worst case of
  opening a file: before the background warm-up, and nothing to lay out ahead: the file is the
  first thing known); "settled" = the same 1.5 s after boot, as a file picked by hand; "warm" =
  later documents in the same tab. A model's first document, the way a user gets it, is
  bench_first_paint_api.py;
- hover -> all linked views updated at 128 tokens: a pointermove dispatched on the focus heatmap
  or the arc view, until every view has updated and style + layout are done (synchronous work),
  and until the next frame (includes waiting for vsync).

Usage:  python bench/bench_frontend.py [--runs 5] [--hovers 200] [--build]
Needs:  node (for frontend/scripts/make_sample_doc.mjs), Playwright for Python, and Chromium
        (/usr/bin/chromium or $ATTNVIZ_CHROMIUM).
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FRONTEND = ROOT / "frontend"
DIST = Path(os.environ.get("ATTNVIZ_FRONTEND_DIST") or FRONTEND / "dist")  # another build to compare
sys.path.insert(0, str(ROOT))
from tests.browser import CHROMIUM, CHROMIUM_ARGS  # noqa: E402  (the browser tests launch it the same way)

from run_all import cpu_model  # noqa: E402  (bench/ is on sys.path when a benchmark runs as a script)

DOCS = {
    # name: (generator args, label, target ms)
    "encdec_2x4x32": (
        ["--layers", "2", "--heads", "4", "--tokens", "32", "--task", "reverse"],
        "2L x 4H x 32 tok, enc-dec, json",
        100,
    ),
    "enc_6x12x128": (
        ["--layers", "6", "--heads", "12", "--tokens", "128", "--encoder-only"],
        "6L x 12H x 128 tok, encoder-only, json",
        500,
    ),
    "enc_6x12x128_f16": (
        ["--layers", "6", "--heads", "12", "--tokens", "128", "--encoder-only", "--encoding", "float16"],
        "6L x 12H x 128 tok, encoder-only, float16",
        500,
    ),
}


class Handler(http.server.SimpleHTTPRequestHandler):
    docs_dir: Path = Path(".")

    def translate_path(self, path: str) -> str:
        if path.startswith("/__bench/"):
            return str(self.docs_dir / Path(path.split("?", 1)[0]).name)
        return super().translate_path(path)

    def log_message(self, *args: object) -> None:  # quiet
        pass


def serve(docs_dir: Path) -> tuple[http.server.ThreadingHTTPServer, int]:
    handler = functools.partial(type("H", (Handler,), {"docs_dir": docs_dir}), directory=str(DIST))
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, srv.server_address[1]


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    if not xs:
        return float("nan")
    k = (len(xs) - 1) * p
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


# a file picked by hand comes at least this long after the page has booted (its warm-up has run)
SETTLE_MS = 1500

LOAD_JS = """async (name) => {
  const doc = await (await fetch('/__bench/' + name + '.json')).json();
  await new Promise(r => setTimeout(r, 50));
  return await window.__attnviz.loadDocument(doc, name + '.json');
}"""

HOVER_JS = """async (n) => {
  const hm = document.querySelector('[data-testid=focus-heatmap] canvas.hm-overlay');
  const arcs = document.querySelector('[data-testid=arc-view] canvas.arc-overlay');
  const sync = [], frame = [];
  const nextFrame = () => new Promise(res => requestAnimationFrame(() => {
    const ch = new MessageChannel(); ch.port1.onmessage = () => res(); ch.port2.postMessage(null);
  }));
  let seed = 7;
  const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  for (let i = 0; i < n; i++) {
    const el = i % 2 ? arcs : hm;
    const r = el.getBoundingClientRect();
    const x = r.left + (i % 2 ? (i % 4 === 1 ? 0.1 : 0.9) * r.width : (0.15 + 0.8 * rnd()) * r.width);
    const y = r.top + (0.05 + 0.9 * rnd()) * r.height;
    await nextFrame();
    const before = window.__attnviz.store.get().hover;
    const t0 = performance.now();
    el.dispatchEvent(new PointerEvent('pointermove', { clientX: x, clientY: y, bubbles: true }));
    void document.body.offsetHeight;  // style + layout of every updated view
    const t1 = performance.now();
    await nextFrame();
    const t2 = performance.now();
    if (window.__attnviz.store.get().hover !== before) { sync.push(t1 - t0); frame.push(t2 - t0); }
  }
  return { sync, frame };
}"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5, help="fresh tabs per document (cold) and warm reloads (default 5)")
    ap.add_argument("--hovers", type=int, default=200, help="hover events at 128 tokens (default 200)")
    ap.add_argument("--build", action="store_true", help="run `npm run build` first")
    ap.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = ap.parse_args()

    if args.build or not (DIST / "index.html").exists():
        subprocess.run(["npm", "run", "build"], cwd=FRONTEND, check=True)
    from playwright.sync_api import sync_playwright

    tmp = Path(tempfile.mkdtemp(prefix="attnviz-bench-"))
    try:
        for name, (gen, _, _) in DOCS.items():
            subprocess.run(
                ["node", str(FRONTEND / "scripts" / "make_sample_doc.mjs"), *gen, "--out", str(tmp / f"{name}.json")], check=True
            )
        srv, port = serve(tmp)
        url = f"http://127.0.0.1:{port}/"
        results: dict[str, dict] = {}
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            version = browser.version

            def fresh_page():
                page = browser.new_page(viewport={"width": 1440, "height": 900})
                page.goto(url)
                page.wait_for_function("window.__attnviz && window.__attnviz.isReady")
                return page

            for name in DOCS:
                cold, settled, warm, parts = [], [], [], []
                for _ in range(args.runs):
                    # the same document as a file picked by hand: the page has booted and settled
                    page = fresh_page()
                    page.wait_for_timeout(SETTLE_MS)
                    settled.append(page.evaluate(LOAD_JS, name)["totalMs"])
                    page.close()
                    page = fresh_page()
                    t = page.evaluate(LOAD_JS, name)
                    cold.append(t["totalMs"])
                    for _ in range(args.runs):
                        t = page.evaluate(LOAD_JS, name)
                        warm.append(t["totalMs"])
                        parts.append(t)
                    page.close()
                results[name] = {
                    "cold": cold,
                    "settled": settled,
                    "warm": warm,
                    "decode": statistics.median(x["decodeMs"] for x in parts),
                    "render": statistics.median(x["renderMs"] for x in parts),
                    "frame": statistics.median(x["frameMs"] for x in parts),
                }

            page = fresh_page()
            page.evaluate(LOAD_JS, "enc_6x12x128")
            page.evaluate(LOAD_JS, "enc_6x12x128")
            h = page.evaluate(HOVER_JS, args.hovers)
            results["hover"] = h
            renders = page.evaluate("window.__attnviz.timings.renders")
            page.close()
            browser.close()
        srv.shutdown()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    cpu = cpu_model()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"attnviz front-end benchmark - Chromium {version} headless, --disable-gpu (software raster)")
    print(f"machine: {cpu}, {os.cpu_count()} cores, load avg {load:.1f}, viewport 1440x900\n")
    print(
        f"{'first paint after data arrives':44} {'cold med':>9} {'settled':>9} {'warm med':>9} {'warm p95':>9}  {'decode/render/frame (warm med)':>31}  target"
    )
    for name, (_, label, target) in DOCS.items():
        r = results[name]
        verdict = lambda xs, target=target: "ok" if statistics.median(xs) <= target else "MISSED"  # noqa: E731
        print(
            f"{label:44} {statistics.median(r['cold']):7.1f}ms {statistics.median(r['settled']):7.1f}ms {statistics.median(r['warm']):7.1f}ms {pct(r['warm'], 0.95):7.1f}ms"
            f"  {r['decode']:8.1f} / {r['render']:6.1f} / {r['frame']:6.1f} ms  <= {target} ms: warm {verdict(r['warm'])}, settled {verdict(r['settled'])}, cold {verdict(r['cold'])}"
        )
    print("(documents opened as files through the test hook, first of a fresh tab: cold = the instant the page has booted,")
    print(f" settled = {SETTLE_MS / 1000:g} s later, as a file picked by hand; no skeleton either way. A model's first document")
    print(" through the service: bench/bench_first_paint_api.py)")
    hs, hf = results["hover"]["sync"], results["hover"]["frame"]
    print(f"\n{'hover -> all linked views updated, 128 tok':44} {'median':>9} {'p95':>9} {'n':>5}  target")
    ok = "ok" if statistics.median(hs) <= 16 else "MISSED"
    print(
        f"{'  update + style/layout (sync work)':44} {statistics.median(hs):7.1f}ms {pct(hs, 0.95):7.1f}ms {len(hs):5d}  <= 16 ms {ok}"
    )
    print(f"{'  until the next frame (incl. vsync wait)':44} {statistics.median(hf):7.1f}ms {pct(hf, 0.95):7.1f}ms {len(hf):5d}")
    print(f"\nrender calls per view over the hover run (should not grow with hovers): {renders}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
