"""Where headless Chromium is and how to launch it here (shared by the browser tests and bench/)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import Page

CHROMIUM = os.environ.get("ATTNVIZ_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def settled_url(page: Page) -> str:
    """The page's URL once its state is mirrored there (the page updates the URL at most every
    100 ms, so the URL read right after a burst of changes may lag by up to that much)."""
    page.wait_for_function("() => !(window.__attnviz && window.__attnviz.urlPending())")
    return page.url
