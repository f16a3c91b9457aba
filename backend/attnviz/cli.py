"""The ``attnviz`` command::

attnviz serve [--host H] [--port P] [--checkpoints DIR]   # the API and the web visualizer
attnviz train ...                                          # = python -m attnviz.train ...
attnviz export ...                                         # = python -m attnviz.export_attention_json ...
"""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "train":
        from .train import main as train_main

        return train_main(argv[1:])
    if argv and argv[0] == "export":
        from .export_attention_json import main as export_main

        return export_main(argv[1:])
    from .server.__main__ import add_serve_arguments, serve

    parser = argparse.ArgumentParser(prog="attnviz", description="attnviz: a small Transformer and its attention, visualized.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="{serve,train,export}")
    serve_parser = sub.add_parser("serve", help="serve the API and the web visualizer")
    add_serve_arguments(serve_parser)
    sub.add_parser("train", help="train a model (python -m attnviz.train; see attnviz train --help)", add_help=False)
    sub.add_parser("export", help="write an attention document (see attnviz export --help)", add_help=False)
    args = parser.parse_args(argv)
    return serve(args)


if __name__ == "__main__":
    raise SystemExit(main())
