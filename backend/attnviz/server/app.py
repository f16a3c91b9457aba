"""The application factory: ``create_app(settings)`` wires settings, services, middleware, error
handlers, routers and the front end. ``uvicorn --factory attnviz.server.app:create_app`` works too."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import orjson
import torch
from anyio import CapacityLimiter
from fastapi import FastAPI, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from fastapi_offline import FastAPIOffline

from .. import __version__
from ..longctx import HandleStore
from ..runtime.model_cache import ModelCache
from ..runtime.registry import CheckpointRegistry
from ..runtime.service import AttentionService
from .deps import AppServices
from .errors import http_error_handler, install_error_handlers
from .frontend import frontend_response
from .middleware import (
    BodySizeLimitMiddleware,
    CatchAllMiddleware,
    JsonBodyMiddleware,
    SecurityHeadersMiddleware,
    TrustedHostMiddleware,
)
from .routes import attention, checkpoints, health, timeline
from .routes import train as train_routes  # training from the page (issue 16)
from .settings import Settings

# how long the page waits for the checkpoint listing it carries before it goes without (frontend.py)
PAGE_LISTING_WAIT_S = 0.3

log = logging.getLogger("attnviz.server")

DESCRIPTION = """Attention maps of a small from-scratch Transformer trained on toy character tasks, and of
local pretrained Hugging Face encoders (the `hf` extra; encoder self-attention only).

`GET /api/checkpoints` lists the runs; `POST /api/attention` returns the attention document of a
checkpoint on a text; `POST /api/attention/math` steps through one head; `POST /api/timeline`
returns one document per epoch of a run. Errors are `{detail, code, ...}` (see docs/api.md).
"""


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    services: AppServices = app.state.services
    # One intra-op thread per inference thread: more threads on few cores made latency tails far worse.
    torch.set_num_threads(services.settings.torch_threads)
    metas = await services.run_listing(services.registry.refresh)
    usable = sum(m.usable for m in metas)
    root = services.registry.root
    if not root.is_dir():
        log.warning("checkpoint directory %s does not exist; train some with `make demo`", root)
    else:
        log.info("%d checkpoints in %s (%d usable)", len(metas), root, usable)
        for m in metas:
            if not m.usable:
                log.warning("unusable checkpoint %s: %s", m.name, m.error)
    yield
    services.service.clear()
    training = getattr(app.state, "training", None)  # made on the first /api/train request (routes/train.py)
    if training is not None:
        await asyncio.to_thread(training.shutdown)  # ends its workers and releases their queues


class _ShortAccessLines(logging.Filter):
    """Access-log lines with the request target cut to 200 characters (a 60 KB URL, one short line)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str) and len(args[2]) > 200:
            record.args = (*args[:2], f"{args[2][:200]}...({len(args[2])} chars)", *args[3:])
        return True


def _install_log_filter() -> None:
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, _ShortAccessLines) for f in access.filters):
        access.addFilter(_ShortAccessLines())


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    _install_log_filter()
    limits = settings.checkpoint_limits()
    models = ModelCache(
        settings.model_cache_size, settings.model_cache_bytes, limits, device=settings.device, dtype=settings.dtype
    )
    # Hugging Face directories are loaded once when first listed (through the shared model cache),
    # so an unloadable one is listed unusable with the reason and the first request is fast.
    registry = CheckpointRegistry(
        settings.checkpoint_dir, settings.hf_models, hf_loader=lambda p: models.get_hf(p).model, limits=limits
    )
    service = AttentionService(
        registry=registry,
        models=models,
        max_text_len=settings.max_text_len,
        timeline_cache_size=settings.timeline_cache_size,
        max_new_tokens=settings.max_new_tokens,
        max_new_tokens_limit=settings.max_new_tokens_limit,
        timeline_cache_bytes=settings.timeline_cache_bytes,
        stacked_cache_bytes=settings.stacked_cache_bytes,
        max_response_bytes=settings.max_response_bytes,
        overview_size=settings.overview_size,
        max_tokens=settings.max_tokens,
        handles=HandleStore(settings.handle_store_bytes, settings.handle_ttl_seconds),
    )
    # Swagger UI's files come from the fastapi-offline package: /docs works with no network.
    app: FastAPI = FastAPIOffline(
        title="attnviz",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        redoc_url=None,
        swagger_ui_parameters={"validatorUrl": None},
    )
    app.state.services = AppServices(
        settings=settings,
        registry=registry,
        service=service,
        limiter=CapacityLimiter(settings.inference_threads),
        queue=settings.inference_queue,
    )
    install_error_handlers(app)

    async def page_listing() -> bytes | None:
        body = await app.state.services.page_listing(PAGE_LISTING_WAIT_S)
        return None if body is None else orjson.dumps(body)

    async def not_found(request: Request, exc: Exception) -> Response:
        page = await frontend_response(request, settings.frontend_dist, page_listing)
        return page if page is not None else await http_error_handler(request, exc)

    app.add_exception_handler(404, not_found)

    app.include_router(health.router)
    app.include_router(checkpoints.router)
    app.include_router(attention.router)
    app.include_router(timeline.router)
    app.include_router(train_routes.router)

    @app.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
    async def index(request: Request) -> Response:
        page = await frontend_response(request, settings.frontend_dist, page_listing)
        assert page is not None
        return page

    # the last added runs first: headers on everything, then catch-all, host, body size, JSON type
    app.add_middleware(JsonBodyMiddleware)
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST"], allow_headers=["content-type"]
        )
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=settings.allowed_hosts)
    app.add_middleware(CatchAllMiddleware)
    app.add_middleware(SecurityHeadersMiddleware)
    return app
