"""Checkpoint discovery: which ``.pt`` files exist, what each one holds, and the one safe way from a
name in a request to a path on disk.

Metadata (failures included) is cached per file by its identity ``(st_dev, st_ino, size,
mtime_ns, ctime_ns)``, so refreshing the listing costs a directory walk and a ``stat`` per file,
and a file replaced by another (even with the same size and a restored mtime: the inode or ctime
differs) is read again. A file that cannot be loaded is listed as unusable with the reason; a
``.pt`` entry that is not served (a symlink out of the directory, a FIFO, a dangling link, a
temporary file of an unfinished save) is listed in ``skipped`` with the reason.

Hugging Face model directories (``config.json`` + weights; the ``hf`` extra) of every family
(encoder, decoder, encoder-decoder) are listed beside the runs: any such directory inside the
checkpoint directory, named by its relative path (``hf/all-MiniLM-L6-v2``), and each directory of
``ATTNVIZ_HF_MODELS``, named ``hf:<dirname>``.
"""

from __future__ import annotations

import logging
import os
import re
import stat
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ..checkpoint import DEFAULT_LIMITS, CheckpointError, CheckpointLimits, load_checkpoint
from ..errors import UnknownCheckpoint, UnknownRun
from ..hf import (
    TOKENIZER_FILES,
    WEIGHT_FILES,
    HFModel,
    HFModelError,
    detect_family,
    hf_available,
    looks_like_hf_model,
    read_hf_config,
)

log = logging.getLogger("attnviz.server")

SUFFIX = ".pt"
SNAPSHOT_DIR = "snapshots"  # attnviz.train.SNAPSHOT_DIR
MAX_DEPTH = 4  # directories below the checkpoint directory that are searched
_EPOCH_IN_NAME = re.compile(r"epoch[_-]?(\d+)", re.IGNORECASE)

FileKey = tuple[int, ...]  # a file's identity: (st_dev, st_ino, size, mtime_ns, ctime_ns)
ModelKind = Literal["toy", "huggingface"]
Family = Literal["toy", "toy-decoder", "encoder", "decoder", "encoder-decoder"]
Feature = Literal["attention", "generate", "steps", "math", "ablate", "timeline", "special_tokens"]
# What each family's models can serve; the front end offers a view only where it is listed, and a
# request for one that is not raises ``NotSupported``.
FAMILY_SUPPORTS: dict[str, tuple[Feature, ...]] = {
    "toy": ("attention", "generate", "steps", "math", "ablate", "timeline", "special_tokens"),
    # the decoder-only toy model (``--arch decoder``): a prompt and what it generates after it
    "toy-decoder": ("attention", "generate", "steps", "math", "ablate", "timeline", "special_tokens"),
    # Hugging Face models: these at most; a model whose attention modules attnviz does not recognise
    # lists them without math and ablate (its own ``supports``)
    "encoder": ("attention", "math", "ablate", "special_tokens"),
    "decoder": ("attention", "generate", "steps", "math", "ablate", "special_tokens"),
    "encoder-decoder": ("attention", "generate", "steps", "math", "ablate", "special_tokens"),
}


def toy_family(arch: str) -> Family:
    """The family of a toy checkpoint of ``arch`` (its ModelConfig's)."""
    return "toy-decoder" if arch == "decoder" else "toy"


