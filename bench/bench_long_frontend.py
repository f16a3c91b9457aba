"""Attention at any length in the page (needs the ``hf`` extra and Chromium): a GPT-2-size
architecture (12 x 12, d 768, 1,024 positions, random weights, built locally) at 1,024 tokens
through a real uvicorn and a real headless Chromium, and a side by side with BertViz at 512 tokens.

1. overview painted after it arrives: the page's own ``attnviz:first-paint`` measure (from the
   answer's arrival to the end of the first frame showing every view), and the first tile drawn;
2. tile round trip from the page (``fetch`` + JSON): random 256 x 256 exact regions and the whole
   matrix pooled, p50 and p95;
3. zoom / pan frame: a wheel event (zoom about the pointer) or an arrow key (pan) on the focus
   heatmap, the synchronous work it causes (every view redrawn), median and p95;
4. hover: a pointermove on the heatmap until every linked view has updated, median and p95;
5. the same 12 x 12 model at 512 tokens, its ``out.attentions`` given to ``attnviz.save_html`` and
   to BertViz's ``model_view`` (html_action="return"), each file opened in Chromium: attnviz's
   overview painted (from navigation start), BertViz's model view finished (every head drawn) or
   not within ``--bertviz-timeout`` s. BertViz's CDN scripts (require.js, d3 5.7, jQuery 2.0) are
   served from the front end's node_modules (require.js, d3 7, jQuery 3): no network. Skipped with
   a message when bertviz is not importable (install it apart: ``pip install --target
   /tmp/bertviz bertviz --no-deps`` and pass ``--bertviz /tmp/bertviz``).

Targets: overview painted <= 1.5 s after it arrives; tile p50 <= 150 ms; zoom/pan frame <= 16 ms
median; hover <= 16 ms median; at 512 tokens attnviz painted <= 2 s while BertViz does not finish.

Usage: python bench/bench_long_frontend.py [--runs 2] [--tiles 30] [--events 40] [--bertviz DIR]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "backend"))
sys.path.insert(0, str(ROOT))

from tests.browser import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.hf.tiny_models import bytelevel_tokenizer  # noqa: E402
from tests.live_server import serve  # noqa: E402

from bench_long import fit_text  # noqa: E402  (bench/ is on sys.path when a benchmark runs as a script)

MODULES = ROOT / "frontend" / "node_modules"
CDN = {  # BertViz's require.js paths -> local copies
    "require.min.js": MODULES / "requirejs" / "require.js",
    "d3.min.js": MODULES / "d3" / "dist" / "d3.min.js",
    "jquery.min.js": MODULES / "jquery" / "dist" / "jquery.min.js",
}

TILE_READY = "() => document.querySelector('[data-testid=tiled-heatmap]')?.dataset.tileState === 'ready'"

TILE_TRIPS = """async ([handle, n, count]) => {
  let seed = 1;
  const rnd = (m) => { seed = (seed * 16807) % 2147483647; return seed % m; };
  const out = [];
  for (let i = 0; i < count; i++) {
    let region;
    if (i % 4 === 3) region = { q0: 0, q1: n, k0: 0, k1: n, max_cells: 640000 };
    else { const q0 = rnd(n - 256), k0 = rnd(n - 256); region = { q0, q1: q0 + 256, k0, k1: k0 + 256 }; }
    const body = { handle, kind: 'decoder_self', layer: rnd(12), head: rnd(12), encoding: 'float16', ...region };
    const t0 = performance.now();
    const r = await fetch('/api/attention/tile', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    await r.json();
    out.push(performance.now() - t0);
    if (!r.ok) throw new Error(`tile answered ${r.status}`);
  }
  return out;
}"""

# the synchronous work of an input event on the focus heatmap (the store redraws every view in it)
EVENTS = """async ([kind, count]) => {
  const wrap = document.querySelector('[data-testid=tiled-heatmap]');
  const box = wrap.getBoundingClientRect();
  const frame = () => new Promise((r) => requestAnimationFrame(() => r()));
  const out = [];
  for (let i = 0; i < count; i++) {
    const x = box.left + 78 + ((i * 37) % 300) + 20, y = box.top + 62 + ((i * 53) % 300) + 20;
    let ev;
    if (kind === 'zoom') ev = new WheelEvent('wheel', { deltaY: i % 2 ? 120 : -150, clientX: x, clientY: y, bubbles: true, cancelable: true });
    else if (kind === 'pan') ev = new KeyboardEvent('keydown', { key: ['ArrowLeft', 'ArrowDown', 'ArrowRight', 'ArrowUp'][i % 4], bubbles: true, cancelable: true });
    else ev = new PointerEvent('pointermove', { clientX: x, clientY: y, bubbles: true, pointerId: 1 });
    const t0 = performance.now();
    wrap.dispatchEvent(ev);
    out.push(performance.now() - t0);
    await frame();
  }
  return out;
}"""


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p * (len(xs) - 1) + 0.5))]


def build_gpt2(root: Path) -> Any:
    """A GPT-2-size model (GPT-2 small's config, random weights) and its byte-level tokenizer."""
    import transformers as tf

    tok = tf.PreTrainedTokenizerFast(
        tokenizer_object=bytelevel_tokenizer(["<|endoftext|>"]), bos_token="<|endoftext|>", eos_token="<|endoftext|>"
    )
    cfg = tf.GPT2Config(vocab_size=len(tok), bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id)
    path = root / "hf" / "gpt2-size"
    tf.GPT2LMHeadModel(cfg).eval().save_pretrained(path)
    tok.save_pretrained(path)
    return tok, path


def page_figures(browser: Any, base: str, text: str, args: argparse.Namespace) -> None:
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    page.set_default_timeout(600_000)
    paints, tiles_first, doc = [], [], None
    for _ in range(args.runs):
        answers: list[Any] = []
        page.on("response", lambda r, a=answers: a.append(r) if r.url.endswith("/api/attention") else None)
        page.goto(f"{base}/?ckpt={quote('hf/gpt2-size', safe='')}&text={quote(text)}&layer=5&head=3")
        page.wait_for_function(TILE_READY, timeout=600_000)
        m = page.evaluate(
            """() => {
              const last = (n) => performance.getEntriesByName(n).at(-1);
              return { paint: last('attnviz:first-paint')?.duration, data: last('attnviz:data')?.startTime, now: performance.now() };
            }"""
        )
        tile_at = page.evaluate("() => performance.now()")  # polled: an upper bound of the first tile
        paints.append(m["paint"])
        tiles_first.append(tile_at - m["data"])
        doc = answers[-1].json()
    assert doc is not None and doc["detail"] == "overview", "the GPT-2-size document at 1,024 tokens should be an overview"
    n = doc["overview"]["kinds"]["decoder_self"]["nq"]
    print(
        f"GPT-2-size 12 x 12 at {n} tokens: overview painted {statistics.median(paints):.0f} ms after it arrives "
        f"(median of {args.runs}; target <= 1500 ms); first tile drawn <= {statistics.median(tiles_first):.0f} ms after"
    )
    trips = page.evaluate(TILE_TRIPS, [doc["overview"]["handle"], n, args.tiles])
    print(
        f"  tile round trip from the page ({args.tiles}: 256 x 256 exact, every 4th the whole matrix pooled to 800 x 800): "
        f"p50 {statistics.median(trips):.0f} ms, p95 {pct(trips, 0.95):.0f} ms (target p50 <= 150 ms)"
    )
    for kind, label in (("zoom", "zoom (wheel)"), ("pan", "pan (arrow key)"), ("hover", "hover")):
        times = page.evaluate(EVENTS, [kind, args.events])
        print(f"  {label}: median {statistics.median(times):.1f} ms, p95 {pct(times, 0.95):.1f} ms (target median <= 16 ms)")
    page.close()


def side_by_side(browser: Any, model_dir: Path, tok: Any, args: argparse.Namespace, tmp: Path) -> None:
    import transformers as tf

    import attnviz

    text = fit_text(tok, 512)
    ids = tok(text, return_tensors="pt")["input_ids"]
    model = tf.GPT2LMHeadModel.from_pretrained(model_dir, attn_implementation="eager").eval()
    with torch.no_grad():
        out = model(ids, output_attentions=True)
    del model
    tokens = tok.convert_ids_to_tokens(ids[0])
    n = len(tokens)
    started = time.perf_counter()
    path = attnviz.save_html(out.attentions, tmp / "attnviz_512.html", tokens, kind="decoder_self")
    wrote = time.perf_counter() - started
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    page.goto(path.as_uri())
    page.wait_for_function(TILE_READY, timeout=600_000)
    tile_at = page.evaluate("() => performance.now()")  # polled: an upper bound
    ready = page.evaluate("() => performance.getEntriesByName('attnviz:ready')[0]?.startTime ?? NaN")
    page.close()
    print(
        f"12 x 12 at {n} tokens, out.attentions as given: attnviz.save_html {path.stat().st_size / 1e6:.1f} MB in {wrote:.1f} s; "
        f"opened in Chromium: every view painted {ready:.0f} ms after navigation start (target <= 2000 ms), "
        f"the focus heatmap's first tile <= {tile_at:.0f} ms"
    )

    if args.bertviz:
        sys.path.insert(0, args.bertviz)
    try:
        from bertviz import model_view
    except ImportError:
        print(
            "  BertViz: skipped (bertviz is not importable; pip install --target /tmp/bertviz bertviz --no-deps, then --bertviz /tmp/bertviz)"
        )
        return
    started = time.perf_counter()
    html = model_view(out.attentions, tokens, html_action="return").data
    wrote = time.perf_counter() - started
    bv = tmp / "bertviz_512.html"
    bv.write_text(f"<!doctype html><html><body>{html}</body></html>", encoding="utf-8")
    del html
    page = browser.new_page(viewport={"width": 1440, "height": 900})

    def local(route: Any) -> None:
        name = route.request.url.rsplit("/", 1)[-1]
        name = name if name.endswith(".js") else f"{name}.js"
        body = CDN.get(name)
        if body is None:
            route.abort()
        else:
            route.fulfill(path=str(body), content_type="text/javascript")

    page.route("https://cdnjs.cloudflare.com/**", local)
    heads = 12 * 12
    started = time.perf_counter()
    outcome = ""
    try:
        page.goto(bv.as_uri(), wait_until="commit", timeout=args.bertviz_timeout * 1000)
        page.wait_for_function(
            f"() => document.querySelectorAll('rect.attn_background').length >= {heads}", timeout=args.bertviz_timeout * 1000
        )
        outcome = f"finished in {time.perf_counter() - started:.1f} s"
    except Exception as e:  # a timeout, or the tab crashed (out of memory)
        kind = "tab crashed" if "crash" in str(e).lower() else f"not finished after {time.perf_counter() - started:.0f} s"
        outcome = kind
    finally:
        page.close()
    print(
        f"  BertViz model_view of the same tensors: {bv.stat().st_size / 1e6:.0f} MB of HTML in {wrote:.1f} s; in Chromium: {outcome}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--tiles", type=int, default=30)
    ap.add_argument("--events", type=int, default=40)
    ap.add_argument("--bertviz", default=os.environ.get("ATTNVIZ_BERTVIZ_PATH", ""), help="a directory holding bertviz")
    ap.add_argument("--bertviz-timeout", type=float, default=180)
    args = ap.parse_args()
    try:
        import transformers  # noqa: F401
        from playwright.sync_api import sync_playwright
    except ImportError as e:
        print(f"skipped: {e.name} is not installed (the hf extra and Playwright)")
        return
    if not Path(CHROMIUM).exists():
        print(f"skipped: no Chromium at {CHROMIUM}")
        return
    torch.manual_seed(0)
    tmp = tempfile.TemporaryDirectory()
    root = Path(tmp.name) / "checkpoints"
    tok, model_dir = build_gpt2(root)
    text = fit_text(tok, 1024)
    env = {"ATTNVIZ_INFERENCE_THREADS": "1"}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            with serve(root, Path(tmp.name) / "server.log", env=env, timeout=180) as base:
                page_figures(browser, base, text, args)
            side_by_side(browser, model_dir, tok, args, Path(tmp.name))
        finally:
            browser.close()
    print(f"load average: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
