"""Attention over training: one /api/timeline request for a 10-epoch run against one
/api/attention request, and scrubbing between epochs in headless Chromium.

    .venv/bin/python bench/bench_timeline.py [--checkpoints DIR] [--repeat 9]

Uses DIR/copy if it holds >= 10 epochs (the target is stated for a 10-epoch run); otherwise trains a 10-epoch copy run (default model,
smaller training set, ~1-2 min on 2 cores) into a temporary directory. Starts a real uvicorn
serving this checkout's frontend/dist. Prints a table (figures, not pass/fail), with targets:
timeline (cold, uncached) <= 5x one attention request; scrub repaint median <= 16 ms.
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

from attnviz.train import TrainConfig, train

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from tests.browser import CHROMIUM, CHROMIUM_ARGS  # noqa: E402  (the browser tests launch it the same way)

TEXT = "hello world"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_dir(checkpoints: Path | None, tmp: Path) -> tuple[Path, float | None]:
    if checkpoints is not None and len(list((checkpoints / "copy").glob("ckpt_epoch*.pt"))) >= 10:
        return checkpoints, None
    t0 = time.perf_counter()
    train(TrainConfig(task="copy", epochs=10, save_dir=str(tmp / "copy"), n_train=1500, threads=2), progress=False)
    return tmp, time.perf_counter() - t0


def start_server(ckpts: Path, port: int, timeline_cache: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PYTHONPATH": f"{REPO / 'backend'}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
        "ATTNVIZ_FRONTEND_DIST": str(REPO / "frontend" / "dist"),
        "ATTNVIZ_TIMELINE_CACHE_SIZE": str(timeline_cache),
        "ATTNVIZ_MODEL_CACHE_SIZE": "16",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "attnviz.server", "--port", str(port), "--checkpoints", str(ckpts)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    for _ in range(300):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=1)
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("the server did not start")


def timed_post(client: httpx.Client, path: str, body: dict[str, object]) -> float:
    t0 = time.perf_counter()
    r = client.post(path, json=body)
    r.raise_for_status()
    r.read()
    return (time.perf_counter() - t0) * 1000


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoints", type=Path, default=REPO / "checkpoints")
    ap.add_argument("--repeat", type=int, default=9)
    args = ap.parse_args()
    if not (REPO / "frontend" / "dist" / "index.html").exists():
        raise SystemExit("build the front end first: cd frontend && npm run build")
    rows: list[tuple[str, str, str]] = []
    with tempfile.TemporaryDirectory(prefix="bench-timeline-") as tmp:
        ckpts, train_s = run_dir(args.checkpoints, Path(tmp))
        epochs = sorted(ckpts.glob("copy/ckpt_epoch*.pt"))
        last = f"copy/{max(epochs, key=lambda p: int(p.stem.split('epoch')[1])).name}"
        port = free_port()
        proc = start_server(ckpts, port, timeline_cache=0)  # uncached: every timeline runs every epoch
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as c:
                att = {"checkpoint": last, "text": TEXT, "encoding": "float16"}
                tl = {"run": "copy", "text": TEXT, "encoding": "float16"}
                timed_post(c, "/api/timeline", tl)  # load every model once
                a = [timed_post(c, "/api/attention", att) for _ in range(args.repeat)]
                t = [timed_post(c, "/api/timeline", tl) for _ in range(args.repeat)]
            a_med, t_med = statistics.median(a), statistics.median(t)
        finally:
            proc.terminate()
            proc.wait(10)
        proc = start_server(ckpts, port := free_port(), timeline_cache=16)
        try:
            with sync_playwright() as p:
                b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = b.new_page(viewport={"width": 1400, "height": 900})
                query = f"?ckpt={last}&text={TEXT.replace(' ', '+')}&kind=cross&layer=1&insight=timeline"
                page.goto(f"http://127.0.0.1:{port}/{query}")
                ready = "() => window.__attnviz.timeline && window.__attnviz.timeline.timelineEpochs().length > 1"
                page.wait_for_function(ready, timeout=120000)
                n = page.evaluate("() => window.__attnviz.timeline.timelineEpochs().length")
                scrub_ms: list[float] = page.evaluate(
                    """async (n) => {
                      const out = [];
                      for (let r = 0; r < 6; r++) for (let i = 0; i < n; i++) {
                        out.push(window.__attnviz.timeline.scrubTo(i));
                        await new Promise((res) => requestAnimationFrame(() => res(null)));
                      }
                      return out;
                    }""",
                    n,
                )
                requests = page.evaluate("() => window.__attnviz.timeline.timelineRequests")
                b.close()
        finally:
            proc.terminate()
            proc.wait(10)
    s_med = statistics.median(scrub_ms)
    s_p90 = sorted(scrub_ms)[int(0.9 * (len(scrub_ms) - 1))]
    ratio = f"{t_med / a_med:.1f}x one attention request (target <= 5x)"
    rows += [
        ("epochs in the run", str(len(epochs)), ""),
        ("POST /api/attention, median", f"{a_med:.1f} ms", f"{args.repeat} requests, float16"),
        ("POST /api/timeline (uncached), median", f"{t_med:.1f} ms", ratio),
        ("scrub repaint (synchronous), median", f"{s_med:.2f} ms", f"p90 {s_p90:.2f} ms, {len(scrub_ms)} scrubs (<= 16 ms)"),
        ("timeline requests made by the page", str(requests), "one per run + text"),
    ]
    if train_s is not None:
        rows.append(("training the 10-epoch run", f"{train_s:.0f} s", "temporary directory"))
    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, python {platform.python_version()}"
    print(f"\nbench_timeline — {machine}\n")
    w0, w1 = max(len(r[0]) for r in rows), max(len(r[1]) for r in rows)
    for r in rows:
        print(f"{r[0]:<{w0}}  {r[1]:>{w1}}  {r[2]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
