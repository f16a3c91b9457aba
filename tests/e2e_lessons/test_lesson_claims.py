"""What the lessons say about the demo runs, checked against those runs (the checkpoints ``make demo``
trains into checkpoints/): the key a cell question expects is the one its row reads most, the head a
head question expects scores highest, and every “input” → “output” the prose quotes is what the
run writes. The page grades from the weights it shows (test_lessons.py); this keeps the prose and
the ``expect`` fields honest about the runs a class actually sees."""

from __future__ import annotations

import re
from pathlib import Path
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


def epochs(run: str) -> list[Path]:
    files = sorted((DEMO / run).glob("ckpt_epoch*.pt"), key=lambda p: int(re.sub(r"\D", "", p.stem)))
    if not files:
        pytest.skip(f"the demo run {run!r} is not in {DEMO} (make demo trains it)")
    return files


def demo_doc(ckpt: str, text: str, ablate: list[tuple[str, int, int]] | None = None) -> dict[str, Any]:
    run, _, file = ckpt.partition("/")
    files = epochs(run)
    path = DEMO / ckpt if file else files[-1]
    torch.set_num_threads(1)
    doc: dict[str, Any] = build_document(load_checkpoint(path), text, ablate=ablate)
    return doc


def next_epoch(ckpt: str) -> str:
    """The run's saved epoch after ``ckpt`` (what the page's epoch question moves to)."""
    run, _, file = ckpt.partition("/")
    names = [p.name for p in epochs(run)]
    assert file in names[:-1], f"{ckpt}: an epoch question needs a later epoch in {names}"
    return f"{run}/{names[names.index(file) + 1]}"


def parse_ablate(spec: str) -> list[tuple[str, int, int]]:
    out = []
    for part in spec.split(","):
        kind, _, lh = part.partition(":")
        layer, _, head = lh.partition(".")
        out.append((kind, int(layer), int(head)))
    return out


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
    if question["type"] == "ablate":
        # the option the prose expects: 0 = the output stays right with the heads off, 1 = it goes wrong
        doc = demo_doc(state["ckpt"], state["text"], ablate=parse_ablate(question["ablate"]))
        stays = doc["output"] == doc["expected"]
        assert question["expect"] == (0 if stays else 1), f"with {question['ablate']} off: {doc['output']!r}"
        return
    if question["type"] == "epoch":
        # after one more epoch the row reads `expect` most, and the row's query tokens are the same
        # in both epochs (a cross-attention row depends on the output written before it)
        before = demo_doc(state["ckpt"], state["text"])
        doc = demo_doc(next_epoch(state["ckpt"]), state["text"])
        row = question["row"]
        assert before["tokens"]["tgt"][: row + 1] == doc["tokens"]["tgt"][: row + 1]
    else:
        doc = demo_doc(state["ckpt"], state["text"])
    w = decode_weights(doc, state["kind"])[int(state.get("layer", 0))]
    if question["type"] in ("cell", "epoch"):
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


def redirects() -> dict[str, list[str]]:
    """lib/lesson.ts LESSON_REDIRECTS: old lesson id → the lessons its steps went to."""
    src = (REPO / "frontend" / "src" / "lib" / "lesson.ts").read_text(encoding="utf-8")
    body = re.search(r"LESSON_REDIRECTS[^=]*=\s*\{(.*?)\};", src, re.S)
    assert body, "LESSON_REDIRECTS not found in lib/lesson.ts"
    return {k: re.findall(r"'([a-z0-9-]+)'", v) for k, v in re.findall(r"(\w+):\s*\[([^\]]*)\]", body.group(1))}


def test_every_lesson_link_in_the_docs_opens_a_step_that_exists() -> None:
    """``?lesson=<id>&step=<n>`` in README / docs: the lesson exists (or is an old id redirected to
    ones that do) and has step n; every lesson of the catalogue is linked from docs/lessons.md."""
    by_id = {l["id"]: l for l in lessons()}
    old = redirects()
    assert old and all(to in by_id for tos in old.values() for to in tos), old
    docs = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
    seen = 0
    for doc in docs:
        for m in re.finditer(r"[?&]lesson=([a-z0-9-]+)(?:&(?:amp;)?step=(\d+))?", doc.read_text(encoding="utf-8")):
            lid, step = m.group(1), int(m.group(2) or 1)
            seen += 1
            if lid in old:
                assert step <= len(old[lid]), f"{doc.name}: {m.group(0)} (it had {len(old[lid])} steps)"
                continue
            assert lid in by_id, f"{doc.name}: no lesson {lid!r}"
            assert 1 <= step <= len(by_id[lid]["steps"]), f"{doc.name}: {lid} has {len(by_id[lid]['steps'])} steps"
    assert seen
    table = (REPO / "docs" / "lessons.md").read_text(encoding="utf-8")
    for lid in by_id:
        assert f"| `{lid}` |" in table, f"docs/lessons.md does not list the lesson {lid!r}"
