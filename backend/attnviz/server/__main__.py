"""``python -m attnviz.server [--host H] [--port P] [--checkpoints DIR]``: serve with uvicorn."""

from __future__ import annotations

import argparse
import logging
from typing import Any

from .settings import Settings

log = logging.getLogger("attnviz.server")


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default=None, help="interface (default 127.0.0.1, or $ATTNVIZ_HOST)")
    parser.add_argument("--port", type=int, default=None, help="TCP port (default 8000, or $ATTNVIZ_PORT)")
    parser.add_argument(
        "--checkpoints", default=None, help="checkpoint directory (default ./checkpoints, or $ATTNVIZ_CHECKPOINT_DIR)"
    )
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    parser.add_argument("--no-access-log", action="store_true", help="do not log every request")


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    from .app import create_app

    overrides: dict[str, Any] = {}
    if args.host is not None:
        overrides["host"] = args.host
    if args.port is not None:
        overrides["port"] = args.port
    if args.checkpoints is not None:
        overrides["checkpoint_dir"] = args.checkpoints
    settings = Settings(**overrides)
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s:     %(message)s")
    app = create_app(settings)
    url = f"http://{settings.host}:{settings.port}"
    log.info("attnviz serving %s/ (API docs at %s/docs), checkpoints from %s", url, url, settings.checkpoint_dir)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=args.log_level,
        access_log=not args.no_access_log,
        workers=1,
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m attnviz.server", description="Serve the attnviz API and web visualizer.")
    add_serve_arguments(parser)
    return serve(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
