"""Screenshots of each main view, taken by the app itself in headless Chromium. ``make screenshots``
runs this with ATTNVIZ_SCREENSHOT_DIR=docs/img and the real demo runs
(ATTNVIZ_SCREENSHOT_CHECKPOINTS=checkpoints) to refresh the README images; under ``make test`` it
writes to a temporary directory from the tiny runs, checking that every view still renders."""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser import Server, open_app, serve_app, shown

pytestmark = pytest.mark.browser

# (file, URL query, viewport, element to capture or None for the page, action before the shot)
SHOTS: list[tuple[str, str, tuple[int, int], str | None, str | None]] = [
    ("overview.png", "ckpt=reverse&text=stressed&kind=cross&layer=1&head=0", (1440, 860), None, None),
    ("model-view.png", "ckpt=reverse&text=stressed&kind=cross&layer=1&head=0", (1440, 860), "#model-view", None),
    ("heatmap.png", "ckpt=copy&text=balloon&kind=cross&layer=1&head=2", (1440, 860), "#focus-heatmap", None),
    ("arcs.png", "ckpt=reverse&text=stressed&kind=cross&layer=1&head=0&heads=0", (1440, 860), "#arc-view", None),
    ("presenter.png", "ckpt=sort&text=banana&kind=cross&layer=1&head=1&present=1", (1280, 720), None, None),
    ("examples.png", "ckpt=copy&text=balloon&kind=cross&layer=1&head=2", (1280, 720), None, "examples-button"),
]


@pytest.fixture(scope="module")
def shot_server(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[Server]:
    real = os.environ.get("ATTNVIZ_SCREENSHOT_CHECKPOINTS")
    if not real:
        yield request.getfixturevalue("server")
        return
    with serve_app(Path(real), tmp_path_factory.mktemp("shots") / "server.log") as srv:
        yield srv


@pytest.fixture(scope="module")
def out_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = Path(os.environ.get("ATTNVIZ_SCREENSHOT_DIR") or tmp_path_factory.mktemp("img"))
    d.mkdir(parents=True, exist_ok=True)
    return d


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    w, h = struct.unpack(">II", head[16:24])
    return int(w), int(h)


@pytest.mark.parametrize(("name", "query", "viewport", "element", "click"), SHOTS, ids=[s[0] for s in SHOTS])
def test_screenshot(
    name: str,
    query: str,
    viewport: tuple[int, int],
    element: str | None,
    click: str | None,
    new_page: Any,
    shot_server: Server,
    out_dir: Path,
) -> None:
    page = new_page(viewport={"width": viewport[0], "height": viewport[1]})
    # its console errors and page errors fail the test (tests/conftest.py new_page)
    open_app(page, f"{shot_server.url}/?{query}", drawn=True, or_error=True)
    s = shown(page)
    assert (s["status"], s["doc"] is not None) == ("ready", True)
    if click:
        page.get_by_test_id(click).click()
        page.get_by_test_id("examples-menu").wait_for(state="visible")
    page.mouse.move(0, 0)
    path = out_dir / name
    if element:
        page.locator(element).screenshot(path=str(path), animations="disabled")
        box = page.locator(element).bounding_box()
        assert box
        expected = (round(box["width"]), round(box["height"]))
        assert all(abs(a - b) <= 1 for a, b in zip(png_size(path), expected, strict=True))
    else:
        page.screenshot(path=str(path), animations="disabled")
        assert png_size(path) == viewport
    assert path.stat().st_size > 10_000, "suspiciously small: is the view drawn?"
