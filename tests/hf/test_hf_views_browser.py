"""Every view of the decoder-only and encoder-decoder families in a real Chromium through a real
uvicorn over tiny local models: decoding steps (prompt rows told from generated ones), the math
step-through in each model's own variant (scale, T5's position bias, RoPE, grouped-query heads),
readable ␣ tokens, hide special tokens, and every main view without a console error."""

from __future__ import annotations

import math
import re
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser import Server, display_token, shown, wait_drawn

pytest.importorskip("transformers")

pytestmark = pytest.mark.browser

TEXT = "the cat sat on the mat"
CURRENT = re.compile(r"\bcurrent\b")


def open_model(page: Any, server: Server, name: str, query: str = "", text: str = TEXT) -> None:
    page.goto(f"{server.url}/?ckpt={quote('hf/' + name, safe='')}&text={quote(text)}{query}")
    wait_drawn(page, text, f"hf/{name}", timeout=60_000)


def shot(page: Any, name: str) -> None:
    for w, h in ((1440, 900), (1280, 720)):
        page.set_viewport_size({"width": w, "height": h})
        page.screenshot(path=f"/tmp/attnviz-hf-{name}-{w}.png")


def document(base: str, name: str, text: str = TEXT) -> dict[str, Any]:
    r = httpx.post(f"{base}/api/attention", json={"checkpoint": f"hf/{name}", "text": text}, timeout=60)
    r.raise_for_status()
    doc: dict[str, Any] = r.json()
    return doc


def prompt_length(base: str, name: str, text: str) -> int:
    """The prompt's tokens, from the server: the same text with no tokens generated."""
    r = httpx.post(f"{base}/api/attention", json={"checkpoint": f"hf/{name}", "text": text, "max_new_tokens": 0}, timeout=60)
    if r.status_code != 200:  # a server without the option: a decoder's document of a prompt alone
        pytest.skip(f"max_new_tokens=0 not accepted: {r.text}")
    return len(r.json()["tokens"]["tgt"])


# texts the tiny (random) models go on from (LLaMA's generates byte tokens: <0x1A>)
PROMPTS = {"gpt2-tiny": TEXT, "llama-gqa-tiny": "hello world"}


@pytest.mark.parametrize("name", list(PROMPTS))
def test_decoding_view_of_a_decoder_only_model(tiny_server: Server, page: Any, name: str) -> None:
    text = PROMPTS[name]
    doc = document(tiny_server.url, name, text)
    tgt, steps = doc["tokens"]["tgt"], doc["steps"]
    n_prompt = prompt_length(tiny_server.url, name, text)
    assert 0 < n_prompt < len(tgt) == len(steps)
    open_model(page, tiny_server, name, "&kind=decoder_self&insight=steps", text)
    page.get_by_test_id("decode-step-0").wait_for()
    roles = page.eval_on_selector_all('[data-testid^="decode-step-"]', "els => els.map(e => e.dataset.role)")
    assert len(roles) == len(tgt)
    # the row of the last prompt token produced the first generated token
    assert roles == ["prompt"] * (n_prompt - 1) + ["generated"] * (len(tgt) - n_prompt) + ["next"], roles
    # a generated step: its decoder row (no cross row: there is no encoder) and the top-5
    t = n_prompt - 1
    page.get_by_test_id(f"decode-step-{t}").click()
    expect(page.get_by_test_id(f"decode-step-{t}")).to_have_class(CURRENT)
    assert page.get_by_test_id("decode-row-decoder-self").count() == 1
    assert page.get_by_test_id("decode-row-cross").count() == 0
    bars = page.locator('[data-testid="decode-row-decoder-self"] .ds-bar')
    assert bars.count() == len(tgt)
    weights = [float(w) for w in bars.evaluate_all("els => els.map(e => e.dataset.w)")]
    assert all(w == 0 for w in weights[t + 1 :]) and math.isclose(sum(weights), 1, abs_tol=2e-3)
    top = page.get_by_test_id("decode-top-item")
    assert top.count() == len(steps[t]["top"]) == 5
    chosen = page.locator('[data-testid="decode-top-item"].chosen .ds-tok').inner_text()
    assert chosen == tgt[t + 1]
    read = page.locator('[data-testid="decode-read"] .tok')
    assert read.count() == t + 1 and page.locator('[data-testid="decode-read"] .tok.from-prompt').count() == n_prompt
    # a prompt step says it only guessed
    page.get_by_test_id("decode-step-0").click()
    expect(page.get_by_test_id("decode-step-0")).to_have_class(CURRENT)
    assert "guesses" in page.locator('[data-testid="decode-steps"] .ds-col h3').nth(1).inner_text()
    shot(page, f"steps-{name}")


