"""Write the service's OpenAPI schema (sorted keys, stable) for the front end's TypeScript types::

python -m attnviz.server.openapi --out docs/openapi.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from .app import create_app
from .settings import Settings


def schema_text() -> str:
    """The schema as it is committed: sorted keys, 2-space indent, trailing newline."""
    schema: dict[str, Any] = create_app(Settings()).openapi()
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m attnviz.server.openapi", description=__doc__)
    parser.add_argument("--out", default="-", help="file to write (default: stdout)")
    args = parser.parse_args(argv)
    text = schema_text()
    if args.out == "-":
        sys.stdout.write(text)
    else:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
