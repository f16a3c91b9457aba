"""Request and response models: the OpenAPI schema at /docs and /openapi.json is generated from
these, so every field carries a description (nested-list shapes included).

Responses are serialised with orjson straight from dicts (fast for large documents); the models
here declare the shape and are checked against real responses by the schemathesis tests.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

MAX_TEXT_CHARS = 4000
"""Hard cap on `text` in the schema: room for a pretrained model's 512 word pieces (a toy checkpoint allows
far less; see max_input_len)."""


def _no_strings(value: Any) -> Any:
    if isinstance(value, str | bool):
        raise ValueError("must be a JSON integer")
    return value


JsonInt = Annotated[int, BeforeValidator(_no_strings), Field(strict=False)]
"""An integer as JSON Schema sees one: ``2`` and ``2.0``, not ``"2"`` or ``true``."""

Kind = Literal["encoder_self", "decoder_self", "cross"]
EncodingName = Literal["json", "float16", "uint8"]


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
        "takes any text up to its `max_length` in tokens.",
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


class ErrorResponse(BaseModel):
    """Every error response (4xx and 5xx)."""

    model_config = ConfigDict(extra="allow")

    detail: str = Field(description="A sentence saying what is wrong and what to do.")
    code: str = Field(
        description="Stable code for programs: not_found, unknown_checkpoint, unknown_run, checkpoint_unusable, "
        "empty_text, text_too_long, unknown_characters, out_of_range, not_supported, validation_error, body_too_large."
    )
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
    max_length: int | None = Field(
        None, description="Hugging Face models only: longest input in tokens, special tokens included."
    )
    model_type: str | None = Field(None, description="Hugging Face models only: `bert`, `roberta`, ...")


ModelKindName = Literal["toy", "huggingface"]
FamilyName = Literal["toy", "encoder", "decoder", "encoder-decoder"]
FeatureName = Literal["attention", "generate", "steps", "math", "ablate", "timeline", "special_tokens"]
FAMILY_DESCRIPTION = (
    "`toy` (an attnviz checkpoint: encoder-decoder on characters), `encoder` (BERT-like), `decoder` "
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
    task: str | None = Field(description="copy, reverse or sort.")
    created_at: str | None = Field(description="When it was written (ISO 8601).")
    metrics: dict[str, float] | None = Field(description="Held-out metrics of that epoch (loss, token_accuracy, ...).")
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
    task: str | None = Field(description="Task of its usable checkpoints, or null.")
    checkpoints: list[CheckpointInfo] = Field(description="Its checkpoints, sorted by epoch.")


class CheckpointList(BaseModel):
    checkpoint_dir: str = Field(description="Absolute path of the checkpoint directory.")
    runs: list[RunInfo] = Field(description="Toy runs sorted by name, then pretrained models sorted by name.")


# ---- attention document ---------------------------------------------------------------------


class AblateHead(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    kind: Kind = Field(description="Attention module kind.")
    layer: JsonInt = Field(ge=0, le=1024, description="Layer index, 0-based; 422 `out_of_range` past the model's layers.")
    head: JsonInt = Field(ge=0, le=1024, description="Head index, 0-based; 422 `out_of_range` past the model's heads.")


class AttentionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    checkpoint: str = _checkpoint_field()
    text: str = _text_field()
    precision: JsonInt = _precision_field()
    encoding: EncodingName = _encoding_field()
    ablate: list[AblateHead] = Field(
        default_factory=list, max_length=256, description="Heads switched off (their output and weights set to 0)."
    )


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
    encoder_self: Weights = Field(
        description="Encoder self-attention, `[layer][head][src_query][src_key]` (rows sum to 1), or compact."
    )
    decoder_self: Weights | None = Field(
        None, description="Masked decoder self-attention, `[layer][head][tgt_query][tgt_key]`, or compact."
    )
    cross: Weights | None = Field(None, description="Cross-attention, `[layer][head][tgt_query][src_key]`, or compact.")


class ModelSummary(BaseModel):
    model_config = ConfigDict(extra="allow")

    task: str | None = Field(description="copy, reverse or sort; null for a pretrained model.")
    epoch: int | None = Field(description="Epoch of the checkpoint; null for a pretrained model.")
    n_layers: int = Field(description="Layers per stack.")
    n_heads: int = Field(description="Heads per attention module.")
    d_model: int = Field(description="Model width.")


class Tokens(BaseModel):
    src: list[str] = Field(
        description="Encoder tokens: the text's characters, then `<eos>`; a pretrained model's own word pieces "
        "(`[CLS]` ... `[SEP]`). The src axis."
    )
    tgt: list[str] | None = Field(
        None,
        description="Decoder inputs: `<bos>`, then the generated tokens fed back (the tgt axis); "
        "absent for an encoder-only model.",
    )


class TopPrediction(BaseModel):
    token: str = Field(description="A vocabulary token (a character, or `<eos>` etc.).")
    p: float = Field(description="Its probability, softmax of the logits, rounded to `precision` decimals.")


class DecodingStep(BaseModel):
    t: int = Field(description="Decoding step: the decoder read `tokens.tgt[0..t]` (query row `t`) to predict this token.")
    token: str = Field(description="The token greedy decoding produced at this step (the most probable one).")
    top: list[TopPrediction] = Field(description="The most probable next tokens, most probable first (5 by default).")


class AttentionDocument(BaseModel):
    """The attention document, schema version 1 (DESIGN.md), plus `expected` and `encoding`."""

    schema_version: Literal[1] = Field(description="Document schema version.")
    checkpoint: str = Field(description="Checkpoint name.")
    model: ModelSummary
    input: str = Field(description="The submitted text.")
    output: str | None = Field(description="The model's greedy output; null for an encoder-only model.")
    expected: str | None = Field(description="The task's correct output for the input.")
    tokens: Tokens
    encoding: EncodingName = Field(description="How `attentions` is encoded.")
    attentions: Attentions
    warnings: list[str] = Field(description="Sentences, e.g. input longer than the training sequences.")
    steps: list[DecodingStep] | None = Field(
        None,
        description="Optional: per greedy decoding step, the produced token and the top predictions "
        "(one per `tokens.tgt` row). Absent in documents from older exporters.",
    )


# ---- step-through -----------------------------------------------------------------------------


class MathRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    checkpoint: str = _checkpoint_field()
    text: str = _text_field()
    kind: Kind = Field(description="Which attention module.")
    layer: JsonInt = Field(ge=0, le=1024, description="Layer, 0-based.")
    head: JsonInt = Field(ge=0, le=1024, description="Head, 0-based.")


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


class MathResponse(BaseModel):
    checkpoint: str = Field(description="Checkpoint name.")
    input: str = Field(description="The submitted text.")
    output: str = Field(description="The model's greedy output (the decoder runs on it).")
    kind: Kind
    layer: int
    head: int
    d_k: int = Field(description="Width of one head's queries/keys/values.")
    query_tokens: list[str] = Field(description="Tokens along the query axis.")
    key_tokens: list[str] = Field(description="Tokens along the key axis.")
    tensors: MathTensors


# ---- timeline ---------------------------------------------------------------------------------


class TimelineRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    run: str = Field(max_length=1024, description="Run name (a directory of checkpoints).", examples=["copy"])
    text: str = _text_field()
    precision: JsonInt = _precision_field()
    encoding: EncodingName = _encoding_field()


class TimelineEpoch(BaseModel):
    epoch: int = Field(description="Epoch.")
    checkpoint: str = Field(description="Checkpoint name.")
    metrics: dict[str, float] = Field(description="Held-out metrics of that epoch.")
    document: AttentionDocument


class TimelineResponse(BaseModel):
    run: str = Field(description="Run name.")
    text: str = Field(description="The submitted text.")
    epochs: list[TimelineEpoch] = Field(description="Every usable epoch of the run, in order.")
