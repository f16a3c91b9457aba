"""Annotated dependencies: the app's settings and services, taken from ``app.state``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, TypeVar

import anyio.to_thread
from anyio import CapacityLimiter
from fastapi import Depends, Request

from .registry import CheckpointRegistry
from .service import AttentionService
from .settings import Settings

T = TypeVar("T")


@dataclass
class AppServices:
    """Everything the routes share; created by ``create_app`` and kept in ``app.state.services``."""

    settings: Settings
    registry: CheckpointRegistry
    service: AttentionService
    limiter: CapacityLimiter

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        """Run blocking work (model loading, inference, serialisation) in a worker thread."""
        return await anyio.to_thread.run_sync(fn, *args, limiter=self.limiter)


def get_services(request: Request) -> AppServices:
    services: AppServices = request.app.state.services
    return services


ServicesDep = Annotated[AppServices, Depends(get_services)]
