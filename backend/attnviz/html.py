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
import os
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


MATH_BUDGET_BYTES = 32 * 1024 * 1024
"""Largest math step-through data a file embeds (every head of every kind, every query row)."""


class LessonError(ValueError):
    """A checkpoint or text the single file cannot be built from; the message says why."""


def checkpoint_page(
    checkpoint: str,
    text: str,
    checkpoints: str | os.PathLike[str] = "checkpoints",
    *,
    with_timeline: bool = False,
    with_math: bool = False,
    max_text_len: int = 128,
    device: str = "cpu",
    dtype: str = "float32",
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The document of ``checkpoint`` (a name in the ``checkpoints`` directory, as the service
    lists it) on ``text``, through the service's own code path, plus the embedded server data
    asked for: the run's timeline (and its listing, which the timeline view reads), and the
    math step-through of every head of every kind. Raises :class:`LessonError`; ``device`` and
    ``dtype`` are where a Hugging Face model runs (:func:`attnviz.hf.load_hf_model`; a device this
    torch does not have raises :class:`~attnviz.hf.DeviceUnavailableError` before anything loads)."""
    import orjson

    from .errors import AttnvizError, UnknownCheckpoint, UnknownRun
    from .hf import resolve_device, resolve_dtype
    from .runtime.model_cache import ModelCache
    from .runtime.registry import CheckpointRegistry, run_of
    from .runtime.service import AttentionService

    root = Path(checkpoints)
    if not root.is_dir():
        raise LessonError(f"the checkpoint directory {str(root)!r} does not exist (pass --checkpoints DIR)")
    resolve_device(device), resolve_dtype(dtype)
    models = ModelCache(2, device=device, dtype=dtype)
    registry = CheckpointRegistry(root, hf_loader=lambda p: models.get_hf(p).model)
    service = AttentionService(registry=registry, models=models, max_text_len=max_text_len, timeline_cache_size=0)
    try:
        doc = orjson.loads(service.attention_json(checkpoint, text, 4, "float16", ()))
        data: dict[str, Any] = {}
        if with_timeline:
            run = run_of(checkpoint)
            data["timeline"] = [orjson.loads(service.timeline_json(run, text, 4, "float16"))]
            listing = registry.listing(max_text_len)
            # only this run, and not where it lives on this machine: the file is handed out
            data["checkpoints"] = {"checkpoint_dir": "", "runs": [r for r in listing["runs"] if r["name"] == run]}
        if with_math:
            if not service.adapter(checkpoint).family.startswith("toy"):
                raise LessonError(f"{checkpoint!r} is a pretrained model: the math step-through is for the toy models only")
            entries, size = [], 0
            for kind, layers in doc["attentions"].items():
                n_layers, n_heads = layers["shape"][:2]
                for layer in range(n_layers):
                    for head in range(n_heads):
                        body = service.math_json(checkpoint, text, kind, layer, head)
                        size += len(body)
                        if size > MATH_BUDGET_BYTES:
                            raise LessonError(
                                f"the math of every head is over {MATH_BUDGET_BYTES >> 20} MB for this text; "
                                "use a shorter text or leave out --with math"
                            )
                        request = {"checkpoint": checkpoint, "text": text, "kind": kind, "layer": layer, "head": head}
                        entries.append({"request": request, "response": orjson.loads(body)})
            data["math"] = entries
    except (UnknownCheckpoint, UnknownRun):
        names = [c["name"] for r in registry.listing(max_text_len)["runs"] for c in r["checkpoints"] if c.get("usable")]
        have = ", ".join(names[:12]) + (" ..." if len(names) > 12 else "") if names else "none"
        raise LessonError(f"there is no checkpoint named {checkpoint!r} in {root}; usable checkpoints: {have}") from None
    except AttnvizError as exc:
        raise LessonError(exc.detail) from None
    return doc, data or None
