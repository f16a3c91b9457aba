"""Sampling from the decoding view, in real Chromium against the real server: the controls set the
temperature and the seed, the URL keeps them (`temp`, `seed`), each step shows the drawn token with
its probabilities as the server computed them, a reload draws the same tokens, and Greedy goes back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from ..browser import Server, open_app, url_params

CKPT = "copy/ckpt_epoch3.pt"
TEXT = "abcabcab"
SHOTS = Path("/tmp/sampling")


def wait_sampling(page: Page, key: str) -> None:
    """Until the document drawn for TEXT was computed with sampling key ``key`` ('' = greedy)."""
    page.wait_for_function(
        "([text, key]) => { const v = document.getElementById('views');"
        " return v.dataset.state === 'ready' && v.dataset.input === text && v.dataset.sampling === key; }",
        arg=[TEXT, key],
    )


def steps_shown(page: Page, n: int) -> list[dict[str, Any]]:
    """Step through the strip: each step's drawn token and the probabilities the view shows."""
    out = []
    for t in range(n):
        page.locator(f"[data-testid=decode-step-{t}]").click()
        page.locator(f"[data-testid=decode-step-{t}].current").wait_for()
        chosen = page.get_by_test_id("decode-chosen")
        out.append(
            {
                "token": chosen.get_attribute("data-token"),
                "p": float(chosen.get_attribute("data-p") or "nan"),
                "p_sampled": float(chosen.get_attribute("data-p-sampled") or "nan"),
                "top": page.locator("[data-testid=decode-top-item]").count(),
                "says": chosen.inner_text(),
            }
        )
    return out


@pytest.mark.parametrize("viewport", [{"width": 1440, "height": 900}, {"width": 1280, "height": 720}], ids=["1440", "1280"])
def test_sampling_controls_url_steps_and_reload(new_page: Any, server: Server, viewport: dict[str, int]) -> None:
    page: Page = new_page(viewport=viewport, base_url=server.url, local_only=True)
    open_app(page, server.url, f"?ckpt={CKPT}&text={TEXT}&insight=steps", drawn=True)
    controls = page.get_by_test_id("sampling-controls")
    expect(controls).to_be_visible()
    expect(page.get_by_test_id("sampling-greedy")).to_have_attribute("aria-pressed", "true")
    expect(page.get_by_test_id("sampling-seed")).to_be_disabled()
    greedy_out = server.api("/api/attention", {"checkpoint": CKPT, "text": TEXT}).json()["output"]

    # a temperature starts sampling with a seed of its own, and the URL names both
    page.get_by_test_id("sampling-temp").fill("2.5")
    page.get_by_test_id("sampling-temp").press("Enter")
    page.wait_for_function("() => document.getElementById('views').dataset.sampling.startsWith('2.5|')")
    params = url_params(page)
    assert params["temp"] == "2.5" and int(params["seed"]) >= 0

    # a seed typed in: the draw the server makes for it, step by step
    page.get_by_test_id("sampling-seed").fill("1234")
    page.get_by_test_id("sampling-seed").press("Enter")
    wait_sampling(page, "2.5|0|1|1234")
    params = url_params(page)
    assert params["temp"] == "2.5" and params["seed"] == "1234"
    ref = server.api("/api/attention", {"checkpoint": CKPT, "text": TEXT, "temperature": 2.5, "seed": 1234}).json()
    assert ref["sampling"] == {"temperature": 2.5, "top_k": 0, "top_p": 1.0, "seed": 1234}
    shown = steps_shown(page, len(ref["steps"]))
    for st, want in zip(shown, ref["steps"], strict=True):
        assert st["token"] == want["token"]
        assert st["p"] == pytest.approx(want["p"]) and st["p_sampled"] == pytest.approx(want["p_sampled"])
        assert st["says"].startswith("Drew") and "under the sampling distribution" in st["says"]
        assert st["top"] >= 5  # the model's top 5 (and the drawn token after them when it is not among them)
    output = page.locator("[data-testid=output] code.out-text:not(.expected)").inner_text()
    assert output == ref["output"]
    expect(page.get_by_test_id("decode-steps")).to_contain_text("seed 1234")
    page.screenshot(path=str(SHOTS / f"sampling-{viewport['width']}.png"))

    # the link reproduces the draw
    page.reload()
    page.wait_for_function("() => document.documentElement.dataset.ready === '1'")
    wait_sampling(page, "2.5|0|1|1234")
    expect(page.get_by_test_id("sampling-seed")).to_have_value("1234")
    assert page.locator("[data-testid=output] code.out-text:not(.expected)").inner_text() == output
    assert [s["token"] for s in steps_shown(page, len(ref["steps"]))] == [s["token"] for s in ref["steps"]]

    # the training timeline decodes every epoch greedily, and says so beside the sampled text
    page.get_by_test_id("insight-tab-timeline").click()
    expect(page.get_by_test_id("timeline-view")).to_contain_text("Each epoch decodes greedily")
    page.get_by_test_id("insight-tab-steps").click()

    # Greedy: the settings leave the URL and the most probable tokens come back
    page.get_by_test_id("sampling-greedy").click()
    wait_sampling(page, "")
    params = url_params(page)
    assert "temp" not in params and "seed" not in params
    assert page.locator("[data-testid=output] code.out-text:not(.expected)").inner_text() == greedy_out
    expect(page.get_by_test_id("decode-chosen")).to_contain_text("Picked the most probable")
