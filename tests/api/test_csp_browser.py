"""The built app and /docs in real Chromium under the service's Content-Security-Policy: no
violation, and no request leaves the server (so /docs works offline, in a classroom)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from ..e2e.helpers import open_app, wait_for_doc
from ..live_server import DIST, serve

RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
"""


@pytest.fixture(scope="module")
def base(trained_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    assert (DIST / "index.html").is_file(), "build the front end first (make frontend)"
    with serve(trained_dir, tmp_path_factory.mktemp("csp") / "server.log") as url:
        yield url


@pytest.fixture
def page(browser: Any, base: str) -> Iterator[tuple[Any, list[str], list[str]]]:
    # the policy itself is under test here: the shared browser's pages bypass it by default
    context = browser.new_context(viewport={"width": 1280, "height": 720}, bypass_csp=False)
    page = context.new_page()
    page.add_init_script(RECORD_VIOLATIONS)
    console: list[str] = []
    foreign: list[str] = []
    page.on("console", lambda m: console.append(m.text) if "Content Security Policy" in m.text else None)
    own = urlsplit(base).netloc
    page.on("request", lambda r: foreign.append(r.url) if urlsplit(r.url).netloc not in (own, "") else None)
    yield page, console, foreign
    context.close()


def test_the_built_app_meets_the_csp(page: tuple[Any, list[str], list[str]], base: str) -> None:
    tab, console, foreign = page
    open_app(tab, base, "?ckpt=copy/ckpt_epoch1.pt&text=abc")
    wait_for_doc(tab)
    assert tab.evaluate("window.__csp") == [] and console == []
    assert foreign == []
    # the policy is enforced (and the recorder works): an injected inline script does not run
    tab.evaluate(
        "() => { const s = document.createElement('script'); s.textContent = 'window.__ran = 1'; document.body.append(s); }"
    )
    tab.wait_for_function("() => window.__csp.length > 0")
    assert tab.evaluate("window.__ran") is None and tab.evaluate("window.__csp")[0].startswith("script-src")


def test_docs_render_from_bundled_files_under_the_csp(page: tuple[Any, list[str], list[str]], base: str) -> None:
    tab, console, foreign = page
    tab.goto(f"{base}/docs")
    tab.wait_for_selector(".swagger-ui .opblock-summary-path", timeout=30_000)
    assert tab.evaluate("window.__csp") == [] and console == []
    assert foreign == []
