from __future__ import annotations

from fastapi import APIRouter

from ... import __version__
from ..deps import ServicesDep
from ..schemas import HealthResponse

router = APIRouter(prefix="/api", tags=["health"])


@router.get("/health", response_model=HealthResponse, summary="Is the service up?")
async def health(services: ServicesDep) -> HealthResponse:
    count = await services.run(services.registry.count)
    return HealthResponse(status="ok", version=__version__, checkpoints=count)
