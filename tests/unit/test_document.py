"""One document module: every producer writes the same envelope, and the one check every reader
runs catches what the readers rely on."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from attnviz.anywhere import AttentionInputError, document_from
from attnviz.document import FIELDS, KINDS, SCHEMA_VERSION, DocumentError, check, sides
from attnviz.encoding import encode_weights
from attnviz.visualize import AttentionDocumentError, validate_document


def uniform(layers: int, heads: int, q: int, k: int) -> np.ndarray:
    return np.full((layers, heads, q, k), 1.0 / k, dtype=np.float32)


def test_the_toy_export_and_document_from_write_the_same_envelope(tiny_doc: dict[str, Any]) -> None:
    given = document_from(uniform(1, 2, 3, 3), tokens=["a", "b", "c"])
    for doc in (tiny_doc, given):
        assert doc["schema_version"] == SCHEMA_VERSION
        assert list(doc)[: len(FIELDS)] == list(FIELDS)
        assert check(doc) == doc
        assert set(doc["attentions"]) <= set(KINDS)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"schema_version": None}, "no schema_version"),
        ({"schema_version": 2}, "schema_version 2 is not supported"),
        ({"tokens": ["a"]}, "needs a 'tokens' and an 'attentions' object"),
        ({"attentions": {}}, "holds no attention weights"),
        ({"attentions": {"encoder_self": {"dtype": "float16", "shape": [1, 1, 2, 2], "data": "!!"}}}, "cannot be decoded"),
        (
            {"attentions": {"encoder_self": encode_weights(uniform(1, 2, 2, 2), "float16", 4)}},
            r"shape \[1, 2, 2, 2\] but the tokens need \[layers, heads, 3, 3\]",
        ),
    ],
)
def test_one_check_says_what_is_wrong_for_every_reader(change: dict[str, Any], message: str) -> None:
    doc = {**document_from(uniform(1, 2, 3, 3), tokens=["a", "b", "c"]), **change}
    if change.get("schema_version", 0) is None:
        del doc["schema_version"]
    with pytest.raises(DocumentError, match=message):
        check(doc, "mine.json")
    # the notebook layer and the plotting helpers raise their own kinds of the same error (a dict
    # with no schema_version is not taken for a document by document_from, which says so otherwise)
    if "schema_version" in doc:
        with pytest.raises(AttentionInputError, match=message):
            document_from(doc)
    with pytest.raises(AttentionDocumentError, match=message):
        validate_document(doc)


def test_sides_name_each_kinds_queries_and_keys() -> None:
    got = sides({"src": ["a", "b"], "tgt": ["x"]})
    assert got == {"encoder_self": (["a", "b"], ["a", "b"]), "decoder_self": (["x"], ["x"]), "cross": (["x"], ["a", "b"])}
    assert tuple(got) == KINDS
