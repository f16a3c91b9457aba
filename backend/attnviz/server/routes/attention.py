from __future__ import annotations

from fastapi import APIRouter, Request, Response

from ..deps import ServicesDep
from ..errors import error_responses
from ..schemas import AttentionDocument, AttentionRequest, MathRequest, MathResponse

router = APIRouter(prefix="/api", tags=["attention"])


@router.post(
    "/attention",
    response_model=AttentionDocument,
    responses=error_responses(404, 409, 413, 415, 422, 503),
    summary="Run a checkpoint on a text: the attention document",
    description="Greedy-decodes the text, then returns every attention map (encoder self, masked decoder self, "
    "cross) of the decoded output, per layer and head, with the tokens along each axis. A Hugging Face model "
    "returns the kinds of its family: an encoder `encoder_self`; a decoder `decoder_self` over prompt + "
    "generated tokens; an encoder-decoder all three.",
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
        request=request,
    )
    return Response(data, media_type="application/json")


@router.post(
    "/attention/math",
    response_model=MathResponse,
    responses=error_responses(404, 409, 413, 415, 422, 503),
    summary="Step through one head's attention math",
    description="For one (kind, layer, head): Q, K, V, QKᵀ/√d_k, the mask, the softmax weights and weights·V, "
    "unrounded, with their shapes. The decoder side runs on the greedy output, as in /api/attention. For a "
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
        request=request,
    )
    return Response(data, media_type="application/json")