def test_decoding_view_of_an_encoder_decoder(tiny_server: Server, page: Any) -> None:
    doc = document(tiny_server.url, "bart-tiny")
    open_model(page, tiny_server, "bart-tiny", "&kind=cross&insight=steps&step=1")
    page.get_by_test_id("decode-row-cross").wait_for()
    assert page.get_by_test_id("decode-row-decoder-self").count() == 1
    cross = page.locator('[data-testid="decode-row-cross"] .ds-bar')
    assert cross.count() == len(doc["tokens"]["src"])
    w = [float(x) for x in cross.evaluate_all("els => els.map(e => e.dataset.w)")]
    assert math.isclose(sum(w), 1, abs_tol=2e-3)
    # every target row of an encoder-decoder is decoding: none is marked as a prompt
    roles = page.eval_on_selector_all('[data-testid^="decode-step-"]', "els => els.map(e => e.dataset.role ?? '')")
    assert "prompt" not in roles and len(roles) == len(doc["tokens"]["tgt"])
    shot(page, "steps-bart")


MATH = """() => Object.fromEntries([...document.querySelectorAll('.mstep')].map(e =>
  [e.dataset.testid.replace('math-step-', ''), {data: {...e.dataset}, tex: e.querySelector('annotation')?.textContent ?? '',
   prose: e.querySelector('.mprose').textContent}]))"""
CELLS = """(id) => [...document.querySelectorAll(`[data-testid="math-table-${id}"] tbody tr`)].map(tr =>
  [...tr.querySelectorAll('td:not(.lead):not(.more)')].map(td => Number(td.dataset.v)))"""


def math_of(base: str, name: str, kind: str, layer: int, head: int) -> dict[str, Any]:
    body = {"checkpoint": f"hf/{name}", "text": TEXT, "kind": kind, "layer": layer, "head": head}
    r = httpx.post(f"{base}/api/attention/math", json=body, timeout=60)
    r.raise_for_status()
    m: dict[str, Any] = r.json()
    return m


def open_math(page: Any, base: str, name: str, kind: str, layer: int, head: int) -> dict[str, Any]:
    open_model(page, base, name, f"&kind={kind}&layer={layer}&head={head}&insight=math")
    page.get_by_test_id("math-step-weights").wait_for(timeout=60_000)
    steps: dict[str, Any] = page.evaluate(MATH)
    return steps


def close(a: list[list[float]], b: list[list[float]], tol: float = 6e-3) -> bool:
    return len(a) == len(b) and all(
        len(r) == len(s) and all(abs(x - y) <= tol * max(1, abs(y)) for x, y in zip(r, s, strict=True))
        for r, s in zip(a, b, strict=True)
    )


def test_math_of_t5_unscaled_with_its_position_bias(tiny_server: Server, page: Any) -> None:
    m = math_of(tiny_server.url, "t5-tiny", "encoder_self", 0, 1)
    assert m["scale"] == 1 and m["tensors"].get("position_bias")
    steps = open_math(page, tiny_server, "t5-tiny", "encoder_self", 0, 1)
    assert list(steps) == ["qkv", "qk", "scaled", "bias", "mask", "weights", "wsum", "output"]
    assert steps["scaled"]["data"]["scale"] == "1" and "sqrt" not in steps["scaled"]["tex"]
    assert "sqrt" not in steps["output"]["tex"] and "+ B" in steps["output"]["tex"]
    assert "+ B" in steps["bias"]["tex"]
    # the tables are the server's numbers: QKᵀ (computed here) + B = the scores, softmax = weights
    qk = page.evaluate(CELLS, "qk")
    bias = page.evaluate(CELLS, "bias")
    assert close(bias, m["tensors"]["position_bias"]["data"])
    summed = [[a + b for a, b in zip(r, s, strict=True)] for r, s in zip(qk, bias, strict=True)]
    assert close(summed, m["tensors"]["scores"]["data"])
    assert close(page.evaluate(CELLS, "biased"), m["tensors"]["scores"]["data"])
    assert close(page.evaluate(CELLS, "weights"), m["tensors"]["weights"]["data"])
    assert m["max_abs_diff"] < 1e-4
    page.get_by_test_id("math-step-bias").scroll_into_view_if_needed()
    shot(page, "math-t5")


