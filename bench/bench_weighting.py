"""Value-norm weighting (``weighting: "value_norm"``): what it costs the server, and how fast the
page repaints when the "Attention / Value-weighted" toggle is clicked.

    .venv/bin/python bench/bench_weighting.py [--checkpoints DIR] [--runs 20]

Runs the real server (one worker) over ``checkpoints/`` (the demo runs: a toy copy checkpoint and,
when installed, MiniLM under ``hf/``; with neither, a small copy run is trained into a temporary
directory), then:

- **server**: POST /api/attention alternately plain and value-weighted, float16 as the page asks,
  ``--runs`` of each after a warm-up; the ratio of the medians (target ≤ 1.3×);
- **toggle**: headless Chromium at 1440×900 clicks the toggle back and forth; each figure is the
  time from the click to the frame after the heatmap's title names the new weighting (the request,
  the decoding and every view's redraw included; target ≤ 100 ms).

Figures, not pass/fail.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from tests.browser import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.live_server import serve  # noqa: E402

TEXTS = {"toy": "hello world", "hf": "The cat sat on the mat because it was warm, and the dog watched it from the door."}

CLICK_JS = """async (w) => {
  const h2 = document.querySelector('[data-view=heatmap] h2');
  const want = w === 'value_norm';
  const t0 = performance.now();
  document.querySelector(`[data-testid=weighting-${w}]`).click();
  await new Promise((resolve) => {
    const done = () => h2.textContent.includes('value-weighted') === want && document.getElementById('views').dataset.state === 'ready';
    const check = () => { if (done()) { obs.disconnect(); requestAnimationFrame(() => resolve()); } };
    const obs = new MutationObserver(check);
    obs.observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true, attributeFilter: ['data-state'] });
    check();
  });
  return performance.now() - t0;
}"""


def models(root: Path) -> dict[str, str]:
    """``{label: checkpoint name}`` of what the directory holds."""
    out: dict[str, str] = {}
    copy = sorted((root / "copy").glob("ckpt_epoch*.pt"), key=lambda p: int(p.stem.removeprefix("ckpt_epoch") or 0))
    if copy:
        out["toy"] = f"copy/{copy[-1].name}"
    if (root / "hf" / "all-MiniLM-L6-v2" / "config.json").is_file():
        out["hf"] = "hf/all-MiniLM-L6-v2"
    return out


def server_ratio(base: str, name: str, text: str, runs: int) -> tuple[float, float]:
    times: dict[str, list[float]] = {"attention": [], "value_norm": []}
    with httpx.Client(base_url=base, timeout=120) as client:
        for i in range(runs + 3):
            for w in ("attention", "value_norm") if i % 2 == 0 else ("value_norm", "attention"):
                t0 = time.perf_counter()
                r = client.post("/api/attention", json={"checkpoint": name, "text": text, "encoding": "float16", "weighting": w})
                ms = (time.perf_counter() - t0) * 1000
                r.raise_for_status()
                if i >= 3:
                    times[w].append(ms)
    return statistics.median(times["attention"]), statistics.median(times["value_norm"])


def toggle_ms(base: str, name: str, text: str, runs: int) -> list[float]:
    from urllib.parse import urlencode

    from playwright.sync_api import sync_playwright

    out: list[float] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.goto(f"{base}/?{urlencode({'ckpt': name, 'text': text, 'kind': 'encoder_self'})}")
        page.wait_for_function("() => document.getElementById('views')?.dataset.state === 'ready'", timeout=60_000)
        for i in range(runs + 2):
            w: Any = "value_norm" if i % 2 == 0 else "attention"
            ms = page.evaluate(CLICK_JS, w)
            if i >= 2:
                out.append(ms)
        browser.close()
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--checkpoints", type=Path, default=REPO / "checkpoints")
    ap.add_argument("--runs", type=int, default=20)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = args.checkpoints.resolve()
        found = models(root)
        if not found:
            from attnviz.train import TrainConfig, train

            print(f"no demo runs in {root}: training a small copy run ...", file=sys.stderr)
            root = Path(tmp) / "checkpoints"
            train(TrainConfig(save_dir=str(root / "copy"), epochs=1, n_train=2000, threads=1), progress=False)
            found = models(root)
        with serve(root, Path(tmp) / "server.log", timeout=180) as base:
            print(
                "| model | plain (ms) | value_norm (ms) | ratio (target ≤ 1.3) | toggle → repaint, median / p90 (ms, target ≤ 100) |"
            )
            print("|---|---|---|---|---|")
            for label, name in found.items():
                plain, weighted = server_ratio(base, name, TEXTS[label], args.runs)
                t = sorted(toggle_ms(base, name, TEXTS[label], args.runs))
                p90 = t[min(len(t) - 1, round(0.9 * (len(t) - 1)))]
                print(
                    f"| {name} | {plain:.1f} | {weighted:.1f} | {weighted / plain:.2f}× | {statistics.median(t):.0f} / {p90:.0f} |",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
