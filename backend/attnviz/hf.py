"""Real pretrained encoders beside the toy models (the optional ``hf`` extra).

Any local Hugging Face *encoder* model directory (``config.json`` + weights + tokenizer, e.g.
BERT, MiniLM, RoBERTa) can be run and shown in attnviz. Nothing is downloaded: loading is
forced offline, and the model runs with ``attn_implementation="eager"`` because the default
``sdpa`` kernel returns no attention weights.

The document it produces is the attention document of DESIGN.md with ``encoder_self`` only:
no decoder keys, ``tokens.src`` the model's own word pieces (``[CLS]``, ``##ing``, ``[SEP]``),
``output``/``expected`` ``null``.

``transformers`` is imported lazily, so everything else in attnviz works without the extra.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from .encoding import Encoding, encode_weights
from .export_attention_json import SCHEMA_VERSION

DECODER_ARCHITECTURE_MARKERS = ("CausalLM", "LMHeadModel", "Seq2Seq", "ConditionalGeneration")
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin", "model.safetensors.index.json")


class HFModelError(Exception):
    """A directory that cannot be used as a Hugging Face encoder; the message says why."""

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class HFTextTooLongError(ValueError):
    """The tokenized text exceeds the model's maximum length."""

    def __init__(self, n_tokens: int, limit: int) -> None:
        self.n_tokens = n_tokens
        self.limit = limit
        super().__init__(f"the text is {n_tokens} tokens long; this model handles at most {limit} (special tokens included)")


def hf_available() -> bool:
    """True when the ``hf`` extra (``transformers``) is installed."""
    try:
        import transformers  # noqa: F401
    except ImportError:
        return False
    return True


def looks_like_hf_model(path: str | os.PathLike[str]) -> bool:
    """A directory with a ``config.json`` and a weights file (cheap check, loads nothing)."""
    p = Path(path)
    return p.is_dir() and (p / "config.json").is_file() and any((p / f).is_file() for f in WEIGHT_FILES)


@dataclass
class HFEncoder:
    """A loaded encoder with its tokenizer."""

    path: Path
    model: Any  # transformers.PreTrainedModel, in eval mode
    tokenizer: Any  # transformers tokenizer
    model_type: str
    n_layers: int
    n_heads: int
    d_model: int
    max_length: int  # longest input in tokens, special tokens included

    def describe(self) -> dict[str, Any]:
        return {
            "source": "huggingface",
            "model_type": self.model_type,
            "n_layers": self.n_layers,
            "n_heads": self.n_heads,
            "d_model": self.d_model,
            "max_length": self.max_length,
        }


def read_hf_config(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The model's ``config.json`` checked to be an encoder; raises :class:`HFModelError`."""
    import json

    p = Path(path)
    if not looks_like_hf_model(p):
        raise HFModelError(p, "not a Hugging Face model directory (needs config.json and model weights)")
    try:
        config = json.loads((p / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise HFModelError(p, f"config.json is unreadable: {exc}") from None
    if not isinstance(config, dict):
        raise HFModelError(p, "config.json is not a JSON object")
    architectures = config.get("architectures") or []
    if (
        config.get("is_encoder_decoder")
        or config.get("is_decoder")
        or any(marker in a for a in architectures for marker in DECODER_ARCHITECTURE_MARKERS)
        or _decoder_only_model_type(str(config.get("model_type", "")))
    ):
        kind = ", ".join(architectures) or config.get("model_type")
        raise HFModelError(p, f"not an encoder model ({kind}); attnviz shows encoder models here")
    return config


def _decoder_only_model_type(model_type: str) -> bool:
    """A model type transformers knows as a causal LM and never as a masked-LM encoder (gpt2, llama...)."""
    try:
        from transformers.models.auto.modeling_auto import (
            MODEL_FOR_CAUSAL_LM_MAPPING_NAMES,
            MODEL_FOR_MASKED_LM_MAPPING_NAMES,
        )
    except ImportError:
        return False
    return model_type in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES and model_type not in MODEL_FOR_MASKED_LM_MAPPING_NAMES


def load_hf_encoder(path: str | os.PathLike[str]) -> HFEncoder:
    """Load a local encoder directory offline, with eager attention; raises :class:`HFModelError`."""
    p = Path(path).resolve()
    read_hf_config(p)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        from transformers import AutoModel, AutoTokenizer
    except ImportError:
        raise HFModelError(p, "the 'hf' extra is not installed (pip install -e '.[hf]')") from None
    try:
        tokenizer = AutoTokenizer.from_pretrained(p, local_files_only=True)
        model = AutoModel.from_pretrained(p, attn_implementation="eager", local_files_only=True).eval()
    except Exception as exc:  # transformers raises many types for a broken directory
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise HFModelError(p, f"cannot load the model: {first[:200]}") from None
    cfg = model.config
    max_positions = int(getattr(cfg, "max_position_embeddings", 512) or 512)
    tok_max = int(getattr(tokenizer, "model_max_length", max_positions) or max_positions)
    return HFEncoder(
        path=p,
        model=model,
        tokenizer=tokenizer,
        model_type=str(cfg.model_type),
        n_layers=int(cfg.num_hidden_layers),
        n_heads=int(cfg.num_attention_heads),
        d_model=int(cfg.hidden_size),
        max_length=min(max_positions, tok_max),
    )


@torch.no_grad()
def hf_attention(encoder: HFEncoder, text: str) -> tuple[list[str], torch.Tensor]:
    """Tokens and the ``(n_layers, n_heads, T, T)`` self-attention of ``text``."""
    if text.strip() == "":
        raise ValueError("text is empty")
    batch = encoder.tokenizer(text, return_tensors="pt", truncation=False)
    n_tokens = int(batch["input_ids"].shape[1])
    if n_tokens > encoder.max_length:
        raise HFTextTooLongError(n_tokens, encoder.max_length)
    out = encoder.model(**batch, output_attentions=True)
    weights = torch.stack([a[0] for a in out.attentions]).float()  # (L, h, T, T)
    tokens = encoder.tokenizer.convert_ids_to_tokens(batch["input_ids"][0].tolist())
    return [str(t) for t in tokens], weights


def hf_document(
    encoder: HFEncoder,
    text: str,
    *,
    name: str | None = None,
    precision: int = 4,
    encoding: Encoding = "json",
    json_as_array: bool = False,
) -> dict[str, Any]:
    """The attention document (schema v1, encoder only) of ``text``; ``json_as_array`` as in
    :func:`~attnviz.encoding.encode_weights`."""
    if not 0 <= precision <= 8:
        raise ValueError(f"precision must be between 0 and 8 decimals, not {precision}")
    tokens, weights = hf_attention(encoder, text)
    return {
        "schema_version": SCHEMA_VERSION,
        "checkpoint": name if name is not None else str(encoder.path),
        "model": {"task": None, "epoch": None, **encoder.describe()},
        "input": text,
        "output": None,
        "expected": None,
        "tokens": {"src": tokens},
        "encoding": encoding,
        "attentions": {"encoder_self": encode_weights(weights.numpy(), encoding, precision, json_as_array=json_as_array)},
        "warnings": [],
    }
