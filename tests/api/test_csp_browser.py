"""The built app and /docs in real Chromium under the service's Content-Security-Policy: no
violation, and no request leaves the server (so /docs works offline, in a classroom)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest

from ..browser import ConsoleLog, Server, open_app

RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
"""


@pytest.fixture
def base(server: Server) -> str:
    return server.url


@pytest.fixture
def page(new_page: Callable[..., Any], base: str) -> tuple[Any, list[str], list[str]]:
    # the policy itself is under test here: the shared browser's pages bypass it by default
    page = new_page(viewport={"width": 1280, "height": 720}, bypass_csp=False)
    page.add_init_script(RECORD_VIOLATIONS)
    console: list[str] = []
    foreign: list[str] = []
    page.on("console", lambda m: console.append(m.text) if "Content Security Policy" in m.text else None)
    own = urlsplit(base).netloc
    page.on("request", lambda r: foreign.append(r.url) if urlsplit(r.url).netloc not in (own, "") else None)
    return page, console, foreign


def test_the_built_app_meets_the_csp(page: tuple[Any, list[str], list[str]], base: str, console: ConsoleLog) -> None:
    tab, violations, foreign = page
    open_app(tab, base, "?ckpt=copy/ckpt_epoch1.pt&text=abc", drawn=True)
    assert tab.evaluate("window.__csp") == [] and violations == []
    assert foreign == []
    console.allow(r"Content Security Policy", "the inline script injected below is refused, and Chromium says so")
    # the policy is enforced (and the recorder works): an injected inline script does not run
    tab.evaluate(
        "() => { const s = document.createElement('script'); s.textContent = 'window.__ran = 1'; document.body.append(s); }"
    )
    tab.wait_for_function("() => window.__csp.length > 0")
    assert tab.evaluate("window.__ran") is None and tab.evaluate("window.__csp")[0].startswith("script-src")


def test_docs_render_from_bundled_files_under_the_csp(page: tuple[Any, list[str], list[str]], base: str) -> None:
    tab, violations, foreign = page
    tab.goto(f"{base}/docs")
    tab.wait_for_selector(".swagger-ui .opblock-summary-path", timeout=30_000)
    assert tab.evaluate("window.__csp") == [] and violations == []
    assert foreign == []
