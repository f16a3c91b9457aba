from __future__ import annotations

from fastapi import APIRouter, Request, Response

from ...sampling import Sampling
from ..deps import ServicesDep
from ..errors import error_responses
from ..schemas import (
    AttentionDocument,
    AttentionRequest,
    MathRequest,
    MathResponse,
    OverviewDocument,
    SamplingFields,
    TileRequest,
    TileResponse,
    TopkRequest,
    TopkResponse,
)

router = APIRouter(prefix="/api", tags=["attention"])


def sampling_of(body: SamplingFields) -> Sampling | None:
    """The request's sampling settings; None when it names none (greedy, and allowed for an encoder)."""
    if body.temperature is None and body.top_k is None and body.top_p is None and body.seed is None:
        return None
    top_p = 1.0 if body.top_p is None else body.top_p
    return Sampling(body.temperature or 0.0, body.top_k or 0, top_p, body.seed)


@router.post(
    "/attention",
    response_model=AttentionDocument | OverviewDocument,
    responses=error_responses(404, 409, 413, 415, 422, 503),
    summary="Run a checkpoint on a text: the attention document",
    description="Decodes the text (greedy, or sampled with `temperature`, `top_k`, `top_p`, `seed`), then returns "
    "every attention map (encoder self, masked decoder self, cross) of the decoded output, per layer and head, "
    "with the tokens along each axis. A Hugging Face model "
    "returns the kinds of its family: an encoder `encoder_self`; a decoder `decoder_self` over prompt + "
    "generated tokens; an encoder-decoder all three. `detail`: `full` (every weight), `overview` (thumbnails, "
    "per-head statistics and a handle for exact tiles) or `auto` (full when it fits the response budget).",
)
async def attention(body: AttentionRequest, services: ServicesDep, request: Request) -> Response:
    ablate = [(a.kind, a.layer, a.head) for a in body.ablate]
    data = await services.run(
        services.service.attention_json,
        body.checkpoint,
        body.text,
        body.precision,
        body.encoding,
        ablate,
        body.max_new_tokens,
        body.detail,
        sampling_of(body),
        body.weighting,
        request=request,
    )
    return Response(data, media_type="application/json")


@router.post(
    "/attention/tile",
    response_model=TileResponse,
    responses=error_responses(404, 413, 415, 422, 503),
    summary="Exact weights of one region of one head of a long run",
    description="Rows q0..q1-1, columns k0..k1-1 of one head of the run an overview's `handle` names, recomputed "
    "from the model's own Q and K (the same numbers as a full document): exact (`block: [1, 1]`) up to `max_cells` "
    "cells, else block maxima. An unknown or expired handle is 404 `unknown_handle`; a region outside the matrix "
    "422 `out_of_range`.",
)
async def attention_tile(body: TileRequest, services: ServicesDep, request: Request) -> Response:
    data = await services.run(
        services.service.tile_json,
        body.handle,
        body.kind,
        body.layer,
        body.head,
        (body.q0, body.q1, body.k0, body.k1),
        body.max_cells,
        body.encoding,
        body.weighting,
        request=request,
    )
    return Response(data, media_type="application/json")


@router.post(
    "/attention/topk",
    response_model=TopkResponse,
    responses=error_responses(404, 413, 415, 422, 503),
    summary="The keys each query of one head attends to most",
    description="For queries q0..q1-1 (at most 8,192) of one head of the run `handle` names: the k keys with the "
    "largest exact weights, largest first. 404 `unknown_handle` / 422 `out_of_range` as for tiles.",
)
async def attention_topk(body: TopkRequest, services: ServicesDep, request: Request) -> Response:
    data = await services.run(
        services.service.topk_json,
        body.handle,
        body.kind,
        body.layer,
        body.head,
        body.k,
        body.q0,
        body.q1,
        body.weighting,
        request=request,
    )
    return Response(data, media_type="application/json")


@router.post(
    "/attention/math",
    response_model=MathResponse,
    responses=error_responses(404, 409, 413, 415, 422, 503),
    summary="Step through one head's attention math",
    description="For one (kind, layer, head): Q, K, V, QKᵀ/√d_k, the mask, the softmax weights and weights·V, "
    "unrounded, with their shapes. The decoder side runs on the decoded output (greedy, or sampled with the same "
    "settings and seed), as in /api/attention. For a "
    "Hugging Face model Q, K, V come from the model's own projections (RoPE applied, grouped key/value heads "
    "repeated); `scale` is the model's own (T5: 1) and `position_bias` T5's relative bias.",
)
async def attention_math(body: MathRequest, services: ServicesDep, request: Request) -> Response:
    data = await services.run(
        services.service.math_json,
        body.checkpoint,
        body.text,
        body.kind,
        body.layer,
        body.head,
        body.max_new_tokens,
        sampling_of(body),
        request=request,
    )
    return Response(data, media_type="application/json")
