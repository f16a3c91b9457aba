"""Lessons in the page, as a student meets them: every step of every lesson file opens from its link
(``?lesson=<id>&step=<n>``) with the view it names and its highlight on screen and uncovered; a
question answered right and wrong gets two different explanations, graded on the weights the page
shows (another checkpoint, another right answer); a lesson done with the keyboard only; the
architecture drawing of each model shape, each block landing on its kind and layer."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qs

import numpy as np
import pytest
from playwright.sync_api import expect

from ..browser import Server, decode_weights, decoded_weights, heatmap_cells, open_app, settled_url, shown, url_params, wait_drawn
from .conftest import lessons
from .test_lesson_claims import parse_ablate

VIEWPORTS = {
    "1440x900": {"width": 1440, "height": 900},
    "1280x720": {"width": 1280, "height": 720},
    "1280x720-present": {"width": 1280, "height": 720},
}

GEOMETRY_JS = """() => {
  const hl = [...document.querySelectorAll('[data-lesson-highlight]')];
  const panel = document.querySelector('[data-testid=lesson-panel]');
  const box = (e) => {
    const r = e.getBoundingClientRect();
    return {left: r.left, top: r.top, right: r.right, bottom: r.bottom};
  };
  if (hl.length !== 1) return {count: hl.length};
  const r = box(hl[0]);
  const cx = (Math.max(r.left, 0) + Math.min(r.right, innerWidth)) / 2;
  const cy = (Math.max(r.top, 0) + Math.min(r.bottom, innerHeight)) / 2;
  const atCentre = document.elementFromPoint(cx, cy);
  return {count: 1, hl: r, panel: box(panel), vw: innerWidth, vh: innerHeight,
          centreInside: !!atCentre && (hl[0].contains(atCentre) || atCentre === hl[0])};
}"""


CLEAR_SELECTORS = {"model-view-stat": ".mv-stat"}  # the lesson steps' `clear` names in use


def step_params(step: dict[str, Any]) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(step["state"]).items()}


def assert_highlight_clear(page: Any, where: str) -> None:
    g = page.evaluate(GEOMETRY_JS)
    assert g["count"] == 1, f"{where}: {g['count']} highlighted elements"
    hl, p = g["hl"], g["panel"]
    assert hl["right"] - hl["left"] > 0 and hl["bottom"] - hl["top"] > 0, f"{where}: highlight has no size"
    assert hl["left"] >= -1 and hl["top"] >= -1 and hl["right"] <= g["vw"] + 1 and hl["bottom"] <= g["vh"] + 1, (
        f"{where}: highlight off screen {hl}"
    )
    disjoint = p["right"] <= hl["left"] or hl["right"] <= p["left"] or p["bottom"] <= hl["top"] or hl["bottom"] <= p["top"]
    assert disjoint, f"{where}: the lesson panel {p} covers the highlight {hl}"
    assert g["centreInside"], f"{where}: something covers the highlight's centre"


def wait_step(page: Any, lesson_id: str, n: int, total: int) -> None:
    panel = page.get_by_role("dialog", name="Lesson", exact=False)
    expect(panel).to_be_visible()
    expect(panel).to_have_attribute("aria-label", f"Lesson: {next(l['title'] for l in lessons() if l['id'] == lesson_id)}")
    expect(page.get_by_test_id("lesson-progress")).to_have_text(f"Step {n} of {total}")


@pytest.mark.parametrize("viewport", list(VIEWPORTS), ids=list(VIEWPORTS))
def test_every_step_opens_with_its_view_and_an_uncovered_highlight(server: Server, new_page: Any, viewport: str) -> None:
    page = new_page(viewport=VIEWPORTS[viewport])
    runs = {p.name for p in server.checkpoint_dir.iterdir()}
    for lesson in lessons():
        for n, step in enumerate(lesson["steps"], start=1):
            where = f"{lesson['id']} step {n} at {viewport}"
            present = "&present=1" if viewport.endswith("present") else ""
            open_app(page, server.url, f"/?lesson={lesson['id']}&step={n}{present}")
            wait_step(page, lesson["id"], n, len(lesson["steps"]))
            want = step_params(step)
            run = want.get("ckpt", "").split("/")[0]
            if run and run not in runs:
                # a run this server lacks (MiniLM): the step says so instead of failing
                expect(page.get_by_test_id("lesson-notice")).to_contain_text("needs the run")
            else:
                wait_drawn(page, want.get("text"))
                s = shown(page)
                assert s["kind"] == want.get("kind", "encoder_self"), where
                assert (s["layer"], s["head"]) == (int(want.get("layer", 0)), int(want.get("head", 0))), where
                if "insight" in want:
                    expect(page.get_by_test_id(f"insight-tab-{want['insight']}")).to_have_attribute("aria-pressed", "true")
                if "ablate" in want:
                    page.wait_for_function("(a) => document.getElementById('views').dataset.ablate !== ''", arg=want["ablate"])
                q = url_params(page)
                assert (q["lesson"], q["step"]) == (lesson["id"], str(n)), where
                assert q.get("kind", "encoder_self") == want.get("kind", "encoder_self"), where
                if run:
                    assert q["ckpt"].startswith(run), where
            assert_highlight_clear(page, where)
            for name in step.get("clear", []):  # what the prose sends the student to: not under the panel
                spot = page.locator(CLEAR_SELECTORS[name])
                if spot.is_visible():
                    a, b = spot.bounding_box(), page.get_by_test_id("lesson-panel").bounding_box()
                    apart = (
                        a["x"] + a["width"] <= b["x"]
                        or b["x"] + b["width"] <= a["x"]
                        or a["y"] + a["height"] <= b["y"]
                        or b["y"] + b["height"] <= a["y"]
                    )
                    assert apart, f"{where}: the lesson panel {b} covers {name} {a}"
    # the Lessons menu's button fits the top bar: it runs into nothing (Exit presenter / Open…)
    right = page.get_by_test_id("lessons-button").bounding_box()
    nxt = page.get_by_test_id("present-toggle" if viewport.endswith("present") else "open-file").bounding_box()
    assert right and nxt and right["x"] + right["width"] <= nxt["x"], (right, nxt)


def answer_cell_at(page: Any, q: int, k: int) -> None:
    cells = heatmap_cells(page)
    page.mouse.move(cells["xs"][k], cells["ys"][q])
    page.mouse.click(cells["xs"][k], cells["ys"][q])


@pytest.mark.parametrize("ckpt", ["copy/ckpt_epoch3.pt", "copy/ckpt_epoch1.pt"])
def test_a_cell_question_is_graded_on_the_weights_shown(server: Server, new_page: Any, ckpt: str) -> None:
    """Classroom step 2 asks which key row <bos> reads. The grade follows the weights the page holds:
    the same step over another epoch (picked in the page) has its own right answer."""
    lesson = next(l for l in lessons() if l["id"] == "classroom")
    qn = lesson["steps"][1]["question"]
    feedback = []
    for attempt in ("right", "wrong"):
        page = new_page()
        open_app(page, server.url, "/?lesson=classroom&step=2")
        wait_drawn(page, "hello")
        page.get_by_test_id("epoch-select").select_option(ckpt)
        wait_drawn(page, "hello", ckpt)
        # the weights are hidden until the student answers: the heatmap is filtered to one flat grey
        expect(page.locator("body")).to_have_class(re.compile(r"\blesson-hiding\b"))
        assert "brightness(0)" in page.get_by_test_id("focus-heatmap-canvas").evaluate("(c) => getComputedStyle(c).filter")
        row = decoded_weights(page, "cross")[1, 2, qn["row"]]
        best = int(np.argmax(row))
        pick = best if attempt == "right" else int(np.argmin(row))
        answer_cell_at(page, qn["row"], pick)
        fb = page.get_by_test_id("lesson-feedback")
        expect(fb).to_have_attribute("data-correct", "true" if attempt == "right" else "false")
        src = page.locator("[data-testid=tokens-src] span.tok").all_text_contents()
        assert f"{row[best]:.2f}" in fb.inner_text() and src[best] in fb.inner_text()
        feedback.append(fb.inner_text())
        expect(page.locator("body")).not_to_have_class(re.compile(r"\blesson-hiding\b"))
        assert page.get_by_test_id("focus-heatmap-canvas").evaluate("(c) => getComputedStyle(c).filter") == "none"
    assert feedback[0] != feedback[1]


def test_unanswered_question_cannot_be_skipped_silently(server: Server, page: Any) -> None:
    open_app(page, server.url, "/?lesson=classroom&step=2")
    wait_drawn(page, "hello")
    page.get_by_role("button", name="Next", exact=True).click()
    expect(page.get_by_test_id("lesson-feedback")).to_contain_text("Not answered yet")
    expect(page.get_by_test_id("lesson-progress")).to_have_text("Step 2 of 10")
    page.get_by_role("button", name="Skip (unanswered)").click()
    expect(page.get_by_test_id("lesson-feedback")).to_contain_text("Skipped (unanswered)")
    page.get_by_role("button", name="Next", exact=True).click()
    expect(page.get_by_test_id("lesson-progress")).to_have_text("Step 3 of 10")
    page.get_by_role("button", name="Back", exact=True).click()
    expect(page.get_by_test_id("lesson-progress")).to_have_text("Step 2 of 10")
    assert url_params(page)["step"] == "2"


def test_head_question_follows_the_weights(server: Server, page: Any) -> None:
    open_app(page, server.url, "/?lesson=classroom&step=4")
    wait_drawn(page, "hello")
    w = decoded_weights(page, "cross")[0]  # layer 0: [H, Tq, Tk]
    nq, nk = w.shape[1:]
    diag = [np.mean([w[h, q, q] for q in range(min(nq, nk))]) for h in range(w.shape[0])]
    best = int(np.argmax(diag))
    wrong = (best + 1) % w.shape[0]
    page.get_by_test_id(f"model-view-0-{wrong}").click()
    fb = page.get_by_test_id("lesson-feedback")
    expect(fb).to_have_attribute("data-correct", "false")
    expect(fb).to_contain_text(f"head {best} scores {diag[best]:.2f}")
    assert shown(page)["head"] == best  # the reveal focuses the right head


def test_a_lesson_by_keyboard_only(server: Server, page: Any) -> None:
    """Open the Lessons menu, start the classroom lesson, page with the arrows, answer the cell
    question in the heatmap with arrows and Enter, then the choice question of another lesson."""
    open_app(page, server.url, "/?ckpt=copy&text=hello", drawn=True)
    summary = page.get_by_test_id("lessons-button")
    summary.focus()
    page.keyboard.press("Enter")
    item = page.get_by_test_id("lesson-classroom")
    expect(item).to_be_visible()
    item.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("lesson-progress")).to_have_text("Step 1 of 10")
    expect(page.get_by_role("button", name="Next", exact=True)).to_be_focused()
    page.keyboard.press("ArrowRight")
    expect(page.get_by_test_id("lesson-progress")).to_have_text("Step 2 of 10")
    wait_drawn(page, "hello")
    # Tab to "Answer in the heatmap", Enter moves the focus there; arrows pick the cell, Enter answers
    go = page.get_by_test_id("lesson-answer-here")
    for _ in range(6):
        if page.evaluate("() => document.activeElement?.dataset.testid") == "lesson-answer-here":
            break
        page.keyboard.press("Shift+Tab")
    expect(go).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("focus-heatmap")).to_be_focused()
    row = decoded_weights(page, "cross")[1, 2, 0]
    best = int(np.argmax(row))
    for _ in range(best):
        page.keyboard.press("ArrowRight")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("lesson-feedback")).to_have_attribute("data-correct", "true")
    expect(page.get_by_role("button", name="Next", exact=True)).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("lesson-progress")).to_have_text("Step 3 of 10")
    # a choice question: Tab to an answer, Enter
    open_app(page, server.url, "/?lesson=axes-masks&step=1")
    page.get_by_test_id("lesson-next").focus()
    for _ in range(8):
        if page.evaluate("() => document.activeElement?.dataset.testid") == "lesson-option-1":
            break
        page.keyboard.press("Shift+Tab")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("lesson-feedback")).to_have_attribute("data-correct", "false")
    expect(page.get_by_test_id("lesson-feedback")).to_contain_text("No: the rows are the decoder")


def test_architecture_blocks_open_their_kind_and_layer(server: Server, page: Any) -> None:
    open_app(page, server.url, "/?ckpt=copy&text=hello&insight=arch", drawn=True)
    fig = page.get_by_role("group", name="architecture", exact=False)
    expect(fig).to_have_attribute(
        "aria-label", "Model architecture: 2-layer encoder, 2-layer decoder, 4 heads per attention block"
    )
    names = {"encoder_self": "Encoder self-attention", "decoder_self": "Masked self-attention", "cross": "Cross-attention"}
    blocks = fig.get_by_role("button")
    expect(blocks).to_have_count(6)
    for kind, label in names.items():
        for layer in (0, 1):
            b = fig.get_by_role("button", name=f"{label}, layer {layer + 1}", exact=True)
            b.click()
            s = shown(page)
            assert (s["kind"], s["layer"]) == (kind, layer)
            expect(b).to_have_attribute("aria-pressed", "true")
            q = url_params(page)
            assert q.get("kind", "encoder_self") == kind and q.get("layer", "0") == str(layer)
    # keyboard: Enter on a focused block
    b = fig.get_by_role("button", name="Encoder self-attention, layer 2", exact=True)
    b.focus()
    page.keyboard.press("Enter")
    assert (shown(page)["kind"], shown(page)["layer"]) == ("encoder_self", 1)
    assert "insight=arch" in settled_url(page)


def test_lessons_in_a_saved_single_file_page(server: Server, new_page: Any, tmp_path: Any) -> None:
    """The single-file page carries the lessons: a step on its own document applies (kind, layer,
    head), a step that needs another text says it needs the server; no request leaves the file."""
    import subprocess
    import sys

    out = tmp_path / "lesson.html"
    subprocess.run(
        [sys.executable, "-m", "attnviz.cli", "html", "--checkpoint", "copy/ckpt_epoch3.pt", "--text", "hello", "--out", str(out),
         "--checkpoints", str(server.checkpoint_dir)],
        check=True, capture_output=True,
    )  # fmt: skip
    page = new_page(local_only=True)
    page.goto(f"{out.as_uri()}?lesson=classroom&step=3")
    wait_step(page, "classroom", 3, 10)
    expect(page.get_by_test_id("lesson-notice")).to_be_hidden()
    s = shown(page)
    assert (s["kind"], s["layer"], s["head"]) == ("cross", 1, 2)
    page.get_by_role("button", name="Next", exact=True).click()  # step 4: the same document
    page.get_by_role("button", name="Skip (unanswered)").click()
    page.get_by_role("button", name="Next", exact=True).click()  # step 5: "balloon"
    expect(page.get_by_test_id("lesson-progress")).to_have_text("Step 5 of 10")
    expect(page.get_by_test_id("lesson-notice")).to_contain_text("needs the server")
    expect(page.get_by_test_id("lesson-question")).to_be_hidden()  # not asked about a view it cannot show
    assert page.locator("#views").get_attribute("data-input") == "hello"
    # an ablation question on this very document still needs the server (it asks for another one)
    page.goto(f"{out.as_uri()}?lesson=ablation&step=1")
    wait_step(page, "ablation", 1, len(next(l for l in lessons() if l["id"] == "ablation")["steps"]))
    expect(page.get_by_test_id("lesson-notice")).to_contain_text("needs the server: it switches heads off")
    expect(page.get_by_test_id("lesson-question")).to_be_hidden()
    s = shown(page)
    assert (s["kind"], s["layer"], s["head"]) == ("cross", 1, 2)


@pytest.mark.parametrize(
    ("kind", "names"),
    [
        ("encoder_self", [f"Encoder self-attention, layer {n}" for n in (1, 2, 3)]),
        ("decoder_self", [f"Masked self-attention, layer {n}" for n in (1, 2, 3)]),
    ],
    ids=["encoder-only", "decoder-only"],
)
def test_architecture_of_single_stack_models(server: Server, page: Any, tmp_path: Any, kind: str, names: list[str]) -> None:
    """An encoder-only (BERT-like) and a decoder-only (GPT-like) document, opened as files: one stack,
    no cross-attention, its blocks opening their layers."""
    from attnviz.anywhere import document_from

    rng = np.random.default_rng(0)
    n = 5
    w = rng.random((3, 2, n, n))
    if kind == "decoder_self":
        w = np.where(np.tril(np.ones((n, n))) > 0, w, 0.0)
    w = w / w.sum(-1, keepdims=True)
    path = tmp_path / f"{kind}.json"
    path.write_text(json.dumps(document_from(w, ["a", "b", "c", "d", "e"], kind=kind)))
    open_app(page, server.url, "/?insight=arch")
    page.get_by_test_id("file-input").set_input_files(str(path))
    page.wait_for_function("() => document.getElementById('views').dataset.state === 'ready'")
    fig = page.get_by_role("group", name="architecture", exact=False)
    expect(fig.get_by_role("button")).to_have_count(3)
    assert [b.get_attribute("aria-label") for b in fig.get_by_role("button").all()] == names
    assert "cross-attention" in (fig.get_attribute("aria-label") or "") or kind == "encoder_self"
    for layer, name in enumerate(names):
        fig.get_by_role("button", name=name, exact=True).click()
        s = shown(page)
        assert (s["kind"], s["layer"]) == (kind, layer)


def test_old_insights_links_open_the_lesson_of_that_view(server: Server, page: Any) -> None:
    """The one `insights` lesson became four; its links keep showing what they showed: step n opens
    the n-th view's lesson at its first step (lib/lesson.ts LESSON_REDIRECTS)."""
    views = [("math", "The math"), ("timeline", "Attention over training"), ("ablation", "Switch"), ("decoding", "Decoding")]
    for step, (lesson_id, title) in enumerate(views, start=1):
        open_app(page, server.url, f"/?lesson=insights&step={step}")
        panel = page.get_by_role("dialog", name="Lesson", exact=False)
        expect(panel).to_have_attribute("aria-label", re.compile(f"^Lesson: {title}"))
        expect(page.get_by_test_id("lesson-progress")).to_contain_text("Step 1 of")
        page.wait_for_function("(id) => new URLSearchParams(location.search).get('lesson') === id", arg=lesson_id)
        assert url_params(page)["step"] == "1"


