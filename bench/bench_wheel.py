#!/usr/bin/env python3
"""The wheel a user installs (``make dist``), measured the way a user meets it:

- wheel size (target <= 3 MB);
- ``pip install`` of the wheel into a fresh venv that already has torch (the pinned CPU build of
  constraints.txt), with constraints.txt (target <= 60 s; the pip cache is warm after the first run);
- ``python -c "import attnviz"`` in that venv, whole command, median of ``--runs`` (target <= 50 ms),
  and the import alone (``-X importtime``);
- ``attnviz serve`` from the wheel, outside the checkout: its page equals the clone's
  frontend/dist/index.html (less the checkpoint listing the server writes into it).

Usage:  python bench/bench_wheel.py [--runs 15] [--keep DIR]
Needs:  the front end built (make frontend); network or a warm pip cache for the dependencies.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

from tests.live_server import free_port, stop, wait_until_answers  # noqa: E402

CONSTRAINTS = ROOT / "constraints.txt"
TORCH_PIN = next(line.strip() for line in CONSTRAINTS.read_text().splitlines() if line.startswith("torch=="))


def user_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH" and not k.startswith("ATTNVIZ_")}


def check(cmd: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, check=True, capture_output=True, text=True, env=user_env(), **kwargs)  # type: ignore[call-overload,no-any-return]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=15, help="timed runs of `python -c 'import attnviz'`")
    parser.add_argument("--keep", type=Path, default=None, help="work in this directory and keep it")
    args = parser.parse_args()
    if not (ROOT / "frontend" / "dist" / "index.html").is_file():
        print("frontend/dist is missing: run `make frontend` first", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="attnviz-bench-wheel-") as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        out = work / "dist"
        check([sys.executable, str(ROOT / "deploy" / "build_dist.py"), "--out", str(out)], cwd=ROOT)
        wheel = next(out.glob("attnviz-*-py3-none-any.whl"))
        size = wheel.stat().st_size
        print(f"- wheel: {wheel.name}, {size / 1e6:.2f} MB ({size / 2**20:.2f} MiB; target <= 3 MB)")

        venv = work / "venv"
        check([sys.executable, "-m", "venv", str(venv)])
        py = str(venv / "bin" / "python")
        check([py, "-m", "pip", "install", "--quiet", TORCH_PIN])
        started = time.perf_counter()
        check([py, "-m", "pip", "install", "--quiet", "-c", str(CONSTRAINTS), str(wheel)])
        print(f"- pip install of the wheel beside {TORCH_PIN}: {time.perf_counter() - started:.1f} s (target <= 60 s)")

        home = work / "home"
        home.mkdir(exist_ok=True)
        check([py, "-c", "import attnviz"], cwd=home)  # byte-compile once, like a user's second run
        walls = []
        for _ in range(args.runs):
            t = time.perf_counter()
            check([py, "-c", "import attnviz"], cwd=home)
            walls.append((time.perf_counter() - t) * 1000)
        bare = []
        for _ in range(args.runs):
            t = time.perf_counter()
            check([py, "-c", "pass"], cwd=home)
            bare.append((time.perf_counter() - t) * 1000)
        trace = check([py, "-X", "importtime", "-c", "import attnviz"], cwd=home).stderr
        own = [int(m[1]) for m in re.finditer(r"\|\s+(\d+) \| attnviz$", trace, re.M)]
        print(
            f"- python -c 'import attnviz': median {statistics.median(walls):.0f} ms, best {min(walls):.0f} ms "
            f"(target <= 50 ms; `python -c pass` alone: median {statistics.median(bare):.0f} ms); "
            f"the import itself {own[-1] / 1000 if own else float('nan'):.1f} ms"
        )

        port = free_port()
        log = work / "serve.log"
        with log.open("wb") as f:
            proc = subprocess.Popen(
                [str(venv / "bin" / "attnviz"), "serve", "--port", str(port), "--checkpoints", str(home), "--no-access-log"],
                cwd=home,
                env=user_env(),
                stdout=f,
                stderr=subprocess.STDOUT,
            )
        try:
            wait_until_answers(proc, f"http://127.0.0.1:{port}/api/health", timeout=120, what="attnviz serve")
            page = httpx.get(f"http://127.0.0.1:{port}/", timeout=30).content
        finally:
            stop(proc)
        page = re.sub(rb'<script type="application/json" id="attnviz-checkpoints">.*?</script>', b"", page, flags=re.S)
        same = page == (ROOT / "frontend" / "dist" / "index.html").read_bytes()
        print(f"- attnviz serve from the wheel: the clone's page: {'yes' if same else 'NO'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
