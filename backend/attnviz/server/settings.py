"""Service settings, read from the environment (prefix ``ATTNVIZ_``) or passed to ``create_app``.

ATTNVIZ_CHECKPOINT_DIR=checkpoints ATTNVIZ_PORT=8080 attnviz serve
ATTNVIZ_CORS_ORIGINS=http://localhost:5173,http://127.0.0.1:5173   # comma-separated or a JSON list
ATTNVIZ_HF_MODELS=/models/bert-base-uncased:/models/gpt2   # os.pathsep- or comma-separated (hf extra)
ATTNVIZ_MODEL_CACHE_BYTES=2000000000   # weights kept loaded; a bigger model is refused
ATTNVIZ_ALLOWED_HOSTS=classroom.local,10.0.0.5   # Host headers served when bound to 0.0.0.0 (default: any)
ATTNVIZ_TRAINING=1   # allow training from the page on a non-loopback host (docs/api.md "Training")
ATTNVIZ_DEVICE=cuda ATTNVIZ_DTYPE=bfloat16   # where Hugging Face models run (attnviz serve --device --dtype)
"""

from __future__ import annotations

import ipaddress
import json
import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from ..checkpoint import DEFAULT_LIMITS, CheckpointLimits
from .frontend import default_dist


def is_loopback(host: str) -> bool:
    """Whether a host name or address can only be this machine: ``localhost`` and any
    ``*.localhost`` (RFC 6761: browsers resolve them to loopback themselves), ``127.0.0.0/8``,
    ``::1``. The one rule for both the address the server listens on (is training allowed) and the
    ``Host`` a request names (DNS rebinding). Brackets, case and a final dot do not matter."""
    host = host.strip().lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.removeprefix("[").removesuffix("]")).is_loopback
    except ValueError:
        return False


