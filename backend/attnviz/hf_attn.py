"""Where a Hugging Face model computes attention, and how to step through it or switch a head off.

Every attention module of a loaded model is found by its projections (GPT-2's fused ``c_attn``;
LLaMA/Qwen/Mistral/BART/Marian ``q_proj``/``k_proj``/``v_proj``; T5 ``q``/``k``/``v``/``o``;
BERT ``query``/``key``/``value``) and given a *site*: its kind (``encoder_self``,
``decoder_self``, ``cross``), layer, head sizes and output projection.

Two permanent hooks per site read a thread-local request state, so concurrent requests share one
model safely and a request without them pays one Python call per module:
- a forward hook on the attention module records its inputs (for the step-through), which is
  recomputed from the module's own projections: Q, K, V (RoPE applied, grouped key/value heads
  repeated), the scores with the module's own scale (T5: none) plus T5's relative position bias,
  the mask, softmax and weights·V;
- a forward pre-hook on the output projection (``c_proj`` / ``o_proj`` / ``out_proj`` / ``o`` /
  BERT's ``output.dense``) zeroes an ablated head's slice of its input.
"""

from __future__ import annotations

import inspect
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

CROSS_NAMES = ("EncDecAttention", "encoder_attn", "crossattention", "cross_attn")


@dataclass
class Site:
    """One attention module of a model."""

    kind: str
    layer: int
    name: str
    module: nn.Module
    out_proj: nn.Module
    style: str  # "gpt2" | "proj" | "t5" | "bert"
    n_heads: int
    n_kv_heads: int
    head_dim: int


Reduce = Callable[[int, tuple[Any, ...], dict[str, Any], Any], Any]


@dataclass
class _State(threading.local):
    capture: dict[int, Any] | None = None
    watch: set[int] = field(default_factory=set)
    ablate: dict[int, list[int]] = field(default_factory=dict)
    # reduce(site module id, args, kwargs, output) -> what to keep (long inputs keep Q, K and a summary,
    # never the module's whole output, which holds that layer's attention weights)
    reduce: Reduce | None = None


STATE = _State()


def _parts(name: str) -> list[str]:
    return name.split(".")


def _site_of(module: Any, parent: Any, config: Any) -> tuple[str, nn.Module, int, int, int] | None:
    """``(style, output projection, n_heads, n_kv_heads, head_dim)`` of an attention module, or None."""
    n_cfg = int(getattr(config, "num_attention_heads", 0) or getattr(config, "num_heads", 0) or 0)
    if hasattr(module, "c_attn") and hasattr(module, "c_proj") and not getattr(module, "is_cross_attention", False):
        h, d = int(module.num_heads), int(module.head_dim)
        return "gpt2", module.c_proj, h, h, d
    if all(hasattr(module, a) for a in ("q_proj", "k_proj", "v_proj")):
        out = getattr(module, "o_proj", None) or getattr(module, "out_proj", None)
        if out is None:
            return None
        d = int(getattr(module, "head_dim", 0) or 0)
        if not d:
            return None
        h = int(module.q_proj.out_features) // d
        kv = int(module.k_proj.out_features) // d
        return "proj", out, h, kv, d
    if all(isinstance(getattr(module, a, None), nn.Linear) for a in ("q", "k", "v", "o")) and hasattr(module, "n_heads"):
        h, d = int(module.n_heads), int(module.key_value_proj_dim)
        return "t5", module.o, h, h, d
    if all(isinstance(getattr(module, a, None), nn.Linear) for a in ("query", "key", "value")):
        dense = getattr(getattr(parent, "output", None), "dense", None)
        if not isinstance(dense, nn.Linear) or not hasattr(module, "attention_head_size"):
            return None
        h = int(getattr(module, "num_attention_heads", n_cfg))
        return "bert", dense, h, h, int(module.attention_head_size)
    return None


def find_sites(model: nn.Module, family: str) -> dict[str, list[Site]]:
    """The attention modules of ``model`` by kind, in layer order."""
    modules = dict(model.named_modules())
    sites: dict[str, list[Site]] = {}
    for name, module in modules.items():
        parent = modules.get(name.rsplit(".", 1)[0]) if "." in name else model
        found = _site_of(module, parent, model.config)
        if found is None:
            continue
        parts = _parts(name)
        if family == "encoder":
            kind = "encoder_self"
        elif family == "decoder":
            if parts[-1] in CROSS_NAMES:
                continue
            kind = "decoder_self"
        elif "encoder" in parts:
            kind = "encoder_self"
        elif parts[-1] in CROSS_NAMES:
            kind = "cross"
        else:
            kind = "decoder_self"
        style, out, h, kv, d = found
        lst = sites.setdefault(kind, [])
        lst.append(Site(kind, len(lst), name, module, out, style, h, kv, d))
    return sites