def test_math_of_llama_with_rope_and_a_shared_kv_head(tiny_server: Server, page: Any) -> None:
    cfg = tiny_server.api("/api/checkpoints").json()
    m = math_of(tiny_server.url, "llama-gqa-tiny", "decoder_self", 1, 3)
    assert m["rope"] is True and m["n_kv_heads"] < 4, (m["n_kv_heads"], cfg)
    steps = open_math(page, tiny_server, "llama-gqa-tiny", "decoder_self", 1, 3)
    assert "bias" not in steps
    qkv = steps["qkv"]
    assert qkv["data"]["rope"] == "true" and "RoPE" in qkv["tex"] and "rotary" in qkv["prose"]
    assert qkv["data"]["kvHead"] == str(m["kv_head"]) and f"W^K_{{{m['kv_head']}}}" in qkv["tex"]
    assert f"key/value head {m['kv_head']}" in qkv["prose"]
    assert "sqrt" in steps["scaled"]["tex"]
    scaled = page.evaluate(CELLS, "scaled")
    mask = m["tensors"]["mask"]["data"]
    visible = lambda rows: [[v if ok else 0 for v, ok in zip(r, mr, strict=True)] for r, mr in zip(rows, mask, strict=True)]  # noqa: E731
    assert close(visible(scaled), visible(m["tensors"]["scores"]["data"]))
    assert close(page.evaluate(CELLS, "weights"), m["tensors"]["weights"]["data"])
    shot(page, "math-llama")


def test_gpt2_math_is_the_paper_scale_without_rope(tiny_server: Server, page: Any) -> None:
    steps = open_math(page, tiny_server, "gpt2-tiny", "decoder_self", 0, 2)
    assert "RoPE" not in steps["qkv"]["tex"] and "kvHead" not in steps["qkv"]["data"]
    assert "sqrt" in steps["scaled"]["tex"] and "bias" not in steps


CLIPPED = """(sel) => [...document.querySelectorAll(sel)].flatMap(el => {
  const panel = el.closest('.panel') ?? document.body; const p = panel.getBoundingClientRect();
  const r = el.getBoundingClientRect();
  if (!el.textContent || r.width === 0 || getComputedStyle(el).opacity === '0') return [];
  return r.left < p.left - 0.5 || r.right > p.right + 0.5 || r.top < p.top - 0.5 || r.bottom > p.bottom + 0.5
    ? [`${el.textContent} ${JSON.stringify([r.left, r.top, r.right, r.bottom])} outside ${JSON.stringify([p.left, p.top])}`]
    : [];
})"""
LONG = "the cat sat on the mat then every token looks at every other token"


@pytest.mark.parametrize("size", [(1440, 900), (1280, 720)])
def test_visible_space_tokens_are_drawn_whole(tiny_server: Server, new_page: Any, size: tuple[int, int]) -> None:
    page = new_page(viewport={"width": size[0], "height": size[1]})
    open_model(page, tiny_server, "gpt2-tiny", "&kind=decoder_self&view=arcs", LONG)
    tgt = shown(page)["doc"]["tgt"]  # the output's token chips
    assert len(tgt) >= 30 and sum("␣" in t for t in tgt) >= 10
    page.get_by_test_id("arc-canvas").wait_for()
    for sel in ('[data-testid="focus-heatmap"] text', '[data-testid="arc-view"] text', '[data-testid="arc-view"] .arc-label'):
        assert page.evaluate(CLIPPED, sel) == [], sel
    labels = page.eval_on_selector_all('[data-testid="focus-heatmap"] text', "els => els.map(e => e.textContent)")
    assert any(t.startswith("␣") for t in labels)
    page.screenshot(path=f"/tmp/attnviz-hf-tokens-{size[0]}.png")


def test_hide_special_tokens_uses_the_models_list(tiny_server: Server, page: Any) -> None:
    text = PROMPTS["llama-gqa-tiny"]
    doc = document(tiny_server.url, "llama-gqa-tiny", text)
    tgt, special = doc["tokens"]["tgt"], doc["special_tokens"]
    assert tgt[0] == "<s>" and "<s>" in special and any(t.startswith("<0x") for t in tgt)
    open_model(page, tiny_server, "llama-gqa-tiny", "&kind=decoder_self&insight=steps", text)
    page.get_by_test_id("hide-special").check()
    # exactly the model's special tokens go; byte tokens such as <0x1A>, which look alike, stay
    kept = [t for t in tgt if t not in special]
    expect(page.get_by_test_id("tokens-tgt").locator("span.tok")).to_have_count(len(kept))
    shown_tgt = shown(page)["doc"]["tgt"]
    assert shown_tgt == [display_token(t) for t in kept]
    # the decoding steps follow the kept rows: one per shown token, the boundary mapped
    page.get_by_test_id("decode-step-0").wait_for()
    roles = page.eval_on_selector_all('[data-testid^="decode-step-"]', "els => els.map(e => e.dataset.role)")
    n_prompt = prompt_length(tiny_server.url, "llama-gqa-tiny", text) - 1  # <s> hidden
    assert roles == ["prompt"] * (n_prompt - 1) + ["generated"] * (len(shown_tgt) - n_prompt) + ["next"], roles
    bars = page.locator('[data-testid="decode-row-decoder-self"] .ds-bar')
    assert bars.count() == len(shown_tgt)
    w = [float(x) for x in bars.evaluate_all("els => els.map(e => e.dataset.w)")]
    assert math.isclose(sum(w), 1, abs_tol=2e-3)  # renormalised over the kept keys
    shot(page, "hide-llama")


