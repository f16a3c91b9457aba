"""The attnviz HTTP service (FastAPI): ``create_app(settings)`` builds it; ``attnviz serve`` and
``python -m attnviz.server`` run it with uvicorn.

The routes here are the edge over :mod:`attnviz.runtime` (the models and the work, without HTTP),
turning its domain errors into statuses. The names load on first use, so the command line, which
reads the ``serve`` options from ``__main__``, does not pull in FastAPI until it serves."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import create_app
    from .settings import Settings

__all__ = ["Settings", "create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from .app import create_app

        return create_app
    if name == "Settings":
        from .settings import Settings

        return Settings
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