HF_PREFIX = "hf:"  # names of the directories configured in ATTNVIZ_HF_MODELS
HF_KEY_FILES = ("config.json", *WEIGHT_FILES, *TOKENIZER_FILES, "tokenizer_config.json")
INSTALL_HF = "the 'hf' extra is not installed: pip install -e '.[hf]' (or make setup HF=1), then restart the server"


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
    kind: ModelKind = "toy"
    family: Family = "toy"
    supports: tuple[Feature, ...] = FAMILY_SUPPORTS["toy"]

    def to_dict(self, max_text_len_setting: int) -> dict[str, Any]:
        limit = None if self.model_max_input is None else min(self.model_max_input, max_text_len_setting)
        return {
            "name": self.name,
            "run": self.run,
            "kind": self.kind,
            "family": self.family,
            "supports": list(self.supports),
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
    """The identity of a file's contents as far as ``stat`` tells: any rewrite, rename over it or
    ``touch`` changes it (a restored mtime still changes ctime)."""
    st = path.stat()
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def display_dir(configured: Path) -> str:
    """The checkpoint directory as the listing shows it: never an absolute path of the server's
    file system (relative to the working directory if inside it, else only its name)."""
    if not configured.is_absolute():
        return configured.as_posix()
    try:
        return Path(configured).resolve().relative_to(Path.cwd().resolve()).as_posix()
    except (ValueError, OSError):
        return configured.name or "."


TEMP_SUFFIX = ".tmp"  # save_checkpoint writes ``.<name>.<random>.tmp`` and renames it


def hf_dir_key(path: Path) -> FileKey:
    """Latest modification time and total size of a model directory's config, weights and tokenizer."""
    stats = [(path / f).stat() for f in HF_KEY_FILES if (path / f).is_file()]
    if not stats:
        raise FileNotFoundError(path / "config.json")
    return (max(st.st_mtime_ns for st in stats), sum(st.st_size for st in stats))


def hf_listing_config(encoder: HFModel) -> dict[str, Any]:
    """``config`` of a Hugging Face model in the listing: the toy fields, plus ``max_length`` (tokens)."""
    cfg = encoder.model.config

    def first(names: tuple[str, ...], default: Any) -> Any:
        return next((getattr(cfg, n) for n in names if isinstance(getattr(cfg, n, None), int | float)), default)

    return {
        **encoder.describe(),
        "vocab_size": int(getattr(cfg, "vocab_size", 0) or 0),
        "d_ff": int(first(("intermediate_size", "n_inner", "d_ff", "encoder_ffn_dim"), 0) or 4 * encoder.d_model),
        "dropout": float(first(("hidden_dropout_prob", "resid_pdrop", "dropout_rate", "dropout"), 0.0)),
        "max_len": encoder.max_length,
    }


def by_epoch(meta: CheckpointMeta) -> tuple[bool, int, str]:
    """Sort key of a run's checkpoints: by epoch, models without one (pretrained) last."""
    return (meta.epoch is None, meta.epoch or 0, meta.name)


def run_of(name: str) -> str:
    return name.rsplit("/", 1)[0] if "/" in name else "."


def _epoch_from_name(name: str) -> int | None:
    m = _EPOCH_IN_NAME.search(name.rsplit("/", 1)[-1])
    return int(m.group(1)) if m else None


def check_name(name: str, *, what: str = "checkpoint") -> list[str]:
    """The ``/``-separated parts of a request's name, or ``UnknownCheckpoint`` (``UnknownRun``) if it
    could point anywhere odd."""
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
        raise (UnknownRun if what == "run" else UnknownCheckpoint)(
            f"There is no {what} named {name!r}; GET /api/checkpoints lists them."
        )
    return parts


class CheckpointRegistry:
    """The checkpoint directory: safe name resolution and a cached listing."""

    def __init__(
        self,
        root: Path,
        hf_models: Sequence[Path] = (),
        hf_loader: Callable[[Path], HFModel] | None = None,
        limits: CheckpointLimits = DEFAULT_LIMITS,
    ) -> None:
        self.root = Path(root).expanduser().resolve()
        self.shown_root = display_dir(Path(root).expanduser())
        self.limits = limits
        self._meta: dict[str, CheckpointMeta] = {}
        self.skipped: list[dict[str, str]] = []  # entries the last walk did not list, with the reason
        self._lock = threading.Lock()
        # hf:<dirname> -> directory, as configured (trusted by the admin; first of equal names wins)
        self.hf_configured: dict[str, Path] = {}
        for p in hf_models:
            name = HF_PREFIX + Path(p).expanduser().resolve().name
            if name in self.hf_configured:
                log.warning("ignoring %s: %s is already %s", p, name, self.hf_configured[name])
                continue
            self.hf_configured[name] = Path(p).expanduser().resolve()
        # loads a model directory (the app passes its model cache, so listing warms it)
        self.hf_loader = hf_loader

    # ---- names --------------------------------------------------------------------------------

    def resolve(self, name: str) -> Path:
        """The file a checkpoint name refers to; ``UnknownCheckpoint`` for anything that is not
        a ``.pt`` file inside the checkpoint directory (checked before the file is opened)."""
        parts = check_name(name)
        not_found = UnknownCheckpoint(f"There is no checkpoint named {name!r}; GET /api/checkpoints lists them.")
        if not parts[-1].endswith(SUFFIX):
            raise not_found
        try:
            path = self.root.joinpath(*parts).resolve(strict=True)
        except (OSError, RuntimeError, ValueError):  # missing, symlink loop, odd bytes
            raise not_found from None
        if not path.is_relative_to(self.root) or not path.is_file():
            raise not_found
        return path

    def resolve_model(self, name: str) -> tuple[ModelKind, Path]:
        """``("toy", file)`` for a checkpoint name, ``("huggingface", directory)`` for a model
        directory inside the checkpoint directory or a configured ``hf:<dirname>``; ``UnknownCheckpoint`` otherwise."""
        not_found = UnknownCheckpoint(f"There is no checkpoint or model named {name!r}; GET /api/checkpoints lists them.")
        if name.startswith(HF_PREFIX):
            configured = self.hf_configured.get(name)
            if configured is None:
                raise not_found
            return "huggingface", configured
        parts = check_name(name)
        if parts[-1].endswith(SUFFIX):
            return "toy", self.resolve(name)
        try:
            path = self.root.joinpath(*parts).resolve(strict=True)
        except (OSError, RuntimeError, ValueError):
            raise not_found from None
        if not path.is_relative_to(self.root) or path == self.root or not looks_like_hf_model(path):
            raise not_found
        return "huggingface", path

    # ---- listing --------------------------------------------------------------------------------

    def _walk(self) -> list[tuple[str, Path]]:
        """Checkpoint files, then Hugging Face model directories (found inside, then configured)."""
        found: list[tuple[str, Path]] = []
        hf_found: list[tuple[str, Path]] = []
        skipped: list[dict[str, str]] = []
        if self.root.is_dir():
            self._walk_root(found, hf_found, skipped)
        self.skipped = skipped
        return found + hf_found + sorted(self.hf_configured.items())

    def _skip_reason(self, name: str) -> str:
        """Why ``name`` (a ``.pt`` entry that does not resolve to a regular file inside the root) is not served."""
        entry = self.root / name
        try:
            if entry.is_symlink():
                target = entry.resolve()
                if not target.exists():
                    return "a symbolic link to nothing (dangling)"
                if not target.is_relative_to(self.root):
                    return "a symbolic link out of the checkpoint directory (never followed)"
            st = entry.stat()
        except OSError as exc:
            return f"cannot be read: {exc.strerror or type(exc).__name__}"
        except RuntimeError:
            return "a symbolic link loop"
        if stat.S_ISFIFO(st.st_mode):
            return "a FIFO (named pipe), not a regular file"
        return "not a regular file"

    def _walk_root(self, found: list[tuple[str, Path]], hf_found: list[tuple[str, Path]], skipped: list[dict[str, str]]) -> None:
        def onerror(exc: OSError) -> None:
            where = Path(exc.filename).relative_to(self.root).as_posix() if exc.filename else "."
            skipped.append({"name": where, "reason": f"directory cannot be read: {exc.strerror or type(exc).__name__}"})

        for dirpath, dirnames, filenames in os.walk(self.root, onerror=onerror):
            rel = Path(dirpath).relative_to(self.root)
            depth = 0 if rel == Path(".") else len(rel.parts)
            if depth > 0 and looks_like_hf_model(dirpath):
                dirnames[:] = []  # a model directory: listed as one model, not searched further
                name = rel.as_posix()
                try:
                    hf_found.append((name, self.resolve_model(name)[1]))
                except UnknownCheckpoint:
                    log.warning("ignoring %s: it does not resolve to a directory inside %s", name, self.root)
                continue
            # a run's snapshots/ are stepped through in its timeline, not listed as a run of their own
            keep = [d for d in dirnames if not d.startswith(".") and not (depth > 0 and d == SNAPSHOT_DIR)]
            dirnames[:] = sorted(keep) if depth < MAX_DEPTH else []
            for fname in sorted(filenames):
                name = fname if depth == 0 else f"{rel.as_posix()}/{fname}"
                if fname.startswith(".") and fname.endswith(TEMP_SUFFIX) and SUFFIX in fname:
                    skipped.append(
                        {"name": name, "reason": "a temporary file of a save in progress, or left by one that was killed"}
                    )
                    continue
                if fname.startswith(".") or not fname.endswith(SUFFIX):
                    continue
                try:
                    found.append((name, self.resolve(name)))
                except UnknownCheckpoint:  # a symlink out of the directory, a dangling one, a FIFO
                    skipped.append({"name": name, "reason": self._skip_reason(name)})

    def _describe_hf(self, name: str, path: Path, key: FileKey) -> CheckpointMeta:
        family: Family = "encoder"

        def unusable(reason: str) -> CheckpointMeta:
            return CheckpointMeta(
                name,
                name,
                path,
                key,
                None,
                usable=False,
                error=reason,
                kind="huggingface",
                family=family,
                supports=(),
            )

        if not hf_available():
            return unusable(INSTALL_HF)
        try:
            family = detect_family(read_hf_config(path))  # type: ignore[assignment]  # cheap checks first
            encoder = self.hf_loader(path) if self.hf_loader is not None else None
        except HFModelError as exc:
            return unusable(exc.reason)
        except Exception as exc:  # never let one bad directory break the listing
            return unusable(f"cannot be loaded: {exc}")
        return CheckpointMeta(
            name,
            name,
            path,
            key,
            epoch=None,
            usable=True,
            config=hf_listing_config(encoder) if encoder is not None else None,
            kind="huggingface",
            family=family,
            supports=tuple(encoder.supports) if encoder is not None else FAMILY_SUPPORTS[family],  # type: ignore[arg-type]
        )

    def _describe(self, name: str, path: Path, key: FileKey) -> CheckpointMeta:
        if name.startswith(HF_PREFIX) or path.is_dir():
            return self._describe_hf(name, path, key)
        run = run_of(name)
        try:
            ckpt = load_checkpoint(path, self.limits)
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
            family=toy_family(ckpt.arch),
            supports=FAMILY_SUPPORTS[toy_family(ckpt.arch)],
        )

    def refresh(self) -> list[CheckpointMeta]:
        """Walk the directory; (re)read only files whose identity (:func:`file_key`) changed."""
        with self._lock:
            fresh: dict[str, CheckpointMeta] = {}
            for name, path in self._walk():
                is_hf = name.startswith(HF_PREFIX) or path.is_dir()
                try:
                    key = hf_dir_key(path) if is_hf else file_key(path)
                except OSError:
                    if not name.startswith(HF_PREFIX):
                        continue
                    key = (0, 0)  # a configured directory that is missing or empty: listed unusable
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
        # toy runs by name, then pretrained models by name
        for run in sorted(runs, key=lambda r: (runs[r][0].kind != "toy", r)):
            metas = sorted(runs[run], key=by_epoch)
            tasks = {m.task for m in metas if m.usable}
            out.append(
                {
                    "name": run,
                    "kind": metas[0].kind,
                    "family": metas[0].family,
                    "task": tasks.pop() if len(tasks) == 1 else None,
                    "checkpoints": [m.to_dict(max_text_len_setting) for m in metas],
                }
            )
        return {"checkpoint_dir": self.shown_root, "runs": out, "skipped": list(self.skipped)}

    def run_checkpoints(self, run: str) -> list[CheckpointMeta]:
        """The checkpoints of one run, sorted by epoch; ``UnknownRun`` if it has none."""
        if not run.startswith(HF_PREFIX):
            check_name(run, what="run")
        metas = sorted((m for m in self.refresh() if m.run == run), key=by_epoch)
        if not metas:
            raise UnknownRun(f"There is no run named {run!r}; GET /api/checkpoints lists them.")
        return metas

    def count(self) -> int:
        return len(self._walk())
