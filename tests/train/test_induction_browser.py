"""Watching an induction head form, in real Chromium against a real server: the page trains the
decoder-only model on the induction task, the chart plots the held-out in-context accuracy and the
best induction score per snapshot, and the model view, coloured by the heads' induction scores,
changes from snapshot to snapshot until the layer-2 head lights up; once the run is done, switching
that head off from the page drops the output panel's held-out in-context accuracy toward chance,
with the numbers."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from ..browser import serve_app
from .conftest import TRAIN_ENV, TrainServer

TEXT = "pjdkfmwaxqzkfmwa"  # "kfmwaxqz", then again from its start
READ_FRAMES = """() => [...document.querySelectorAll('.mv-grid [aria-label^="Layer "]')]
  .filter((e) => /head \\d+$/.test(e.getAttribute('aria-label')))
  .map((e) => ({
    label: e.getAttribute('aria-label'), title: e.getAttribute('title') || '', colour: e.style.getPropertyValue('--stat'),
  }))"""


@pytest.fixture(scope="module")
def induction_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TrainServer]:
    root = tmp_path_factory.mktemp("induction-page-checkpoints")
    with serve_app(root, tmp_path_factory.mktemp("induction-page-log") / "server.log", env=TRAIN_ENV) as srv:
        yield TrainServer(srv.url, root)


def induction_scores(frames: list[dict[str, str]], layer: int) -> list[float]:
    """The layer's heads' induction scores, as their frames' titles state them (``L1 · H0 · Induct: 0.42``)."""
    out = []
    for f in frames:
        m = re.match(rf"L{layer} · H\d+ · Induct: ([0-9.]+)$", f["title"])
        if m:
            out.append(float(m.group(1)))
    return out


def test_training_induction_from_the_page_lights_up_an_induction_head(page: Any, induction_server: TrainServer) -> None:
    page.set_default_timeout(60_000)
    page.goto(f"{induction_server.url}/?insight=train&mvstat=induction&text={TEXT}")
    page.get_by_test_id("train-start").wait_for(state="visible")
    page.wait_for_function("() => !document.querySelector('[data-testid=train-start]').disabled")
    page.get_by_test_id("train-task").select_option("induction")
    assert page.get_by_test_id("train-lr").input_value() == "0.003"  # the task's own learning rate
    assert page.get_by_test_id("train-n_heads").input_value() == "1"  # and its heads: one per layer
    assert page.get_by_test_id("train-epochs").input_value() == "3"  # and its length
    for key, value in {"n_layers": "2", "d_model": "64"}.items():
        page.get_by_test_id(f"train-{key}").fill(value)
    page.get_by_test_id("train-start").click()
    # the first snapshot (the untrained model) is drawn: the frames are coloured by induction score
    page.wait_for_function("() => +document.querySelector('[data-testid=train-panel]').dataset.redraws >= 1")
    page.wait_for_function(f"() => ({READ_FRAMES})().some((f) => /Induct: [0-9.]+$/.test(f.title))")
    first = page.evaluate(READ_FRAMES)
    assert len(first) == 2 and all(f["colour"] for f in first)
    assert max(induction_scores(first, 1)) < 0.3  # nothing has formed yet
    # while it trains: a layer-2 head's induction score climbs past 0.4 and its frame darkens
    page.wait_for_function(
        f"""() => ({READ_FRAMES})().some((f) => {{
              const m = /^L1 · H\\d+ · Induct: ([0-9.]+)$/.exec(f.title);
              return m && +m[1] >= 0.4;
            }})""",
        timeout=240_000,
    )
    later = page.evaluate(READ_FRAMES)
    assert [f["colour"] for f in later] != [f["colour"] for f in first], "the colouring did not change"
    assert max(induction_scores(later, 1)) >= 0.4
    # the chart plots the held-out in-context accuracy and the best induction score per snapshot
    chart = page.get_by_test_id("train-chart")
    assert int(chart.get_attribute("data-scores") or 0) >= 2
    assert chart.locator("path.train-ctx").get_attribute("d") and chart.locator("path.train-ind").get_attribute("d")
    legend = page.get_by_test_id("train-in-context").inner_text()
    assert re.search(r"in-context accuracy \d+\.\d%", legend)
    # a decoder-only document: one row of tokens (prompt + generated), no source side
    assert page.get_by_test_id("tokens-src").count() == 0
    assert page.get_by_test_id("tokens-tgt").locator(".tok").count() > len(TEXT) + 1
    # the run is the trainer's defaults (the page's recipe): let it finish, then switch its induction head off
    page.wait_for_function("() => document.querySelector('[data-testid=train-panel]').dataset.state === 'done'", timeout=600_000)
    with induction_server.client() as client:
        run = client.get("/api/train/limits").json()["current"]["run"]
    page.goto(f"{induction_server.url}/?ckpt={run}&text={TEXT}&ablate=decoder_self:1.0")
    line = page.get_by_test_id("heldout")
    line.filter(has_text="switched-off heads").wait_for()
    text = line.inner_text()
    m = re.search(r"accuracy (\d+\.\d)% with the switched-off heads, (\d+\.\d)% with all heads on: (\d+\.\d) points lower", text)
    assert m, text
    off, on, drop = (float(g) for g in m.groups())
    assert on >= 80 and drop >= 40 and abs(on - off - drop) < 0.11, text
    assert "near chance" in text, text