class Settings(BaseSettings):
    """Everything the service can be configured with; each field is also ``ATTNVIZ_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="ATTNVIZ_", extra="ignore", env_ignore_empty=True)  # `X=` means unset

    checkpoint_dir: Path = Field(default=Path("checkpoints"), description="directory holding the runs (one sub-directory each)")
    host: str = Field(default="127.0.0.1", description="interface to listen on (0.0.0.0 to accept other machines)")
    port: int = Field(default=8000, ge=0, le=65535, description="TCP port")
    max_text_len: int = Field(
        default=128, ge=1, le=1000, description="longest input text accepted (also capped by each model's max_len)"
    )
    max_body_bytes: int = Field(
        default=256 * 1024,
        ge=1024,
        description="largest request body accepted (room for a 32k-token text); larger gets 413",
    )
    model_cache_size: int = Field(default=8, ge=1, description="models kept loaded (least recently used evicted)")
    model_cache_bytes: int = Field(
        default=2 * 1024**3,
        ge=1,
        description="bytes of model weights kept loaded (least recently used evicted); a bigger model is refused",
    )
    max_new_tokens: int = Field(
        default=20, ge=0, le=4096, description="tokens a Hugging Face decoder or seq2seq model generates by default"
    )
    max_new_tokens_limit: int = Field(
        default=256, ge=0, le=4096, description="most tokens a request may ask a Hugging Face model to generate"
    )
    timeline_cache_size: int = Field(default=16, ge=0, description="timeline responses kept (least recently used evicted)")
    timeline_cache_bytes: int = Field(default=64 << 20, ge=0, description="bytes of timeline responses kept")
    stacked_cache_bytes: int = Field(
        default=256 << 20, ge=0, description="bytes of batched (stacked) epoch models kept for the timeline"
    )
    inference_threads: int = Field(
        default_factory=lambda: max(1, min(4, os.cpu_count() or 1)),
        ge=1,
        description="inference requests run at once (threads off the event loop)",
    )
    inference_queue: int = Field(
        default=16, ge=0, description="model requests that may wait for a thread; past it 503 `busy` with Retry-After"
    )
    max_response_bytes: int = Field(
        default=32 << 20,
        ge=1024,
        description="budget of one response's attention weights (weights x bytes per weight: json precision+3, "
        "float16 2, uint8 1); past it 413 `response_too_large`",
    )
    max_tokens: int | None = Field(
        default=None,
        ge=1,
        description="longest input of a pretrained model in tokens, special tokens included (default: the model's own "
        "context); past it 422 `text_too_long` before the model runs",
    )
    overview_size: int = Field(
        default=128, ge=32, le=256, description="side P of an overview's thumbnails (each head as P × P block maxima)"
    )
    handle_store_bytes: int = Field(
        default=512 << 20,
        ge=0,
        description="bytes of long runs (each layer's Q and K) kept for their tiles; least recently used dropped first",
    )
    handle_ttl_seconds: float = Field(
        default=600, gt=0, description="seconds a long run is kept for its tiles after its last use (then 404 `unknown_handle`)"
    )
    max_d_model: int = Field(default=DEFAULT_LIMITS.d_model, ge=1, description="largest config.d_model a checkpoint may have")
    max_n_layers: int = Field(default=DEFAULT_LIMITS.n_layers, ge=1, description="largest config.n_layers")
    max_n_heads: int = Field(default=DEFAULT_LIMITS.n_heads, ge=1, description="largest config.n_heads")
    max_d_ff: int = Field(default=DEFAULT_LIMITS.d_ff, ge=1, description="largest config.d_ff")
    max_max_len: int = Field(default=DEFAULT_LIMITS.max_len, ge=2, description="largest config.max_len")
    max_vocab_size: int = Field(default=DEFAULT_LIMITS.vocab_size, ge=4, description="largest config.vocab_size")
    max_model_bytes: int = Field(
        default=DEFAULT_LIMITS.model_bytes, ge=1, description="largest model (float32 weights estimated from the config)"
    )
    allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["*"],
        description="Host headers served on non-loopback addresses (`*`: any, `*.example.org`: subdomains); "
        "a request that arrives on a loopback address is served only with a loopback Host (DNS rebinding)",
    )
    timeout_keep_alive: int = Field(default=5, ge=1, description="seconds an idle keep-alive connection stays open")
    timeout_headers: float = Field(
        default=10.0, gt=0, description="seconds a client has to send a request's headers, else the connection is closed"
    )
    workers: int = Field(default=1, ge=1, le=64, description="uvicorn worker processes (each with its own caches)")
    torch_threads: int = Field(default=1, ge=1, description="torch intra-op threads per inference thread")
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="origins allowed by CORS (none by default: the UI is served same-origin)"
    )
    hf_models: Annotated[list[Path], NoDecode] = Field(
        default_factory=list,
        description="local Hugging Face model directories (encoder, decoder, seq2seq) to list as `hf:<dirname>` "
        "(needs the hf extra)",
    )
    device: Literal["auto", "cpu", "cuda", "mps"] = Field(
        default="auto",
        description="where Hugging Face models run: auto (a GPU when torch sees one, else the CPU), cpu, cuda, mps",
    )
    dtype: Literal["float32", "bfloat16", "float16"] = Field(
        default="float32", description="weights and activations of Hugging Face models (attention is sent as float32)"
    )
    frontend_dist: Path = Field(
        default_factory=default_dist,
        description="built front end served at / (default: the checkout's frontend/dist when built, else the package's copy)",
    )
    # ---- training from the page (POST /api/train) ----
    training: bool | None = Field(
        default=None,
        description="allow POST /api/train; unset: allowed only when the host is a loopback address",
    )
    training_dir: Path | None = Field(
        default=None,
        description="writable folder inside checkpoint_dir for runs trained from the page (default <checkpoint_dir>/live)",
    )
    training_max_layers: int = Field(default=4, ge=1, le=12, description="most encoder (and decoder) layers a page may ask for")
    training_max_heads: int = Field(default=8, ge=1, le=32, description="most attention heads a page may ask for")
    training_max_d_model: int = Field(default=128, ge=8, le=1024, description="widest model a page may ask for")
    training_max_epochs: int = Field(default=20, ge=1, le=1000, description="most epochs a page may ask for")
    training_max_seconds: float = Field(
        default=600, gt=0, description="wall time after which a job is stopped (finished epochs are kept)"
    )
    training_examples: int = Field(default=9000, ge=100, le=1_000_000, description="training examples per epoch of a job")
    training_snapshot_every: int = Field(default=20, ge=1, description="optimizer steps between the snapshots the page redraws")

    def checkpoint_limits(self) -> CheckpointLimits:
        return CheckpointLimits(
            d_model=self.max_d_model,
            n_layers=self.max_n_layers,
            n_heads=self.max_n_heads,
            d_ff=self.max_d_ff,
            max_len=self.max_max_len,
            vocab_size=self.max_vocab_size,
            model_bytes=self.max_model_bytes,
        )

    @field_validator("cors_origins", "allowed_hosts", mode="before")
    @classmethod
    def _split_origins(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @field_validator("hf_models", mode="before")
    @classmethod
    def _split_paths(cls, value: Any) -> Any:
        if isinstance(value, str):
            parts = value.replace(os.pathsep, ",").split(",")
            return [Path(part.strip()).expanduser() for part in parts if part.strip()]
        return value
