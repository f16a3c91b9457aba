"""One interface for every model family: what the service asks of a model.

A :class:`ModelAdapter` (``base.py``) wraps a loaded model (a toy checkpoint or a Hugging Face
directory) and answers the service's questions the same way for every family: may this request
run (checked before the model runs, as a domain error), how many weights may its document hold,
its document, its overview (for long inputs), and the step-through of one head. The service never
asks what type a model is.

One module per family: ``toy`` (the paper's encoder-decoder, ``toy.py``), ``toy-decoder`` (its
decoder stack alone, ``toy_decoder.py``, extending it), and Hugging Face ``encoder``, ``decoder``
and ``encoder-decoder`` (``hf.py``, by the model's own ``family``). A new family is a new module
here, its line below (or the service's choice of loader), and its ``supports`` in the registry.
"""

from __future__ import annotations

from ..model_cache import LoadedModel
from .base import Limits, ModelAdapter, RunRequest
from .hf import HFAdapter, no_tokens, not_supported, too_many_tokens
from .toy import ToyAdapter
from .toy_decoder import ToyDecoderAdapter

# a toy checkpoint's adapter, by its ModelConfig.arch
TOY_ADAPTERS: dict[str, type[ToyAdapter]] = {"encoder-decoder": ToyAdapter, "decoder": ToyDecoderAdapter}


def toy_adapter(name: str, loaded: LoadedModel, limits: Limits) -> ToyAdapter:
    """The adapter of a loaded toy checkpoint, chosen by its architecture."""
    return TOY_ADAPTERS[loaded.ckpt.config.arch](name, loaded, limits)


__all__ = [
    "TOY_ADAPTERS",
    "HFAdapter",
    "Limits",
    "ModelAdapter",
    "RunRequest",
    "ToyAdapter",
    "ToyDecoderAdapter",
    "no_tokens",
    "not_supported",
    "too_many_tokens",
    "toy_adapter",
]
