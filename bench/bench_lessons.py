"""Lesson Next -> the step's view painted: the classroom lesson stepped through with its Next button,
timed from the click to the first frame painted with the view the step names (its text drawn,
its kind tab selected, the heatmap titled with its layer and head), through the real service.

    .venv/bin/python bench/bench_lessons.py [--checkpoints DIR] [--runs 2]

Uses the demo runs (`make demo`). The first pass through the lesson warms the server's model cache;
the figures are from the passes after it (same server, warm). Question steps are skipped with
"Skip (unanswered)" before Next. Prints a table (figures, not pass/fail); target <= 300 ms median.
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path
from urllib.parse import parse_qs

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.bench_first_paint_api import first_paint_url, link_tabs, parse_args  # noqa: E402

LESSON = json.loads((REPO / "frontend" / "src" / "lessons" / "01-classroom.json").read_text())

# resolves with the ms from the Next click to the frame after the step's view is in the DOM
NEXT_TO_PAINT = """([n, text, kind, title]) => new Promise((resolve) => {
  const t0 = performance.now();
  document.querySelector('[data-testid=lesson-next]').click();
  const done = () => {
    const v = document.getElementById('views');
    const tab = document.querySelector('[data-testid^=kind-][aria-selected=true]');
    return document.querySelector('[data-testid=lesson-progress]').textContent.startsWith(`Step ${n} `)
      && v.dataset.state === 'ready' && v.dataset.input === text
      && tab && tab.dataset.testid === `kind-${kind}`
      && document.querySelector('[data-view=heatmap] h2').textContent === title;
  };
  const tick = () => {
    if (!done()) return requestAnimationFrame(tick);
    // the frame that paints it: a task queued from the next rAF runs after that frame's paint
    requestAnimationFrame(() => { const ch = new MessageChannel(); ch.port1.onmessage = () => resolve(performance.now() - t0); ch.port2.postMessage(null); });
  };
  tick();
})"""


def main() -> int:
    args = parse_args(__doc__, runs=2)
    if first_paint_url(args.checkpoints) is None:
        return 1
    lat: list[float] = []
    for tab, (page, base) in enumerate(link_tabs(args.checkpoints, args.runs + 1)):
        warming = tab == 0  # the first pass fills the server's model and document caches
        page.goto(f"{base}/?lesson=classroom&step=1")
        page.wait_for_function("() => document.getElementById('views').dataset.state === 'ready'", timeout=60_000)
        for n, step in enumerate(LESSON["steps"][1:], start=2):
            prev = LESSON["steps"][n - 2]
            if "question" in prev:
                page.get_by_test_id("lesson-skip").click()
            q = {k: v[0] for k, v in parse_qs(step["state"]).items()}
            title = f"Layer {q.get('layer', '0')} · Head {q.get('head', '0')}"
            ms = page.evaluate(NEXT_TO_PAINT, [n, q["text"], q.get("kind", "encoder_self"), title])
            if not warming:
                lat.append(ms)
    med = statistics.median(lat)
    print(f"lesson Next -> step's view painted, classroom lesson, {len(lat)} steps over {args.runs} warm tabs\n")
    print(f"{'what':36} {'median':>8} {'min':>8} {'max':>8}  target")
    ok = "ok" if med <= 300 else "MISSED"
    print(f"{'Next -> painted step view':36} {med:7.1f}ms {min(lat):7.1f}ms {max(lat):7.1f}ms  <= 300 ms {ok}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
