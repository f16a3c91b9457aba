"""What a user picks and what the page tells them: checkpoints, the URL as the state, bad input,
loading, server errors, the empty state."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser import (
    ConsoleLog,
    Server,
    canvas_stats,
    heatmap_cells,
    hover_cell,
    open_app,
    pixel_at,
    settled_url,
    shown,
    url_params,
    wait_drawn,
)

pytestmark = pytest.mark.browser

URL_KEYS = ("ckpt", "text", "kind", "layer", "head", "view")
NEWEST = "copy/ckpt_epoch3.pt"  # the first run's newest epoch (tests/conftest.py trained_runs)


def is_attention(r: Any) -> bool:
    return bool(r.url.endswith("/api/attention") and r.method == "POST")


def attention_requests(page: Any) -> list[dict[str, Any]]:
    """Bodies of the /api/attention requests the page sends from now on."""
    sent: list[dict[str, Any]] = []
    page.on("request", lambda r: sent.append(r.post_data_json) if is_attention(r) else None)
    return sent


def test_picking_run_then_epoch_shows_output_against_expected(page: Any, server: Server) -> None:
    open_app(page, server.url)
    wait_drawn(page, "hello", NEWEST)
    runs = page.get_by_test_id("run-select")
    epochs = page.get_by_test_id("epoch-select")
    expect(runs.locator("option")).to_have_text(["copy", "reverse", "sort"])
    expect(epochs.locator("option")).to_have_count(3)
    expect(epochs).to_have_value(NEWEST)

    # a run: its newest usable epoch is run
    with page.expect_request(is_attention) as req:
        runs.select_option("reverse")
    assert req.value.post_data_json["checkpoint"] == "reverse/ckpt_epoch1.pt"
    wait_drawn(page, "hello", "reverse/ckpt_epoch1.pt")
    expect(epochs.locator("option")).to_have_count(1)
    expect(epochs.locator("option")).to_contain_text("epoch 1")
    # the pickers are narrower than a long label: the whole label is their tooltip
    expect(runs).to_have_attribute("title", "reverse")
    expect(epochs).to_have_attribute("title", re.compile(r"^epoch 1( · \d+%)?$"))
    doc = server.api("/api/attention", req.value.post_data_json).json()
    assert doc["expected"] == "olleh"
    expect(page.get_by_test_id("expected")).to_have_text("olleh")
    right = doc["output"] == doc["expected"]
    expect(page.get_by_test_id("output-verdict")).to_have_text("✓ correct" if right else "✗ wrong")
    expect(page.get_by_test_id("output-verdict")).to_have_class("badge ok" if right else "badge bad")
    shown = page.locator("[data-testid=output] code.out-text:not(.expected)")
    expect(shown).to_have_text(doc["output"] or "(empty)")
    if not right and doc["output"]:
        assert shown.locator("span.wrong").count() >= 1  # the wrong characters are marked
    expect(page.locator(".output-panel .meta")).to_contain_text("task reverse · epoch 1")

    # back to copy, then an older epoch
    with page.expect_request(is_attention) as req:
        runs.select_option("copy")
    assert req.value.post_data_json["checkpoint"] == NEWEST
    wait_drawn(page, "hello", NEWEST)
    with page.expect_request(is_attention) as req:
        epochs.select_option("copy/ckpt_epoch1.pt")
    assert req.value.post_data_json == {"checkpoint": "copy/ckpt_epoch1.pt", "text": "hello", "encoding": "float16"}
    wait_drawn(page, "hello", "copy/ckpt_epoch1.pt")
    expect(page.get_by_test_id("expected")).to_have_text("hello")
    expect(page.locator(".output-panel .meta")).to_contain_text("task copy · epoch 1")
    assert url_params(page)["ckpt"] == "copy/ckpt_epoch1.pt"


def set_up_a_state(page: Any, server: Server) -> dict[str, Any]:
    """Pick epoch 1, type "abc", cross-attention, layer 1 head 3, the arc view; return the state."""
    open_app(page, server.url, drawn=True)
    page.get_by_test_id("epoch-select").select_option("copy/ckpt_epoch1.pt")
    wait_drawn(page, "hello", "copy/ckpt_epoch1.pt")
    box = page.get_by_test_id("text-input")
    box.fill("")
    box.press_sequentially("abc")
    wait_drawn(page, "abc", "copy/ckpt_epoch1.pt")
    page.get_by_test_id("kind-cross").click()
    page.get_by_test_id("model-view-1-3").click()
    page.get_by_test_id("arc-view").click(position={"x": 5, "y": 5})
    s = shown(page)
    assert {k: s[k] for k in URL_KEYS} == {
        "ckpt": "copy/ckpt_epoch1.pt",
        "text": "abc",
        "kind": "cross",
        "layer": 1,
        "head": 3,
        "view": "arcs",
    }
    assert url_params(page) == {
        "ckpt": "copy/ckpt_epoch1.pt",
        "text": "abc",
        "kind": "cross",
        "layer": "1",
        "head": "3",
        "view": "arcs",
    }
    return s


def test_the_page_boots_on_the_listing_it_carries(page: Any, server: Server) -> None:
    # the served page holds the checkpoint listing: no round trip before the app is usable
    listing = []
    page.on("request", lambda r: listing.append(r.url) if "/api/checkpoints" in r.url else None)
    open_app(page, server.url)
    wait_drawn(page, "hello", NEWEST)
    expect(page.get_by_test_id("run-select").locator("option")).to_have_text(["copy", "reverse", "sort"])
    expect(page.get_by_test_id("epoch-select")).to_have_value(NEWEST)
    assert listing == []


def test_reload_restores_the_same_state(page: Any, server: Server) -> None:
    before = set_up_a_state(page, server)
    value = hover_cell(page, 1, 2)
    url = settled_url(page)
    with page.expect_request(is_attention) as req:
        page.reload()
    assert req.value.post_data_json == {"checkpoint": "copy/ckpt_epoch1.pt", "text": "abc", "encoding": "float16"}
    wait_drawn(page, "abc", "copy/ckpt_epoch1.pt")
    after = shown(page)
    assert settled_url(page) == url
    assert {k: after[k] for k in URL_KEYS} == {k: before[k] for k in URL_KEYS}
    assert after["doc"] == before["doc"]
    expect(page.get_by_test_id("kind-cross")).to_have_attribute("aria-selected", "true")
    expect(page.get_by_test_id("model-view-1-3")).to_have_attribute("aria-selected", "true")
    expect(page.locator("[data-view=arcs]")).to_have_class("panel arc-panel is-focused")
    expect(page.get_by_test_id("epoch-select")).to_have_value("copy/ckpt_epoch1.pt")
    expect(page.get_by_test_id("text-input")).to_have_value("abc")
    assert hover_cell(page, 1, 2) == value


def test_a_burst_of_changes_reaches_the_url_once_it_settles(page: Any, server: Server) -> None:
    """The URL follows the state at most every 100 ms: a burst (a scrub, a slider drag) updates it
    at once for the first change and again, with the last state, when the window ends."""
    # a URL that names the run: the view starts at layer 0 head 0 (a bare URL lands on a lesson's view)
    open_app(page, server.url, "/?ckpt=copy&text=hello")
    wait_drawn(page, "hello", NEWEST)
    # the precondition: the last URL update's window (100 ms) is over, so the next change goes at once
    page.wait_for_function("() => window.__attnviz.urlIdle()")
    # a burst of clicks on four thumbnails within one task (layer 1: heads 2, 3, 0, 1), as a fast user
    # would make them; whether the URL update still waits is the page's timer, read through the hook
    pending = page.evaluate(
        """() => {
          const click = (h) => document.querySelector(`[data-testid=model-view-1-${h}]`).click();
          click(2);
          const first = location.search;
          for (const h of [3, 0, 1]) click(h);
          return { first, pending: window.__attnviz.urlPending(), now: location.search };
        }"""
    )
    assert "layer=1" in pending["first"] and "head=2" in pending["first"]
    assert pending["pending"] and pending["now"] == pending["first"]  # the rest of the burst waits
    assert {k: url_params(page)[k] for k in ("layer", "head")} == {"layer": "1", "head": "1"}


def test_a_fresh_page_at_the_url_restores_exactly_that_state(page: Any, new_page: Callable[[], Any], server: Server) -> None:
    before = set_up_a_state(page, server)
    url = settled_url(page)
    fresh = new_page()  # another browser context: no storage, no history shared
    with fresh.expect_request(is_attention) as req:
        fresh.goto(url)
    assert req.value.post_data_json == {"checkpoint": "copy/ckpt_epoch1.pt", "text": "abc", "encoding": "float16"}
    wait_drawn(fresh, "abc", "copy/ckpt_epoch1.pt")
    after = shown(fresh)
    assert {k: after[k] for k in URL_KEYS} == {k: before[k] for k in URL_KEYS}
    assert after["doc"] == before["doc"]
    assert fresh.url == url
    expect(fresh.locator("[data-view=heatmap] h2")).to_have_text("Layer 1 · Head 3")
    expect(fresh.locator("[data-view=arcs] h2")).to_have_text("Token arcs · layer 1")
    expect(fresh.get_by_test_id("focus-heatmap-canvas")).to_have_attribute(
        "aria-label", f"Cross-attention, layer 1 head 3: {len(after['doc']['tgt'])} queries by {len(after['doc']['src'])} keys"
    )


def test_characters_outside_the_vocabulary_are_named_and_highlighted(page: Any, server: Server) -> None:
    open_app(page, server.url, drawn=True)
    sent = attention_requests(page)
    box = page.get_by_test_id("text-input")
    box.fill("")
    box.press_sequentially("ab@c#")
    message = page.get_by_test_id("error-message")
    expect(message).to_be_visible()
    # the same sentence the server gives for that text
    res = server.api("/api/attention", {"checkpoint": NEWEST, "text": "ab@c#"})
    assert res.status_code == 422 and res.json()["code"] == "unknown_characters"
    named = "Text has 2 characters outside the vocabulary: '@' at position 2, '#' at position 4."
    assert res.json()["detail"].startswith(named + " Use only: ")
    expect(message).to_contain_text(named)
    expect(message.locator(".error-text span.bad")).to_have_text(["@", "#"])
    # highlighted in the input itself
    expect(page.locator(".text-field .backdrop span.bad")).to_have_text(["@", "#"])
    expect(box).to_have_attribute("aria-invalid", "true")
    # caught before any round trip (the first key, "a", ran at once: typing runs without waiting)
    assert [b["text"] for b in sent if "@" in b["text"] or "#" in b["text"]] == []

    # fixing the text clears the message and runs it
    box.press("Backspace")  # "ab@c"
    box.press("ArrowLeft")
    box.press("Backspace")  # "abc"
    expect(box).to_have_value("abc")
    wait_drawn(page, "abc")
    expect(message).to_be_hidden()
    expect(page.locator(".text-field .backdrop span.bad")).to_have_count(0)
    assert [b["text"] for b in sent][-1] == "abc" and all("@" not in b["text"] and "#" not in b["text"] for b in sent)


def test_a_loading_state_shows_while_the_model_runs(page: Any, server: Server) -> None:
    open_app(page, server.url, drawn=True)
    held: list[Any] = []
    page.route("**/api/attention", lambda route: held.append(route))  # hold the real request...
    page.get_by_test_id("text-input").fill("abc")
    loading = page.get_by_test_id("loading")
    expect(loading).to_be_visible()
    expect(loading).to_contain_text("Running the model…")
    expect(page.get_by_test_id("status")).to_have_text("Running the model…")
    expect(page.get_by_test_id("run-button")).to_be_disabled()
    assert page.locator("#views").get_attribute("aria-busy") == "true"
    assert len(held) == 1
    held[0].continue_()  # ...then let the real server answer it
    wait_drawn(page, "abc")
    expect(loading).to_be_hidden()
    expect(page.get_by_test_id("status")).to_have_text("")
    assert page.locator("#views").get_attribute("aria-busy") == "false"


SKELETON_URL = "?ckpt=copy%2Fckpt_epoch2.pt&text=abcab"


def test_a_skeleton_of_the_document_shows_while_the_model_runs(page: Any, server: Server) -> None:
    held: list[Any] = []
    page.route("**/api/attention", lambda route: held.append(route))  # hold the real request
    open_app(page, server.url, SKELETON_URL)
    # what is known before the weights is laid out: the source tokens and the model's shape
    info = next(
        c for r in server.api("/api/checkpoints").json()["runs"] for c in r["checkpoints"] if c["name"] == "copy/ckpt_epoch2.pt"
    )
    tokens = ["a", "b", "c", "a", "b", "<eos>"]
    expect(page.get_by_test_id("loading")).to_be_visible()
    expect(page.get_by_test_id("empty-state")).to_be_hidden()
    expect(page.locator(".hm-labels .labels-q text")).to_have_text(tokens)
    expect(page.locator(".arc-labels text.tok-k")).to_have_text(tokens)
    expect(page.get_by_test_id("tokens-src").locator(".tok")).to_have_text(tokens)
    expect(page.locator("button.thumb:not(.agg)")).to_have_count(info["config"]["n_layers"] * info["config"]["n_heads"])
    expect(page.get_by_test_id("output-pending")).to_have_text("running the model…")
    expect(page.locator(".arc-stat")).to_have_text("Running the model…")
    # no weights yet: cells are a neutral grey (not the colour of 0), no arcs, nothing to download
    cells = heatmap_cells(page)
    for q, k in ((0, 0), (2, 4), (5, 5)):
        assert pixel_at(page, "[data-testid=focus-heatmap-canvas]", cells["xs"][k], cells["ys"][q]) == [
            238,
            240,
            243,
            255,
        ]  # PENDING_RGB
    assert canvas_stats(page.get_by_test_id("arc-canvas"))["opaque"] == 0
    expect(page.get_by_test_id("download-json")).to_be_disabled()
    # nothing received yet: the views are loading, no document is drawn
    expect(page.locator("#views")).to_have_attribute("data-state", "loading")
    assert shown(page)["doc"] is None
    first_label = page.locator(".hm-labels .labels-q text").first.element_handle()

    held[0].continue_()  # the real server answers
    wait_drawn(page, "abcab")
    assert shown(page)["doc"]["src"] == tokens  # the skeleton predicted the service's tokens
    assert first_label.evaluate("(el) => el.isConnected")  # labels kept, not rebuilt
    expect(page.get_by_test_id("output-pending")).to_have_count(0)
    assert canvas_stats(page.get_by_test_id("arc-canvas"))["opaque"] > 0
    assert pixel_at(page, "[data-testid=focus-heatmap-canvas]", cells["xs"][0], cells["ys"][0]) != [238, 240, 243, 255]


def test_a_skeleton_keeps_the_insight_panel_the_link_opened(page: Any, server: Server) -> None:
    # the skeleton has no decoder side yet: the Decoding tab must not be judged on it and closed
    held: list[Any] = []
    page.route("**/api/attention", lambda route: held.append(route))
    open_app(page, server.url, SKELETON_URL + "&insight=steps")
    expect(page.locator(".hm-labels .labels-q text")).to_have_count(6)
    tab = page.get_by_test_id("insight-tab-steps")
    expect(tab).to_have_attribute("aria-pressed", "true")
    held[0].continue_()
    wait_drawn(page, "abcab")
    expect(tab).to_have_attribute("aria-pressed", "true")
    expect(page.get_by_test_id("insight-panel")).to_be_visible()


def test_a_failed_request_takes_the_skeleton_away(page: Any, server: Server, console: ConsoleLog) -> None:
    console.allow(r"Failed to load resource: net::ERR_FAILED", "the request this test aborts")
    held: list[Any] = []
    page.route("**/api/attention", lambda route: held.append(route))
    open_app(page, server.url, SKELETON_URL)
    expect(page.locator(".hm-labels .labels-q text")).to_have_count(6)
    held[0].abort()
    expect(page.get_by_test_id("error-message")).to_be_visible()
    expect(page.get_by_test_id("empty-state")).to_be_visible()
    expect(page.locator("#views")).not_to_have_class(re.compile(r"\bhas-doc\b"))
    expect(page.locator(".hm-labels .labels-q text")).to_have_count(0)
    expect(page.get_by_test_id("output-pending")).to_be_hidden()


def test_an_unknown_checkpoint_in_the_url_gives_a_clear_message(page: Any, server: Server, console: ConsoleLog) -> None:
    console.allow(
        r"Failed to load resource: the server responded with a status of 404 .*/api/attention",
        "Chromium logs every 4xx response as a console error; this one is the point of the test",
    )
    res = server.api("/api/attention", {"checkpoint": "nope/ckpt_epoch9.pt", "text": "hello"})
    assert res.status_code == 404
    detail = res.json()["detail"]
    with page.expect_response(lambda r: is_attention(r.request)) as resp:
        open_app(page, server.url, "?ckpt=nope%2Fckpt_epoch9.pt&text=hello")
    assert resp.value.status == 404
    message = page.get_by_test_id("error-message")
    expect(message).to_be_visible()
    # the page's own sentence, for a person: it names the checkpoint, not the API's endpoints
    assert "nope/ckpt_epoch9.pt" in detail
    expect(message).to_contain_text("Cannot use this checkpoint.")
    expect(message).to_contain_text("nope/ckpt_epoch9.pt")
    expect(message).not_to_contain_text("/api")
    expect(page.get_by_test_id("empty-state")).to_contain_text("Nothing to show yet")
    expect(page.get_by_test_id("loading")).to_be_hidden()
    # the user can recover by picking a real run
    page.get_by_test_id("run-select").select_option("copy")
    wait_drawn(page, "hello", NEWEST)
    expect(message).to_be_hidden()


def test_an_empty_checkpoint_directory_shows_the_empty_state(page: Any, empty_server: Server) -> None:
    open_app(page, empty_server.url)
    empty = page.get_by_test_id("empty-state")
    expect(empty).to_be_visible()
    expect(empty.locator("h2")).to_have_text("No checkpoints yet")
    # the directory as the listing shows it: its name, never the server's absolute path
    expect(empty).to_contain_text(f"Nothing usable in {empty_server.checkpoint_dir.name}.")
    expect(empty).to_contain_text("python -m attnviz.train")
    expect(page.get_by_test_id("run-select")).to_be_disabled()
    expect(page.get_by_test_id("run-select")).to_contain_text("No checkpoints")
    expect(page.get_by_test_id("download-png")).to_be_disabled()
    assert shown(page)["doc"] is None
