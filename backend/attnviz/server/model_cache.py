"""Loaded models, kept in a bounded LRU cache and reloaded when their file changes.

A checkpoint is loaded once and reused by every request; its ``(mtime_ns, size)`` is checked on
each use, so retraining into the same file is picked up without a restart. A file that fails to
load raises :class:`~attnviz.checkpoint.CheckpointError` (the route turns it into 409).

Hugging Face model directories (the ``hf`` extra) share the same LRU: ``get_hf(dir)`` keys them
by the modification times and sizes of ``config.json`` and the weights, and raises
:class:`~attnviz.hf.HFModelError` when the directory cannot be loaded. Besides the entry count the
cache holds at most ``max_bytes`` of weights: least recently used models go first, and a model
whose weights (estimated from its safetensors headers, before loading) exceed the whole budget is
refused rather than pushed into swap.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from ..checkpoint import Checkpoint, load_checkpoint
from ..hf import HFModel, load_hf_model
from ..model import SmallTransformer
from .registry import FileKey, file_key, hf_dir_key


@dataclass
class LoadedModel:
    """A checkpoint and its model, ready for inference.

    ``model`` is shared by concurrent requests (eval mode, no state changes during a forward
    pass; the step-through recomputes a module's inputs explicitly, without hooks).
    """

    path: Path
    key: FileKey
    ckpt: Checkpoint
    model: SmallTransformer

    @property
    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in self.model.state_dict().values())


@dataclass
class LoadedHF:
    """A Hugging Face model directory, loaded (eager attention, eval mode, offline)."""

    path: Path
    key: FileKey
    encoder: HFModel  # any family (the name predates decoders)

    @property
    def nbytes(self) -> int:
        return self.encoder.nbytes


Item = TypeVar("Item", LoadedModel, LoadedHF)


class ModelCache:
    """``path -> LoadedModel | LoadedHF``, least recently used evicted past ``maxsize`` entries or
    ``max_bytes`` of weights (the entry just loaded always stays)."""

    def __init__(self, maxsize: int = 8, max_bytes: int | None = None) -> None:
        self.maxsize = max(1, maxsize)
        self.max_bytes = max_bytes
        self._items: OrderedDict[Path, LoadedModel | LoadedHF] = OrderedDict()
        self._lock = threading.Lock()
        self._loading: dict[Path, threading.Lock] = {}
        self.loads = 0  # how many times a file was read (tests and logs)

    def get(self, path: Path) -> LoadedModel:
        """The loaded checkpoint file ``path`` (blocking: call it from a worker thread)."""

        def load(key: FileKey) -> LoadedModel:
            ckpt = load_checkpoint(path)
            return LoadedModel(path=path, key=key, ckpt=ckpt, model=ckpt.build_model())

        return self._get(path, file_key(path), LoadedModel, load)

    def get_hf(self, path: Path) -> LoadedHF:
        """The loaded Hugging Face model directory ``path`` (blocking); too big for ``max_bytes``
        raises :class:`~attnviz.hf.HFModelError` before anything is loaded."""
        return self._get(path, hf_dir_key(path), LoadedHF, lambda key: LoadedHF(path, key, load_hf_model(path, self.max_bytes)))

    def _get(self, path: Path, key: FileKey, kind: type[Item], load: Callable[[FileKey], Item]) -> Item:
        with self._lock:
            item = self._items.get(path)
            if isinstance(item, kind) and item.key == key:
                self._items.move_to_end(path)
                return item
            loading = self._loading.setdefault(path, threading.Lock())
        with loading:  # one load per file at a time; others wait for it
            with self._lock:
                item = self._items.get(path)
                if isinstance(item, kind) and item.key == key:
                    self._items.move_to_end(path)
                    return item
            fresh = load(key)
            with self._lock:
                self.loads += 1
                self._items[path] = fresh
                self._items.move_to_end(path)
                while len(self._items) > self.maxsize or (len(self._items) > 1 and self._over_budget()):
                    self._items.popitem(last=False)
                self._loading.pop(path, None)
            return fresh

    def _over_budget(self) -> bool:
        return self.max_bytes is not None and self.nbytes() > self.max_bytes

    def nbytes(self) -> int:
        """Bytes of weights held."""
        return sum(item.nbytes for item in self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
