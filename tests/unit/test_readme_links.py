"""The README's formula-to-code table links each class at its line in model.py: keep them true."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINK = re.compile(r"\[`(\w+)`\]\((backend/attnviz/model\.py)#L(\d+)\)")


def test_formula_table_links_point_at_their_classes() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    links = LINK.findall(readme)
    names = {name for name, _, _ in links}
    assert {
        "ScaledDotProductAttention",
        "MultiHeadAttention",
        "FeedForward",
        "SmallTransformer",
        "PositionalEncoding",
        "EncoderLayer",
        "DecoderLayer",
    } <= names
    for name, path, line in links:
        source = (ROOT / path).read_text(encoding="utf-8").splitlines()
        assert source[int(line) - 1].startswith(f"class {name}("), (
            f"README links {name} to {path}#L{line}, but that line is {source[int(line) - 1]!r}; "
            f"it is at line {next((i + 1 for i, s in enumerate(source) if s.startswith(f'class {name}(')), '?')}"
        )
