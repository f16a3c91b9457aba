"""Spans and a second text at their edges, in a real Chromium against the real server and the real
tiny copy run: the math step-through (every token on its own) linked to the merged views in both
directions, a span from a link that does not fit the text, and a very long second text."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser import Server, open_app, url_params

pytestmark = pytest.mark.browser

COPY = "copy/ckpt_epoch3.pt"


def test_the_math_view_lights_the_pieces_of_a_span_and_names_the_merged_token(server: Server, new_page: Any) -> None:
    page = new_page(viewport={"width": 1280, "height": 720})
    # 'hello' with source tokens 1-3 ('e', 'l', 'l') read as one: shown h · ell · o · <eos>
    open_app(page, server.url, f"/?ckpt={COPY}&text=hello&span=src:1-4&insight=math", drawn=True)
    weights = page.get_by_test_id("math-table-weights")
    expect(weights.locator("tbody tr")).to_have_count(6)  # the step-through keeps every token
    expect(page.get_by_test_id("math-sub")).to_contain_text("the span and word grouping do not apply here")

    # a cell of the math view (query 2, the second 'l'; key 5, '<eos>') lights the merged tokens
    weights.locator("tbody tr[data-r='2'] td[data-c='5']").hover()
    expect(page.get_by_test_id("tokens-src").locator("span.tok.lit")).to_have_text(["ell", "<eos>"])

    # and back: the merged token 'ell' (shown token 1) lights the three rows behind it
    page.mouse.move(0, 0)
    page.get_by_test_id("tokens-src").locator("span.tok").nth(1).hover()
    expect(weights.locator("tbody tr th.hl")).to_have_count(3)
    lit = weights.locator("tbody tr th.hl")
    assert [lit.nth(i).evaluate("e => e.parentElement.dataset.r") for i in range(3)] == ["1", "2", "3"]


def test_a_span_past_the_end_of_the_text_is_said_not_applied_and_can_be_cleared(server: Server, new_page: Any) -> None:
    page = new_page(viewport={"width": 1280, "height": 720})
    open_app(page, server.url, f"/?ckpt={COPY}&text=hello&span=src:2-999", drawn=True)
    status = page.get_by_test_id("span-status")
    expect(status).to_have_text("Span src:2-999 is past the end of this text (6 source tokens): not applied")
    expect(status).to_be_visible()
    expect(page.get_by_test_id("tokens-src").locator("span.tok")).to_have_count(6)
    page.get_by_test_id("span-clear").click()
    expect(status).to_have_text(re.compile("^Shift-click or drag tokens"))
    assert "span" not in url_params(page)


def test_a_second_text_too_long_for_the_model_is_quoted_short_in_its_error(server: Server, new_page: Any, console: Any) -> None:
    console.allow(r"status of 422", "B is longer than the checkpoint accepts: the server's 422 is the error shown")
    page = new_page(viewport={"width": 1280, "height": 720})
    open_app(page, server.url, f"/?ckpt={COPY}&text=hello&text2={'a' * 20000}", drawn=True)
    message = page.get_by_test_id("diff-message")
    expect(message).to_contain_text("The text has 20000 characters; this checkpoint accepts at most")
    text = message.inner_text()
    assert len(text) < 300, text[:400]
    assert "aaaaa…" in text
    # nothing runs off the panel
    assert message.evaluate("e => e.scrollWidth <= e.clientWidth + 1")


def test_another_checkpoint_on_the_same_text_drops_a_span_its_tokens_do_not_share(server: Server, new_page: Any) -> None:
    reverse = "reverse/ckpt_epoch1.pt"
    tgt = {c: server.api("/api/attention", {"checkpoint": c, "text": "hello"}).json()["tokens"]["tgt"] for c in (COPY, reverse)}
    assert tgt[COPY][:3] == ["<bos>", "h", "e"] and tgt[reverse][:3] != tgt[COPY][:3], tgt
    page = new_page(viewport={"width": 1280, "height": 720})
    open_app(page, server.url, f"/?ckpt={COPY}&text=hello&span=tgt:1-3", drawn=True)
    status = page.get_by_test_id("span-status")
    expect(status).to_contain_text("Span 'he' (target 1–2)")
    # another epoch of the same run: the same tokens, the span stays
    page.get_by_test_id("epoch-select").select_option("copy/ckpt_epoch2.pt")
    expect(page.locator("#views")).to_have_attribute("data-checkpoint", "copy/ckpt_epoch2.pt")
    expect(status).to_contain_text("Span 'he' (target 1–2)")
    # the reverse run on the same text writes other target tokens: the span named copy's, it goes
    page.get_by_test_id("run-select").select_option("reverse")
    expect(page.locator("#views")).to_have_attribute("data-checkpoint", reverse)
    expect(status).to_have_text(re.compile("^Shift-click or drag tokens"))
    expect(page.get_by_test_id("tokens-tgt").locator("span.tok")).to_have_count(len(tgt[reverse]))
    assert "span" not in url_params(page)


def test_a_sampled_text_is_compared_with_the_second_text_drawn_the_same_way(server: Server, new_page: Any) -> None:
    page = new_page(viewport={"width": 1280, "height": 720})
    asked: list[dict[str, Any]] = []
    page.on("request", lambda r: asked.append(r.post_data_json) if r.url.endswith("/api/attention") and r.post_data else None)
    open_app(page, server.url, f"/?ckpt={COPY}&text=hello&temp=1.3&seed=7&text2=hallo", drawn=True)
    expect(page.get_by_test_id("diff-message")).to_contain_text("The texts align")
    b = [body for body in asked if body["text"] == "hallo"]
    assert b, asked
    # B is decoded as A was: the same temperature and seed (a greedy B would compare two decodings)
    assert all(body.get("temperature") == 1.3 and body.get("seed") == 7 for body in b), b


def test_the_training_timeline_says_its_small_multiples_are_not_merged(server: Server, new_page: Any) -> None:
    page = new_page(viewport={"width": 1280, "height": 720})
    open_app(page, server.url, f"/?ckpt={COPY}&text=hello&span=src:1-4&insight=timeline", drawn=True)
    sub = page.get_by_test_id("timeline-sub")
    expect(sub).to_contain_text("The small multiples show every token on its own")
    page.get_by_test_id("span-clear").click()
    expect(sub).to_contain_text("Scrub or play to watch the pattern form.")
    expect(sub).not_to_contain_text("small multiples")
