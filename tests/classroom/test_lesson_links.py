"""Every http://localhost:8000/... link in docs/classroom.md opens a working view: the test server
(tiny runs with the demo's names) stands in for localhost:8000, and the drawn view must match the
URL: run (a run name means its last usable epoch), text, kind, layer, head, presenter mode; no
error message, no console errors."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from playwright.sync_api import Page

from tests.browser import Server, open_app, settled_url, shown

from .conftest import ROOT

pytestmark = pytest.mark.browser

LESSON = ROOT / "docs" / "classroom.md"
LINK = re.compile(r"http://localhost:8000/[^\s)>\]]*")
URL_DEFAULTS = {"kind": "encoder_self", "layer": "0", "head": "0", "present": "0"}
KIND_LABEL = {
    "encoder_self": "Encoder self-attention",
    "decoder_self": "Decoder self-attention (masked)",
    "cross": "Cross-attention",
}


def drop_defaults(params: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in params.items() if URL_DEFAULTS.get(k) != v}


def lesson_links() -> list[str]:
    """The plain view links (the in-page lesson links, ``?lesson=``, are opened by tests/e2e_lessons)."""
    links = LINK.findall(LESSON.read_text(encoding="utf-8"))
    return [u for u in dict.fromkeys(links) if "lesson" not in parse_qs(urlsplit(u).query)]


def test_the_lesson_has_links_for_every_task() -> None:
    links = lesson_links()
    assert len(links) >= 10
    runs = {parse_qs(urlsplit(u).query)["ckpt"][0].split("/")[0] for u in links}
    assert runs == {"copy", "reverse", "sort"}
    kinds = {parse_qs(urlsplit(u).query).get("kind", ["encoder_self"])[0] for u in links}
    assert kinds == set(KIND_LABEL)


@pytest.mark.parametrize("link", lesson_links())
def test_lesson_link_opens_its_view(link: str, page: Page, server: Server) -> None:
    url = urlsplit(link)
    q = {k: v[0] for k, v in parse_qs(url.query).items()}
    open_app(page, f"{server.url}{url.path}?{url.query}", drawn=True, or_error=True)

    listing = httpx.get(f"{server.url}/api/checkpoints", timeout=30).json()
    names = {c["name"] for r in listing["runs"] for c in r["checkpoints"] if c["usable"]}
    runs = {r["name"]: [c["name"] for c in r["checkpoints"] if c["usable"]] for r in listing["runs"]}
    want_ckpt = q["ckpt"] if q["ckpt"] in names else runs[q["ckpt"]][-1]
    kind = q.get("kind", "encoder_self")
    layer, head = int(q.get("layer", 0)), int(q.get("head", 0))

    s = shown(page)
    assert s["error"] is None and s["status"] == "ready", s
    assert (s["doc"]["checkpoint"], s["doc"]["input"]) == (want_ckpt, q["text"])
    assert (s["ckpt"], s["text"], s["kind"], s["layer"], s["head"]) == (want_ckpt, q["text"], kind, layer, head)
    assert s["present"] == (q.get("present") == "1")
    assert page.evaluate("() => document.body.classList.contains('present')") == s["present"]
    # the URL now names the exact checkpoint; the rest is unchanged (defaults are left out of it)
    now = {k: v[0] for k, v in parse_qs(urlsplit(settled_url(page)).query).items()}
    assert drop_defaults(now) == drop_defaults({**q, "ckpt": want_ckpt})

    # what is drawn: the tab, the heatmap title and its canvas label, the run and epoch pickers
    assert "active" in (page.get_by_test_id(f"kind-{kind}").get_attribute("class") or "")
    assert page.locator(".focus-panel .panel-head h2").inner_text() == f"Layer {layer} · Head {head}"
    label = page.get_by_test_id("focus-heatmap-canvas").get_attribute("aria-label") or ""
    assert label.startswith(f"{KIND_LABEL[kind]}, layer {layer} head {head}:"), label
    assert page.get_by_test_id("text-input").input_value() == q["text"]
    assert page.get_by_test_id("epoch-select").input_value() == want_ckpt
    assert page.locator(".arc-head h2").inner_text() == f"Token arcs · layer {layer}"
    drawn = page.evaluate(
        "() => { const c = document.querySelector('[data-testid=focus-heatmap-canvas]');"
        " const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; const seen = new Set();"
        " for (let i = 0; i < d.length; i += 4 * 7) if (d[i + 3]) seen.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);"
        " return seen.size; }"
    )
    assert drawn >= 1, "the heatmap canvas is empty"  # a 1×1 map (the tiny model wrote nothing) has one colour
    assert not page.get_by_test_id("error-message").is_visible()
    assert not page.get_by_test_id("empty-state").is_visible()
