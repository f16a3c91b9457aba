"""What the lessons say about the demo runs, checked against those runs (the checkpoints ``make demo``
trains into checkpoints/): the key a cell question expects is the one its row reads most, the head a
head question expects scores highest, and every “input” → “output” the prose quotes is what the
run writes; the induction lesson's layer, phase change and held-out figures are the induction run's.
The page grades from the weights it shows (test_lessons.py); this keeps the prose and the ``expect``
fields honest about the runs a class actually sees."""

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
from attnviz.induction import evaluate_induction, heldout_batch, heldout_summary
from attnviz.inference import parse_head_masks

from ..browser import decode_weights
from ..live_server import REPO
from .conftest import lessons

DEMO = REPO / "checkpoints"
QUOTE = re.compile(r"“([a-z]+)” → “([a-z]+)”")
RUNS = ("copy", "reverse", "sort", "induction")


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
            if state.get("ckpt", "").split("/")[0] not in RUNS:
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
        heads = parse_ablate(question["ablate"])
        doc = demo_doc(state["ckpt"], state["text"], ablate=heads)
        if doc["expected"] is None:  # induction: graded on held-out accuracy (lib/heldout.ts heldoutSurvives)
            h = heldout(state["ckpt"], heads)
            stays = h["baseline"] - h["in_context_accuracy"] < (h["baseline"] - h["chance"]) / 2
            assert question["expect"] == (0 if stays else 1), f"with {question['ablate']} off: {h}"
            return
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


def heldout(ckpt: str, ablate: list[tuple[str, int, int]] | None) -> dict[str, float]:
    """The output panel's held-out figures for the run's checkpoint with ``ablate`` off (the server's
    ``heldout``, computed from the same file)."""
    run, _, file = ckpt.partition("/")
    ck = load_checkpoint(DEMO / ckpt if file else epochs(run)[-1])
    model = ck.build_model()
    return heldout_summary(model, ck.vocab, parse_head_masks(model, ablate), ck.train)


def induction_lesson() -> dict[str, Any]:
    return next(l for l in lessons() if l["id"] == "induction")


def test_the_induction_lessons_layer_is_where_the_run_grew_its_induction_head() -> None:
    """“Which layer will hold the induction head?”: the answer's layer has the highest induction score
    of the run's last epoch, and the other layer the highest previous-token score (step 2's prose)."""
    ck = load_checkpoint(epochs("induction")[-1])
    assert (ck.config.n_layers, ck.config.n_heads) == (2, 1), "the lesson says 2 layers of 1 head each"
    r = evaluate_induction(ck.build_model(), heldout_batch(ck.vocab, 256, seq_len=int(str(ck.train["seq_len"]))))
    ind, prev = np.array(r["induction"]), np.array(r["previous_token"])
    qs = [s["question"] for s in induction_lesson()["steps"] if s.get("question", {}).get("prompt", "").startswith("Which layer")]
    assert len(qs) == 1
    layer = int(re.search(r"Layer (\d)", qs[0]["options"][qs[0]["answer"]]).group(1))  # type: ignore[union-attr]
    assert int(ind.max(axis=1).argmax()) == layer and ind[layer].max() > 0.5, ind
    assert int(prev.max(axis=1).argmax()) == 1 - layer, prev


def test_the_induction_lessons_phase_change_is_the_runs() -> None:
    """“When does the layer-1 head become an induction head?”: the run's snapshots (the Training tab)
    stay near chance before the answer's range and pass 50 % held-out in-context accuracy inside it;
    the figures the explanation quotes (“under 15 % at step 175”, “over 70 % at step 250”) and the
    run's length hold."""
    snaps = sorted((DEMO / "induction" / "snapshots").glob("step*.pt"))
    if not snaps:
        pytest.skip("the induction demo run has no snapshots")
    acc = {ck.step: ck.metrics["in_context_accuracy"] for ck in map(load_checkpoint, snaps)}
    last = load_checkpoint(epochs("induction")[-1])
    step = next(s for s in induction_lesson()["steps"] if s.get("question", {}).get("prompt", "").startswith("When does"))
    assert f"of the {last.step}" in step["prose"] and max(acc) == last.step, (last.step, max(acc))
    q = step["question"]
    m = re.search(r"between steps (\d+) and (\d+)", q["options"][q["answer"]])
    assert m, q["options"][q["answer"]]
    lo, hi = int(m.group(1)), int(m.group(2))
    first = min(s for s, a in acc.items() if a > 0.5)
    assert lo < first <= hi, (first, acc)
    assert acc[lo] < 0.15, acc  # "for 150 steps nothing shows"
    quoted = re.findall(r"(under|over) (\d+) % at step (\d+)", q["right"] + q["wrong"])
    assert quoted
    for side, pct, at in quoted:
        a = acc[int(at)] * 100
        assert (a < int(pct)) if side == "under" else (a > int(pct)), (side, pct, at, a)


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