def install_hooks(sites: dict[str, list[Site]]) -> None:
    """The capture hook and the ablation pre-hook of every site (once per loaded model)."""
    for site in (s for lst in sites.values() for s in lst):
        sid = id(site.module)

        def capture(module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any], output: Any, sid: int = sid) -> None:
            cap = STATE.capture
            if cap is not None and sid in STATE.watch:
                cap[sid] = (args, kwargs, output) if STATE.reduce is None else STATE.reduce(sid, args, kwargs, output)

        def ablate(module: nn.Module, args: tuple[Any, ...], sid: int = sid, d: int = site.head_dim) -> Any:
            heads = STATE.ablate.get(sid)
            if not heads:
                return None
            x = args[0].clone()
            for h in heads:
                x[..., h * d : (h + 1) * d] = 0.0
            return (x, *args[1:])

        site.module.register_forward_hook(capture, with_kwargs=True)
        site.out_proj.register_forward_pre_hook(ablate)


class ablating:
    """``with ablating({site_module_id: [heads]}):`` zeroes those heads in this thread."""

    def __init__(self, heads: dict[int, list[int]]) -> None:
        self.heads = heads

    def __enter__(self) -> None:
        self.saved = STATE.ablate
        STATE.ablate = self.heads

    def __exit__(self, *exc: object) -> None:
        STATE.ablate = self.saved


class capturing:
    """``with capturing([site]) as cap:`` records the inputs of those sites' modules in this thread;
    with ``reduce``, what ``reduce(site id, args, kwargs, output)`` returns instead."""

    def __init__(self, sites: list[Site], reduce: Reduce | None = None) -> None:
        self.ids = {id(s.module) for s in sites}
        self.reduce = reduce

    def __enter__(self) -> dict[int, Any]:
        self.saved = (STATE.capture, STATE.watch, STATE.reduce)
        STATE.capture, STATE.watch, STATE.reduce = {}, self.ids, self.reduce
        return STATE.capture

    def __exit__(self, *exc: object) -> None:
        STATE.capture, STATE.watch, STATE.reduce = self.saved


