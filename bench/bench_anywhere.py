#!/usr/bin/env python3
"""Attention anywhere: the single HTML file and the notebook view, in headless Chromium.

For each size ``layers x heads x tokens`` (one encoder self-attention, random softmax rows):

- file size of ``attnviz.save_html`` (target for 6x12x128: <= 5.3 MB, a tenth of BertViz's 53 MB);
- file:// navigation -> every view painted: from navigation start to the end of the first frame
  showing the document (rAF, then a task queued from it), every non-local host unresolvable
  (target <= 400 ms for 6x12x128);
- notebook (``--notebook``): a real JupyterLab, the cell ``attnviz.show(...)`` run from the page;
  from the cell's output appearing (the kernel has answered) to the first frame of the view inside
  it (target <= 1 s for 6x12x128).

Usage:  python bench/bench_anywhere.py [--sizes 6x12x128 12x12x256] [--runs 3] [--notebook]
Needs:  the front end built (make frontend), Playwright for Python, Chromium; JupyterLab for --notebook.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "backend"), str(ROOT)]

import nbformat  # noqa: E402
import numpy as np  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402
from tests.browser import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.jupyter import jupyter_server, run_cell, wait_for_kernel  # noqa: E402

import attnviz  # noqa: E402

OFFLINE_ARGS = [*CHROMIUM_ARGS, "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]
# in every frame: the end of the first frame that shows a document (performance.now() of that frame)
PAINT_PROBE = """(() => {
  const tick = () => {
    const a = window.__attnviz;
    if (a && a.store.get().doc) {
      const ch = new MessageChannel();
      ch.port1.onmessage = () => { window.__paintedAt = performance.timeOrigin + performance.now(); };
      ch.port2.postMessage(null);
      return;
    }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
  if (window === window.top) {
    new MutationObserver(() => {
      if (!window.__outputAt && document.querySelector('.jp-OutputArea-output')) window.__outputAt = performance.timeOrigin + performance.now();
    }).observe(document, { childList: true, subtree: true });
  }
})();"""
NOTEBOOK_CELL = """\
import numpy as np, attnviz
rng = np.random.default_rng(0)
w = rng.random(({L}, {H}, {T}, {T})) ** 4 + 1e-3
w /= w.sum(-1, keepdims=True)
attnviz.show(w, [f"t{{i}}" for i in range({T})])
"""


def parse_size(text: str) -> tuple[int, int, int]:
    layers, heads, tokens = (int(x) for x in text.lower().split("x"))
    return layers, heads, tokens


def weights(layers: int, heads: int, tokens: int) -> np.ndarray:
    w = np.random.default_rng(0).random((layers, heads, tokens, tokens), dtype=np.float32) ** 4 + 1e-3
    return w / w.sum(-1, keepdims=True)


def fmt(xs: list[float]) -> str:
    return f"median {statistics.median(xs):.0f} ms (min {min(xs):.0f}, max {max(xs):.0f}, n={len(xs)})"


def bench_file(browser: object, size: tuple[int, int, int], runs: int, tmp: Path) -> None:
    L, H, T = size
    started = time.perf_counter()
    path = attnviz.save_html(weights(L, H, T), tmp / f"attn_{L}x{H}x{T}.html", tokens=[f"t{i}" for i in range(T)])
    written = time.perf_counter() - started
    mb = path.stat().st_size / 1e6
    target = "  (target <= 5.3 MB)" if size == (6, 12, 128) else ""
    print(f"- {L}x{H}x{T}: file {mb:.2f} MB, written in {written * 1e3:.0f} ms{target}")
    times = []
    for _ in range(runs):
        context = browser.new_context(viewport={"width": 1440, "height": 900})  # type: ignore[attr-defined]
        context.add_init_script(PAINT_PROBE)
        page = context.new_page()
        page.set_default_timeout(120_000)
        page.goto(path.as_uri())
        page.wait_for_function("() => window.__paintedAt")
        times.append(page.evaluate("() => window.__paintedAt - performance.timeOrigin"))
        context.close()
    target = "  (target <= 400 ms)" if size == (6, 12, 128) else ""
    print(f"  file:// navigation -> every view painted: {fmt(times)}{target}")


@contextmanager
def jupyter_lab(root: Path) -> Iterator[str]:
    """A real JupyterLab over ``root``; yields the URL template of a notebook in it (``{name}``)."""
    with jupyter_server("jupyterlab", root, Path(tempfile.mkdtemp(prefix="attnviz-bench-lab-")), timeout=180) as lab:
        yield lab.notebook_url("{name}")


def bench_notebook(browser: object, sizes: list[tuple[int, int, int]], tmp: Path) -> None:
    for L, H, T in sizes:
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell(NOTEBOOK_CELL.format(L=L, H=H, T=T))]
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(nb, tmp / f"nb_{L}x{H}x{T}.ipynb")
    with jupyter_lab(tmp) as url:
        for L, H, T in sizes:
            context = browser.new_context(viewport={"width": 1440, "height": 1000})  # type: ignore[attr-defined]
            context.add_init_script(PAINT_PROBE)
            page = context.new_page()
            page.set_default_timeout(180_000)
            page.goto(url.format(name=f"nb_{L}x{H}x{T}.ipynb"))
            wait_for_kernel(page)
            run_cell(page, 0)
            frame = page.locator("iframe.attnviz-frame").element_handle().content_frame()
            frame.wait_for_function("() => window.__paintedAt")
            painted = frame.evaluate("() => window.__paintedAt")
            output = page.evaluate("() => window.__outputAt")
            target = "  (target <= 1000 ms)" if (L, H, T) == (6, 12, 128) else ""
            print(f"- notebook {L}x{H}x{T}: output appeared -> view painted {painted - output:.0f} ms{target}")
            context.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="+", default=["6x12x128", "12x12x256"], help="layers x heads x tokens")
    parser.add_argument("--runs", type=int, default=3, help="file:// loads per size (fresh context each)")
    parser.add_argument("--notebook", action="store_true", help="also time the notebook view in a real JupyterLab")
    args = parser.parse_args()
    sizes = [parse_size(s) for s in args.sizes]
    with tempfile.TemporaryDirectory(prefix="attnviz-bench-anywhere-") as d, sync_playwright() as p:
        tmp = Path(d)
        browser = p.chromium.launch(executable_path=CHROMIUM, args=OFFLINE_ARGS)
        try:
            print("### Single HTML file (attnviz.save_html), opened from file://\n")
            for size in sizes:
                bench_file(browser, size, args.runs, tmp)
            if args.notebook:
                print("\n### Notebook (attnviz.show in JupyterLab)\n")
                bench_notebook(browser, sizes, tmp)
        finally:
            browser.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
