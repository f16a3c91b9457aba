"""The ``attnviz`` command::

attnviz serve [--host H] [--port P] [--checkpoints DIR] [--device D] [--dtype T]   # the API and the web visualizer
attnviz demo [--checkpoints DIR] [--tasks T ...] [--epochs N]   # train the demo runs (= make demo)
attnviz train ...                                          # = python -m attnviz.train ...
attnviz export ...                                         # = python -m attnviz.export_attention_json ...
attnviz html --document DOC.json --out FILE.html           # one offline HTML file of a document
attnviz html --checkpoint NAME --text TEXT --out FILE.html [--checkpoints DIR] [--with timeline] [--with math]
attnviz --version
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
    if argv and argv[0] == "html":
        return html_main(argv[1:])
    if argv and argv[0] == "demo":
        return demo_main(argv[1:])
    from . import __version__
    from .server.__main__ import add_serve_arguments, serve

    parser = argparse.ArgumentParser(prog="attnviz", description="attnviz: a small Transformer and its attention, visualized.")
    parser.add_argument("--version", action="version", version=f"attnviz {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="{serve,demo,train,export,html}")
    serve_parser = sub.add_parser("serve", help="serve the API and the web visualizer")
    add_serve_arguments(serve_parser)
    sub.add_parser("demo", help="train the demo runs into --checkpoints DIR (see attnviz demo --help)", add_help=False)
    sub.add_parser("train", help="train a model (python -m attnviz.train; see attnviz train --help)", add_help=False)
    sub.add_parser("export", help="write an attention document (see attnviz export --help)", add_help=False)
    sub.add_parser("html", help="write one self-contained offline HTML file (see attnviz html --help)", add_help=False)
    args = parser.parse_args(argv)
    return serve(args)


def demo_main(argv: list[str]) -> int:
    """``attnviz demo``: the demo runs (``python -m attnviz.demo``), then the pretrained demo model
    when the ``hf`` extra is installed (``python -m attnviz.hf_demo``); what ``make demo`` runs."""
    from .demo import main as train_demo

    code = train_demo(argv, prog="attnviz demo")
    if code != 0:
        return code
    from .demo import checkpoint_dir
    from .hf_demo import install_minilm

    _, note = install_minilm(checkpoint_dir(argv))
    print(note)
    return 0


def html_main(argv: list[str]) -> int:
    """``attnviz html``: one self-contained HTML file (app + document) that opens from disk."""
    parser = argparse.ArgumentParser(
        prog="attnviz html",
        description="Write one self-contained HTML file (the visualizer and an attention document) that opens "
        "from disk with no server and no network.",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--document", help="an attention document (JSON, any encoding) to embed")
    source.add_argument("--checkpoint", help="a checkpoint name as the server lists it, e.g. copy/ckpt_epoch3.pt")
    parser.add_argument("--text", help="input text for --checkpoint")
    parser.add_argument(
        "--checkpoints", default="checkpoints", help="checkpoint directory for --checkpoint (default: checkpoints)"
    )
    parser.add_argument(
        "--with",
        dest="extras",
        action="append",
        choices=("timeline", "math"),
        default=[],
        help="also embed what a server view needs: the training timeline of the run, the math of every head (repeatable)",
    )
    parser.add_argument(
        "--device",
        choices=("auto", "cpu", "cuda", "mps"),
        default="auto",
        help="where a Hugging Face --checkpoint runs (default auto: a GPU when torch sees one)",
    )
    parser.add_argument(
        "--dtype", choices=("float32", "bfloat16", "float16"), default="float32", help="its precision (default float32)"
    )
    parser.add_argument("--out", required=True, help="HTML file to write")
    args = parser.parse_args(argv)

    from .anywhere import AttentionInputError, load_document
    from .atomic import write_text_atomic
    from .hf import DeviceUnavailableError
    from .html import FrontendNotBuiltError, render_html
    from .runtime.page import LessonError, checkpoint_page

    try:
        if args.document is not None:
            if args.text is not None or args.extras:
                parser.error("--text and --with go with --checkpoint (a document file already holds its text)")
            doc, data = load_document(args.document), None
        else:
            if not args.text:
                parser.error("--checkpoint needs --text")
            doc, data = checkpoint_page(
                args.checkpoint,
                args.text,
                args.checkpoints,
                with_timeline="timeline" in args.extras,
                with_math="math" in args.extras,
                device=args.device,
                dtype=args.dtype,
            )
        html = render_html(doc, data)
    except (AttentionInputError, LessonError, FrontendNotBuiltError, DeviceUnavailableError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        path = write_text_atomic(args.out, html)
    except OSError as exc:  # a directory, no permission, a full disk: the message names --out, not the temporary file
        print(f"error: cannot write {args.out}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    size = path.stat().st_size
    print(f"wrote {path} ({size / 1e6:.1f} MB): {doc.get('input', '')!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
