"""Training from the page: start, follow (server-sent events), inspect and cancel one job at a time."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Request
from fastapi.sse import EventSourceResponse, ServerSentEvent

from ..deps import ServicesDep
from ..schemas import ErrorResponse, TrainLimits, TrainRequest, TrainSpecOut, TrainStatus
from ..training import TrainingJob, TrainingManager, default_lr

router = APIRouter(prefix="/api/train", tags=["training"])

ERRORS = {
    403: "Training is off on this server (`training_disabled`, naming the setting `ATTNVIZ_TRAINING`).",
    404: "No such training job (`unknown_job`); never returned by POST.",
    409: "Another job is running (`training_busy`, naming it), the run exists, or the folder is not writable.",
    413: "The request body is larger than the configured limit.",
    415: "The body is not declared as JSON (`Content-Type: application/json`).",
    422: "Out of bounds (`out_of_bounds` with `field`, `maximum`, `setting`), `invalid_model_size`, "
    "`invalid_name`, or wrong JSON types (`validation_error`).",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    # content given explicitly: on the event stream the route's own media type is text/event-stream
    return {s: {"model": ErrorResponse, "description": ERRORS[s], "content": {"application/json": {}}} for s in statuses}


def get_manager(request: Request, services: ServicesDep) -> TrainingManager:
    """The app's one training slot, made on first use (so ``create_app`` only includes this router)."""
    state = request.app.state
    if getattr(state, "training", None) is None:
        state.training = TrainingManager(services.settings, services.registry.root)
    manager: TrainingManager = state.training
    return manager


ManagerDep = Annotated[TrainingManager, Depends(get_manager)]


def get_job(manager: ManagerDep, job_id: str) -> TrainingJob:
    return manager.get(job_id)


JobDep = Annotated[TrainingJob, Depends(get_job)]


@router.get("/limits", response_model=TrainLimits, summary="Whether training is allowed, its bounds, and the latest job")
async def limits(manager: ManagerDep) -> dict[str, Any]:
    manager.warm()  # a page that may train soon: have a worker ready
    return manager.describe()


@router.post(
    "",
    status_code=202,
    response_model=TrainStatus,
    responses=error_responses(403, 409, 413, 415, 422),
    summary="Start training a model (one job at a time)",
    description="403 `training_disabled` when the server does not allow it; 409 `training_busy` naming the running job "
    "(or `run_exists`); 422 for bounds (`out_of_bounds` with `field` and `maximum`, `invalid_model_size`, `invalid_name`).",
)
async def start(body: TrainRequest, manager: ManagerDep) -> dict[str, Any]:
    name = body.name or f"{body.task}-{time.strftime('%Y%m%d-%H%M%S')}"
    lr = body.lr if body.lr is not None else default_lr(body.task)
    spec = TrainSpecOut(**body.model_dump(exclude={"lr", "name"}), lr=lr, name=name)
    return manager.start(spec).status()


@router.get("/{job_id}", response_model=TrainStatus, responses=error_responses(404, 422), summary="A job's state")
async def status(job: JobDep) -> dict[str, Any]:
    return job.status()


@router.get(
    "/{job_id}/events",
    response_class=EventSourceResponse,
    responses=error_responses(404, 422),
    summary="A job's events (server-sent): its history, then live until the last",
    description="Events `progress` {step, epoch, loss, accuracy, total_steps}, `snapshot` {step, epoch, checkpoint}, "
    "`epoch` {epoch, step, checkpoint, metrics}, then one of `done` / `cancelled` / `failed` {run, epochs_done, "
    "checkpoints, ...}. Each has an `id`; reconnecting with `Last-Event-ID` (or `?after=N`) resumes after it.",
)
async def events(
    job: JobDep,
    manager: ManagerDep,
    after: int | None = None,
    last_event_id: Annotated[str | None, Header()] = None,
) -> AsyncIterator[ServerSentEvent]:
    start = after if after is not None else -1
    if last_event_id is not None and last_event_id.strip().lstrip("-").isdigit():
        start = max(start, int(last_event_id))
    async for event in manager.events(job, start):
        yield ServerSentEvent(data=event["data"], event=event["event"], id=str(event["id"]))


@router.delete(
    "/{job_id}",
    response_model=TrainStatus,
    responses=error_responses(403, 404, 422),
    summary="Cancel a job (finished epochs stay)",
    description="The worker stops at its next step (it is terminated after 5 s if it does not); the epoch in "
    "progress is not saved. 403 `training_disabled` when training is off.",
)
async def cancel(job_id: Annotated[str, Path(max_length=64)], manager: ManagerDep) -> dict[str, Any]:
    manager.require_allowed()
    return manager.cancel(job_id).status()
