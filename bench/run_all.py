"""Run every ``bench/bench_*.py`` in turn (training, service, abuse/soak, front end, ...) and print the
machine they ran on.

Benchmarks report figures, they do not gate: a figure that misses its target still exits 0.
A script that crashes (non-zero exit) makes this exit non-zero.

    python bench/run_all.py            # every benchmark
    python bench/run_all.py training   # only bench_training.py
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_report() -> str:
    import torch

    return "\n".join(
        [
            "## Machine",
            "",
            f"- CPU: {cpu_model()}, {os.cpu_count()} logical cores",
            f"- torch {torch.__version__}, default threads {torch.get_num_threads()} (benchmarks set their own)",
            f"- Python {platform.python_version()} on {platform.system()} {platform.release()}",
            f"- date: {datetime.now(UTC).isoformat(timespec='seconds')}",
            f"- load average: {', '.join(f'{x:.2f}' for x in os.getloadavg())}" if hasattr(os, "getloadavg") else "",
        ]
    )


def main(argv: list[str]) -> int:
    scripts = sorted(HERE.glob("bench_*.py"))
    if argv:
        scripts = [s for s in scripts if any(name in s.stem for name in argv)]
    print(machine_report(), flush=True)
    failed = []
    for script in scripts:
        print(f"\n## {script.stem}\n", flush=True)
        started = time.perf_counter()
        code = subprocess.call([sys.executable, str(script)], cwd=HERE.parent)
        print(f"\n({script.name}: exit {code}, {time.perf_counter() - started:.0f} s)", flush=True)
        if code != 0:
            failed.append(script.name)
    if failed:
        print(f"\ncrashed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
