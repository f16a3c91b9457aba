"""``python -m attnviz.server [--host H] [--port P] [--checkpoints DIR] [--workers N]``: serve with uvicorn."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import Any

from pydantic import ValidationError

from .settings import Settings

log = logging.getLogger("attnviz.server")


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default=None, help="interface (default 127.0.0.1, or $ATTNVIZ_HOST)")
    parser.add_argument("--port", type=int, default=None, help="TCP port (default 8000, or $ATTNVIZ_PORT)")
    parser.add_argument(
        "--checkpoints", default=None, help="checkpoint directory (default ./checkpoints, or $ATTNVIZ_CHECKPOINT_DIR)"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="worker processes, each with its own model cache (default 1, or $ATTNVIZ_WORKERS)",
    )
    parser.add_argument(
        "--device",
        choices=("auto", "cpu", "cuda", "mps"),
        default=None,
        help="where Hugging Face models run (default auto: a GPU when torch sees one; or $ATTNVIZ_DEVICE)",
    )
    parser.add_argument(
        "--dtype",
        choices=("float32", "bfloat16", "float16"),
        default=None,
        help="precision of Hugging Face models on that device (default float32, or $ATTNVIZ_DTYPE)",
    )
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    parser.add_argument("--no-access-log", action="store_true", help="do not log every request")


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    from .app import create_app
    from .protocol import HeaderTimeoutH11Protocol

    overrides: dict[str, Any] = {}
    if args.host is not None:
        overrides["host"] = args.host
    if args.port is not None:
        overrides["port"] = args.port
    if args.checkpoints is not None:
        overrides["checkpoint_dir"] = args.checkpoints
    if getattr(args, "workers", None) is not None:
        overrides["workers"] = args.workers
    for name in ("device", "dtype"):
        if getattr(args, name, None) is not None:
            overrides[name] = getattr(args, name)
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:  # one line a setting, naming the variable, instead of a traceback
        for err in exc.errors():
            name = str(err["loc"][0]) if err["loc"] else "settings"
            print(f"error: ATTNVIZ_{name.upper()}: {err['msg']} (got {err.get('input')!r})", file=sys.stderr)
        return 2
    from ..hf import DeviceUnavailableError, resolve_device

    try:  # before serving: `--device cuda` on a machine without one is a one-line error, not a failed request later
        device = resolve_device(settings.device)
    except DeviceUnavailableError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s:     %(message)s")
    url = f"http://{settings.host}:{settings.port}"
    log.info("attnviz serving %s/ (API docs at %s/docs), checkpoints from %s", url, url, settings.checkpoint_dir)
    log.info("Hugging Face models run on %s in %s (--device %s)", device, settings.dtype, settings.device)
    log.info("front end from %s", settings.frontend_dist)
    HeaderTimeoutH11Protocol.timeout_headers = settings.timeout_headers
    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_level": args.log_level,
        "access_log": not args.no_access_log,
        "http": HeaderTimeoutH11Protocol,
        "timeout_keep_alive": settings.timeout_keep_alive,
    }
    if settings.workers > 1:
        # Worker processes import the app factory and read the settings from the environment.
        for key, value in overrides.items():
            os.environ[f"ATTNVIZ_{key.upper()}"] = str(value)
        uvicorn.run("attnviz.server.app:create_app", factory=True, workers=settings.workers, **options)
    else:
        uvicorn.run(create_app(settings), workers=1, **options)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m attnviz.server", description="Serve the attnviz API and web visualizer.")
    add_serve_arguments(parser)
    return serve(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
