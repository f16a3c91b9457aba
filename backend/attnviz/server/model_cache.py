"""Loaded models, kept in a bounded LRU cache and reloaded when their file changes.

A checkpoint is loaded once and reused by every request; its ``(mtime_ns, size)`` is checked on
each use, so retraining into the same file is picked up without a restart. A file that fails to
load raises :class:`~attnviz.checkpoint.CheckpointError` (the route turns it into 409).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from ..checkpoint import Checkpoint, load_checkpoint
from ..model import SmallTransformer
from .registry import FileKey, file_key


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


class ModelCache:
    """``path -> LoadedModel``, least recently used evicted past ``maxsize`` entries."""

    def __init__(self, maxsize: int = 8) -> None:
        self.maxsize = max(1, maxsize)
        self._items: OrderedDict[Path, LoadedModel] = OrderedDict()
        self._lock = threading.Lock()
        self._loading: dict[Path, threading.Lock] = {}
        self.loads = 0  # how many times a file was read (tests and logs)

    def get(self, path: Path) -> LoadedModel:
        """The loaded model for ``path`` (blocking: call it from a worker thread)."""
        key = file_key(path)
        with self._lock:
            item = self._items.get(path)
            if item is not None and item.key == key:
                self._items.move_to_end(path)
                return item
            loading = self._loading.setdefault(path, threading.Lock())
        with loading:  # one load per file at a time; others wait for it
            with self._lock:
                item = self._items.get(path)
                if item is not None and item.key == key:
                    self._items.move_to_end(path)
                    return item
            ckpt = load_checkpoint(path)
            item = LoadedModel(path=path, key=key, ckpt=ckpt, model=ckpt.build_model())
            with self._lock:
                self.loads += 1
                self._items[path] = item
                self._items.move_to_end(path)
                while len(self._items) > self.maxsize:
                    self._items.popitem(last=False)
                self._loading.pop(path, None)
            return item

    def __len__(self) -> int:
        return len(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
