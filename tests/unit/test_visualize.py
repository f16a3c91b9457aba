"""Plots: PNGs are written, errors are clear, the CLI exits with the right codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pytest

from attnviz.checkpoint import Checkpoint
from attnviz.export_attention_json import build_document
from attnviz.visualize import AttentionDocumentError, load_attention_json, main, plot_attention_matrix, plot_heads

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def write(tmp_path: Path, doc: dict[str, Any], name: str = "doc.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return path


def assert_png(path: Path) -> None:
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC and len(data) > 5000


def test_load_accepts_json_and_compact(tiny_ckpt: Checkpoint, tiny_doc: dict[str, Any], tmp_path: Path) -> None:
    plain = load_attention_json(write(tmp_path, tiny_doc))
    compact = load_attention_json(write(tmp_path, build_document(tiny_ckpt, "hello", encoding="uint8"), "c.json"))
    for kind in plain["attentions"]:  # uint8: ±0.005
        assert np.abs(np.asarray(plain["attentions"][kind]) - np.asarray(compact["attentions"][kind])).max() < 5e-3


def test_load_rejects_other_versions_and_files(tiny_doc: dict[str, Any], tmp_path: Path) -> None:
    with pytest.raises(AttentionDocumentError, match="schema_version 2 is not supported"):
        load_attention_json(write(tmp_path, {**tiny_doc, "schema_version": 2}))
    with pytest.raises(AttentionDocumentError, match="no schema_version"):
        load_attention_json(write(tmp_path, {"hello": 1}))
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(AttentionDocumentError, match="not valid JSON"):
        load_attention_json(tmp_path / "bad.json")


def test_plot_functions_return_axes_and_figures(tiny_doc: dict[str, Any]) -> None:
    ax = plot_attention_matrix(tiny_doc["attentions"]["cross"][0][0], title="t", x_tokens=["a"] * 6, y_tokens=["b"] * 6)
    assert ax.get_title() == "t" and len(ax.images) == 1
    fig = plot_heads(tiny_doc, "encoder_self", 1)
    assert sum(a.get_visible() and bool(a.images) for a in fig.axes) == tiny_doc["model"]["n_heads"]
    plt.close("all")
    with pytest.raises(AttentionDocumentError, match="layer 5 is out of range"):
        plot_heads(tiny_doc, "cross", 5)


def test_cli_writes_png(tiny_doc: dict[str, Any], tmp_path: Path) -> None:
    path = write(tmp_path, tiny_doc)
    assert main([str(path), "--kind", "cross", "--layer", "0", "--out", str(tmp_path / "cross.png")]) == 0
    assert_png(tmp_path / "cross.png")
    assert main([str(path), "--kind", "decoder_self", "--layer", "1", "--head", "2", "--out", str(tmp_path / "h.png")]) == 0
    assert_png(tmp_path / "h.png")


def test_cli_errors(tiny_doc: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, tiny_doc)
    out = tmp_path / "x.png"
    assert main([str(path), "--kind", "cross", "--layer", "2", "--out", str(out)]) == 2
    assert "layer 2 is out of range: cross has layers 0..1" in capsys.readouterr().err
    assert main([str(path), "--kind", "cross", "--head", "9", "--out", str(out)]) == 2
    assert "head 9 is out of range" in capsys.readouterr().err
    encoder_only = {**tiny_doc, "attentions": {"encoder_self": tiny_doc["attentions"]["encoder_self"]}}
    assert main([str(write(tmp_path, encoder_only, "enc.json")), "--kind", "cross", "--out", str(out)]) == 2
    assert "no 'cross' attention (an encoder-only model has no decoder kinds)" in capsys.readouterr().err
    assert main([str(tmp_path / "missing.json"), "--out", str(out)]) == 2
    assert "no such file" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main([str(path), "--kind", "sideways", "--out", str(out)])
    assert info.value.code == 2
    assert not out.exists()