def run_doc(server: Server, ckpt: str, text: str, ablate: list[tuple[str, int, int]] | None = None) -> dict[str, Any]:
    """The document the served run gives (what the page fetches), computed here from the same file."""
    import torch

    from attnviz.checkpoint import load_checkpoint
    from attnviz.export_attention_json import build_document

    torch.set_num_threads(1)
    doc: dict[str, Any] = build_document(load_checkpoint(server.checkpoint_dir / ckpt), text, ablate=ablate)
    return doc


def epoch_files(server: Server, run: str) -> list[str]:
    files = sorted((server.checkpoint_dir / run).glob("ckpt_epoch*.pt"), key=lambda p: int(re.sub(r"\D", "", p.stem)))
    return [f"{run}/{p.name}" for p in files]


def epoch_label(ckpt: str) -> str:
    """How the explanation names a checkpoint: ``copy/ckpt_epoch2.pt`` → ``epoch 2``."""
    return re.sub(r"^.*/ckpt_epoch(\d+)\.pt$", r"epoch \1", ckpt)


def epoch_question() -> tuple[dict[str, Any], dict[str, Any]]:
    lesson = next(l for l in lessons() if l["id"] == "timeline")
    n, step = next((n, s) for n, s in enumerate(lesson["steps"], start=1) if s.get("question", {}).get("type") == "epoch")
    return {"n": n, "total": len(lesson["steps"])}, step


