"""Request and response models: the OpenAPI schema at /docs and /openapi.json is generated from
these, so every field carries a description (nested-list shapes included).

Responses are serialised with orjson straight from dicts (fast for large documents); the models
here declare the shape and are checked against real responses by the schemathesis tests.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from ..data import TaskName
from ..errors import DomainCode
from ..sampling import MAX_SEED, MAX_TEMPERATURE

MAX_TEXT_CHARS = 4_000_000
"""Cap on `text` in the schema, far past any model's context: the real limits are the body size
(`max_body_bytes`) and each model's own, in tokens (422 `text_too_long` naming both counts)."""


def _no_strings(value: Any) -> Any:
    if isinstance(value, str | bool):
        raise ValueError("must be a JSON integer")
    return value


JsonInt = Annotated[int, BeforeValidator(_no_strings), Field(strict=False)]
"""An integer as JSON Schema sees one: ``2`` and ``2.0``, not ``"2"`` or ``true``."""


def _valid_unicode(value: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(
            f"holds a lone surrogate (\\u{ord(value[exc.start]):04x}) at position {exc.start}: not valid Unicode text"
        ) from None
    return value


UnicodeStr = Annotated[str, AfterValidator(_valid_unicode)]
"""A string that is valid Unicode: JSON allows a lone surrogate escape (``"\\ud800"``), which no
tokenizer, file name or response can carry, so it is refused with 422 at the edge."""

Kind = Literal["encoder_self", "decoder_self", "cross"]
EncodingName = Literal["json", "float16", "uint8"]
CompactName = Literal["float16", "uint8"]
DetailName = Literal["auto", "full", "overview"]
WeightingName = Literal["attention", "value_norm"]


def _weighting_field(what: str) -> Any:
    return Field(
        default="attention",
        description=f"{what} `attention`: the softmax weights α_ij. `value_norm`: each α_ij times ‖v_j W^O_h‖ (key j's "
        "value vector through the head's slice of the output projection; Kobayashi et al. 2020), each row "
        "renormalised to sum to 1 (a row of zeros stays zeros): what the head actually mixes in. Anything else "
        "is 422 `validation_error`.",
    )


def _checkpoint_field() -> Any:
    return Field(
        max_length=1024,
        description="Checkpoint name: its path relative to the checkpoint directory, `/`-separated; or a "
        "pretrained model's name from /api/checkpoints (`hf/all-MiniLM-L6-v2`, `hf:<dirname>`).",
        examples=["copy/ckpt_epoch3.pt"],
    )


def _text_field() -> Any:
    return Field(
        max_length=MAX_TEXT_CHARS,
        description="Input text. Must be non-empty, no longer than the checkpoint allows, and use only the "
        "checkpoint's vocabulary (see `characters` in /api/checkpoints); otherwise 422. A pretrained model "
        "takes any text up to its `max_length` in tokens (its context); longer gets 422 `text_too_long` naming the "
        "token count and the limit, before the model runs. The body size (`max_body_bytes`) bounds it too.",
        examples=["hello world"],
    )


def _precision_field() -> Any:
    return Field(default=4, ge=0, le=8, description="Decimals kept in each weight (json encoding only).")


def _encoding_field() -> Any:
    return Field(
        default="json",
        description="`json`: nested lists; `float16` / `uint8`: one compact base64 object per kind (docs/api.md).",
    )


# ---- errors ---------------------------------------------------------------------------------


class InvalidCharacter(BaseModel):
    char: str = Field(description="The character (one code point).")
    position: int = Field(description="0-based index into the submitted text, in code points.")


ErrorCode = Literal[
    DomainCode,  # the service's own errors, by type (attnviz.errors; their status: server/errors.py)
    "not_found",
    "method_not_allowed",
    "bad_request",
    "validation_error",
    "body_too_large",
    "unsupported_media_type",
    "untrusted_host",
    "busy",
    "client_closed_request",
    "http_error",
    "internal_error",
]
"""Every ``code`` an error body can carry: a new one is added here (or, for a domain error, as a new
type in attnviz.errors), and the OpenAPI schema lists it as an enum."""


class ErrorResponse(BaseModel):
    """Every error response (4xx and 5xx)."""

    model_config = ConfigDict(extra="allow")

    detail: str = Field(description="A sentence saying what is wrong and what to do.")
    code: ErrorCode = Field(description="Stable code for programs (docs/api.md says when each is sent).")
    invalid_characters: list[InvalidCharacter] | None = Field(None, description="Only with `unknown_characters`.")
    errors: list[dict[str, Any]] | None = Field(None, description="Only with `validation_error`: pydantic's items.")


# ---- health ---------------------------------------------------------------------------------


class HealthResponse(BaseModel):
    status: Literal["ok"] = Field(description="Always `ok` when the service answers.")
    version: str = Field(description="attnviz version.")
    checkpoints: int = Field(description="Checkpoint files found (usable or not).")


# ---- checkpoints ----------------------------------------------------------------------------


class ModelConfigInfo(BaseModel):
    model_config = ConfigDict(extra="allow")

    vocab_size: int = Field(description="Tokens in the vocabulary, specials included.")
    d_model: int = Field(description="Width of every token representation.")
    n_heads: int = Field(description="Attention heads per attention module.")
    n_layers: int = Field(description="Encoder layers, and separately decoder layers.")
    d_ff: int = Field(description="Inner width of the feed-forward network.")
    dropout: float = Field(description="Dropout used in training.")
    max_len: int = Field(description="Longest sequence the positional encoding covers.")
    pad_id: int = Field(0, description="Token id of <pad>.")
    arch: str | None = Field(
        None,
        description="Toy checkpoints: `encoder-decoder` (family `toy`) or `decoder` (family `toy-decoder`); "
        "absent in checkpoints written before the decoder-only model.",
    )
    max_length: int | None = Field(
        None, description="Hugging Face models only: longest input in tokens, special tokens included."
    )
    model_type: str | None = Field(None, description="Hugging Face models only: `bert`, `roberta`, ...")


ModelKindName = Literal["toy", "huggingface"]
FamilyName = Literal["toy", "toy-decoder", "encoder", "decoder", "encoder-decoder"]
FeatureName = Literal["attention", "generate", "steps", "math", "ablate", "timeline", "special_tokens"]
FAMILY_DESCRIPTION = (
    "`toy` (an attnviz checkpoint: encoder-decoder on characters), `toy-decoder` (an attnviz decoder-only "
    "checkpoint: a prompt and what it generates after it), `encoder` (BERT-like), `decoder` "
    "(a causal language model) or `encoder-decoder` (T5, BART, Marian)."
)


class CheckpointInfo(BaseModel):
    name: str = Field(
        description="Name to use in requests, e.g. `copy/ckpt_epoch3.pt`, or a pretrained model's "
        "`hf/all-MiniLM-L6-v2` / `hf:<dirname>`."
    )
    run: str = Field(description="The run (directory) it belongs to; `.` for files at the top level.")
    kind: ModelKindName = Field("toy", description="`toy` (an attnviz checkpoint) or `huggingface` (a pretrained model).")
    family: FamilyName = Field("toy", description=FAMILY_DESCRIPTION)
    supports: list[FeatureName] = Field(
        default_factory=list,
        description="What this model can serve: `attention` (documents), `generate` (an output is decoded), `steps` "
        "(the decoding view), `math` (/api/attention/math), `ablate` (heads switched off), `timeline` (/api/timeline), "
        "`special_tokens` (hide them and renormalise). A request for anything else gets 422 `not_supported`.",
    )
    epoch: int | None = Field(description="Epoch it was saved after (from the file, else from its name).")
    usable: bool = Field(description="Whether it loads; if not, `error` says why.")
    error: str | None = Field(description="Why it cannot be used, or null.")
    task: TaskName | None = Field(description="The toy task it was trained on (`induction`: the decoder-only model).")
    created_at: str | None = Field(description="When it was written (ISO 8601).")
    metrics: dict[str, float | None] | None = Field(
        description="Held-out metrics of that epoch (loss, token_accuracy, ...); a non-finite value (NaN, inf) is null."
    )
    config: ModelConfigInfo | None = Field(description="Model hyper-parameters.")
    max_text_len: int | None = Field(description="Longest input seen in training; longer input runs with a warning.")
    max_input_len: int | None = Field(description="Longest input the service accepts for this checkpoint.")
    characters: str | None = Field(description="The characters the vocabulary accepts, in id order.")


class RunInfo(BaseModel):
    name: str = Field(description="Run name (directory relative to the checkpoint directory), or the model's name.")
    kind: ModelKindName = Field(
        "toy", description="`toy`: a run of checkpoints; `huggingface`: one pretrained model (one entry, epoch null)."
    )
    family: FamilyName = Field("toy", description=FAMILY_DESCRIPTION)
    task: TaskName | None = Field(description="Task of its usable checkpoints, or null.")
    checkpoints: list[CheckpointInfo] = Field(description="Its checkpoints, sorted by epoch.")


class SkippedFile(BaseModel):
    name: str = Field(description="Its path relative to the checkpoint directory.")
    reason: str = Field(description="Why it is not listed (a symlink out of the directory, a FIFO, a temporary file, ...).")


class CheckpointList(BaseModel):
    checkpoint_dir: str = Field(
        description="The checkpoint directory as configured (relative to the server's working directory, or only its "
        "name): never an absolute path of the server."
    )
    runs: list[RunInfo] = Field(description="Toy runs sorted by name, then pretrained models sorted by name.")
    skipped: list[SkippedFile] = Field(
        default_factory=list, description="`.pt` entries (and unfinished saves) that are not served, each with the reason."
    )


# ---- attention document ---------------------------------------------------------------------


class AblateHead(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    kind: Kind = Field(description="Attention module kind.")
    layer: JsonInt = Field(ge=0, le=1024, description="Layer index, 0-based; 422 `out_of_range` past the model's layers.")
    head: JsonInt = Field(ge=0, le=1024, description="Head index, 0-based; 422 `out_of_range` past the model's heads.")


class SamplingFields(BaseModel):
    """How generating models choose each token (/api/attention, /api/attention/math): greedy unless
    `temperature` > 0. An encoder-only model generates nothing: any of these gets 422 `not_supported`."""

    model_config = ConfigDict(extra="forbid", strict=True)

    temperature: float | None = Field(
        None,
        ge=0,
        le=MAX_TEMPERATURE,
        allow_inf_nan=False,
        description=f"0 or absent: greedy decoding (the most probable token each step; `top_k`, `top_p`, `seed` unused). "
        f"Above 0 (at most {MAX_TEMPERATURE:g}): each token is drawn from softmax(logits / temperature), after `top_k` "
        "and `top_p`; the document's `sampling` says how, seed included.",
    )
    top_k: JsonInt | None = Field(
        None, ge=0, le=1 << 20, description="Sampling: draw from the k most probable tokens only; 0 or absent: all."
    )
    top_p: float | None = Field(
        None,
        gt=0,
        le=1,
        allow_inf_nan=False,
        description="Sampling (nucleus): draw from the fewest most probable tokens whose mass reaches p (0 < p ≤ 1); "
        "1 or absent: all.",
    )
    seed: JsonInt | None = Field(
        None,
        ge=0,
        le=MAX_SEED,
        description="Sampling: the draw's seed (the same request and seed give the same tokens); absent: the server "
        "picks one and returns it in `sampling.seed`.",
    )


class AttentionRequest(SamplingFields):
    model_config = ConfigDict(extra="forbid", strict=True)

    checkpoint: UnicodeStr = _checkpoint_field()
    text: UnicodeStr = _text_field()
    precision: JsonInt = _precision_field()
    encoding: EncodingName = _encoding_field()
    ablate: list[AblateHead] = Field(
        default_factory=list, max_length=256, description="Heads switched off (their output and weights set to 0)."
    )
    max_new_tokens: JsonInt | None = Field(
        None,
        ge=0,
        le=4096,
        description="Hugging Face decoder and encoder-decoder models: tokens generated (default the server's "
        "`max_new_tokens` setting, at most its `max_new_tokens_limit`, and never past the model's context). The toy "
        "models decode until `<eos>` and ignore it; an encoder gets 422 `not_supported`.",
    )
    detail: DetailName = Field(
        default="auto",
        description="`full`: every weight in `attentions` (413 `response_too_large` past the response budget); "
        "`overview`: no `attentions`, but `overview` (every head as block-maxima thumbnails plus statistics on the "
        "exact weights, and a handle for exact tiles: /api/attention/tile); `auto`: full when the most weights the "
        "document may hold fit the budget, else overview (decided before the model runs).",
    )
    weighting: WeightingName = _weighting_field("How `attentions` (or the overview's thumbnails and statistics) weighs each key:")


class CompactWeights(BaseModel):
    dtype: Literal["float16", "uint8"] = Field(description="Element type of `data`.")
    shape: list[int] = Field(description="`[layer, head, query, key]`.")
    data: str = Field(description="Base64 of the little-endian array in C order.")
    scale: float | None = Field(
        None, description="uint8 only: a weight is `(value * scale)²` with `compand`, else `value * scale` (1/255)."
    )
    compand: Literal["sqrt"] | None = Field(
        None, description="uint8 only: `sqrt` = square-root companded, each row's mass kept (absent in older linear documents)."
    )


Weights = list[list[list[list[float]]]] | CompactWeights


class Attentions(BaseModel):
    encoder_self: Weights | None = Field(
        None,
        description="Encoder self-attention, `[layer][head][src_query][src_key]` (rows sum to 1), or compact; "
        "absent for a decoder-only model.",
    )
    decoder_self: Weights | None = Field(
        None, description="Masked decoder self-attention, `[layer][head][tgt_query][tgt_key]`, or compact."
    )
    cross: Weights | None = Field(None, description="Cross-attention, `[layer][head][tgt_query][src_key]`, or compact.")


class CompactArray(BaseModel):
    dtype: CompactName = Field(description="Element type of `data`.")
    shape: list[int] = Field(description="The array's shape (thumbnails `[layer, head, P_q, P_k]`; a tile `[rows, cols]`).")
    data: str = Field(description="Base64 of the little-endian array in C order.")
    scale: float | None = Field(None, description="uint8 only: a value is `(code * scale)²` (square-root companded).")
    compand: Literal["sqrt"] | None = Field(None, description="uint8 only: `sqrt`; each cell rounded on its own.")
    reduce: Literal["max"] | None = Field(
        None, description="`max`: each cell is the largest weight of its block (thumbnails, pooled tiles); null: exact."
    )


def _stat(text: str) -> Any:
    return Field(description=f"`[layer][head]`: {text}")


class HeadStats(BaseModel):
    entropy: list[list[float]] = _stat("mean over queries of the row's entropy −Σ w log w, in nats.")
    distance: list[list[float]] = _stat(
        "mean over queries of Σ w·|j − i'|, the expected distance in tokens from the query's own position i' (self-"
        "attention: i + n_k − n_q; cross: ⌊i·n_k/n_q⌋) to the key."
    )
    first_token: list[list[float]] = _stat("mean weight on key 0 (the attention sink).")
    previous_token: list[list[float]] = _stat("mean weight on key i' − 1 (over the queries that have one).")
    self_token: list[list[float]] = _stat("mean weight on the query's own position i' (the diagonal).")
    local: list[list[float]] = _stat("mean mass on keys within 2 positions of i' (the diagonal band |j − i'| ≤ 2).")


class OverviewKind(BaseModel):
    layers: int = Field(description="Layers of this kind.")
    heads: int = Field(description="Heads per layer.")
    nq: int = Field(description="Queries (rows) of each head's matrix.")
    nk: int = Field(description="Keys (columns) of each head's matrix.")
    thumbnails: CompactArray = Field(
        description="`[layers, heads, P_q, P_k]` block maxima, P_q = min(P, nq) and P_k = min(P, nk) (P the server's "
        "`overview_size`, 32–256): cell (i, j) is the largest weight over queries ⌊i·nq/P_q⌋ … ⌊(i+1)·nq/P_q⌋ − 1 and "
        "keys ⌊j·nk/P_k⌋ … ⌊(j+1)·nk/P_k⌋ − 1. uint8, or float16 when the request's encoding is float16."
    )
    stats: HeadStats = Field(description="Per head, computed on the exact weights (a switched-off head: all 0).")


class OverviewKinds(BaseModel):
    encoder_self: OverviewKind | None = None
    decoder_self: OverviewKind | None = None
    cross: OverviewKind | None = None


class Overview(BaseModel):
    handle: str | None = Field(
        description="Opaque id of the run for /api/attention/tile and /api/attention/topk, valid while the server "
        "keeps the run (bounded in bytes and time; then 404 `unknown_handle`: ask for the document again). Null when "
        "the run is larger than the server keeps (a warning says so)."
    )
    kinds: OverviewKinds = Field(description="One entry per attention kind of the model.")


class ModelSummary(BaseModel):
    model_config = ConfigDict(extra="allow")

    task: TaskName | None = Field(description="The toy task; null for a pretrained model.")
    epoch: int | None = Field(description="Epoch of the checkpoint; null for a pretrained model.")
    n_layers: int = Field(description="Layers per stack.")
    n_heads: int = Field(description="Heads per attention module.")
    d_model: int = Field(description="Model width.")


class Tokens(BaseModel):
    src: list[str] = Field(
        description="Encoder tokens: the text's characters, then `<eos>`; a pretrained model's own tokens "
        "(`[CLS]` ... `[SEP]`), a space shown as `␣` and a newline as `↵` (GPT-2's `Ġ`/`Ċ`, SentencePiece's `▁`, "
        "byte tokens `<0x0A>`). The src axis; empty for a decoder-only model."
    )
    tgt: list[str] | None = Field(
        None,
        description="Decoder inputs: `<bos>` (a seq2seq model's decoder start token), then the generated tokens fed "
        "back (the tgt axis); for a decoder-only model the prompt's tokens, then the generated ones; "
        "absent for an encoder-only model.",
    )


class TopPrediction(BaseModel):
    token: str = Field(description="A vocabulary token (a character, or `<eos>` etc.).")
    p: float = Field(description="Its probability, softmax of the logits, rounded to `precision` decimals.")


class DecodingStep(BaseModel):
    t: int = Field(description="Decoding step: the decoder read `tokens.tgt[0..t]` (query row `t`) to predict this token.")
    token: str = Field(
        description="The token decoding produced at this step: the most probable one (greedy) or the one drawn "
        "(`sampling`); a decoder-only model's prompt rows give the model's most probable next token."
    )
    p: float | None = Field(
        None, description="The model's probability of `token` (softmax of the logits, temperature 1). Absent in older documents."
    )
    p_sampled: float | None = Field(
        None,
        description="Sampled documents, generated rows only: the probability `token` had under the sampling distribution "
        "it was drawn from (temperature, top-k and top-p applied, renormalised).",
    )
    top: list[TopPrediction] = Field(
        description="The model's most probable next tokens (softmax of the logits), most probable first (5 by default)."
    )


class SamplingInfo(BaseModel):
    temperature: float = Field(description="Logits were divided by this before the softmax (above 0).")
    top_k: int = Field(description="Tokens drawn from: the k most probable (0: all).")
    top_p: float = Field(description="Nucleus: the fewest most probable tokens whose mass reaches p (1: all).")
    seed: int = Field(description="The draw's seed: send it back to get the same tokens.")


class HeldOut(BaseModel):
    in_context_accuracy: float = Field(
        description="Share of the predictable tokens predicted right, with the `ablate` heads off."
    )
    baseline: float = Field(description="The same with every head on.")
    chance: float = Field(description="What guessing scores (one in the number of letters the sequences use).")
    sequences: float = Field(description="How many held-out sequences it is measured on.")


class DocumentFields(BaseModel):
    """What every attention document holds, full or overview."""

    schema_version: Literal[1] = Field(description="Document schema version.")
    checkpoint: str = Field(description="Checkpoint name.")
    model: ModelSummary
    input: str = Field(description="The submitted text.")
    output: str | None = Field(
        description="The model's output (greedy, or sampled: see `sampling`); null for an encoder-only model."
    )
    expected: str | None = Field(description="The task's correct output for the input.")
    tokens: Tokens
    encoding: EncodingName = Field(description="How `attentions` is encoded (an overview: as asked).")
    weighting: WeightingName = Field(
        "attention",
        description="Which weights the document holds: `attention` (softmax α) or `value_norm` (α·‖v W^O‖, rows "
        "renormalised). Absent in documents from older exporters: `attention`.",
    )
    precision: int | None = Field(
        None, description="Decimals kept in each weight when `encoding` is json; null for a compact encoding."
    )
    warnings: list[str] = Field(description="Sentences, e.g. input longer than the training sequences.")
    steps: list[DecodingStep] | None = Field(
        None,
        description="Optional: per decoding step, the produced token, its probability and the top predictions "
        "(one per `tokens.tgt` row; a decoder-only model's prompt rows give its most probable next token). "
        "Absent in documents from older exporters.",
    )
    special_tokens: list[str] | None = Field(
        None,
        description="Hugging Face models: the tokenizer's special tokens (`<|endoftext|>`, `</s>`, `[CLS]`...) as "
        "they appear in `tokens`, so a viewer hides exactly these.",
    )
    heldout: HeldOut | None = Field(
        None, description="Induction checkpoints: in-context accuracy on held-out sequences, with the `ablate` heads off."
    )
    sampling: SamplingInfo | None = Field(
        None,
        description="Present when the output was sampled (`temperature` > 0): the settings and the seed used. Absent: "
        "greedy decoding.",
    )


class AttentionDocument(DocumentFields):
    """The attention document, schema version 1 (docs/api.md), plus `expected` and `encoding`."""

    detail: Literal["full"] | None = Field(
        None, description="`full` from the service, so also in a document downloaded from its page (exported files have none)."
    )
    attentions: Attentions


class OverviewDocument(DocumentFields):
    """Detail `overview`: every field of a full document except `attentions`, and `overview`."""

    detail: Literal["overview"] = Field(description="`overview`.")
    overview: Overview = Field(description="Thumbnails and statistics of every head, and the handle for tiles.")


# ---- long inputs: tiles and top-k ----------------------------------------------------------------


def _handle_field() -> Any:
    return Field(max_length=128, description="`overview.handle` of an attention document.")


def _index(description: str) -> Any:
    return Field(ge=0, le=2**31, description=description)


class TileRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    handle: str = _handle_field()
    kind: Kind = Field(description="Which attention module.")
    layer: JsonInt = _index("Layer, 0-based.")
    head: JsonInt = _index("Head, 0-based.")
    q0: JsonInt = _index("First row (query).")
    q1: JsonInt = _index("One past the last row; 0 ≤ q0 < q1 ≤ nq, else 422 `out_of_range`.")
    k0: JsonInt = _index("First column (key).")
    k1: JsonInt = _index("One past the last column; 0 ≤ k0 < k1 ≤ nk.")
    max_cells: JsonInt = Field(
        default=1 << 20,
        ge=1,
        le=1 << 20,
        description="Most cells returned: a larger region comes as block maxima (`block` > 1). Default and ceiling 1,048,576.",
    )
    encoding: CompactName = Field(default="float16", description="`float16` (about 3 digits) or `uint8` (1 byte a cell).")
    weighting: WeightingName = _weighting_field("The tile's weights, as the overview's `weighting`:")


class TileResponse(BaseModel):
    handle: str
    kind: Kind
    layer: int
    head: int
    q0: int
    q1: int
    k0: int
    k1: int
    block: list[int] = Field(
        description="`[bq, bk]`: `[1, 1]` = the exact weights; else each cell is the largest weight of a bq × bk block, "
        "blocks laid from (q0, k0), the last row and column of blocks cut short by the region's edge."
    )
    weighting: WeightingName = Field(description="As asked.")
    weights: CompactArray = Field(description="`[rows, cols]`: ⌈(q1−q0)/bq⌉ × ⌈(k1−k0)/bk⌉.")


class TopkRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    handle: str = _handle_field()
    kind: Kind = Field(description="Which attention module.")
    layer: JsonInt = _index("Layer, 0-based.")
    head: JsonInt = _index("Head, 0-based.")
    k: JsonInt = Field(default=8, ge=1, le=64, description="Keys per query (at most the keys there are).")
    q0: JsonInt = Field(default=0, ge=0, le=2**31, description="First query.")
    q1: JsonInt | None = Field(None, ge=1, le=2**31, description="One past the last query (default nq); at most 8,192 queries.")
    weighting: WeightingName = _weighting_field("The weights ranked, as the overview's `weighting`:")


class TopkResponse(BaseModel):
    handle: str
    kind: Kind
    layer: int
    head: int
    k: int = Field(description="Keys per query returned.")
    q0: int
    q1: int
    indices: list[list[int]] = Field(description="`[query][rank]`: key index, largest weight first.")
    weights: list[list[float]] = Field(description="`[query][rank]`: the exact weight (6 decimals).")


# ---- step-through -----------------------------------------------------------------------------


class MathRequest(SamplingFields):
    model_config = ConfigDict(extra="forbid", strict=True)

    checkpoint: UnicodeStr = _checkpoint_field()
    text: UnicodeStr = _text_field()
    kind: Kind = Field(description="Which attention module.")
    layer: JsonInt = Field(ge=0, le=1024, description="Layer, 0-based.")
    head: JsonInt = Field(ge=0, le=1024, description="Head, 0-based.")
    max_new_tokens: JsonInt | None = Field(
        None, ge=0, le=4096, description="As in /api/attention: the generated tokens the decoder side runs on."
    )


class FloatMatrix(BaseModel):
    shape: list[int] = Field(description="`[rows, columns]`.")
    data: list[list[float]] = Field(description="Row-major values, unrounded.")


class BoolMatrix(BaseModel):
    shape: list[int] = Field(description="`[query, key]`.")
    data: list[list[bool]] = Field(description="`true` = the query may attend to the key.")


class MathTensors(BaseModel):
    q: FloatMatrix = Field(description="Q = X W^Q for this head, `[query][d_k]`.")
    k: FloatMatrix = Field(description="K = X W^K, `[key][d_k]`.")
    v: FloatMatrix = Field(description="V = X W^V, `[key][d_k]`.")
    scores: FloatMatrix = Field(description="Q Kᵀ / √d_k before masking, `[query][key]`.")
    mask: BoolMatrix = Field(description="The mask, `[query][key]`.")
    weights: FloatMatrix = Field(description="softmax of the masked scores, `[query][key]`; rows sum to 1.")
    output: FloatMatrix = Field(description="weights · V, the head's output before Concat and W^O, `[query][d_k]`.")
    position_bias: FloatMatrix | None = Field(
        None, description="T5 only: the relative position bias added to the scores (included in `scores`), `[query][key]`."
    )


class MathResponse(BaseModel):
    checkpoint: str = Field(description="Checkpoint name.")
    input: str = Field(description="The submitted text.")
    output: str = Field(description="The model's output, greedy or sampled as asked (the decoder runs on it).")
    kind: Kind
    layer: int
    head: int
    d_k: int = Field(description="Width of one head's queries/keys/values.")
    query_tokens: list[str] = Field(description="Tokens along the query axis.")
    key_tokens: list[str] = Field(description="Tokens along the key axis.")
    tensors: MathTensors
    scale: float | None = Field(
        None,
        description="Hugging Face models: the factor on Q Kᵀ in `scores` (1/√d_k; T5 uses none: 1). For them "
        "`scores` = scale · Q Kᵀ + `position_bias`.",
    )
    rope: bool | None = Field(None, description="Hugging Face models: rotary position embedding was applied to Q and K.")
    kv_head: int | None = Field(
        None, description="Hugging Face models: the key/value head this query head reads (grouped-query attention)."
    )
    n_kv_heads: int | None = Field(None, description="Hugging Face models: key/value heads per layer.")
    max_abs_diff: float | None = Field(
        None, description="Hugging Face models: largest |weights − the model's own attention weights| (recombination check)."
    )


# ---- timeline ---------------------------------------------------------------------------------


class TimelineRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    run: UnicodeStr = Field(max_length=1024, description="Run name (a directory of checkpoints).", examples=["copy"])
    text: UnicodeStr = _text_field()
    precision: JsonInt = _precision_field()
    encoding: EncodingName = _encoding_field()
    snapshots: bool = Field(
        default=False,
        description="Also every intermediate snapshot of the run (`<run>/snapshots/step{S}.pt`), in training order.",
    )
    weighting: WeightingName = _weighting_field("Every epoch's document, as /api/attention's `weighting`:")


class TimelineEpoch(BaseModel):
    epoch: int = Field(description="Epoch (for a snapshot: the epochs finished before it).")
    step: int | None = Field(default=None, description="Optimizer steps behind these weights, if recorded.")
    snapshot: bool = Field(default=False, description="An intermediate snapshot rather than an epoch's checkpoint.")
    checkpoint: str = Field(description="Checkpoint name.")
    metrics: dict[str, float | None] = Field(
        description="Held-out metrics of that epoch (a snapshot: training loss and accuracy); a non-finite value is null."
    )
    document: AttentionDocument


class TimelineResponse(BaseModel):
    run: str = Field(description="Run name.")
    text: str = Field(description="The submitted text.")
    epochs: list[TimelineEpoch] = Field(description="Every usable epoch of the run, in order.")


# ---- training from the page (/api/train) -------------------------------------------------------

TrainState = Literal["queued", "running", "done", "cancelled", "failed"]


class TrainRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    task: TaskName = Field(
        description="The toy task to learn; `induction` trains the decoder-only model (in-context copying).", examples=["copy"]
    )
    epochs: JsonInt = Field(ge=1, description="Passes over the training set; one checkpoint each (at most `max_epochs`).")
    n_layers: JsonInt = Field(ge=1, description="Encoder layers and decoder layers, each (at most `max_layers`).")
    n_heads: JsonInt = Field(ge=1, description="Attention heads per module (at most `max_heads`; must divide d_model).")
    d_model: JsonInt = Field(ge=4, description="Model width (at most `max_d_model`).")
    lr: float | None = Field(
        default=None,
        gt=0,
        le=0.1,
        description="Peak Adam learning rate (after warm-up); default the task's (5e-3; induction 3e-3).",
    )
    seed: JsonInt = Field(default=0, ge=0, le=2**31 - 1, description="Same seed, same weights.")
    name: str | None = Field(
        default=None,
        max_length=64,
        description="Run name (lower-case letters, digits, `-`, `_`); default `<task>-<time>`. The run is `live/<name>`.",
    )


class TrainSpecOut(TrainRequest):
    """A request with its defaults filled in: what a job trains (server/training.py) and its status
    reports. The request's fields, with the three that have defaults always present."""

    lr: float = Field(gt=0, le=0.1, description="Peak Adam learning rate (after warm-up): the one asked for, or the task's.")
    seed: JsonInt = Field(ge=0, le=2**31 - 1, description="Same seed, same weights.")
    name: str = Field(max_length=64, description="Run name; the run is `live/<name>`.")


class TrainStatus(BaseModel):
    id: str = Field(description="Job id.")
    run: str = Field(description="The run it writes, `live/<name>` (listed in /api/checkpoints once an epoch is saved).")
    state: TrainState = Field(description="queued, running, or how it ended.")
    epoch: int = Field(description="Epochs finished (each saved as a checkpoint).")
    step: int = Field(description="Optimizer steps done.")
    total_steps: int | None = Field(description="Optimizer steps the job will take in all.")
    metrics: dict[str, float] = Field(description="Held-out metrics of the last finished epoch.")
    detail: str | None = Field(description="Why it was cancelled (`cancelled`, `time_limit`) or failed.")
    spec: TrainSpecOut = Field(description="What was asked for.")
    created_at: str = Field(description="When it was started (UTC).")
    events: int = Field(description="Events so far (GET /api/train/{id}/events replays them).")
    worker_pid: int | None = Field(default=None, description="Process id of the training worker while the job runs.")


class TrainLimits(BaseModel):
    allowed: bool = Field(description="Whether this server accepts POST /api/train.")
    reason: str | None = Field(description="Why not, naming the setting that turns it on.")
    setting: str = Field(description="The environment variable that allows training (`ATTNVIZ_TRAINING`).")
    tasks: list[TaskName] = Field(description="Tasks that can be trained.")
    default_lr: dict[TaskName, float] = Field(description="Each task's learning rate, used when a request names none (`lr`).")
    max_layers: int
    max_heads: int
    max_d_model: int
    max_epochs: int
    max_seconds: float = Field(description="Wall time after which a job is stopped (finished epochs are kept).")
    snapshot_every: int = Field(description="Optimizer steps between snapshots.")
    run_prefix: str = Field(description="Folder of the live runs in the listing (`live`).")
    worker_ready: bool = Field(
        default=False, description="A training process is started and waiting (asking for the limits starts one)."
    )
    current: TrainStatus | None = Field(description="The running job, else the latest one (a reloaded page re-attaches to it).")