def _bound(module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    try:
        return dict(inspect.signature(module.forward).bind_partial(*args, **kwargs).arguments)
    except TypeError:
        return {"hidden_states": args[0] if args else kwargs.get("hidden_states"), **kwargs}


def _heads(x: Tensor, d: int) -> Tensor:
    """``(B, T, n·d)`` → ``(B, n, T, d)``."""
    return x.view(*x.shape[:-1], -1, d).transpose(1, 2)


def _site_inputs(m: Any, args: tuple[Any, ...], kwargs: dict[str, Any], bound: dict[str, Any] | None = None) -> tuple[Any, Any]:
    """``(hidden_states, key/value states)`` a module was called with (the same for self-attention)."""
    bound = _bound(m, args, kwargs) if bound is None else bound
    x = bound.get("hidden_states")
    if x is None:
        x = args[0]
    kv_x = bound.get("key_value_states")
    if kv_x is None:
        kv_x = bound.get("encoder_hidden_states")
    if kv_x is None:
        kv_x = x
    return x, kv_x


@torch.no_grad()
def site_qkv(site: Site, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Tensor, Tensor, Tensor, bool]:
    """``(q, k, v, rope)`` of every head at ``site`` from its captured inputs, as the module
    computes them: ``q`` ``(B, n_heads, T_q, d)``, ``k`` / ``v`` ``(B, n_kv_heads, T_k, d)``."""
    m: Any = site.module
    bound = _bound(m, args, kwargs)
    x, kv_x = _site_inputs(m, args, kwargs, bound)
    d = site.head_dim
    rope = False
    if site.style == "gpt2":
        q, k, v = (_heads(t, d) for t in m.c_attn(x).split(m.split_size, dim=2))
    elif site.style == "proj":
        q_lin, k_lin, v_lin = m.q_proj(x), m.k_proj(kv_x), m.v_proj(kv_x)
        if hasattr(m, "q_norm") and hasattr(m, "k_norm"):  # Qwen3-style per-head norms before RoPE
            q = m.q_norm(q_lin.view(*q_lin.shape[:-1], -1, d)).transpose(1, 2)
            k = m.k_norm(k_lin.view(*k_lin.shape[:-1], -1, d)).transpose(1, 2)
        else:
            q, k = _heads(q_lin, d), _heads(k_lin, d)
        v = _heads(v_lin, d)
        pos = bound.get("position_embeddings")
        if pos is not None:
            apply_rope = sys.modules[type(m).__module__].apply_rotary_pos_emb
            cos, sin = pos
            q, k = apply_rope(q, k, cos, sin)
            rope = True
    elif site.style == "t5":
        q, k, v = _heads(m.q(x), d), _heads(m.k(kv_x), d), _heads(m.v(kv_x), d)
    else:  # bert
        q, k, v = _heads(m.query(x), d), _heads(m.key(x), d), _heads(m.value(x), d)
    return q, k, v, rope


def out_weight(site: Site) -> Tensor:
    """The output projection as ``(d_model, n_heads·d)`` (``out = concat(heads) @ Wᵀ``): an
    ``nn.Linear``'s weight, GPT-2's ``Conv1D`` (which stores it transposed) turned round."""
    w = site.out_proj.weight
    assert isinstance(w, Tensor)
    return w if isinstance(site.out_proj, nn.Linear) else w.T


@torch.no_grad()
def site_value_norms(site: Site, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Tensor:
    """``‖v_j W^O_h‖`` of every head h and key j at ``site`` (:mod:`attnviz.weighting`), from its
    captured inputs: ``(n_heads, T_k)`` float32 on the CPU (grouped value heads repeated)."""
    from .weighting import value_norms

    return value_norms(site_values(site, args, kwargs)[0], out_weight(site), site.n_heads).cpu()


@torch.no_grad()
def site_values(site: Site, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Tensor:
    """``v`` ``(B, n_kv_heads, T_k, d)`` at ``site`` from its captured inputs, as :func:`site_qkv`
    computes it, without Q and K (GPT-2's fused projection computes all three anyway)."""
    m: Any = site.module
    x, kv_x = _site_inputs(m, args, kwargs)
    d = site.head_dim
    if site.style == "gpt2":
        return _heads(m.c_attn(x).split(m.split_size, dim=2)[2], d)
    if site.style == "proj":
        return _heads(m.v_proj(kv_x), d)
    if site.style == "t5":
        return _heads(m.v(kv_x), d)
    return _heads(m.value(x), d)  # bert, as site_qkv


def site_scale(site: Site) -> float:
    """The module's own factor on Q Kᵀ (1/√d; T5: 1)."""
    return float(getattr(site.module, "scaling", site.head_dim**-0.5) or 1.0)


@torch.no_grad()
def trace_site(site: Site, captured: tuple[tuple[Any, ...], dict[str, Any], Any], head: int) -> dict[str, Any]:
    """The intermediate tensors of ``head`` at ``site`` recomputed from the captured module inputs."""
    args, kwargs, output = captured
    d = site.head_dim
    q, k, v, rope = site_qkv(site, args, kwargs)
    groups = site.n_heads // site.n_kv_heads
    kv_head = head // groups
    qh, kh, vh = q[0, head].float(), k[0, kv_head].float(), v[0, kv_head].float()
    scale = site_scale(site)
    scores = (qh @ kh.T) * scale
    bias: Tensor | None = None
    if site.style == "t5" and isinstance(output, tuple) and len(output) > 1 and isinstance(output[1], Tensor):
        pb = output[1]
        if pb.abs().max() > 0:  # cross-attention and layers without relative attention pass zeros
            bias = pb[0, head].float()
            scores = scores + bias
    tq, tk = scores.shape
    if site.kind == "decoder_self":
        mask = torch.ones(tq, tk, dtype=torch.bool, device=scores.device).tril(tk - tq)
    else:
        mask = torch.ones(tq, tk, dtype=torch.bool, device=scores.device)
    weights = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)
    tensors = {"q": qh, "k": kh, "v": vh, "scores": scores, "mask": mask, "weights": weights, "output": weights @ vh}
    if bias is not None:
        tensors["position_bias"] = bias
    return {
        "d_k": d,
        "scale": scale,
        "rope": rope,
        "kv_head": kv_head,
        "n_kv_heads": site.n_kv_heads,
        "tensors": tensors,
    }