@pytest.mark.parametrize("start", [0, 1], ids=["from-epoch1", "from-epoch2"])
def test_epoch_question_reveals_the_next_epoch_and_grades_on_its_weights(server: Server, new_page: Any, start: int) -> None:
    """“After one more epoch, which cell lights up?”: the student sees this epoch's weights (not
    greyed), clicks a cell of the row, the page moves to the next saved epoch and grades on ITS
    weights; the explanation quotes both epochs. Starting from another epoch (picked in the page)
    moves the question, the reveal and the right answer with it."""
    where, step = epoch_question()
    qn = step["question"]
    state = step_params(step)
    files = epoch_files(server, state["ckpt"].split("/")[0])
    first, then = files[start], files[start + 1]
    feedback = []
    for attempt in ("right", "wrong"):
        page = new_page()
        open_app(page, server.url, f"/?lesson=timeline&step={where['n']}")
        wait_step(page, "timeline", where["n"], where["total"])
        wait_drawn(page, state["text"])
        if first != state["ckpt"]:
            page.get_by_test_id("epoch-select").select_option(first)
        wait_drawn(page, state["text"], first)
        # this epoch's weights are on screen: the student predicts from them
        expect(page.locator("body")).not_to_have_class(re.compile(r"\blesson-hiding\b"))
        layer, head = int(state["layer"]), int(state["head"])
        before = decoded_weights(page, state["kind"])[layer, head, qn["row"]]
        after = decode_weights(run_doc(server, then, state["text"]), state["kind"])[layer, head, qn["row"]]
        best = int(np.argmax(after))
        pick = best if attempt == "right" else int(np.argmin(after))
        answer_cell_at(page, qn["row"], pick)
        fb = page.get_by_test_id("lesson-feedback")
        expect(fb).to_have_attribute("data-correct", "true" if attempt == "right" else "false", timeout=30_000)
        # the page now shows the later epoch, and the answer is that epoch's brightest cell
        wait_drawn(page, state["text"], then)
        assert url_params(page)["ckpt"] == then
        shown_after = decoded_weights(page, state["kind"])[layer, head, qn["row"]]
        assert int(np.argmax(shown_after)) == best
        src = page.locator("[data-testid=tokens-src] span.tok").all_text_contents()
        text = fb.inner_text()
        assert src[best] in text and f"{after[best]:.2f}" in text and f"{before[best]:.2f}" in text, text
        assert epoch_label(first) in text and epoch_label(then) in text, text
        feedback.append(text)
    assert feedback[0] != feedback[1]


