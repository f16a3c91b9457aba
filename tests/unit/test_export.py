"""The attention document (schema version 1): shape, numbers, compact encodings, CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest

from attnviz.checkpoint import Checkpoint
from attnviz.document import KINDS
from attnviz.encoding import decode_document, decode_weights, encode_weights
from attnviz.export_attention_json import build_document, main

from ..conftest import TinyRun


def assert_schema_v1(doc: dict[str, Any]) -> None:
    """A hand-written validator of the attention document, schema version 1 (docs/api.md; JSON encoding)."""
    assert doc["schema_version"] == 1
    assert isinstance(doc["checkpoint"], str)
    model = doc["model"]
    assert {"task", "epoch", "n_layers", "n_heads", "d_model"} <= set(model)
    assert all(isinstance(model[k], int) for k in ("epoch", "n_layers", "n_heads", "d_model"))
    assert isinstance(doc["input"], str) and isinstance(doc["output"], str)
    src, tgt = doc["tokens"]["src"], doc["tokens"]["tgt"]
    assert all(isinstance(t, str) for t in src + tgt)
    assert isinstance(doc["warnings"], list) and all(isinstance(w, str) for w in doc["warnings"])
    shapes = {"encoder_self": (len(src), len(src)), "decoder_self": (len(tgt), len(tgt)), "cross": (len(tgt), len(src))}
    assert set(doc["attentions"]) <= set(KINDS) and "encoder_self" in doc["attentions"]
    for kind, layers in doc["attentions"].items():
        assert isinstance(layers, list) and len(layers) == model["n_layers"]
        for heads in layers:
            assert len(heads) == model["n_heads"]
            for matrix in heads:
                assert (len(matrix), len(matrix[0])) == shapes[kind]
                assert all(isinstance(x, float | int) for row in matrix for x in row)


def test_document_matches_the_schema(tiny_doc: dict[str, Any]) -> None:
    assert_schema_v1(tiny_doc)
    assert tiny_doc["input"] == "hello" and tiny_doc["expected"] == "hello"
    assert tiny_doc["tokens"]["src"] == ["h", "e", "l", "l", "o", "<eos>"]
    assert tiny_doc["tokens"]["tgt"][0] == "<bos>"
    json.dumps(tiny_doc)  # plain JSON types only


def test_rows_sum_to_one_within_rounding(tiny_doc: dict[str, Any]) -> None:
    for kind in KINDS:
        weights = np.asarray(tiny_doc["attentions"][kind])  # (L, H, T_q, T_k)
        assert np.allclose(weights.sum(-1), 1.0, atol=weights.shape[-1] * 0.5e-4 + 1e-9)
    causal = np.asarray(tiny_doc["attentions"]["decoder_self"])
    assert np.all(np.triu(causal, k=1) == 0)


def test_seed_style_access(tiny_doc: dict[str, Any]) -> None:
    matrix = tiny_doc["attentions"]["encoder_self"][0][0]
    assert isinstance(matrix, list) and isinstance(matrix[0], list) and isinstance(matrix[0][0], float)


@pytest.mark.parametrize("precision", [2, 4])
def test_no_float32_noise(tiny_ckpt: Checkpoint, precision: int) -> None:
    doc = build_document(tiny_ckpt, "abcabc", precision=precision)
    text = json.dumps(doc["attentions"])
    numbers = re.findall(r"-?\d+(?:\.\d+)?(?:e-?\d+)?", text)
    assert numbers
    for number in numbers:
        assert "e" not in number, number
        decimals = number.split(".")[1] if "." in number else ""
        assert len(decimals) <= precision, number


@pytest.mark.parametrize("precision", [2, 4, 6])
def test_json_as_array_serialises_to_the_same_bytes(tiny_ckpt: Checkpoint, precision: int) -> None:
    """The service's fast path (rounded float64 arrays through orjson) = the nested lists."""
    doc = build_document(tiny_ckpt, "abcabca", precision=8)
    weights = {k: np.asarray(v, dtype=np.float32) for k, v in doc["attentions"].items()}
    weights["encoder_self"][0, 0, 0, :2] = [1e-9, 0.123456789]  # tiny and long values too
    lists = {k: encode_weights(weights[k], "json", precision) for k in weights}
    arrays = {k: encode_weights(weights[k], "json", precision, json_as_array=True) for k in weights}
    assert all(isinstance(a, np.ndarray) for a in arrays.values())
    assert orjson.dumps(arrays, option=orjson.OPT_SERIALIZE_NUMPY) == orjson.dumps(lists)


# uint8: a step of 2·sqrt(w)/255 plus the error carried along the row
@pytest.mark.parametrize(("encoding", "tolerance"), [("float16", 1e-3), ("uint8", 0.005)])
def test_compact_encodings_decode_to_the_json_weights(tiny_ckpt: Checkpoint, encoding: str, tolerance: float) -> None:
    exact = build_document(tiny_ckpt, "abcd", precision=8)
    compact = build_document(tiny_ckpt, "abcd", encoding=encoding)  # type: ignore[arg-type]
    for kind in KINDS:
        obj = compact["attentions"][kind]
        assert obj["dtype"] == encoding and obj["shape"] == list(np.asarray(exact["attentions"][kind]).shape)
        assert np.abs(decode_weights(obj) - np.asarray(exact["attentions"][kind])).max() <= tolerance
    decoded = decode_document(compact)
    assert decoded["encoding"] == "json"
    assert_schema_v1(decoded)


def test_cli_writes_a_document(tiny_run: TinyRun, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "attention.json"
    assert main(["--checkpoint", str(tiny_run.last), "--out", str(out), "--text", "abc"]) == 0
    doc = json.loads(out.read_text())
    assert_schema_v1(doc)
    assert "wrote" in capsys.readouterr().out
    # the name the service lists the file under (checkpoint dir = the run directory's parent)
    assert doc["checkpoint"] == f"{tiny_run.last.parent.name}/{tiny_run.last.name}"
    assert main(["--checkpoint", str(tiny_run.last), "--out", str(out), "--text", "abc", "--name", "mine/e1.pt"]) == 0
    assert json.loads(out.read_text())["checkpoint"] == "mine/e1.pt"


def test_cli_errors(tiny_run: TinyRun, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "x.json"
    assert main(["--checkpoint", str(tiny_run.last), "--out", str(out), "--text", "héllo"]) == 2
    assert "'é' at position 1" in capsys.readouterr().err
    assert main(["--checkpoint", str(tmp_path / "none.pt"), "--out", str(out)]) == 2
    assert "no such file" in capsys.readouterr().err
    assert not out.exists()
