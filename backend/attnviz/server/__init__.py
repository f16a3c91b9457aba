"""The attnviz HTTP service (FastAPI): ``create_app(settings)`` builds it; ``attnviz serve`` and
``python -m attnviz.server`` run it with uvicorn."""

from .app import create_app
from .settings import Settings

__all__ = ["Settings", "create_app"]