def test_epoch_question_on_the_last_epoch_says_so(server: Server, page: Any) -> None:
    where, step = epoch_question()
    state = step_params(step)
    last = epoch_files(server, state["ckpt"].split("/")[0])[-1]
    open_app(page, server.url, f"/?lesson=timeline&step={where['n']}")
    wait_drawn(page, state["text"])
    page.get_by_test_id("epoch-select").select_option(last)
    wait_drawn(page, state["text"], last)
    answer_cell_at(page, step["question"]["row"], 0)
    expect(page.get_by_test_id("lesson-feedback")).to_contain_text("last saved epoch")
    expect(page.get_by_test_id("lesson-feedback")).to_have_attribute("data-correct", "")
    assert url_params(page)["ckpt"] == last


def test_epoch_question_by_keyboard_and_skipped(server: Server, page: Any) -> None:
    """Keyboard only: Tab to “Answer in the heatmap”, arrows to the cell, Enter; then the same step
    skipped (after Back / Next the answer stays; a fresh load is asked again)."""
    where, step = epoch_question()
    qn = step["question"]
    state = step_params(step)
    then = epoch_files(server, state["ckpt"].split("/")[0])[1]
    open_app(page, server.url, f"/?lesson=timeline&step={where['n']}")
    wait_drawn(page, state["text"], state["ckpt"])
    layer, head = int(state["layer"]), int(state["head"])
    after = decode_weights(run_doc(server, then, state["text"]), state["kind"])[layer, head, qn["row"]]
    best = int(np.argmax(after))
    page.get_by_test_id("lesson-next").focus()
    for _ in range(6):
        if page.evaluate("() => document.activeElement?.dataset.testid") == "lesson-answer-here":
            break
        page.keyboard.press("Shift+Tab")
    expect(page.get_by_test_id("lesson-answer-here")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("focus-heatmap")).to_be_focused()
    for _ in range(qn["row"]):
        page.keyboard.press("ArrowDown")
    for _ in range(best):
        page.keyboard.press("ArrowRight")
    page.keyboard.press("Enter")
    fb = page.get_by_test_id("lesson-feedback")
    expect(fb).to_have_attribute("data-correct", "true", timeout=30_000)
    expect(page.get_by_role("button", name="Next", exact=True)).to_be_focused()
    assert url_params(page)["ckpt"] == then
    # skipped: the reveal still moves to the next epoch and names the answer
    open_app(page, server.url, f"/?lesson=timeline&step={where['n']}")
    wait_drawn(page, state["text"], state["ckpt"])
    page.get_by_role("button", name="Next", exact=True).click()
    expect(fb).to_contain_text("Not answered yet")
    page.get_by_role("button", name="Skip (unanswered)").click()
    expect(fb).to_contain_text("Skipped (unanswered)", timeout=30_000)
    src = page.locator("[data-testid=tokens-src] span.tok").all_text_contents()
    expect(fb).to_contain_text(f"reads {src[best]} most ({after[best]:.2f}")
    assert url_params(page)["ckpt"] == then


