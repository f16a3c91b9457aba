"""Files written whole or not at all: into a temporary file beside the target, flushed to disk,
then renamed over it. A reader (the service's listing, a browser opening the file) never sees a
half-written file, and a killed writer leaves only a ``.<name>.*.tmp`` that the trainer cleans up."""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any


def _current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextmanager
def atomic_file(path: str | os.PathLike[str], mode: str = "wb", **open_args: Any) -> Iterator[IO[Any]]:
    """Open a temporary file for ``path``; when the block ends without an error, it replaces
    ``path``; on an error it is removed and ``path`` is untouched."""
    target = Path(path)
    if target.is_dir():  # else the rename at the end fails, naming the temporary file instead
        raise IsADirectoryError(errno.EISDIR, "is a directory; give a file name", str(target))
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, mode, **open_args) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        # mkstemp creates 0600; give the file the mode open() would (0644 under umask 022), so a run
        # trained on the host is readable by the classroom container's user through the mount
        os.chmod(tmp, 0o666 & ~_current_umask())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text_atomic(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_file(path, "w", encoding="utf-8") as f:
        f.write(text)
    return Path(path)
