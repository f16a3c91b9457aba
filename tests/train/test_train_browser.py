"""Training from the page in real Chromium against a real server: the chart and the attention
views update while it trains, and the run is an ordinary run in the picker when it is done."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from ..browser import serve_app, shown, wait_drawn
from .conftest import TRAIN_ENV, TrainServer


@pytest.fixture(scope="module")
def page_train_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TrainServer]:
    """Jobs of a few seconds (3000 examples an epoch, a snapshot every 10 steps): long enough that
    the page redraws while the job runs, whatever the machine's load."""
    root = tmp_path_factory.mktemp("page-train-checkpoints")
    env = {**TRAIN_ENV, "ATTNVIZ_TRAINING_EXAMPLES": "3000", "ATTNVIZ_TRAINING_SNAPSHOT_EVERY": "10"}
    with serve_app(root, tmp_path_factory.mktemp("page-train-log") / "server.log", env=env) as srv:
        yield TrainServer(srv.url, root)


def test_train_from_the_page(page: Any, page_train_server: TrainServer) -> None:
    train_server = page_train_server
    page.set_default_timeout(30_000)
    page.goto(f"{train_server.url}/?insight=train&text=abcd")
    panel = page.get_by_test_id("train-panel")
    start = page.get_by_test_id("train-start")
    start.wait_for(state="visible")
    page.wait_for_function("() => !document.querySelector('[data-testid=train-start]').disabled")
    for key, value in {"n_layers": "1", "n_heads": "2", "d_model": "16", "epochs": "8"}.items():
        page.get_by_test_id(f"train-{key}").fill(value)
    page.get_by_test_id("train-task").select_option("copy")
    start.click()
    # while it trains: the chart grows and the attention is redrawn from snapshots, the focused
    # head in sight beside the panel (not covered by it) and its picture changing
    canvas = page.get_by_test_id("focus-heatmap-canvas")
    page.wait_for_function("() => +document.querySelector('[data-testid=train-panel]').dataset.redraws >= 1")
    first_picture = canvas.evaluate("c => c.toDataURL()")
    page.wait_for_function(
        "() => +document.querySelector('[data-testid=train-chart]').dataset.points >= 2"
        " && +document.querySelector('[data-testid=train-panel]').dataset.redraws >= 3"
    )
    heat, side = canvas.bounding_box(), panel.bounding_box()
    assert heat and side and heat["width"] > 100 and heat["y"] + heat["height"] <= 900
    assert heat["x"] + heat["width"] <= side["x"], "the Train panel covers the focused head"
    # a later snapshot's picture differs (not necessarily the next one: during the learning rate's
    # warm-up, neighbouring snapshots can round to the same colours)
    page.wait_for_function(
        """first => document.querySelector('[data-testid=focus-heatmap-canvas]').toDataURL() !== first
             && (document.querySelector('#views').dataset.checkpoint || '').includes('/snapshots/step')""",
        arg=first_picture,
    )
    assert page.locator("[data-testid=train-chart] path.train-loss").get_attribute("d")
    page.wait_for_function("() => document.querySelector('[data-testid=train-panel]').dataset.state === 'done'", timeout=120_000)
    # an ordinary run: in the picker, its last epoch selected and drawn
    page.wait_for_function("() => document.querySelector('[data-testid=epoch-select]').value.endsWith('/ckpt_epoch8.pt')")
    run = shown(page)["ckpt"].rsplit("/", 1)[0]
    assert run.startswith("live/")
    options = page.get_by_test_id("run-select").locator("option").evaluate_all("els => els.map(e => e.value)")
    assert run in options
    wait_drawn(page, ckpt=f"{run}/ckpt_epoch8.pt")
    # redraw counts are measurements (the panel's bench part), not state a user reads
    hook = page.evaluate("() => window.__attnviz.train")
    assert hook["redraws"] >= 2 and hook["firstRedraw"] is not None
    assert int(panel.get_attribute("data-redraws") or 0) == hook["redraws"]


def test_panel_says_why_when_training_is_off(new_page: Callable[..., Any], tmp_path: Path) -> None:
    with serve_app(tmp_path, tmp_path / "server.log", env={"ATTNVIZ_TRAINING": "0"}) as srv:
        page = new_page(viewport={"width": 1280, "height": 720})
        page.goto(f"{srv.url}/?insight=train")
        notice = page.get_by_test_id("train-disabled")
        notice.wait_for(state="visible")
        assert "ATTNVIZ_TRAINING" in notice.inner_text()
        assert not page.get_by_test_id("train-start").is_visible()
        assert not page.get_by_test_id("train-chart").is_visible()


def test_the_form_says_what_is_wrong_and_forgets_it_once_fixed(page: Any, page_train_server: TrainServer) -> None:
    """A bad value is named in the page (not only in the browser's vanishing bubble), nothing is
    sent, and the message goes as soon as the field is fixed."""
    sent: list[Any] = []
    page.on("request", lambda r: sent.append(r) if r.url.endswith("/api/train") and r.method == "POST" else None)
    page.goto(f"{page_train_server.url}/?insight=train&text=abcd")
    start = page.get_by_test_id("train-start")
    page.wait_for_function("() => !document.querySelector('[data-testid=train-start]').disabled")
    error = page.get_by_test_id("train-form-error")
    page.get_by_test_id("train-n_heads").fill("3")
    page.get_by_test_id("train-d_model").fill("16")
    expect(error).to_contain_text("d_model (16) must be divisible by the number of heads (3)")
    start.click()
    expect(page.get_by_test_id("train-d_model")).to_be_focused()
    expect(page.get_by_test_id("train-d_model")).to_have_attribute("aria-invalid", "true")
    page.get_by_test_id("train-d_model").fill("24")
    expect(error).to_have_text("")
    page.get_by_test_id("train-epochs").fill("100000")  # past the server's limit: named too
    expect(error).to_contain_text("Epochs")
    start.click()
    assert sent == []
    page.get_by_test_id("train-epochs").fill("1")
    expect(error).to_have_text("")
    expect(page.get_by_test_id("train-epochs")).to_have_attribute("aria-invalid", "false")
