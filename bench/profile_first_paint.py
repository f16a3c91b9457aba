"""Where the first paint's time goes, on the real user path (the path of bench_first_paint_api.py).

    .venv/bin/python bench/profile_first_paint.py [--checkpoints DIR] [--runs 5]

A fresh tab opens the demo copy run with a 32-character input while Chromium records a
DevTools trace. For the window from the document's arrival (`attnviz:data`) to the end of its
first painted frame (`attnviz:paint`) it prints, per run, the main thread's time by phase:
script per view (the page's `attnviz:render:<view>` measures), other script, style, layout,
paint, commit (canvas uploads included), other tasks, idle; medians over the runs last.
A diagnostic table, not a benchmark: tracing itself slows the page by 10-30 %.
"""

from __future__ import annotations

import statistics
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any
from urllib.parse import unquote

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


sys.path.insert(0, str(REPO / "bench"))
from bench_first_paint_api import first_paint_url, link_tabs, parse_args  # noqa: E402

CATEGORIES = ["devtools.timeline", "disabled-by-default-devtools.timeline", "blink.user_timing", "v8.execute"]
# trace event -> phase; the outermost matching event on the main thread wins
PHASES = {
    "UpdateLayoutTree": "style",
    "Layout": "layout",
    "PrePaint": "paint",
    "Paint": "paint",
    "Layerize": "paint",
    "Commit": "commit",
    "FunctionCall": "script",
    "EvaluateScript": "script",
    "RunMicrotasks": "script",
    "TimerFire": "script",
    "FireAnimationFrame": "script",
    "MinorGC": "gc",
    "MajorGC": "gc",
}
VIEWS = ("model", "heatmap", "arcs")


def phase_times(events: list[dict[str, Any]]) -> dict[str, float]:
    """Milliseconds per phase between the attnviz:data and attnviz:paint marks, on their thread."""
    marks = {e["name"]: e for e in events if e.get("name") in ("attnviz:data", "attnviz:paint")}
    t0, t1 = marks["attnviz:data"]["ts"], marks["attnviz:paint"]["ts"]
    thread = (marks["attnviz:data"]["pid"], marks["attnviz:data"]["tid"])
    spans = sorted(
        (
            e
            for e in events
            if e.get("ph") == "X" and (e["pid"], e["tid"]) == thread and e["ts"] < t1 and e["ts"] + e.get("dur", 0) > t0
        ),
        key=lambda e: (e["ts"], -e.get("dur", 0)),
    )
    out: dict[str, float] = defaultdict(float)
    busy_until = t0
    task_end = t0
    for e in spans:
        start, end = max(e["ts"], t0), min(e["ts"] + e.get("dur", 0), t1)
        if e["name"] == "RunTask" and start >= task_end:  # a top-level task
            task_end = end
            out["tasks (all)"] += (end - start) / 1000
        phase = PHASES.get(e["name"])
        if phase and start >= busy_until:  # outermost phase event only
            out[phase] += (end - start) / 1000
            busy_until = end
    out["window"] = (t1 - t0) / 1000
    out["idle / waiting"] = out["window"] - out["tasks (all)"]
    out["other tasks"] = out["tasks (all)"] - sum(out[p] for p in set(PHASES.values()))
    return out


def main() -> int:
    args = parse_args(__doc__, runs=5)
    url_path = first_paint_url(args.checkpoints)
    if url_path is None:
        return 1
    rows: list[dict[str, float]] = []
    for page, base in link_tabs(args.checkpoints, args.runs):
        cdp = page.context.new_cdp_session(page)
        events: list[dict[str, Any]] = []
        done: list[bool] = []
        cdp.on("Tracing.dataCollected", lambda e, events=events: events.extend(e["value"]))
        cdp.on("Tracing.tracingComplete", lambda _e, done=done: done.append(True))
        cdp.send("Tracing.start", {"traceConfig": {"includedCategories": CATEGORIES}, "transferMode": "ReportEvents"})
        page.goto(base + url_path)
        page.wait_for_function("() => window.__attnviz && window.__attnviz.timings.load", timeout=60_000)
        views = page.evaluate(
            """() => { const d = performance.getEntriesByName('attnviz:data')[0].startTime, out = {};
            for (const m of performance.getEntriesByType('measure'))
              if (m.name.startsWith('attnviz:render:') && m.startTime >= d) out[m.name.slice(15)] = (out[m.name.slice(15)] || 0) + m.duration;
            return out; }"""
        )
        cdp.send("Tracing.end")
        while not done:
            page.wait_for_timeout(50)
        row = phase_times(events)
        for v in VIEWS:
            row[f"script: {v} view"] = float(views.get(v, 0.0))
        row["script: other"] = row["script"] - sum(row[f"script: {v} view"] for v in VIEWS)
        rows.append(row)
    keys = [
        "window",
        *(f"script: {v} view" for v in VIEWS),
        "script: other",
        "gc",
        "style",
        "layout",
        "paint",
        "commit",
        "other tasks",
        "idle / waiting",
    ]
    print(f"first paint of {unquote(url_path)}, traced (slower than untraced), ms per run")
    print(f"{'phase':22}" + "".join(f"{i + 1:>8}" for i in range(len(rows))) + f"{'median':>9}")
    for k in keys:
        vals = [r.get(k, 0.0) for r in rows]
        print(f"{k:22}" + "".join(f"{v:8.1f}" for v in vals) + f"{statistics.median(vals):9.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
