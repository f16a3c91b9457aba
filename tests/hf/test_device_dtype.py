"""Where Hugging Face models run: ``--device auto|cpu|cuda|mps`` and ``--dtype float32|bfloat16|float16``
(``attnviz serve``, ``attnviz html``, ``ATTNVIZ_DEVICE`` / ``ATTNVIZ_DTYPE``). Tested on the CPU:
half-precision weights give the float32 model's attention within half-precision error, sent as
float32; ``cuda`` on a machine without a GPU is a one-line error before anything is served."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient

from attnviz.encoding import decode_weights
from attnviz.server import Settings

from ..live_server import REPO
from .conftest import make_app
from .tiny_models import TINY

transformers = pytest.importorskip("transformers")

from attnviz.hf import (  # noqa: E402
    DeviceUnavailableError,
    hf_document,
    hf_math,
    load_hf_model,
    resolve_device,
    run_model,
)

TEXT = "hello world"
NO_GPU = not torch.cuda.is_available()


def attnviz_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO / "backend")}
    return subprocess.run([sys.executable, "-m", "attnviz.cli", *args], capture_output=True, text=True, env=env, timeout=120)


@pytest.mark.skipif(not NO_GPU, reason="this machine has a CUDA GPU")
def test_auto_is_the_cpu_without_a_gpu_and_cuda_is_a_clear_error() -> None:
    mps = torch.backends.mps.is_available()
    assert resolve_device("auto") == torch.device("mps" if mps else "cpu")
    assert resolve_device("cpu") == torch.device("cpu")
    with pytest.raises(DeviceUnavailableError, match=r"device 'cuda': this torch .* sees no CUDA GPU; use --device cpu"):
        resolve_device("cuda")
    with pytest.raises(DeviceUnavailableError, match="unknown device 'tpu'"):
        resolve_device("tpu")


@pytest.mark.skipif(not NO_GPU, reason="this machine has a CUDA GPU")
def test_serve_on_cuda_without_a_gpu_exits_with_one_line() -> None:
    r = attnviz_cli("serve", "--device", "cuda", "--port", "0")
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines() == [r.stderr.strip()] and r.stderr.startswith("error: device 'cuda'"), r.stderr


def test_serve_options_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    bad = attnviz_cli("serve", "--dtype", "float64")
    assert bad.returncode == 2 and "invalid choice: 'float64'" in bad.stderr
    bad = attnviz_cli("serve", "--device", "gpu")
    assert bad.returncode == 2 and "invalid choice: 'gpu'" in bad.stderr
    assert "--device {auto,cpu,cuda,mps}" in attnviz_cli("serve", "--help").stdout
    assert (Settings().device, Settings().dtype) == ("auto", "float32")
    monkeypatch.setenv("ATTNVIZ_DEVICE", "cpu")
    monkeypatch.setenv("ATTNVIZ_DTYPE", "bfloat16")
    assert (Settings().device, Settings().dtype) == ("cpu", "bfloat16")


@pytest.mark.parametrize("name", list(TINY))
def test_bfloat16_on_the_cpu_matches_float32_and_sends_float32(tiny_root: Path, name: str) -> None:
    ref = load_hf_model(tiny_root / "hf" / name)
    half = load_hf_model(tiny_root / "hf" / name, device="cpu", dtype="bfloat16")
    assert {p.dtype for p in half.model.parameters()} == {torch.bfloat16} and half.device == torch.device("cpu")
    weights = [sum(p.numel() * p.element_size() for p in m.model.parameters()) for m in (half, ref)]
    assert weights[0] * 2 == weights[1] and half.nbytes < ref.nbytes  # two bytes a weight instead of four
    full_run = run_model(ref, TEXT, 0)  # the prompt alone: the same sequence for both
    half_run = run_model(half, TEXT, 0)
    for kind, w in full_run.attentions.items():
        got = half_run.attentions[kind]
        assert got.dtype == torch.float32 and got.device == torch.device("cpu")
        np.testing.assert_allclose(got.numpy(), w.numpy(), atol=0.03)
        np.testing.assert_allclose(got.sum(-1).numpy(), 1.0, atol=0.02)  # rows still add up
    doc = hf_document(half, TEXT, name=f"hf/{name}", encoding="float16", max_new_tokens=0)
    for kind, value in doc["attentions"].items():
        np.testing.assert_allclose(decode_weights(value), full_run.attentions[kind].numpy(), atol=0.03)
    kind = next(iter(half.sites))
    math = hf_math(half, TEXT, kind, 1, 2, max_new_tokens=0)
    assert math["tensors"]["weights"].dtype == torch.float32 and math["max_abs_diff"] < 0.03


def test_float16_on_the_cpu_through_the_api(tiny_root: Path) -> None:
    with TestClient(make_app(tiny_root, device="cpu", dtype="float16")) as client:
        r = client.post(
            "/api/attention", json={"checkpoint": "hf/gpt2-tiny", "text": TEXT, "encoding": "json", "max_new_tokens": 0}
        )
        assert r.status_code == 200, r.text
        w = np.asarray(r.json()["attentions"]["decoder_self"], dtype=np.float64)
    ref = run_model(load_hf_model(tiny_root / "hf" / "gpt2-tiny"), TEXT, 0)
    assert w.shape == tuple(ref.attentions["decoder_self"].shape)
    np.testing.assert_allclose(w, ref.attentions["decoder_self"].numpy(), atol=0.02)
