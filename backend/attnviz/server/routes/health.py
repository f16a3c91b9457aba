from __future__ import annotations

import anyio.to_thread
from fastapi import APIRouter

from ... import __version__
from ..deps import ServicesDep
from ..schemas import HealthResponse

router = APIRouter(prefix="/api", tags=["health"])


@router.get("/health", response_model=HealthResponse, summary="Is the service up?")
async def health(services: ServicesDep) -> HealthResponse:
    # a directory walk on anyio's default threads: never behind model work or the listing
    count = await anyio.to_thread.run_sync(services.registry.count)
    return HealthResponse(status="ok", version=__version__, checkpoints=count)
