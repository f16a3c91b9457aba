"""What the lessons say about the demo runs, checked against those runs (the checkpoints ``make demo``
trains into checkpoints/): the key a cell question expects is the one its row reads most, the head a
head question expects scores highest, and every “input” → “output” the prose quotes is what the
run writes. The page grades from the weights it shows (test_lessons.py); this keeps the prose and
the ``expect`` fields honest about the runs a class actually sees."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs

import numpy as np
import pytest
import torch

from attnviz.checkpoint import load_checkpoint
from attnviz.export_attention_json import build_document

from ..browser import decode_weights
from ..live_server import REPO
from .conftest import lessons

DEMO = REPO / "checkpoints"
QUOTE = re.compile(r"“([a-z]+)” → “([a-z]+)”")


def demo_doc(ckpt: str, text: str) -> dict[str, Any]:
    run, _, file = ckpt.partition("/")
    files = sorted((DEMO / run).glob("ckpt_epoch*.pt"), key=lambda p: int(re.sub(r"\D", "", p.stem)))
    if not files:
        pytest.skip(f"the demo run {run!r} is not in {DEMO} (make demo trains it)")
    path = DEMO / ckpt if file else files[-1]
    torch.set_num_threads(1)
    doc: dict[str, Any] = build_document(load_checkpoint(path), text)
    return doc


def claims() -> list[Any]:
    out = []
    for lesson in lessons():
        for n, step in enumerate(lesson["steps"], start=1):
            state = {k: v[0] for k, v in parse_qs(step["state"]).items()}
            if state.get("ckpt", "").split("/")[0] not in ("copy", "reverse", "sort"):
                continue
            q = step.get("question")
            if q and "expect" in q:
                out.append(pytest.param(state, q, None, id=f"{lesson['id']}-{n}-{q['type']}"))
            for m in QUOTE.finditer(step["prose"]):
                out.append(pytest.param(state, None, (m.group(1), m.group(2)), id=f"{lesson['id']}-{n}-{m.group(1)}"))
    return out


@pytest.mark.parametrize(("state", "question", "quote"), claims())
def test_lesson_claim_holds_on_the_demo_run(
    state: dict[str, str], question: dict[str, Any] | None, quote: tuple[str, str] | None
) -> None:
    if quote:
        doc = demo_doc(state["ckpt"], quote[0])
        assert doc["output"] == quote[1], f"{state['ckpt']} writes {doc['output']!r} for {quote[0]!r}"
        return
    assert question is not None
    doc = demo_doc(state["ckpt"], state["text"])
    w = decode_weights(doc, state["kind"])[int(state.get("layer", 0))]
    if question["type"] == "cell":
        row = w[int(state.get("head", 0)), question["row"]]
        assert int(np.argmax(row)) == question["expect"], (
            f"row {question['row']} reads key {int(np.argmax(row))} most ({row.round(2)})"
        )
    else:
        nq, nk = w.shape[1:]
        anti = question["score"] == "anti-diagonal"

        def line(q: int) -> int:  # the key row q reads on the (anti-)diagonal, as lib/lesson.ts lineScore
            return nk - 2 - q if anti else q

        scores = [np.mean([w[h, q, line(q)] for q in range(nq) if 0 <= line(q) < nk]) for h in range(w.shape[0])]
        assert int(np.argmax(scores)) == question["expect"], f"head scores {np.round(scores, 2)}"
