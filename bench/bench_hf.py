"""Pretrained encoder benchmark (needs the ``hf`` extra): all-MiniLM-L6-v2 at 128 tokens.

1. the bare ``transformers`` forward (eager attention, ``output_attentions=True``, 1 torch thread
   like the server's default ATTNVIZ_TORCH_THREADS) vs ``POST /api/attention`` through a real
   uvicorn (float16, what the front end asks for; and json), medians in the same run;
2. first paint of the all-heads view (6 × 12 heads) in headless Chromium with the real document
   from the API, through the page's hook (``window.__attnviz.loadDocument``), at 128, 256, 512 tokens.

Targets: request ≤ 3× the bare forward; first paint ≤ 500 ms at 128 tokens.
Usage: python bench/bench_hf.py [--checkpoints DIR] [--runs 20]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "backend"))

from attnviz.hf_demo import MODEL_DIR, install_minilm  # noqa: E402

SENTENCE = "Attention lets every token look at every other token, weighing what matters most. "
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def text_of(tok: object, n: int) -> str:
    """The longest prefix of the sentence, repeated, with at most ``n`` tokens (128 is exact)."""
    words = (SENTENCE * 60).split(" ")
    best = ""
    for end in range(len(words)):
        text = " ".join(words[:end])
        if len(tok(text)["input_ids"]) > n:  # type: ignore[operator]
            break
        best = text
    return best


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def p90(xs: list[float]) -> float:
    return sorted(xs)[int(0.9 * (len(xs) - 1))]


def timed(fn: object, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()  # type: ignore[operator]
        out.append((time.perf_counter() - t0) * 1000)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--checkpoints", type=Path, default=None, help="directory holding hf/all-MiniLM-L6-v2 (default: a temp copy)")
    ap.add_argument("--runs", type=int, default=20)
    args = ap.parse_args()
    from transformers import AutoModel, AutoTokenizer

    tmp = tempfile.TemporaryDirectory()
    ckpts = args.checkpoints or Path(tmp.name)
    install_minilm(ckpts)
    model_dir = ckpts / MODEL_DIR
    name = MODEL_DIR.as_posix()

    torch.set_num_threads(1)
    tok = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
    model = AutoModel.from_pretrained(model_dir, attn_implementation="eager", local_files_only=True).eval()
    texts = {n: text_of(tok, n) for n in (128, 256, 512)}
    batch = tok(texts[128], return_tensors="pt")

    def bare() -> None:
        with torch.no_grad():
            model(**batch, output_attentions=True)

    timed(bare, 3)
    bare_ms = timed(bare, args.runs)

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "backend"), "ATTNVIZ_FRONTEND_DIST": str(ROOT / "frontend" / "dist")}
    log = open(Path(tmp.name) / "server.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "attnviz.server", "--port", str(port), "--checkpoints", str(ckpts)],
        stdout=log,
        stderr=log,
        env=env,
    )
    try:
        with httpx.Client(base_url=base, timeout=60) as client:
            deadline = time.monotonic() + 120
            while True:
                try:
                    if client.get("/api/health").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise SystemExit("server did not start: " + (Path(tmp.name) / "server.log").read_text())
                time.sleep(0.2)
            client.get("/api/checkpoints")  # loads the model (listing warms the cache)
            api: dict[str, list[float]] = {}
            for enc in ("float16", "json"):
                body = {"checkpoint": name, "text": texts[128], "encoding": enc}

                def post(body: dict[str, str] = body) -> None:
                    r = client.post("/api/attention", json=body)
                    r.raise_for_status()

                timed(post, 3)
                api[enc] = timed(post, args.runs)
            docs = {
                n: client.post("/api/attention", json={"checkpoint": name, "text": t, "encoding": "float16"}).text
                for n, t in texts.items()
            }
        paint = browser_first_paint(base, docs)
    finally:
        proc.terminate()
        proc.wait(timeout=10)

    med = statistics.median
    print(f"\nall-MiniLM-L6-v2, 128 tokens · {os.cpu_count()} CPUs · torch threads 1 · {args.runs} runs each (medians)\n")
    print(f"{'what':44} {'median':>9} {'p90':>9}  target")
    print(f"{'bare transformers forward':44} {med(bare_ms):7.1f}ms {p90(bare_ms):7.1f}ms")
    for enc, xs in api.items():
        ratio = med(xs) / med(bare_ms)
        verdict = "ok" if ratio <= 3 else "MISSED"
        print(f"{'POST /api/attention (' + enc + ')':44} {med(xs):7.1f}ms {p90(xs):7.1f}ms  {ratio:.2f}x bare (<= 3x) {verdict}")
    print(f"\n{'first paint, all heads (6x12), float16 doc':44} {'cold':>9} {'warm med':>9}  target")
    for n, (cold, warm) in paint.items():
        verdict = (
            ""
            if n != 128
            else f"<= 500 ms: warm {'ok' if med(warm) <= 500 else 'MISSED'}, cold {'ok' if cold <= 500 else 'MISSED'}"
        )
        print(f"{f'{n} tokens ({len(docs[n]) // 1024} KiB)':44} {cold:7.1f}ms {med(warm):7.1f}ms  {verdict}")


def browser_first_paint(base: str, docs: dict[int, str]) -> dict[int, tuple[float, list[float]]]:
    from playwright.sync_api import sync_playwright

    out: dict[int, tuple[float, list[float]]] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        try:
            for n, doc in docs.items():
                page = browser.new_page(viewport={"width": 1440, "height": 900})
                page.goto(base + "/")
                page.wait_for_function("() => window.__attnviz && window.__attnviz.isReady")
                times = []
                for _ in range(6):
                    res = page.evaluate("async (text) => (await window.__attnviz.loadDocument(JSON.parse(text))).totalMs", doc)
                    times.append(float(res))
                    page.evaluate("() => window.__attnviz.store.set({doc: null, rawDoc: null})")
                    page.wait_for_timeout(50)
                out[n] = (times[0], times[1:])
                page.close()
        finally:
            browser.close()
    return out


if __name__ == "__main__":
    main()
