"""Serving the built front end (``frontend/dist`` of a checkout, else the copy an installed
package carries in ``attnviz/_static/app``, see ``default_dist``): its files with correct MIME types, and
``index.html`` for any other non-API GET (the app routes in the browser). Before the front end is
built, ``/`` explains how to build it.

The page carries the checkpoint listing (``GET /api/checkpoints``'s body) in a JSON data block,
so the app is usable as soon as its script has run instead of one more round trip later; it is
written at request time and never cached, so it is as fresh as the API's answer. When the listing
is slow (a cold or very large directory) the page goes without it and the app asks the API."""

from __future__ import annotations

import mimetypes
from collections.abc import Awaitable, Callable
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response

for _type, _ext in [
    ("text/javascript", ".js"),
    ("text/javascript", ".mjs"),
    ("text/css", ".css"),
    ("text/html", ".html"),
    ("image/svg+xml", ".svg"),
    ("application/json", ".json"),
    ("application/json", ".map"),
    ("application/manifest+json", ".webmanifest"),
    ("application/wasm", ".wasm"),
    ("font/woff2", ".woff2"),
    ("font/woff", ".woff"),
    ("image/x-icon", ".ico"),
]:
    mimetypes.add_type(_type, _ext)

NOT_BUILT_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>attnviz</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40em;margin:3em auto;padding:0 1em}
code{background:#eee;padding:.1em .3em;border-radius:3px}</style></head>
<body><h1>attnviz</h1>
<p>The API is running, but the web visualizer has not been built yet.</p>
<p>Build it with <code>make frontend</code> (or <code>make setup</code> for everything), then reload this page.
<code>make run</code> does it all: install, train the demo checkpoints, build, serve.
An installed package has it inside when it comes from the wheel or sdist that <code>make dist</code> builds
(a <code>pip install</code> straight from a git checkout has no built front end).</p>
<p>Meanwhile: the API is documented at <a href="/docs">/docs</a>, and
<a href="/api/checkpoints">/api/checkpoints</a> lists the checkpoints.</p>
</body></html>
"""


PACKAGED_APP = Path(__file__).resolve().parents[1] / "_static" / "app"
"""The app inside the package (``make dist`` copies frontend/dist there; git-ignored in a checkout)."""
CHECKOUT_DIST = Path(__file__).resolve().parents[3] / "frontend" / "dist"


def default_dist() -> Path:
    """What ``attnviz serve`` serves by default: a checkout's own build when there is one (a rebuilt
    front end is never shadowed by an older packaged copy), else the packaged app."""
    if (CHECKOUT_DIST / "index.html").is_file() or not (PACKAGED_APP / "index.html").is_file():
        return CHECKOUT_DIST
    return PACKAGED_APP


# the data block's id, read (once) by frontend/src/app/data.ts
LISTING_ID = "attnviz-checkpoints"
Listing = Callable[[], Awaitable[bytes | None]]


def _is_api(path: str) -> bool:
    return path == "/api" or path.startswith("/api/")


def _script_safe(data: bytes) -> bytes:
    """JSON that cannot end its ``<script>`` element or open a comment there (names come from the
    file system): ``<``, ``>`` and ``&`` as their JSON ``\\u`` escapes, which parse to the same text."""
    return data.replace(b"<", b"\\u003c").replace(b">", b"\\u003e").replace(b"&", b"\\u0026")


async def app_page(index: Path, listing: Listing) -> Response:
    """``index.html``, read now (a rebuilt front end is served at once), with the listing inside."""
    html = index.read_bytes()
    at = html.find(b"</head>")
    data = await listing() if at >= 0 else None  # HEAD too: its headers are the GET's
    if data is not None:
        block = b'<script type="application/json" id="' + LISTING_ID.encode() + b'">' + _script_safe(data) + b"</script>"
        html = html[:at] + block + html[at:]
    return HTMLResponse(html, headers={"cache-control": "no-cache"})


def _is_build_dir(root: Path, segment: str) -> bool:
    """``assets``, ``embed``: folders of the build, where only its files live (client routes never start there)."""
    if not segment or len(segment) > 255 or segment in (".", ".."):
        return False
    try:
        return (root / segment).is_dir()
    except (OSError, ValueError):
        return False


async def frontend_response(request: Request, dist: Path, listing: Listing) -> Response | None:
    """The response for a GET/HEAD outside /api, or ``None`` if it should be a 404. ``listing``
    gives the checkpoint listing's JSON for the page, or ``None`` to serve it without."""
    if request.method not in ("GET", "HEAD") or _is_api(request.url.path):
        return None
    index = dist / "index.html"
    if not index.is_file():
        return HTMLResponse(NOT_BUILT_PAGE, headers={"cache-control": "no-cache"}) if request.url.path == "/" else None
    root = dist.resolve()
    rel = request.url.path.lstrip("/")
    if rel and "\x00" not in rel and "\\" not in rel:
        try:
            candidate = (root / rel).resolve()
            found = candidate.is_relative_to(root) and candidate.is_file()
        except (OSError, ValueError):  # e.g. a 256-character segment: "file name too long"
            found = False
        if found:
            immutable = candidate.parent.name == "assets"  # Vite's content-hashed files
            headers = {"cache-control": "public, max-age=31536000, immutable" if immutable else "no-cache"}
            return FileResponse(candidate, headers=headers)
    first, _, _ = rel.partition("/")
    if "." in rel.rsplit("/", 1)[-1] or _is_build_dir(root, first):
        # a missing file (/assets/old.js, /assets/anything) is a 404, not the page posing as an asset
        return None
    return await app_page(index, listing)
