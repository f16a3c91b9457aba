"""The single-file and notebook suite's special needs: a Chromium in which no host but 127.0.0.1
resolves (so any request to the network fails loudly), the shared pages opened in it recording
their requests, and the real `attnviz html` CLI run over a checkpoint of the real trainer."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import expect

from attnviz.html import CHECKOUT_TEMPLATE, PACKAGED_TEMPLATE

from ..browser import CANVAS_STATS_JS, CHROMIUM, CHROMIUM_ARGS, wait_drawn
from ..conftest import TinyRun
from ..live_server import REPO

OFFLINE_ARGS = [*CHROMIUM_ARGS, "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]


@pytest.fixture(scope="session")
def single_file_build() -> Path:
    """The front end's single-file build: missing is a failure (CI builds it first), never a skip."""
    for path in (CHECKOUT_TEMPLATE, PACKAGED_TEMPLATE):
        if path.is_file():
            return path
    pytest.fail(f"{CHECKOUT_TEMPLATE} is missing: build the front end first with `make frontend` (or `make setup`).")


@pytest.fixture(scope="session")
def offline_browser(browser: Any) -> Iterator[Any]:
    """A second Chromium of the session's Playwright, with every non-local host unresolvable."""
    b = browser.browser_type.launch(executable_path=CHROMIUM, args=OFFLINE_ARGS)
    try:
        yield b
    finally:
        b.close()


@dataclass
class Tab:
    """A page of the offline browser and every URL it requested."""

    page: Any
    requests: list[str] = field(default_factory=list)


