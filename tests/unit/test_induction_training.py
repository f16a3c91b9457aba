"""The induction head forms: the trainer's defaults for ``--task induction`` (a fixed seed), trained
once for the session (about a minute on a busy 2-core machine), reach the in-context accuracy and
head scores the README promises, and switching the one induction head off (or the previous-token
head feeding it) breaks in-context copying, measured here and through the page's ``ablate``."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from fastapi.testclient import TestClient

from attnviz.checkpoint import Checkpoint, load_checkpoint
from attnviz.induction import evaluate_induction, heldout_batch
from attnviz.model import HeadMasks, SmallDecoder
from attnviz.server import Settings, create_app
from attnviz.train import TrainConfig, train

pytestmark = pytest.mark.slow

RUN = "induction"


@pytest.fixture(scope="session")
def induction_ckpt(tmp_path_factory: pytest.TempPathFactory) -> Checkpoint:
    root = tmp_path_factory.mktemp("induction-defaults")
    cfg = TrainConfig.for_task("induction", save_dir=str(root / RUN))
    train(cfg, progress=False)
    torch.set_num_threads(1)
    return load_checkpoint(root / RUN / f"ckpt_epoch{cfg.epochs}.pt")


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


def test_switching_the_induction_head_off_drops_copying_toward_chance(induction_ckpt: Checkpoint) -> None:
    model = induction_ckpt.build_model()
    assert isinstance(model, SmallDecoder)
    batch = heldout_batch(induction_ckpt.vocab, 512, seed=4242)
    base = evaluate_induction(model, batch)
    accuracy = float(base["in_context_accuracy"])  # type: ignore[arg-type]
    chance = 1 / 26
    scores: list[float] = base["induction"][1]  # type: ignore[index]
    best = max(range(len(scores)), key=scores.__getitem__)
    assert scores[best] >= 0.4
    one = float(evaluate_induction(model, batch, heads_off(model, 1, [best]))["in_context_accuracy"])  # type: ignore[arg-type]
    assert one <= accuracy - 0.40, (accuracy, one)  # that one head carries in-context copying
    assert one < 2 * chance, (one, chance)  # toward chance: nothing else copies
    prev_scores: list[float] = base["previous_token"][0]  # type: ignore[index]
    prev = max(range(len(prev_scores)), key=prev_scores.__getitem__)
    assert prev_scores[prev] >= 0.4
    prev_off = float(evaluate_induction(model, batch, heads_off(model, 0, [prev]))["in_context_accuracy"])  # type: ignore[arg-type]
    assert prev_off <= accuracy - 0.40, (accuracy, prev_off)  # and the previous-token head feeding it


def test_the_pages_ablation_of_the_induction_head_reports_the_drop(induction_ckpt: Checkpoint, tmp_path: Path) -> None:
    """The page's path: ``POST /api/attention`` with ``ablate`` naming the head the checkpoint records
    as its best induction head; the document's ``heldout`` is what the output panel prints."""
    root = Path(induction_ckpt.path).parents[1]
    layer, head = int(induction_ckpt.metrics["best_induction_layer"]), int(induction_ckpt.metrics["best_induction_head"])
    assert layer == 1
    app = create_app(Settings(checkpoint_dir=root, frontend_dist=tmp_path / "no-dist"))
    body = {"checkpoint": f"{RUN}/ckpt_epoch{induction_ckpt.epoch}.pt", "text": "pjdkfmwaxqzkfmwa", "max_new_tokens": 4}
    with TestClient(app) as client:
        on = client.post("/api/attention", json=body)
        off = client.post("/api/attention", json={**body, "ablate": [{"kind": "decoder_self", "layer": layer, "head": head}]})
    assert on.status_code == 200 and off.status_code == 200, (on.text, off.text)
    held = off.json()["heldout"]
    assert held["baseline"] == on.json()["heldout"]["in_context_accuracy"] >= 0.80
    assert held["in_context_accuracy"] <= held["baseline"] - 0.40, held
    assert held["in_context_accuracy"] < 2 * held["chance"], held
