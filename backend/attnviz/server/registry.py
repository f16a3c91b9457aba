"""Checkpoint discovery: which ``.pt`` files exist, what each one holds, and the one safe way from a
name in a request to a path on disk.

Metadata is cached per file by ``(mtime_ns, size)``, so refreshing the listing costs a directory
walk and a ``stat`` per file; a file that cannot be loaded is listed as unusable with the reason.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..checkpoint import CheckpointError, load_checkpoint
from .errors import ApiError

log = logging.getLogger("attnviz.server")

SUFFIX = ".pt"
MAX_DEPTH = 4  # directories below the checkpoint directory that are searched
_EPOCH_IN_NAME = re.compile(r"epoch[_-]?(\d+)", re.IGNORECASE)

FileKey = tuple[int, int]  # (mtime_ns, size)


@dataclass(frozen=True)
class CheckpointMeta:
    """What the listing shows about one file."""

    name: str
    run: str
    path: Path
    key: FileKey
    epoch: int | None
    usable: bool
    error: str | None = None
    task: str | None = None
    created_at: str | None = None
    metrics: dict[str, float] | None = None
    config: dict[str, Any] | None = None
    max_text_len: int | None = None
    characters: str | None = None
    model_max_input: int | None = None  # model.max_len - 1

    def to_dict(self, max_text_len_setting: int) -> dict[str, Any]:
        limit = None if self.model_max_input is None else min(self.model_max_input, max_text_len_setting)
        return {
            "name": self.name,
            "run": self.run,
            "epoch": self.epoch,
            "usable": self.usable,
            "error": self.error,
            "task": self.task,
            "created_at": self.created_at,
            "metrics": self.metrics,
            "config": self.config,
            "max_text_len": self.max_text_len,
            "max_input_len": limit,
            "characters": self.characters,
        }


def file_key(path: Path) -> FileKey:
    st = path.stat()
    return (st.st_mtime_ns, st.st_size)


def run_of(name: str) -> str:
    return name.rsplit("/", 1)[0] if "/" in name else "."


def _epoch_from_name(name: str) -> int | None:
    m = _EPOCH_IN_NAME.search(name.rsplit("/", 1)[-1])
    return int(m.group(1)) if m else None


def check_name(name: str, *, what: str = "checkpoint") -> list[str]:
    """The ``/``-separated parts of a request's name, or 404 if it could point anywhere odd."""
    code = "unknown_run" if what == "run" else "unknown_checkpoint"
    parts = name.split("/")
    bad = (
        not name
        or len(name) > 1024
        or "\x00" in name
        or "\\" in name
        or name.startswith("/")
        or ":" in parts[0]  # drive letters, URLs
        or any(p in ("", ".", "..") or p.startswith(".") for p in parts)
    )
    if what == "run" and name == ".":
        bad = False
        parts = []
    if bad:
        raise ApiError(404, code, f"There is no {what} named {name!r}; GET /api/checkpoints lists them.")
    return parts


class CheckpointRegistry:
    """The checkpoint directory: safe name resolution and a cached listing."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).expanduser().resolve()
        self._meta: dict[str, CheckpointMeta] = {}
        self._lock = threading.Lock()

    # ---- names --------------------------------------------------------------------------------

    def resolve(self, name: str) -> Path:
        """The file a checkpoint name refers to; 404 ``unknown_checkpoint`` for anything that is not
        a ``.pt`` file inside the checkpoint directory (checked before the file is opened)."""
        parts = check_name(name)
        not_found = ApiError(
            404, "unknown_checkpoint", f"There is no checkpoint named {name!r}; GET /api/checkpoints lists them."
        )
        if not parts[-1].endswith(SUFFIX):
            raise not_found
        try:
            path = self.root.joinpath(*parts).resolve(strict=True)
        except (OSError, RuntimeError, ValueError):  # missing, symlink loop, odd bytes
            raise not_found from None
        if not path.is_relative_to(self.root) or not path.is_file():
            raise not_found
        return path

    # ---- listing --------------------------------------------------------------------------------

    def _walk(self) -> list[tuple[str, Path]]:
        found: list[tuple[str, Path]] = []
        if not self.root.is_dir():
            return found
        for dirpath, dirnames, filenames in os.walk(self.root):
            rel = Path(dirpath).relative_to(self.root)
            depth = 0 if rel == Path(".") else len(rel.parts)
            dirnames[:] = sorted(d for d in dirnames if not d.startswith(".")) if depth < MAX_DEPTH else []
            for fname in sorted(filenames):
                if fname.startswith(".") or not fname.endswith(SUFFIX):
                    continue
                name = fname if depth == 0 else f"{rel.as_posix()}/{fname}"
                try:
                    found.append((name, self.resolve(name)))
                except ApiError:  # a symlink out of the directory, or a dangling one
                    log.warning("ignoring %s: it does not resolve to a file inside %s", name, self.root)
        return found

    def _describe(self, name: str, path: Path, key: FileKey) -> CheckpointMeta:
        run = run_of(name)
        try:
            ckpt = load_checkpoint(path)
        except CheckpointError as exc:
            return CheckpointMeta(name, run, path, key, _epoch_from_name(name), usable=False, error=exc.reason)
        except Exception as exc:  # never let one bad file break the listing
            return CheckpointMeta(name, run, path, key, _epoch_from_name(name), usable=False, error=f"cannot be read: {exc}")
        return CheckpointMeta(
            name,
            run,
            path,
            key,
            epoch=ckpt.epoch,
            usable=True,
            task=ckpt.task,
            created_at=ckpt.created_at or None,
            metrics=dict(ckpt.metrics),
            config=ckpt.config.to_dict(),
            max_text_len=ckpt.max_text_len,
            characters=ckpt.vocab.chars,
            model_max_input=ckpt.config.max_len - 1,
        )

    def refresh(self) -> list[CheckpointMeta]:
        """Walk the directory; (re)read only files whose ``(mtime, size)`` changed."""
        with self._lock:
            fresh: dict[str, CheckpointMeta] = {}
            for name, path in self._walk():
                try:
                    key = file_key(path)
                except OSError:
                    continue
                old = self._meta.get(name)
                fresh[name] = old if old is not None and old.key == key and old.path == path else self._describe(name, path, key)
            self._meta = fresh
            return list(fresh.values())

    def listing(self, max_text_len_setting: int) -> dict[str, Any]:
        """The ``GET /api/checkpoints`` body."""
        runs: dict[str, list[CheckpointMeta]] = {}
        for meta in self.refresh():
            runs.setdefault(meta.run, []).append(meta)
        out = []
        for run in sorted(runs):
            metas = sorted(runs[run], key=lambda m: (m.epoch is None, m.epoch or 0, m.name))
            tasks = {m.task for m in metas if m.usable}
            out.append(
                {
                    "name": run,
                    "task": tasks.pop() if len(tasks) == 1 else None,
                    "checkpoints": [m.to_dict(max_text_len_setting) for m in metas],
                }
            )
        return {"checkpoint_dir": str(self.root), "runs": out}

    def run_checkpoints(self, run: str) -> list[CheckpointMeta]:
        """The checkpoints of one run, sorted by epoch; 404 ``unknown_run`` if it has none."""
        check_name(run, what="run")
        metas = sorted((m for m in self.refresh() if m.run == run), key=lambda m: (m.epoch is None, m.epoch or 0, m.name))
        if not metas:
            raise ApiError(404, "unknown_run", f"There is no run named {run!r}; GET /api/checkpoints lists them.")
        return metas

    def count(self) -> int:
        return len(self._walk())