@pytest.mark.parametrize("name", ["gpt2-tiny", "llama-gqa-tiny", "t5-tiny", "bart-tiny"])
def test_every_offered_view_draws_without_an_error(tiny_server: Server, page: Any, name: str) -> None:
    open_model(page, tiny_server, name)
    # one tab per kind of attention the API's document has
    kinds = page.eval_on_selector_all('[role=tab][data-testid^="kind-"]', "els => els.map(e => e.dataset.testid.slice(5))")
    assert sorted(kinds) == sorted(document(tiny_server.url, name)["attentions"]), kinds
    for kind in kinds:
        page.get_by_test_id(f"kind-{kind}").click()
        expect(page.get_by_test_id(f"kind-{kind}")).to_have_attribute("aria-selected", "true")
        # the controls a person uses: the right-hand panel (arcs | stats), the diff on and off
        controls = (("aside-stats", "stats-row-0-0"), ("aside-arcs", "arc-canvas"), ("diff-toggle", "diff-a-canvas"))
        for button, testid in controls:
            page.get_by_test_id(button).click()
            page.get_by_test_id(testid).first.wait_for()
        page.get_by_test_id("diff-toggle").click()
        expect(page.get_by_test_id("diff-toggle")).to_have_attribute("aria-pressed", "false")
        page.get_by_test_id("focus-heatmap").wait_for()
        # the model view: every head of the kind, its aggregate columns (rollout only for encoders)
        cols = page.locator(".model-view-canvas, [data-testid='model-view-canvas']").count()
        assert cols > 0
        for tab in ("math", "steps"):
            page.get_by_test_id(f"insight-tab-{tab}").click()
            ready = '[data-testid="math-step-weights"]' if tab == "math" else '[data-testid="decode-row-decoder-self"]'
            page.wait_for_selector(ready, timeout=60_000)
            page.get_by_test_id(f"insight-tab-{tab}").click()
            expect(page.get_by_test_id(f"insight-tab-{tab}")).to_have_attribute("aria-pressed", "false")
            expect(page.get_by_test_id("insight-panel")).to_be_hidden()
    # switch a head off and back: the output is recomputed with it ablated
    page.get_by_test_id("ablate-toggle").click()
    s = shown(page)  # the focused head, as its heatmap's title names it
    expect(page.get_by_test_id("ablate-chip")).to_have_count(1)
    wait_drawn(page, TEXT, f"hf/{name}", ablate=f"{s['kind']}:{s['layer']}.{s['head']}", timeout=60_000)
    page.get_by_test_id("ablation-compare").wait_for()
    page.get_by_test_id("ablate-toggle").click()
    expect(page.get_by_test_id("ablate-chip")).to_have_count(0)
    wait_drawn(page, TEXT, f"hf/{name}", ablate="", timeout=60_000)
    shot(page, f"views-{name}")


OVERLAPS = """() => { const hm = document.querySelector('[data-testid="focus-heatmap"]').closest('.panel');
  const boxes = [...hm.querySelectorAll('.axis-title, .legend')].filter(e => getComputedStyle(e).display !== 'none')
    .map(e => [e.textContent, e.getBoundingClientRect()]);
  const hit = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
  return boxes.flatMap(([t, a], i) => boxes.slice(i + 1).filter(([, b]) => hit(a, b)).map(([u]) => `${t} / ${u}`)); }"""


def test_a_one_row_heatmap_keeps_its_titles_apart(tiny_server: Server, page: Any) -> None:
    doc = document(tiny_server.url, "bart-tiny")
    assert len(doc["tokens"]["tgt"]) <= 2  # the tiny BART stops at once: one or two query rows
    open_model(page, tiny_server, "bart-tiny", "&kind=cross")
    page.get_by_test_id("focus-heatmap-canvas").wait_for()
    assert page.evaluate(OVERLAPS) == []
    assert "query · target" in page.locator('[data-testid="focus-heatmap"] .axis-title').all_text_contents()[1]
    shot(page, "bart-cross")
