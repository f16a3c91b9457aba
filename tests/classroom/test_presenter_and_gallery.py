"""Presenter mode and the example gallery in headless Chromium at 1280×720 (a projector), against a
real server over the tiny demo runs."""

from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from playwright.sync_api import Page

from tests.browser import Server, open_app, serve_app, settled_url, shown, wait_drawn

pytestmark = pytest.mark.browser


def last_epoch(server: Server, run: str) -> str:
    runs = {r["name"]: r for r in httpx.get(f"{server.url}/api/checkpoints", timeout=30).json()["runs"]}
    return str([c for c in runs[run]["checkpoints"] if c["usable"]][-1]["name"])


def px(page: Page, selector: str, prop: str = "font-size") -> float:
    return float(page.eval_on_selector(selector, f"e => parseFloat(getComputedStyle(e).getPropertyValue('{prop}'))"))


def luminance(page: Page, selector: str, prop: str) -> float:
    """Relative luminance (WCAG) of a computed colour."""
    rgb = page.eval_on_selector(
        selector, f"e => getComputedStyle(e).getPropertyValue('{prop}').match(/\\d+(\\.\\d+)?/g).slice(0, 3).map(Number)"
    )

    def chan(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.03928 else float(((c + 0.055) / 1.055) ** 2.4)

    r, g, b = (chan(float(v)) for v in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(page: Page, fg: str, bg: str) -> float:
    a, b = luminance(page, fg, "color"), luminance(page, bg, "background-color")
    return (max(a, b) + 0.05) / (min(a, b) + 0.05)


def test_presenter_mode_from_the_url(page: Page, server: Server) -> None:
    # encoder self-attention: its size is the input's (8×8), whatever the tiny model writes
    url = f"{server.url}/?ckpt=reverse&text=racecar&kind=encoder_self&layer=0&head=2&present=1"
    open_app(page, url, drawn=True, or_error=True)
    s = shown(page)
    assert s["present"] is True and s["ckpt"] == last_epoch(server, "reverse") and s["status"] == "ready"
    assert page.evaluate("() => document.body.classList.contains('present')")
    # the input and the focus views only
    assert page.get_by_test_id("text-input").is_visible()
    assert page.locator("#focus-heatmap").is_visible() and page.locator("#arc-view").is_visible()
    assert not page.locator("#model-view").is_visible()
    for hidden in ("open-file", "download-png", "download-svg", "download-json"):
        assert not page.get_by_test_id(hidden).is_visible(), hidden
    assert page.get_by_test_id("present-toggle").is_visible() and page.get_by_test_id("present-hint").is_visible()
    # large type: input, tokens, tab labels, heatmap and arc labels (SVG text: its computed size)
    assert px(page, "[data-testid=text-input]") >= 24
    assert px(page, ".chips .tok") >= 18
    assert px(page, "[data-testid=kind-encoder_self]") >= 18
    assert px(page, ".hm-labels .labels-q text") >= 20
    assert px(page, ".arc-labels text.tok-q") >= 18
    assert px(page, ".focus-panel .panel-head h2") >= 20
    # high contrast: black on white
    assert contrast(page, ".focus-panel .panel-head h2", ".focus-panel") >= 15
    assert contrast(page, ".row-label", ".output-panel") >= 12
    # it fits a 1280×720 projector: nothing scrolls, the heatmap is big
    assert page.evaluate(
        "() => document.documentElement.scrollHeight <= innerHeight && document.documentElement.scrollWidth <= innerWidth"
    )
    box = page.get_by_test_id("focus-heatmap").bounding_box()
    assert box and box["height"] >= 300
    label = page.get_by_test_id("focus-heatmap-canvas").get_attribute("aria-label")
    assert label and label.startswith("Encoder self-attention, layer 0 head 2")
    assert not page.get_by_test_id("error-message").is_visible()


def test_presenter_toggle(page: Page, server: Server) -> None:
    open_app(page, f"{server.url}/?ckpt=copy&text=hello&layer=1", drawn=True, or_error=True)
    assert page.locator("#model-view").is_visible() and not page.evaluate("() => document.body.classList.contains('present')")
    normal = px(page, "[data-testid=text-input]")
    assert px(page, ".hm-labels .labels-q text") <= 13
    toggle = page.get_by_test_id("present-toggle")
    assert toggle.inner_text() == "Present" and toggle.get_attribute("aria-pressed") == "false"
    toggle.click()
    page.wait_for_function("() => document.body.classList.contains('present')")
    assert parse_qs(urlsplit(settled_url(page)).query)["present"] == ["1"]
    assert not page.locator("#model-view").is_visible()
    assert px(page, "[data-testid=text-input]") >= 1.5 * normal
    page.wait_for_function(
        "() => parseFloat(getComputedStyle(document.querySelector('.hm-labels .labels-q text')).fontSize) >= 20"
    )
    assert toggle.inner_text() == "Exit presenter" and toggle.get_attribute("aria-pressed") == "true"
    toggle.click()
    page.wait_for_function("() => !document.body.classList.contains('present')")
    assert "present" not in parse_qs(urlsplit(settled_url(page)).query)
    assert page.locator("#model-view").is_visible() and page.get_by_test_id("download-png").is_visible()


def test_gallery_lists_examples_per_task(page: Page, server: Server) -> None:
    open_app(page, f"{server.url}/?ckpt=copy&text=hello", drawn=True, or_error=True)
    assert not page.get_by_test_id("examples-menu").is_visible()
    page.get_by_test_id("examples-button").click()
    menu = page.get_by_test_id("examples-menu")
    assert menu.is_visible()
    titles = menu.locator(".examples-title").all_text_contents()
    assert [t.split(" ")[0].lower() for t in titles] == ["copy", "reverse", "sort", "shift", "swap"]
    # the demo tasks have their runs here; shift and swap are trained from the page (Train tab)
    assert not any("no " in t and " run on this server" in t for t in titles[:3])
    for testid in ("example-copy-balloon", "example-reverse-racecar", "example-sort-banana"):
        entry = page.get_by_test_id(testid)
        assert entry.is_visible()
        look = entry.locator(".example-look").inner_text()
        assert len(look) > 20, look
    # the menu stays on screen at 1280×720
    box = menu.bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= 1280
    page.keyboard.press("Escape")
    assert not menu.is_visible()


def test_gallery_click_loads_text_and_the_tasks_run(page: Page, server: Server) -> None:
    open_app(page, f"{server.url}/?ckpt=copy&text=hello&kind=encoder_self&layer=0&head=3", drawn=True, or_error=True)
    for testid, text, run in (("example-reverse-racecar", "racecar", "reverse"), ("example-sort-banana", "banana", "sort")):
        page.get_by_test_id("examples-button").click()
        page.get_by_test_id(testid).click()
        wait_drawn(page, or_error=True)
        s = shown(page)
        assert s["text"] == text and s["ckpt"] == last_epoch(server, run), s["ckpt"]
        assert s["doc"]["checkpoint"] == s["ckpt"] and s["doc"]["input"] == text
        # the example opens the view its line talks about ("Cross-attention, layer 1"), not the current one
        assert (s["kind"], s["layer"], s["head"]) == ("cross", 1, 0)
        assert page.get_by_test_id("kind-cross").get_attribute("aria-selected") == "true"
        label = page.get_by_test_id("focus-heatmap-canvas").get_attribute("aria-label")
        assert label and label.startswith("Cross-attention, layer 1 head 0"), label
        assert page.get_by_test_id("text-input").input_value() == text
        assert page.get_by_test_id("run-select").input_value() == run
        q = parse_qs(urlsplit(settled_url(page)).query)
        assert q["text"] == [text] and q["ckpt"] == [s["ckpt"]]
        assert not page.get_by_test_id("examples-menu").is_visible()
    # a checkpoint of the example's task already chosen (epoch 1) is kept
    page.get_by_test_id("epoch-select").select_option("sort/ckpt_epoch1.pt")
    wait_drawn(page, or_error=True)
    page.get_by_test_id("examples-button").click()
    page.get_by_test_id("example-sort-mississippi").click()
    wait_drawn(page, or_error=True)
    s = shown(page)
    assert s["ckpt"] == "sort/ckpt_epoch1.pt" and s["text"] == "mississippi" and s["doc"]["input"] == "mississippi"
    assert not page.get_by_test_id("error-message").is_visible()


def test_gallery_without_a_run_of_the_task(page: Page, demo_dir: Path, tmp_path: Path) -> None:
    """Only a copy run: the reverse examples say there is no such run and are not loaded into the copy
    model (whose diagonal would contradict what they describe)."""
    only_copy = tmp_path / "ck"
    shutil.copytree(demo_dir / "copy", only_copy / "copy")
    with serve_app(only_copy, tmp_path / "server.log") as srv:
        open_app(page, f"{srv.url}/", drawn=True, or_error=True)
        page.get_by_test_id("examples-button").click()
        titles = page.get_by_test_id("examples-menu").locator(".examples-title").all_text_contents()
        assert "no copy run" not in titles[0] and "(no reverse run on this server: train one" in titles[1]
        entry = page.get_by_test_id("example-reverse-stressed")
        assert entry.is_disabled() and "train one" in (entry.get_attribute("title") or "")
        assert page.get_by_test_id("example-copy-hello").is_enabled()
        entry.click(force=True)  # a disabled button: nothing happens
        s = shown(page)
        assert s["text"] != "stressed" and s["ckpt"].startswith("copy/")
