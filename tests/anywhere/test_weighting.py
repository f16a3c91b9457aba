"""``attnviz.document_from(..., value_norms=...)``: a value-weighted document (α_ij · ‖v_j W^O_h‖,
rows renormalised) computed against numpy by hand, passed through ``save_html``; bad norms are
named errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from playwright.sync_api import expect

import attnviz
from attnviz.anywhere import AttentionInputError
from attnviz.encoding import decode_weights

from .test_html_file import assert_only_the_file, open_file


def test_value_norms_of_a_gpt2_like_stack_weigh_each_key() -> None:
    rng = np.random.default_rng(1)
    w = rng.random((2, 3, 4, 4)) * np.tril(np.ones((4, 4)))
    w /= w.sum(-1, keepdims=True)
    norms = rng.random((2, 3, 4)) + 0.1
    norms[0, 0, 0] = 0.0  # a sink whose value moves nothing
    doc = attnviz.document_from(torch.tensor(w), list("abcd"), kind="decoder_self", value_norms=torch.tensor(norms))
    assert doc["weighting"] == "value_norm"
    got = decode_weights(doc["attentions"]["decoder_self"]).astype(np.float64)
    for layer in range(2):
        for head in range(3):
            for i in range(4):
                row = [w[layer, head, i, j] * norms[layer, head, j] for j in range(4)]
                total = sum(row)
                want = [x / total if total > 0 else 0.0 for x in row]
                np.testing.assert_allclose(got[layer, head, i], want, atol=1e-3)
    assert np.all(got[0, 0, 0] == 0.0)  # query 0 sees only key 0, whose norm is 0: a row of zeros
    np.testing.assert_allclose(got[1].sum(-1), 1.0, atol=2e-3)
    assert attnviz.document_from(w, list("abcd"))["weighting"] == "attention"


def test_per_kind_mapping_and_per_layer_lists() -> None:
    enc = np.full((1, 2, 3, 3), 1 / 3)
    cross = np.full((1, 2, 2, 3), 1 / 3)
    n = [np.array([[1.0, 2.0, 1.0], [1.0, 1.0, 2.0]])]  # one layer: [heads, keys]
    doc = attnviz.document_from(encoder_self=enc, cross=cross, tokens=list("abc"), tgt_tokens=list("xy"),
                                value_norms={"encoder_self": n, "cross": n})  # fmt: skip
    np.testing.assert_allclose(decode_weights(doc["attentions"]["cross"])[0, 0, 1], [0.25, 0.5, 0.25], atol=1e-3)
    with pytest.raises(AttentionInputError, match="mapping of kind"):
        attnviz.document_from(encoder_self=enc, cross=cross, value_norms=n)
    with pytest.raises(AttentionInputError, match=r"value_norms\['encoder_self'\] has shape \[1, 2, 2\]"):
        attnviz.document_from(encoder_self=enc, value_norms={"encoder_self": np.ones((1, 2, 2))})
    with pytest.raises(AttentionInputError, match="decoder_self, which the weights do not hold"):
        attnviz.document_from(encoder_self=enc, value_norms={"decoder_self": np.ones((1, 2, 3))})
    with pytest.raises(AttentionInputError, match="finite numbers"):
        attnviz.document_from(enc, value_norms=-np.ones((1, 2, 3)))


def test_save_html_holds_the_value_weighted_document(single_file_build: Path, tmp_path: Path) -> None:
    w = np.full((1, 1, 2, 2), 0.5)
    path = attnviz.save_html(w, tmp_path / "v.html", ["a", "b"], value_norms=np.array([[[1.0, 3.0]]]))
    html = path.read_text(encoding="utf-8")
    assert '"weighting":"value_norm"' in html


def test_a_saved_file_offers_only_the_weighting_it_holds(single_file_build: Path, tmp_path: Path, new_tab: Any) -> None:
    """No server: the file's value-weighted document is shown and named, the other weighting is not offered."""
    rng = np.random.default_rng(2)
    w = rng.random((1, 2, 3, 3))
    w /= w.sum(-1, keepdims=True)
    path = attnviz.save_html(w, tmp_path / "v.html", ["a", "b", "c"], value_norms=rng.random((1, 2, 3)) + 0.1)
    tab = new_tab()
    open_file(tab, path)
    page = tab.page
    expect(page.locator("[data-view=heatmap] h2")).to_have_text("Layer 0 · Head 0 · value-weighted")
    expect(page.get_by_test_id("weighting-value_norm")).to_be_visible()
    expect(page.get_by_test_id("weighting-value_norm")).to_have_attribute("aria-checked", "true")
    expect(page.get_by_test_id("weighting-attention")).to_be_hidden()
    assert_only_the_file(tab, path)
