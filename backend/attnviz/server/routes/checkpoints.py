from __future__ import annotations

import orjson
from fastapi import APIRouter, Response

from ..deps import ServicesDep
from ..schemas import CheckpointList

router = APIRouter(prefix="/api", tags=["checkpoints"])


@router.get(
    "/checkpoints",
    response_model=CheckpointList,
    summary="The runs and their epochs",
    description="Every `.pt` file under the checkpoint directory, grouped by run (directory) and sorted by epoch, "
    "with task, config and metrics. A file that cannot be loaded is listed with `usable: false` and the reason.",
)
async def list_checkpoints(services: ServicesDep) -> Response:
    body = await services.run_listing(services.registry.listing, services.settings.max_text_len)
    return Response(orjson.dumps(body), media_type="application/json")
