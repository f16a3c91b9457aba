#!/usr/bin/env python3
"""App boot and opening a file, the way a user does it, in headless Chromium against the real
server (``python -m attnviz.server`` over a checkpoint directory, serving frontend/dist):

- boot -> interactive: navigation start to the page being usable (checkpoint list loaded, the
  controls enabled: ``<html data-ready="1">``), on a fresh tab (target <= 150 ms);
- open a file -> every view painted: a 6 x 12 x 128 document (float16, what the Download JSON
  button and ``attnviz html`` write) chosen through the page's own file input the moment the page
  is interactive; from choosing to the end of the first frame showing every view (rAF, then a task
  queued from it). "navigation -> every view painted" is boot + that (target <= 400 ms).

Usage:  python bench/bench_boot.py [--runs 7] [--checkpoints DIR]
Needs:  the front end built (make frontend), Playwright for Python, Chromium.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "backend"), str(ROOT)]

from playwright.sync_api import sync_playwright  # noqa: E402
from tests.browser import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.live_server import serve  # noqa: E402

from attnviz.anywhere import document_from  # noqa: E402
from bench_anywhere import fmt, weights  # noqa: E402

# the end of the first frame after `doc` appears in the store (a document from the file)
PAINTED_JS = """() => { window.__benchPainted = new Promise((resolve) => {
  const tick = () => {
    const s = window.__attnviz.store.get();
    if (s.rawDoc && s.docSource === 'file') {
      const ch = new MessageChannel();
      ch.port1.onmessage = () => resolve(performance.now());
      ch.port2.postMessage(null);
      return;
    }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}); }"""


def sample_document(path: Path, layers: int = 6, heads: int = 12, tokens: int = 128) -> Path:
    # the same random softmax rows as bench_anywhere's single file
    doc = document_from(weights(layers, heads, tokens), [f"t{i}" for i in range(tokens)], encoding="float16")
    path.write_text(json.dumps(doc))
    return path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--checkpoints", type=Path, default=None, help="checkpoint directory to serve (default: an empty one)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        doc = sample_document(tmp / "attention_6x12x128.json")
        ckpts = args.checkpoints or (tmp / "checkpoints")
        ckpts.mkdir(exist_ok=True)
        boots, opens, totals = [], [], []
        with serve(ckpts, tmp / "server.log") as url, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for _ in range(args.runs):
                context = browser.new_context(viewport={"width": 1440, "height": 900}, bypass_csp=True)
                page = context.new_page()
                page.goto(f"{url}/")
                page.wait_for_function("() => document.documentElement.dataset.ready === '1'", polling="raf")
                boot = page.evaluate("() => performance.getEntriesByName('attnviz:ready')[0]?.startTime ?? performance.now()")
                page.evaluate(PAINTED_JS)
                chosen = page.evaluate("() => performance.now()")
                page.get_by_test_id("file-input").set_input_files(str(doc))
                end = page.evaluate("() => window.__benchPainted")
                boots.append(boot)
                opens.append(end - chosen)
                totals.append(boot + end - chosen)
                context.close()
            browser.close()
        print(f"- boot -> interactive: {fmt(boots)}  (target <= 150 ms)")
        print(f"- file chosen -> every view painted (6x12x128 float16, {doc.stat().st_size / 1e6:.1f} MB): {fmt(opens)}")
        print(f"- navigation -> every view painted (boot + the above): {fmt(totals)}  (target <= 400 ms)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
