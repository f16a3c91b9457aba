"""Service settings, read from the environment (prefix ``ATTNVIZ_``) or passed to ``create_app``.

ATTNVIZ_CHECKPOINT_DIR=checkpoints ATTNVIZ_PORT=8080 attnviz serve
ATTNVIZ_CORS_ORIGINS=http://localhost:5173,http://127.0.0.1:5173   # comma-separated or a JSON list
ATTNVIZ_HF_MODELS=/models/bert-base-uncased:/models/gpt2   # os.pathsep- or comma-separated (hf extra)
ATTNVIZ_MODEL_CACHE_BYTES=2000000000   # weights kept loaded; a bigger model is refused
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[3]
"""The source checkout (``backend/attnviz/server/settings.py`` → repo); used for defaults only."""


class Settings(BaseSettings):
    """Everything the service can be configured with; each field is also ``ATTNVIZ_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="ATTNVIZ_", extra="ignore")

    checkpoint_dir: Path = Field(default=Path("checkpoints"), description="directory holding the runs (one sub-directory each)")
    host: str = Field(default="127.0.0.1", description="interface to listen on (0.0.0.0 to accept other machines)")
    port: int = Field(default=8000, ge=0, le=65535, description="TCP port")
    max_text_len: int = Field(
        default=128, ge=1, le=1000, description="longest input text accepted (also capped by each model's max_len)"
    )
    max_body_bytes: int = Field(default=64 * 1024, ge=1024, description="largest request body accepted; larger gets 413")
    model_cache_size: int = Field(default=8, ge=1, description="models kept loaded (least recently used evicted)")
    model_cache_bytes: int = Field(
        default=4 * 1024**3,
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
    inference_threads: int = Field(
        default_factory=lambda: max(1, min(4, os.cpu_count() or 1)),
        ge=1,
        description="inference requests run at once (threads off the event loop)",
    )
    torch_threads: int = Field(default=1, ge=1, description="torch intra-op threads per inference thread")
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="origins allowed by CORS (none by default: the UI is served same-origin)"
    )
    hf_models: Annotated[list[Path], NoDecode] = Field(
        default_factory=list,
        description="local Hugging Face model directories (encoder, decoder, seq2seq) to list as `hf:<dirname>` "
        "(needs the hf extra)",
    )
    frontend_dist: Path = Field(default=REPO_ROOT / "frontend" / "dist", description="built front end served at /")

    @field_validator("cors_origins", mode="before")
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
