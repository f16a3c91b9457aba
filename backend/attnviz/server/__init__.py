"""The attnviz HTTP service (FastAPI): ``create_app(settings)`` builds it; ``attnviz serve`` and
``python -m attnviz.server`` run it with uvicorn.

The names load on first use, so the modules under it that know nothing of HTTP (the service, the
registry, the model cache, which ``attnviz html`` uses too) do not pull in FastAPI."""

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