@pytest.mark.parametrize("n", [1, 2], ids=["one-head", "whole-layer"])
def test_ablation_question_is_graded_on_the_ablated_output(server: Server, new_page: Any, n: int) -> None:
    """“Switch these heads off: will the output stay right?”: the page switches them off and grades
    the pick on the output the model writes then (both picks, two explanations)."""
    lesson = next(l for l in lessons() if l["id"] == "ablation")
    step = lesson["steps"][n - 1]
    qn, state = step["question"], step_params(step)
    heads = parse_ablate(qn["ablate"])
    ckpt = epoch_files(server, state["ckpt"])[-1]
    doc = run_doc(server, ckpt, state["text"], heads)
    stays = doc["output"] == doc["expected"]
    feedback = []
    for pick in (0, 1):
        page = new_page()
        open_app(page, server.url, f"/?lesson=ablation&step={n}")
        wait_drawn(page, state["text"], ckpt, ablate="")
        page.get_by_test_id(f"lesson-option-{pick}").click()
        fb = page.get_by_test_id("lesson-feedback")
        expect(fb).to_have_attribute("data-correct", "true" if (pick == 0) == stays else "false", timeout=30_000)
        wait_drawn(page, state["text"], ckpt, ablate=qn["ablate"])
        expect(page.get_by_test_id("output")).to_contain_text(doc["output"])
        assert f"“{doc['output']}”" in fb.inner_text()
        expect(page.get_by_test_id(f"lesson-option-{0 if stays else 1}")).to_have_class(re.compile(r"\bis-answer\b"))
        feedback.append(fb.inner_text())
    assert feedback[0] != feedback[1]


