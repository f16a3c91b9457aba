"""attnviz: an educational Transformer and a visualizer of every attention weight it computes.

``attnviz.document_from``, ``attnviz.show`` and ``attnviz.save_html`` are imported on first use,
so ``import attnviz`` stays light (no torch, no matplotlib, no notebook machinery).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["document_from", "save_html", "show"]

if TYPE_CHECKING:
    from .anywhere import document_from
    from .display import save_html, show

_LAZY = {"document_from": "anywhere", "show": "display", "save_html": "display"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        value = getattr(import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'attnviz' has no attribute {name!r}")
