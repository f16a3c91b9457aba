"""The induction head forms: the trainer's defaults for ``--task induction`` (a fixed seed), trained
once for the session (about a minute on a busy 2-core machine), reach the in-context accuracy and
head scores the README promises, and switching the induction heads off breaks in-context copying."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from attnviz.checkpoint import Checkpoint, load_checkpoint
from attnviz.induction import evaluate_induction, heldout_batch
from attnviz.model import HeadMasks, SmallDecoder
from attnviz.train import TrainConfig, train

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def induction_ckpt(tmp_path_factory: pytest.TempPathFactory) -> Checkpoint:
    root = tmp_path_factory.mktemp("induction-defaults")
    cfg = TrainConfig.for_task("induction", save_dir=str(root))
    train(cfg, progress=False)
    torch.set_num_threads(1)
    return load_checkpoint(Path(root) / f"ckpt_epoch{cfg.epochs}.pt")


def heads_off(model: SmallDecoder, layer: int, heads: list[int]) -> HeadMasks:
    c = model.config
    vec = torch.ones(c.n_heads)
    vec[heads] = 0.0
    per_layer: list[torch.Tensor | None] = [None] * c.n_layers
    per_layer[layer] = vec
    return {"decoder_self": per_layer}


def test_defaults_form_a_previous_token_head_and_an_induction_head(induction_ckpt: Checkpoint) -> None:
    model = induction_ckpt.build_model()
    assert isinstance(model, SmallDecoder)
    batch = heldout_batch(induction_ckpt.vocab, 512, seed=4242)  # held out: a seed the trainer never uses
    r = evaluate_induction(model, batch)
    induction = r["induction"]
    previous = r["previous_token"]
    assert isinstance(induction, list) and isinstance(previous, list)
    assert r["in_context_accuracy"] >= 0.80, r
    assert max(induction[1]) >= 0.4, induction  # a layer-2 induction head
    assert max(previous[0]) >= 0.4, previous  # a layer-1 previous-token head
    assert max(induction[0]) < 0.2  # layer 1 cannot do it alone: it has no shifted keys to match
    assert induction_ckpt.metrics["in_context_accuracy"] >= 0.80  # the recorded metric agrees


def test_switching_the_induction_heads_off_breaks_in_context_copying(induction_ckpt: Checkpoint) -> None:
    model = induction_ckpt.build_model()
    assert isinstance(model, SmallDecoder)
    batch = heldout_batch(induction_ckpt.vocab, 512, seed=4242)
    base = evaluate_induction(model, batch)
    accuracy = float(base["in_context_accuracy"])  # type: ignore[arg-type]
    scores: list[float] = base["induction"][1]  # type: ignore[index]
    best = max(range(len(scores)), key=scores.__getitem__)
    one = float(evaluate_induction(model, batch, heads_off(model, 1, [best]))["in_context_accuracy"])  # type: ignore[arg-type]
    assert one < accuracy - 0.02  # the best induction head matters on its own
    inductive = [h for h, s in enumerate(scores) if s >= 0.4]
    all_off = float(evaluate_induction(model, batch, heads_off(model, 1, inductive))["in_context_accuracy"])  # type: ignore[arg-type]
    assert all_off <= accuracy - 0.40, (accuracy, one, all_off)  # the induction heads together: toward chance
    prev_scores: list[float] = base["previous_token"][0]  # type: ignore[index]
    previous = [h for h, s in enumerate(prev_scores) if s >= 0.3]
    prev_off = float(evaluate_induction(model, batch, heads_off(model, 0, previous))["in_context_accuracy"])  # type: ignore[arg-type]
    assert prev_off <= accuracy - 0.40, (accuracy, prev_off)  # and the previous-token heads feeding them
