"""Head ablation: the model with a head switched off (head_mask) equals a copy whose W^O ignores
that head (its d_k input columns zeroed by hand), for every kind."""

from __future__ import annotations

import copy

import pytest
import torch

from attnviz.checkpoint import Checkpoint
from attnviz.document import KINDS
from attnviz.inference import parse_head_masks, run_attention
from attnviz.model import SmallTransformer

from ._tiny import train_tiny

TEXT = "abcab"


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory: pytest.TempPathFactory) -> Checkpoint:
    return train_tiny(tmp_path_factory.mktemp("ablate") / "copy")


def zero_head_by_hand(model: SmallTransformer, kind: str, layer: int, head: int) -> SmallTransformer:
    ref = copy.deepcopy(model)
    d_k = ref.config.d_k
    with torch.no_grad():
        ref.attention_module(kind, layer).w_o.weight[:, head * d_k : (head + 1) * d_k] = 0.0
    return ref


@pytest.mark.parametrize("kind", KINDS)
def test_ablated_logits_equal_the_hand_zeroed_model(ckpt: Checkpoint, kind: str) -> None:
    model = ckpt.build_model().eval()
    src = torch.tensor([ckpt.vocab.encode(TEXT, add_eos=True)])
    tgt = torch.tensor([[ckpt.vocab.bos_id, *ckpt.vocab.encode(TEXT)]])
    with torch.no_grad():
        full, _ = model(src, tgt)
        for layer, head in [(0, 1), (1, 0)]:
            ablated, attn = model(src, tgt, parse_head_masks(model, [(kind, layer, head)]))
            reference, _ = zero_head_by_hand(model, kind, layer, head).eval()(src, tgt)
            torch.testing.assert_close(ablated, reference, atol=1e-5, rtol=0)
            assert not torch.allclose(ablated, full, atol=1e-4)  # the head mattered
            assert float(attn[kind][layer][0, head].abs().sum()) == 0.0  # its weights are shown as zero
            other = 1 - head
            assert float(attn[kind][layer][0, other].sum()) > 0


def test_run_attention_decodes_with_the_ablated_model(ckpt: Checkpoint) -> None:
    model = ckpt.build_model()
    ablate = [("cross", 1, 0), ("encoder_self", 0, 1)]
    res = run_attention(model, ckpt.vocab, TEXT, ablate=ablate)
    ref = zero_head_by_hand(zero_head_by_hand(model, "cross", 1, 0), "encoder_self", 0, 1)
    ref_res = run_attention(ref, ckpt.vocab, TEXT)
    assert res.output == ref_res.output and res.tgt_ids == ref_res.tgt_ids
    torch.testing.assert_close(res.logits, ref_res.logits, atol=1e-5, rtol=0)
    assert float(res.attentions["cross"][1, 0].abs().sum()) == 0.0
    with pytest.raises(ValueError, match=r"no head 0\.5"):
        run_attention(model, ckpt.vocab, TEXT, ablate=[("cross", 0, 5)])
