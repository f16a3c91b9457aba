"""Attention at any length (needs the ``hf`` extra): overviews and tiles through a real uvicorn.

1. a tiny LLaMA-style model (2 layers x 4 heads, d 64, 8,192 positions, random weights) at ~8,192
   tokens: the bare transformers eager forward with ``output_attentions`` (1 torch thread, in this
   process) vs ``POST /api/attention`` with detail ``overview`` (uint8, no generated tokens); the
   server's peak resident memory (VmHWM) over its baseline during that request;
2. ``POST /api/attention/tile`` round trips on that run (random 256 x 256 regions and whole-matrix
   pooled tiles), p50 and p95;
3. a GPT-2-size architecture (12 x 12, d 768, 1,024 positions, random weights) at 1,024 tokens: the
   overview's size in bytes.

Targets: overview <= 1.5x the bare forward; tile p50 <= 150 ms; GPT-2-size overview <= 4 MB.

Usage: python bench/bench_long.py [--runs 3] [--tiles 40]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "backend"))
sys.path.insert(0, str(ROOT))

from tests.hf.long_models import long_text  # noqa: E402
from tests.hf.tiny_models import _sentencepiece_bpe, bytelevel_tokenizer  # noqa: E402
from tests.live_server import serve  # noqa: E402


def fit_text(tok: Any, n: int) -> str:
    """The longest corpus text with at most ``n`` tokens (special tokens included)."""
    lo, hi = 1, n
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if len(tok(long_text(mid))["input_ids"]) <= n:
            lo = mid
        else:
            hi = mid - 1
    return long_text(lo)


def server_pid(port: int) -> int:
    import psutil

    return next(c.pid for c in psutil.net_connections("tcp") if c.laddr and c.laddr.port == port and c.status == "LISTEN")


def peak_rss(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))) * 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--tiles", type=int, default=40)
    args = ap.parse_args()
    try:
        import transformers as tf
    except ImportError:
        print("skipped: the hf extra (transformers) is not installed")
        return
    torch.set_num_threads(1)
    torch.manual_seed(0)
    tmp = tempfile.TemporaryDirectory()
    root = Path(tmp.name) / "checkpoints"
    llama_dir = root / "hf" / "llama-8k"
    tok = tf.PreTrainedTokenizerFast(
        tokenizer_object=_sentencepiece_bpe(), unk_token="<unk>", bos_token="<s>", eos_token="</s>", model_max_length=8192
    )
    cfg = tf.LlamaConfig(
        vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=4, max_position_embeddings=8192, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
        pad_token_id=None,
    )  # fmt: skip
    tf.LlamaForCausalLM(cfg).eval().save_pretrained(llama_dir)
    tok.save_pretrained(llama_dir)
    gtok = tf.PreTrainedTokenizerFast(
        tokenizer_object=bytelevel_tokenizer(["<|endoftext|>"]), bos_token="<|endoftext|>", eos_token="<|endoftext|>"
    )
    gpt2_dir = root / "hf" / "gpt2-size"
    gcfg = tf.GPT2Config(vocab_size=len(gtok), bos_token_id=gtok.bos_token_id, eos_token_id=gtok.eos_token_id)
    tf.GPT2LMHeadModel(gcfg).eval().save_pretrained(gpt2_dir)
    gtok.save_pretrained(gpt2_dir)

    text = fit_text(tok, 8192)
    ids = tok(text, return_tensors="pt")["input_ids"]
    n = int(ids.shape[1])
    model = tf.LlamaForCausalLM.from_pretrained(llama_dir, attn_implementation="eager").eval()
    bare = []
    with torch.no_grad():
        for _ in range(args.runs):
            started = time.perf_counter()
            out = model(input_ids=ids, output_attentions=True)
            bare.append(time.perf_counter() - started)
            del out
    del model
    bare_s = statistics.median(bare)
    print(
        f"LLaMA-style 2 x 4, d 64 at {n} tokens: bare eager forward with output_attentions {bare_s:.2f} s (median of {args.runs})"
    )

    env = {"ATTNVIZ_MAX_BODY_BYTES": str(1 << 20), "ATTNVIZ_INFERENCE_THREADS": "1", "ATTNVIZ_TORCH_THREADS": "1"}
    with serve(root, Path(tmp.name) / "server.log", env=env, timeout=180) as base:
        client = httpx.Client(base_url=base, timeout=900)
        pid = server_pid(int(base.rsplit(":", 1)[1]))
        warm = {"checkpoint": "hf/llama-8k", "text": "the cat sat", "max_new_tokens": 0}
        assert client.post("/api/attention", json=warm).status_code == 200
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        import psutil

        baseline = psutil.Process(pid).memory_info().rss
        body = {**warm, "text": text, "detail": "overview", "encoding": "uint8"}
        times, doc = [], None
        for _ in range(args.runs):
            started = time.perf_counter()
            r = client.post("/api/attention", json=body)
            times.append(time.perf_counter() - started)
            assert r.status_code == 200, r.text[:300]
            doc = r.json()
        assert doc is not None
        over_s = statistics.median(times)
        peak = peak_rss(pid) - baseline
        layer = 4 * n * n * 4
        print(
            f"  overview through uvicorn: {over_s:.2f} s = {over_s / bare_s:.2f}x the bare forward (target <= 1.5x); "
            f"{len(r.content) / 1e6:.2f} MB; server peak RSS over baseline {peak / 2**20:.0f} MiB "
            f"= {peak / layer:.2f} x one layer's weights ({layer / 2**20:.0f} MiB; the whole tensor is 2 x)"
        )
        handle = doc["overview"]["handle"]
        rng = random.Random(0)
        tile_times = []
        for i in range(args.tiles):
            if i % 4 == 3:
                region = {"q0": 0, "q1": n, "k0": 0, "k1": n}  # the whole matrix, pooled
            else:
                q0, k0 = rng.randrange(n - 256), rng.randrange(n - 256)
                region = {"q0": q0, "q1": q0 + 256, "k0": k0, "k1": k0 + 256}
            req = {"handle": handle, "kind": "decoder_self", "layer": rng.randrange(2), "head": rng.randrange(4), **region}
            started = time.perf_counter()
            r = client.post("/api/attention/tile", json=req)
            tile_times.append(time.perf_counter() - started)
            assert r.status_code == 200, r.text[:300]
        tile_times.sort()
        p50 = statistics.median(tile_times)
        p95 = tile_times[int(0.95 * (len(tile_times) - 1))]
        print(f"  tile round trip ({args.tiles}: 256 x 256 exact, every 4th the whole matrix pooled): p50 {p50 * 1e3:.0f} ms, "
              f"p95 {p95 * 1e3:.0f} ms (target p50 <= 150 ms)")  # fmt: skip

        gtext = fit_text(gtok, 1024)
        started = time.perf_counter()
        r = client.post(
            "/api/attention", json={"checkpoint": "hf/gpt2-size", "text": gtext, "max_new_tokens": 0, "encoding": "uint8"}
        )
        took = time.perf_counter() - started
        assert r.status_code == 200, r.text[:300]
        g = r.json()
        nq = g["overview"]["kinds"]["decoder_self"]["nq"]
        print(f"GPT-2-size 12 x 12 at {nq} tokens (auto -> {g['detail']}): {len(r.content) / 1e6:.2f} MB (target <= 4 MB), "
              f"{took:.1f} s")  # fmt: skip
    print(f"load average: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