def induction_step(prompt: str) -> tuple[int, dict[str, Any]]:
    lesson = next(l for l in lessons() if l["id"] == "induction")
    steps = enumerate(lesson["steps"], start=1)
    return next((n, s) for n, s in steps if s.get("question", {}).get("prompt", "").startswith(prompt))


@pytest.mark.parametrize(
    "prompt", ["Switch off the layer-1 head", "Switch off only the layer-0 head"], ids=["induction-head", "previous-token-head"]
)
def test_induction_ablation_is_graded_on_held_out_accuracy(server: Server, new_page: Any, prompt: str) -> None:
    """An induction checkpoint has no one right output: the ablation question switches the head off and
    grades on the output panel's held-out in-context accuracy (the copying “breaks” when the head
    costs more than half of what training gained over chance), both picks, with the figures shown."""
    n, step = induction_step(prompt)
    qn, state = step["question"], step_params(step)
    ckpt = epoch_files(server, state["ckpt"])[-1]
    heads = parse_ablate(qn["ablate"])
    body = {"checkpoint": ckpt, "text": state["text"], "ablate": [{"kind": k, "layer": l, "head": h} for k, l, h in heads]}
    r = server.api("/api/attention", body)
    assert r.status_code == 200, r.text
    held = r.json()["heldout"]
    stays = held["baseline"] - held["in_context_accuracy"] < (held["baseline"] - held["chance"]) / 2
    feedback = []
    for pick in (0, 1):
        page = new_page()
        open_app(page, server.url, f"/?lesson=induction&step={n}")
        wait_drawn(page, state["text"], ckpt, ablate="")
        expect(page.get_by_test_id("heldout")).to_contain_text("with all heads on")
        page.get_by_test_id(f"lesson-option-{pick}").click()
        fb = page.get_by_test_id("lesson-feedback")
        expect(fb).to_have_attribute("data-correct", "true" if (pick == 0) == stays else "false", timeout=30_000)
        wait_drawn(page, state["text"], ckpt, ablate=qn["ablate"])
        expect(page.get_by_test_id("heldout")).to_contain_text("with the switched-off heads")
        expect(fb).to_contain_text(f"{held['in_context_accuracy'] * 100:.0f} %")
        expect(fb).to_contain_text(f"{held['baseline'] * 100:.0f} % with all heads on")
        expect(page.get_by_test_id(f"lesson-option-{0 if stays else 1}")).to_have_class(re.compile(r"\bis-answer\b"))
        feedback.append(fb.inner_text())
    assert feedback[0] != feedback[1]


def test_induction_timeline_question_hides_the_figures_until_answered(server: Server, page: Any) -> None:
    """“When does the layer-1 head become an induction head?” on the Training tab: until it is answered
    the heads are grey and the per-epoch accuracies hidden (they would give it away); the pick
    reveals them, with the explanation."""
    n, step = induction_step("When does")
    open_app(page, server.url, f"/?lesson=induction&step={n}")
    wait_drawn(page, step_params(step)["text"])
    acc = page.locator(".tl-card .tl-acc").first
    expect(acc).to_be_attached(timeout=30_000)
    expect(page.locator("body")).to_have_class(re.compile(r"\blesson-hiding\b"))
    expect(acc).to_be_hidden()
    wrong = next(i for i in range(len(step["question"]["options"])) if i != step["question"]["answer"])
    page.get_by_test_id(f"lesson-option-{wrong}").click()
    fb = page.get_by_test_id("lesson-feedback")
    expect(fb).to_have_attribute("data-correct", "false")
    expect(fb).to_contain_text(step["question"]["options"][step["question"]["answer"]])
    expect(page.locator("body")).not_to_have_class(re.compile(r"\blesson-hiding\b"))
    expect(acc).to_be_visible()
