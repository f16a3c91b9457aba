"""Loaded models, kept in an LRU cache bounded in bytes and reloaded when their file changes.

A checkpoint is loaded once and reused by every request; its identity ``(st_dev, st_ino, size,
mtime_ns, ctime_ns)`` is checked on each use, so a file replaced in any way (retrained, copied
over with its mtime restored) is loaded again and nothing stale is served. A file that fails to
load raises :class:`~attnviz.checkpoint.CheckpointError` (the service turns it into ``Unusable``),
and that verdict is remembered by the same identity, so a bad file is never read twice until it
changes.

Hugging Face model directories (the ``hf`` extra) share the same LRU: ``get_hf(dir)`` keys them
by the modification times and sizes of ``config.json`` and the weights, and raises
:class:`~attnviz.hf.HFModelError` when the directory cannot be loaded; a model whose weights
(estimated from its safetensors headers, before loading) exceed the whole budget is refused
rather than pushed into swap.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import torch

from ..checkpoint import DEFAULT_LIMITS, Checkpoint, CheckpointError, CheckpointLimits, load_checkpoint
from ..hf import HFModel, load_hf_model
from ..model import SmallDecoder, SmallTransformer
from .registry import FileKey, file_key, hf_dir_key

FAILURES_KEPT = 1024  # remembered verdicts of unusable files (a few hundred bytes each)


def module_bytes(module: torch.nn.Module) -> int:
    """Bytes held by a module's parameters and buffers."""
    tensors = [*module.parameters(), *module.buffers()]
    return sum(t.numel() * t.element_size() for t in tensors)


@dataclass
class LoadedModel:
    """A checkpoint and its model, ready for inference.

    ``model`` is shared by concurrent requests (eval mode, no state changes during a forward
    pass; the step-through recomputes a module's inputs explicitly, without hooks).
    """

    path: Path
    key: FileKey
    ckpt: Checkpoint
    model: SmallTransformer | SmallDecoder
    nbytes: int = 0


@dataclass
class LoadedHF:
    """A Hugging Face model directory of any family, loaded (eager attention, eval mode, offline)."""

    path: Path
    key: FileKey
    model: HFModel
    nbytes: int = 0


Item = TypeVar("Item", LoadedModel, LoadedHF)


class ModelCache:
    """``path -> LoadedModel | LoadedHF``, least recently used evicted past ``maxsize`` entries or
    ``max_bytes`` of weights (the most recent model always stays)."""

    def __init__(
        self,
        maxsize: int = 8,
        max_bytes: int = 1 << 30,
        limits: CheckpointLimits = DEFAULT_LIMITS,
        *,
        device: str = "cpu",
        dtype: str = "float32",
    ) -> None:
        self.maxsize = max(1, maxsize)
        self.device, self.dtype = device, dtype  # of Hugging Face models (hf.load_hf_model); toy models stay on the CPU
        self.max_bytes = max_bytes
        self.limits = limits
        self._items: OrderedDict[Path, LoadedModel | LoadedHF] = OrderedDict()
        self._failed: OrderedDict[Path, tuple[FileKey, CheckpointError]] = OrderedDict()
        self._lock = threading.Lock()
        self._loading: dict[Path, threading.Lock] = {}
        self.loads = 0  # how many times a file was read (tests and logs)
        self.failures = 0  # how many reads ended in a CheckpointError

    @property
    def nbytes(self) -> int:
        return sum(item.nbytes for item in self._items.values())

    def get(self, path: Path) -> LoadedModel:
        """The loaded checkpoint file ``path`` (blocking: call it from a worker thread)."""

        def load(key: FileKey) -> LoadedModel:
            ckpt = load_checkpoint(path, self.limits)
            try:
                model = ckpt.build_model()
            except (RuntimeError, ValueError) as exc:  # validated shapes make this unlikely; never a 500
                raise CheckpointError(path, f"weights do not fit the model config: {str(exc).splitlines()[0][:200]}") from None
            ckpt.state_dict = {}  # the model holds the weights; do not keep a second copy
            return LoadedModel(path=path, key=key, ckpt=ckpt, model=model, nbytes=module_bytes(model))

        key = file_key(path)
        with self._lock:
            failed = self._failed.get(path)
        if failed is not None and failed[0] == key:
            raise failed[1]
        try:
            return self._get(path, key, LoadedModel, load)
        except CheckpointError as exc:
            with self._lock:
                self.failures += 1
                self._failed[path] = (key, exc)
                while len(self._failed) > FAILURES_KEPT:
                    self._failed.popitem(last=False)
            raise

    def get_hf(self, path: Path) -> LoadedHF:
        """The loaded Hugging Face model directory ``path`` (blocking); too big for ``max_bytes``
        raises :class:`~attnviz.hf.HFModelError` before anything is loaded."""

        def load(key: FileKey) -> LoadedHF:
            model = load_hf_model(path, self.max_bytes, device=self.device, dtype=self.dtype)
            return LoadedHF(path, key, model, nbytes=model.nbytes)

        return self._get(path, hf_dir_key(path), LoadedHF, load)

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
                if item is not None:  # stale: drop it before loading the new version
                    del self._items[path]
            try:
                fresh = load(key)
            finally:
                with self._lock:
                    self._loading.pop(path, None)
            with self._lock:
                self.loads += 1
                self._failed.pop(path, None)
                self._items[path] = fresh
                self._items.move_to_end(path)
                while len(self._items) > 1 and (len(self._items) > self.maxsize or self.nbytes > self.max_bytes):
                    self._items.popitem(last=False)
            return fresh

    def __len__(self) -> int:
        return len(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._failed.clear()
