"""The app's page carries the checkpoint listing (the boot needs no round trip for it): the same
body as ``GET /api/checkpoints``, written at request time, never able to end its own element, and
left out rather than waited for when the listing is slow."""

from __future__ import annotations

import shutil
import threading
import time
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from attnviz.server import app as app_module
from attnviz.server.frontend import LISTING_ID

from .conftest import make_app

PAGE = "<!doctype html><html><head><title>viz</title></head><body><div id=app></div></body></html>"


class Scripts(HTMLParser):
    """Every <script> element as the browser's parser splits the page: (attributes, text)."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[dict[str, str | None], str]] = []
        self._open: dict[str, str | None] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script":
            self._open, self._text = dict(attrs), []
        elif self._open is not None:  # a tag inside a script element's text: the text was cut short
            self._text.append(f"<{tag}>")

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._open is not None:
            self.found.append((self._open, "".join(self._text)))
            self._open = None


def scripts(html: str) -> list[tuple[dict[str, str | None], str]]:
    p = Scripts()
    p.feed(html)
    return p.found


def page_listing(html: str) -> Any:
    blocks = [text for attrs, text in scripts(html) if attrs.get("id") == LISTING_ID]
    assert len(blocks) == 1, blocks
    assert [attrs.get("type") for attrs, _ in scripts(html)] == ["application/json"]  # nothing executable
    return orjson.loads(blocks[0])


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    d = tmp_path / "dist"
    d.mkdir()
    (d / "index.html").write_text(PAGE)
    return d


def test_the_page_carries_the_listing_the_api_gives(ckpt_dir: Path, dist: Path) -> None:
    with TestClient(make_app(ckpt_dir, frontend_dist=dist)) as c:
        for path in ("/", "/runs/copy"):  # the page and a client-side route
            r = c.get(path)
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
            assert r.headers["cache-control"] == "no-cache" and "etag" not in r.headers
            assert page_listing(r.text) == c.get("/api/checkpoints").json()
            assert r.text.index(LISTING_ID) < r.text.index("</head>")
        head, got = c.head("/"), c.get("/")
        assert head.status_code == 200 and head.content == b""
        assert head.headers["content-length"] == got.headers["content-length"]


def test_the_listing_is_written_when_the_page_is_asked_for(ckpt_dir: Path, dist: Path) -> None:
    with TestClient(make_app(ckpt_dir, frontend_dist=dist)) as c:
        before = page_listing(c.get("/").text)
        assert [r["name"] for r in before["runs"]] == ["copy", "reverse"]
        shutil.copytree(ckpt_dir / "copy", ckpt_dir / "copy2")
        after = page_listing(c.get("/").text)
        assert [r["name"] for r in after["runs"]] == ["copy", "copy2", "reverse"]
        # a rebuilt front end is served at once (the page is read per request, not kept)
        (dist / "index.html").write_text(PAGE.replace("viz", "rebuilt"))
        assert "<title>rebuilt</title>" in c.get("/").text


def test_names_from_the_file_system_cannot_end_the_listing_element(ckpt_dir: Path, dist: Path) -> None:
    # a run directory "x<" holding "script>…": the checkpoint's name reads "x</script><img …>.pt"
    run = ckpt_dir / "x<"
    run.mkdir()
    hostile = "script><img src=x onerror=alert(1)><!--.pt"
    (run / hostile).write_bytes(b"not a checkpoint")
    with TestClient(make_app(ckpt_dir, frontend_dist=dist)) as c:
        html = c.get("/").text
        listed = page_listing(html)
        assert listed == c.get("/api/checkpoints").json()
        names = [ck["name"] for r in listed["runs"] for ck in r["checkpoints"]]
        assert f"x</{hostile}" in names
        assert "<img" not in html and "<!--" not in html


def test_a_slow_listing_is_not_waited_for(ckpt_dir: Path, dist: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = make_app(ckpt_dir, frontend_dist=dist)
    release = threading.Event()
    with TestClient(app) as c:  # the start-up scan runs before the listing is held up
        registry = app.state.services.registry
        real = registry.listing

        def held(*args: Any) -> Any:
            release.wait(30)
            return real(*args)

        monkeypatch.setattr(registry, "listing", held)
        started = time.monotonic()
        r = c.get("/")
        waited = time.monotonic() - started
        release.set()
        assert r.status_code == 200 and "<title>viz</title>" in r.text
        assert LISTING_ID not in r.text  # the app asks GET /api/checkpoints instead
        assert waited < app_module.PAGE_LISTING_WAIT_S + 5
        monkeypatch.setattr(registry, "listing", real)
        assert page_listing(c.get("/").text) == c.get("/api/checkpoints").json()


def test_a_page_without_a_head_is_served_as_it_is(ckpt_dir: Path, dist: Path) -> None:
    (dist / "index.html").write_text("<!doctype html><title>viz</title>")
    with TestClient(make_app(ckpt_dir, frontend_dist=dist)) as c:
        assert c.get("/").text == "<!doctype html><title>viz</title>"