@pytest.fixture
def new_tab(new_page: Callable[..., Any], offline_browser: Any) -> Callable[[], Tab]:
    """Fresh-context pages of the offline browser (the shared ``new_page``: console and page errors
    fail the test, a screenshot is kept) that record every request they make."""

    def make() -> Tab:
        tab = Tab(new_page(in_browser=offline_browser))
        tab.page.on("request", lambda r: tab.requests.append(r.url))
        return tab

    return make


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """The real `attnviz html` command of this checkout, as a user runs it."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(REPO / "backend"), os.environ.get("PYTHONPATH", "")) if p)}
    cmd = [sys.executable, "-m", "attnviz.cli", "html", *args]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="session")
def lesson_file(tiny_run: TinyRun, single_file_build: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`attnviz html --checkpoint ... --with timeline --with math` over the session's tiny copy run."""
    out = tmp_path_factory.mktemp("lesson") / "lesson.html"
    done = run_cli(
        "--checkpoint", f"{tiny_run.dir.name}/ckpt_epoch3.pt", "--text", "hello", "--checkpoints", str(tiny_run.dir.parent),
        "--with", "timeline", "--with", "math", "--out", str(out),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"wrote {out}" in done.stdout
    return out


def frame_of(output: Any) -> Any:
    """The attnviz page inside one widget output (a notebook cell's, a renderer's), booted with its document."""
    try:
        handle = output.locator("iframe.attnviz-frame").element_handle(timeout=120_000)
    except PlaywrightTimeoutError:
        pytest.fail(f"no attnviz view in the output; it shows: {output.inner_text()!r}")
    frame = handle.content_frame()
    wait_drawn(frame)
    return frame


def painted(frame: Any, testid: str) -> dict[str, int]:
    stats: dict[str, int] = frame.locator(f"[data-testid={testid}]").evaluate(CANVAS_STATS_JS)
    return stats


# Two attnviz.show views, as two notebook cells (test_notebook) or one cell displaying both
# (test_vscode_renderer): (the code before the view, the call that makes it). assert_two_views
# checks what they show.
TWO_VIEWS = (
    (
        "import numpy as np\nimport attnviz\nrng = np.random.default_rng(0)\n"
        "w = rng.random((2, 3, 5, 5)) ** 4 + 1e-3\nw /= w.sum(-1, keepdims=True)\n",
        'attnviz.show(w, ["The", "cat", "sat", "on", "mats"], height=700)',
    ),
    ("v = rng.random((1, 2, 4, 4)) + 0.1\nv /= v.sum(-1, keepdims=True)\n", 'attnviz.show(v, ["a", "b", "c", "d"], height=700)'),
)


@contextmanager
def recording_page(browser: Any) -> Iterator[tuple[Any, list[str], list[str]]]:
    """A page in a fresh 1440 × 1000 context of ``browser``, with every URL it requests and every
    page error (with its stack); the context is closed when the block ends."""
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    requests: list[str] = []
    errors: list[str] = []
    context.on("request", lambda r: requests.append(r.url))
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.on("pageerror", lambda e: errors.append(f"{e} {e.stack}"))
    try:
        yield page, requests, errors
    finally:
        context.close()


def assert_two_views(page: Any, first: Any, second: Any) -> None:
    """The frames of TWO_VIEWS in ``page``: each painted, hover linked inside the first, the second
    its own page, and none of the app's rules or elements outside the frames."""
    # the first view: every head painted, the focus heatmap and the arcs
    for layer in range(2):
        for head in range(3):
            st = painted(first, f"model-view-{layer}-{head}")
            assert (st["width"], st["height"], st["opaque"]) == (5, 5, 25)
    assert painted(first, "focus-heatmap-canvas")["colours"] >= 8
    assert painted(first, "arc-canvas")["opaque"] > 0
    # hover linking inside the output: a token lights its labels in the heatmap and the arcs
    first.locator("[data-testid=tokens-src] span.tok").nth(2).hover()
    expect(first.locator("[data-testid=focus-heatmap] g.labels-q text.lit")).to_have_text("sat")
    expect(first.locator("[data-testid=arc-view] svg text.lit")).to_have_count(2)
    # the second view is its own page: its own document, untouched by the first one's hover
    assert second.locator("[data-testid=tokens-src] span.tok").all_text_contents() == ["a", "b", "c", "d"]
    expect(second.locator("[data-testid=arc-view] svg text.lit")).to_have_count(0)
    assert painted(second, "model-view-0-1")["opaque"] == 16
    # no CSS leaks: the app's rules and elements stay in its frames
    assert page.evaluate("() => document.querySelectorAll('.topbar, #model-view').length") == 0
    # what can never work in a notebook cell takes no room there: no projector mode, no file
    # picker, no tab for a view that needs the server (left out, not greyed)
    for testid in ("present-toggle", "open-file", "insight-tab-train", "insight-tab-math", "insight-tab-timeline"):
        expect(first.get_by_test_id(testid)).to_be_hidden()
    assert clipped_text(first) == []


# Every element that shows text or a control: its content fits (an element that scrolls on purpose,
# such as a token row, is judged by its children, which must fit it)
CLIPPED_TEXT = """() => {
  const shown = 'h2, h3, p, label, button, .hint, .meta, .row-label, .chip, .tok, .readout, .legend, .panel-head > *';
  const scrolls = (s) => s.overflowX === 'auto' || s.overflowY === 'auto';
  return [...document.querySelectorAll(shown)]
    .filter((e) => e.offsetParent !== null && !scrolls(getComputedStyle(e)))
    .filter((e) => e.scrollWidth > e.clientWidth + 1
      || (e.scrollHeight > e.clientHeight + 2 && getComputedStyle(e).overflowY === 'hidden'))
    .map((e) => `${e.dataset.testid || e.className || e.tagName}: ${e.scrollWidth}x${e.scrollHeight}`
      + ` in ${e.clientWidth}x${e.clientHeight}`);
}"""


def clipped_text(frame: Any) -> list[str]:
    """What a page or frame shows cut off: text wider than its box, or taller than a box that hides it."""
    return list(frame.evaluate(CLIPPED_TEXT))


def assert_only_local(requests: list[str]) -> None:
    """No http(s) or websocket request went anywhere but 127.0.0.1."""
    network = [urlsplit(u) for u in requests if urlsplit(u).scheme in ("http", "https", "ws", "wss")]
    outside = [u.geturl() for u in network if u.hostname != "127.0.0.1"]
    assert outside == [], outside
