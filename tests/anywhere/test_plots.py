"""``plot_attention_matrix`` / ``plot_heads`` on anything ``document_from`` takes: the right
weights, token labels on both axes, and no label outside the saved figure."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from attnviz.anywhere import AttentionInputError
from attnviz.visualize import plot_attention_matrix, plot_heads


def softmax(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    w = np.random.default_rng(seed).random(shape) + 0.01
    return w / w.sum(-1, keepdims=True)


def labels_inside(fig: Figure, path: Path) -> None:
    """Every tick label lies inside the figure at the size the plot chose (saved as is, no tight bbox)."""
    fig.savefig(path)
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    width, height = fig.get_size_inches() * fig.dpi
    for ax in fig.axes:
        for label in [*ax.get_xticklabels(), *ax.get_yticklabels()]:
            if not label.get_text():
                continue
            box = label.get_window_extent(renderer)
            assert box.x0 >= -0.5 and box.x1 <= width + 0.5, (label.get_text(), box, width)
            assert box.y0 >= -0.5 and box.y1 <= height + 0.5, (label.get_text(), box, height)


def test_matrix_of_hugging_face_attentions_with_token_labels(tmp_path: Path) -> None:
    per_layer = [torch.tensor(softmax((1, 2, 4, 4), seed=i)) for i in range(2)]
    tokens = ["[CLS]", "attention", "##wise", "[SEP]"]
    ax = plot_attention_matrix(per_layer, tokens=tokens, layer=1, head=1)
    np.testing.assert_allclose(ax.images[0].get_array(), per_layer[1][0, 1].numpy(), atol=1e-3)
    assert [t.get_text() for t in ax.get_xticklabels()] == tokens
    assert [t.get_text() for t in ax.get_yticklabels()] == tokens
    assert ax.get_title() == "encoder self-attention, head 1.1"
    labels_inside(ax.figure, tmp_path / "m.png")  # type: ignore[arg-type]
    plt.close("all")


def test_plot_heads_of_a_long_sequence_keeps_every_label_inside(tmp_path: Path) -> None:
    n = 48
    tokens = [f"token{i}" for i in range(n)]
    fig = plot_heads(softmax((1, 4, n, n)), tokens=tokens)
    heads = [ax for ax in fig.axes if ax.images]
    assert len(heads) == 4
    assert [t.get_text() for t in heads[0].get_xticklabels()] == tokens
    labels_inside(fig, tmp_path / "heads.png")
    plt.close(fig)


def test_plot_heads_of_a_seq2seq_output_labels_queries_with_targets(tmp_path: Path) -> None:
    fig = plot_heads(
        None,
        "cross",
        0,
        encoder_self=softmax((1, 2, 3, 3)),
        cross=softmax((1, 2, 2, 3)),
        tokens=["a", "b", "c"],
        tgt_tokens=["x", "y"],
    )
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "c"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["x", "y"]
    plt.close(fig)


def test_plot_heads_still_takes_a_document(tiny_doc: dict[str, Any]) -> None:
    fig = plot_heads(tiny_doc, "encoder_self", 1)
    assert sum(1 for ax in fig.axes if ax.images) == tiny_doc["model"]["n_heads"]
    assert "copy epoch 3" in fig._suptitle.get_text()  # type: ignore[union-attr]
    plt.close(fig)


def test_bad_input_names_the_problem() -> None:
    with pytest.raises(AttentionInputError, match="tokens has 2 tokens"):
        plot_heads(softmax((1, 1, 3, 3)), tokens=["a", "b"])
    with pytest.raises(ValueError, match="x_tokens has 2 labels"):
        plot_attention_matrix(softmax((3, 3)), x_tokens=["a", "b"])
    plt.close("all")
