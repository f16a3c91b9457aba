"""Service benchmark: a real uvicorn (one worker) on a free loopback port, loaded with httpx.

    .venv/bin/python bench/bench_service.py [--checkpoints DIR] [--requests 500] [--clients 8]

Uses ``checkpoints/copy`` (the demo copy run) if it has a checkpoint; otherwise trains one into a
temporary directory with the repository's default training settings. Prints a table of figures
(not pass/fail): latency against the bare model time measured in the same run, bytes per weight
for each encoding, and a concurrent run's errors, latency tail and resident-memory growth.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import torch

from attnviz.checkpoint import load_checkpoint
from attnviz.inference import run_attention
from attnviz.train import TrainConfig, train

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from tests.live_server import free_port, stop, wait_until_answers  # noqa: E402

TEXT = "the quick brown fox jumps over a"  # 32 characters, all in the default vocabulary
assert len(TEXT) == 32


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def find_or_train(checkpoints: Path, workdir: Path) -> tuple[Path, str, float | None]:
    """(checkpoint directory, checkpoint name, training seconds or None)."""
    copy = sorted((checkpoints / "copy").glob("ckpt_epoch*.pt"), key=lambda p: int(p.stem.removeprefix("ckpt_epoch") or 0))
    if copy:
        return checkpoints, f"copy/{copy[-1].name}", None
    print(f"no checkpoint in {checkpoints / 'copy'}: training the copy task with the default settings ...", file=sys.stderr)
    started = time.perf_counter()
    cfg = TrainConfig(save_dir=str(workdir / "copy"), threads=1)  # defaults; 1 thread trains faster on 2 shared cores
    train(cfg, progress=False)
    return workdir, f"copy/ckpt_epoch{cfg.epochs}.pt", time.perf_counter() - started


def bare_model_ms(path: Path, runs: int) -> float:
    """Median milliseconds of greedy decoding + the attention pass, in this process, 1 thread."""
    torch.set_num_threads(1)
    ckpt = load_checkpoint(path)
    model = ckpt.build_model()
    for _ in range(5):
        run_attention(model, ckpt.vocab, TEXT, max_text_len=ckpt.max_text_len)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        run_attention(model, ckpt.vocab, TEXT, max_text_len=ckpt.max_text_len)
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


@contextmanager
def server(checkpoints: Path, log: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    cmd = [sys.executable, "-m", "attnviz.server", "--port", str(port), "--checkpoints", str(checkpoints),
           "--no-access-log", "--log-level", "warning"]  # fmt: skip
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_until_answers(proc, base + "/api/health", timeout=60)
        except RuntimeError as e:
            raise RuntimeError(f"{e}:\n{log.read_text()}") from None
        yield base, proc
    finally:
        stop(proc)


def n_weights(doc: dict[str, Any]) -> int:
    total = 0
    for value in doc["attentions"].values():
        shape = value["shape"] if isinstance(value, dict) else [len(value), len(value[0]), len(value[0][0]), len(value[0][0][0])]
        n = 1
        for s in shape:
            n *= s
        total += n
    return total


def sequential(base: str, name: str, n: int) -> tuple[list[float], dict[str, float]]:
    body = {"checkpoint": name, "text": TEXT}
    with httpx.Client(base_url=base, timeout=30) as client:
        payload = {}
        weights = n_weights(client.post("/api/attention", json=body).json())
        for encoding in ("json", "float16", "uint8"):
            r = client.post("/api/attention", json={**body, "encoding": encoding})
            r.raise_for_status()
            payload[encoding] = len(r.content) / weights
        for _ in range(10):
            client.post("/api/attention", json=body)
        times = []
        for _ in range(n):
            t0 = time.perf_counter()
            r = client.post("/api/attention", json=body)
            times.append((time.perf_counter() - t0) * 1000)
            r.raise_for_status()
    return times, payload


def concurrent(base: str, name: str, pid: int, clients: int, per_client: int) -> dict[str, Any]:
    body = {"checkpoint": name, "text": TEXT}
    lock = threading.Lock()
    latencies: list[float] = []
    errors: list[str] = []
    done = 0
    rss_at_100: list[int] = []

    def worker() -> None:
        nonlocal done
        with httpx.Client(base_url=base, timeout=60) as client:
            for _ in range(per_client):
                t0 = time.perf_counter()
                try:
                    r = client.post("/api/attention", json=body)
                    ok = r.status_code == 200
                    why = f"HTTP {r.status_code}"
                except httpx.HTTPError as exc:
                    ok, why = False, type(exc).__name__
                elapsed = (time.perf_counter() - t0) * 1000
                with lock:
                    latencies.append(elapsed)
                    if not ok:
                        errors.append(why)
                    done += 1
                    if done == 100:
                        rss_at_100.append(rss_kib(pid))

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    rss_end = rss_kib(pid)
    return {
        "requests": len(latencies),
        "errors": len(errors),
        "error_kinds": sorted(set(errors)),
        "p50": percentile(latencies, 50),
        "p99": percentile(latencies, 99),
        "throughput": len(latencies) / wall,
        "rss_100_kib": rss_at_100[0] if rss_at_100 else 0,
        "rss_end_kib": rss_end,
    }


def run(checkpoints: Path, requests: int, clients: int, sequential_n: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="attnviz-bench-") as tmp:
        workdir = Path(tmp)
        ckpt_root, name, train_s = find_or_train(checkpoints, workdir)
        bare = bare_model_ms(ckpt_root / name, runs=50)
        ckpt = load_checkpoint(ckpt_root / name)
        with server(ckpt_root, workdir / "server.log") as (base, proc):
            times, payload = sequential(base, name, sequential_n)
            load = concurrent(base, name, proc.pid, clients, requests)
    return {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.python_version()}, torch {torch.__version__}",
        "checkpoint": name,
        "model": f"d_model {ckpt.config.d_model}, {ckpt.config.n_layers} layers, {ckpt.config.n_heads} heads",
        "trained_seconds": train_s,
        "bare_ms": bare,
        "p50_ms": percentile(times, 50),
        "p90_ms": percentile(times, 90),
        "p99_ms": percentile(times, 99),
        "bytes_per_weight": payload,
        "concurrent": load,
        "clients": clients,
        "per_client": requests,
    }


def table(r: dict[str, Any]) -> str:
    c = r["concurrent"]
    growth = (c["rss_end_kib"] - c["rss_100_kib"]) / max(1, c["rss_100_kib"])
    ratio = r["p50_ms"] / r["bare_ms"]
    kinds = ", ".join(c["error_kinds"])
    clients = f"{r['clients']} clients × {r['per_client']}"
    rss_100, rss_end = c["rss_100_kib"] / 1024, c["rss_end_kib"] / 1024
    rows = [
        ("machine", r["machine"], ""),
        ("checkpoint", f"{r['checkpoint']} ({r['model']})", ""),
        ("input", f"{len(TEXT)} characters", ""),
        ("bare forward + greedy decode (median)", f"{r['bare_ms']:.1f} ms", ""),
        ("request p50 / p90 / p99, 1 client", f"{r['p50_ms']:.1f} / {r['p90_ms']:.1f} / {r['p99_ms']:.1f} ms", ""),
        ("p50 ÷ bare", f"{ratio:.2f}×", "target ≤ 3×"),
        ("bytes per weight, json (4 decimals)", f"{r['bytes_per_weight']['json']:.2f}", "target ≤ 7"),
        ("bytes per weight, uint8", f"{r['bytes_per_weight']['uint8']:.2f}", "target ≤ 2"),
        ("bytes per weight, float16", f"{r['bytes_per_weight']['float16']:.2f}", "(base64 of 2 bytes)"),
        (f"{clients}: requests / errors", f"{c['requests']} / {c['errors']} {kinds}", "target 0 errors"),
        ("  p50 / p99", f"{c['p50']:.1f} / {c['p99']:.1f} ms (p99 = {c['p99'] / c['p50']:.1f}× p50)", "target ≤ 10×"),
        ("  throughput", f"{c['throughput']:.0f} requests/s", ""),
        ("  VmRSS at request 100 → end", f"{rss_100:.0f} → {rss_end:.0f} MiB ({growth:+.1%})", "target < 10%"),
    ]  # fmt: skip
    if r["trained_seconds"] is not None:
        rows.insert(2, ("training (no checkpoints/copy found)", f"{r['trained_seconds']:.0f} s", ""))
    w1 = max(len(a) for a, _, _ in rows)
    w2 = max(len(b) for _, b, _ in rows)
    lines = ["attnviz service benchmark (uvicorn, 1 worker, loopback)", "-" * (w1 + w2 + 20)]
    lines += [f"{a:<{w1}}  {b:<{w2}}  {t}".rstrip() for a, b, t in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoints", type=Path, default=REPO / "checkpoints")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=500, help="requests per concurrent client")
    parser.add_argument("--sequential", type=int, default=200, help="requests for the one-client latency")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures as JSON here")
    args = parser.parse_args(argv)
    result = run(args.checkpoints, args.requests, args.clients, args.sequential)
    print(table(result))
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
