"""Annotated dependencies: the app's settings and services, taken from ``app.state``."""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar

import anyio.to_thread
from anyio import CapacityLimiter
from fastapi import Depends, Request

from ..runtime.registry import CheckpointRegistry
from ..runtime.service import AttentionService
from .errors import ApiError
from .settings import Settings

T = TypeVar("T")
log = logging.getLogger("attnviz.server")
RETRY_AFTER_S = 2


def _load_malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``: gives freed heap pages back to the OS (None elsewhere, e.g. musl, macOS)."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        trim: Callable[[int], int] = libc.malloc_trim
    except (OSError, AttributeError, TypeError):
        return None
    return trim


MALLOC_TRIM = _load_malloc_trim()


@dataclass
class AppServices:
    """Everything the routes share; created by ``create_app`` and kept in ``app.state.services``.

    Model work (loading, inference, serialisation) runs on ``limiter``'s threads with at most
    ``queue`` requests waiting; the listing reads files on its own thread (``listing_limiter``), so
    neither it nor /api/health ever waits behind model work."""

    settings: Settings
    registry: CheckpointRegistry
    service: AttentionService
    limiter: CapacityLimiter
    queue: int = 16
    listing_limiter: CapacityLimiter = field(default_factory=lambda: CapacityLimiter(1))
    pending: int = 0
    _threads: CapacityLimiter = field(init=False, repr=False)
    _trim: asyncio.Task[None] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        # the threads that run model work, as many as ``limiter`` admits (the slot is taken on ``limiter``)
        self._threads = CapacityLimiter(self.limiter.total_tokens)

    async def run(self, fn: Callable[..., T], *args: object, request: Request | None = None) -> T:
        """Run model work in a worker thread; 503 ``busy`` (with Retry-After) when the queue is full.
        With ``request``, work whose client disconnected while it waited is skipped."""
        if self.pending >= self.limiter.total_tokens + self.queue:
            raise ApiError(
                503,
                "busy",
                f"The server is busy with {self.pending} model requests; retry in a few seconds.",
                headers={"Retry-After": str(RETRY_AFTER_S)},
                retry_after=RETRY_AFTER_S,
            )
        self.pending += 1
        try:
            async with self.limiter:
                # a client that gave up while its request waited (a superseded keystroke, a newer training
                # snapshot) costs nothing more: its work is dropped instead of computed for nobody
                if request is not None and await request.is_disconnected():
                    raise ApiError(499, "client_closed_request", "The client closed the connection before the work started.")
                return await anyio.to_thread.run_sync(fn, *args, limiter=self._threads)
        finally:
            self.pending -= 1
            if self.pending == 0:
                self._release_memory()

    async def run_listing(self, fn: Callable[..., T], *args: object, abandon_on_cancel: bool = False) -> T:
        """Blocking file work of the listing, on its own thread (never behind model work);
        ``abandon_on_cancel``: a caller that stops waiting leaves the thread to finish alone."""
        return await anyio.to_thread.run_sync(fn, *args, limiter=self.listing_limiter, abandon_on_cancel=abandon_on_cancel)

    async def page_listing(self, wait_s: float) -> dict[str, Any] | None:
        """The listing for the page the server serves, or ``None`` if it is not ready within
        ``wait_s`` seconds or cannot be read (the page then asks ``GET /api/checkpoints``, which
        reports the error)."""
        with anyio.move_on_after(wait_s):
            try:
                return await self.run_listing(self.registry.listing, self.settings.max_text_len, abandon_on_cancel=True)
            except OSError:
                return None
        return None

    def _release_memory(self) -> None:
        """Once the pool is idle, return the freed heap to the OS in the background, so the
        resident size falls back after large requests instead of staying at its peak."""
        if MALLOC_TRIM is None or (self._trim is not None and not self._trim.done()):
            return
        trim = MALLOC_TRIM

        def release() -> None:
            trim(0)

        self._trim = asyncio.get_running_loop().create_task(asyncio.to_thread(release))


def get_services(request: Request) -> AppServices:
    services: AppServices = request.app.state.services
    return services


ServicesDep = Annotated[AppServices, Depends(get_services)]
