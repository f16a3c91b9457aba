from __future__ import annotations

from fastapi import APIRouter, Request, Response

from ..deps import ServicesDep
from ..errors import error_responses
from ..schemas import TimelineRequest, TimelineResponse

router = APIRouter(prefix="/api", tags=["attention"])


@router.post(
    "/timeline",
    response_model=TimelineResponse,
    responses=error_responses(404, 409, 413, 415, 422, 503),
    summary="Attention over training: one document per epoch of a run",
    description="Runs every usable checkpoint of the run on the same text (unusable files are skipped). "
    "Responses are cached while the run's files are unchanged.",
)
async def timeline(body: TimelineRequest, services: ServicesDep, request: Request) -> Response:
    data = await services.run(
        services.service.timeline_json,
        body.run,
        body.text,
        body.precision,
        body.encoding,
        body.snapshots,
        body.weighting,
        request=request,
    )
    return Response(data, media_type="application/json")
