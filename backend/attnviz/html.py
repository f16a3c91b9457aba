"""One self-contained HTML file: the front end's single-file build (every chunk, stylesheet and
font inlined) with an attention document embedded as
``<script type="application/json" id="attnviz-document">``, plus optional server data
(``id="attnviz-data"``: checkpoint listing, timelines, math) for the views that need the server.
It opens from disk with no server and no network. The front end's "Download HTML" button writes
the same tags (frontend/src/lib/embedHtml.ts).

The template ships inside the package (``attnviz/_static/attnviz.html``, copied there by
``make frontend``); a development checkout reads its build, ``frontend/dist/embed/index.html``,
first, so a rebuilt front end is never shadowed by an older packaged copy.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

DOCUMENT_ID = "attnviz-document"
DATA_ID = "attnviz-data"
KATEX_IDS = ("attnviz-katex-js", "attnviz-katex-css")
"""The template's inert KaTeX blocks (frontend/src/lib/katex.embed.ts), which typeset the math view
only: a file without embedded math cannot open that view, so it is written without them."""
_KATEX_BLOCK = re.compile(r'<script type="text/plain" id="(?:' + "|".join(KATEX_IDS) + r')">.*?</script>\n?', re.S)
PACKAGED_TEMPLATE = Path(__file__).resolve().parent / "_static" / "attnviz.html"
CHECKOUT_TEMPLATE = Path(__file__).resolve().parents[2] / "frontend" / "dist" / "embed" / "index.html"


class FrontendNotBuiltError(RuntimeError):
    """Neither the packaged template nor a built front end is there."""


def template_path() -> Path:
    """The single-file template: the checkout's build, else the packaged one."""
    for path in (CHECKOUT_TEMPLATE, PACKAGED_TEMPLATE):
        if path.is_file():
            return path
    raise FrontendNotBuiltError(
        f"the visualizer's single-file build is missing (looked for {PACKAGED_TEMPLATE} and {CHECKOUT_TEMPLATE}); "
        "build it with `make frontend` (cd frontend && npm run build), or install attnviz from the wheel or sdist "
        "that `make dist` builds (they carry it; a pip install from a git checkout does not)"
    )


_cache: tuple[Path, float, str, str] | None = None


def template(*, katex: bool = True) -> str:
    """The template's text, read once per file version; ``katex=False``: without its KaTeX blocks
    (~560 kB the browser would parse on every open of a file that cannot use them)."""
    global _cache
    path = template_path()
    mtime = path.stat().st_mtime
    if _cache is None or _cache[0] != path or _cache[1] != mtime:
        text = path.read_text(encoding="utf-8")
        _cache = (path, mtime, text, _KATEX_BLOCK.sub("", text))
    return _cache[2] if katex else _cache[3]


def script_json(value: Any) -> str:
    """JSON safe inside a ``<script>`` element: ``<`` only occurs inside strings, where ``\\u003c`` is the same."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def render_html(doc: dict[str, Any], data: dict[str, Any] | None = None) -> str:
    """The single-file page showing ``doc`` (and ``data`` for the server views)."""
    page = template(katex=bool(data and data.get("math")))
    tags = f'<script type="application/json" id="{DOCUMENT_ID}">{script_json(doc)}</script>\n'
    if data:
        tags += f'<script type="application/json" id="{DATA_ID}">{script_json(data)}</script>\n'
    at = page.rfind("</body>")
    if at < 0:
        raise FrontendNotBuiltError(f"{template_path()} is not the single-file build (no </body>); rebuild with `make frontend`")
    return page[:at] + tags + page[at:]
