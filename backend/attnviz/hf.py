"""Real pretrained Transformers beside the toy models (the optional ``hf`` extra).

Any local Hugging Face model directory (``config.json`` + weights + tokenizer) of one of three
families can be run and shown in attnviz:

- ``encoder`` (BERT, MiniLM, RoBERTa...) through ``AutoModel``: ``encoder_self`` only;
- ``decoder`` (GPT-2, LLaMA, Qwen, Mistral... grouped-query attention included) through
  ``AutoModelForCausalLM``: generation (greedy or sampled, :mod:`attnviz.sampling`), then
  ``decoder_self`` over prompt + generated tokens;
- ``encoder-decoder`` (T5, BART, Marian) through ``AutoModelForSeq2SeqLM``: all three kinds,
  exactly like the toy model.

Loading is offline (``local_files_only``, ``HF_HUB_OFFLINE``), with ``attn_implementation="eager"``
(the ``sdpa`` kernel returns no weights), ``trust_remote_code=False`` (a config asking for custom
code through ``auto_map`` is refused), safetensors preferred and pickled ``pytorch_model.bin``
read only through ``torch.load(weights_only=True)`` (transformers' ``weights_only=True``, passed
explicitly), in float32 on the CPU by default. ``device`` / ``dtype`` (``attnviz serve --device
--dtype``) put the weights and the forward pass on a GPU, in half precision if asked; only what is
sent leaves the device: the attention weights and logits, converted to float32 on the CPU.

``transformers`` is imported lazily, so everything else in attnviz works without the extra.
"""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import torch

from . import hf_attn
from .document import envelope
from .encoding import Encoding, encode_weights
from .export_attention_json import DEFAULT_TOP_K, step_rows
from .sampling import GREEDY, Sampler, Sampling
from .weighting import Weighting, check_weighting, reweight

WEIGHT_FILES = (
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
)
TOKENIZER_FILES = (
    "tokenizer.json",
    "vocab.txt",
    "vocab.json",
    "tokenizer.model",
    "spiece.model",
    "sentencepiece.bpe.model",
    "source.spm",
)
SEQ2SEQ_MARKERS = ("ForConditionalGeneration", "Seq2Seq", "MTModel")
CAUSAL_MARKERS = ("ForCausalLM", "LMHeadModel")
FAMILIES = ("encoder", "decoder", "encoder-decoder")
DEFAULT_MAX_NEW_TOKENS = 20
FALLBACK_CONTEXT = 512  # models with relative positions (T5) name no context size
BYTES_PER_PARAM = 4  # loaded in float32
DEVICES = ("auto", "cpu", "cuda", "mps")
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


class DeviceUnavailableError(ValueError):
    """A device this torch cannot use (``cuda`` without a GPU, an unknown name); the message says why."""


def resolve_device(name: str = "cpu") -> torch.device:
    """``auto``: the first of CUDA, then Apple's MPS, that torch sees, else the CPU; ``cuda`` /
    ``mps`` must be there (raises :class:`DeviceUnavailableError`), never a silent fallback."""
    mps = getattr(torch.backends, "mps", None)
    has_mps = bool(mps is not None and mps.is_available())
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "mps" if has_mps else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        build = "a CPU-only build" if torch.version.cuda is None else f"built for CUDA {torch.version.cuda}"
        raise DeviceUnavailableError(
            f"device 'cuda': this torch ({torch.__version__}, {build}) sees no CUDA GPU; use --device cpu (or auto)"
        )
    if name == "mps" and not has_mps:
        raise DeviceUnavailableError("device 'mps': this torch sees no Apple GPU (MPS); use --device cpu (or auto)")
    if name not in DEVICES:
        raise DeviceUnavailableError(f"unknown device {name!r}: one of {', '.join(DEVICES)}")
    return torch.device(name)


def resolve_dtype(name: str = "float32") -> torch.dtype:
    if name not in DTYPES:
        raise DeviceUnavailableError(f"unknown dtype {name!r}: one of {', '.join(DTYPES)}")
    return DTYPES[name]


class HFModelError(Exception):
    """A directory that cannot be used as a Hugging Face model; the message says why."""

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class HFNotInstalledError(HFModelError):
    """The ``hf`` extra (transformers) is missing."""


class HFTextTooLongError(ValueError):
    """The tokenized text exceeds the model's maximum length."""

    def __init__(self, n_tokens: int, limit: int) -> None:
        self.n_tokens = n_tokens
        self.limit = limit
        super().__init__(f"the text is {n_tokens} tokens long; this model handles at most {limit} (special tokens included)")


class HFUnsupportedError(ValueError):
    """A feature this model's family or architecture does not offer."""


def hf_available() -> bool:
    """True when the ``hf`` extra (``transformers``) is installed."""
    try:
        import transformers  # noqa: F401
    except ImportError:
        return False
    return True


def looks_like_hf_model(path: str | os.PathLike[str]) -> bool:
    """A directory with a ``config.json`` and a weights file (cheap check, loads nothing)."""
    p = Path(path)
    return p.is_dir() and (p / "config.json").is_file() and any((p / f).is_file() for f in WEIGHT_FILES)


def detect_family(config: dict[str, Any]) -> str:
    """``encoder``, ``decoder`` or ``encoder-decoder`` from a ``config.json``."""
    architectures = [str(a) for a in config.get("architectures") or []]
    if config.get("is_encoder_decoder") or any(m in a for a in architectures for m in SEQ2SEQ_MARKERS):
        return "encoder-decoder"
    if config.get("is_decoder") or any(m in a for a in architectures for m in CAUSAL_MARKERS):
        return "decoder"
    if _decoder_only_model_type(str(config.get("model_type", ""))):
        return "decoder"
    return "encoder"


def _decoder_only_model_type(model_type: str) -> bool:
    """A model type transformers knows as a causal LM and never as a masked-LM encoder (gpt2, llama...)."""
    try:
        from transformers.models.auto.modeling_auto import (
            MODEL_FOR_CAUSAL_LM_MAPPING_NAMES,
            MODEL_FOR_MASKED_LM_MAPPING_NAMES,
        )
    except ImportError:
        return False
    return model_type in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES and model_type not in MODEL_FOR_MASKED_LM_MAPPING_NAMES


def read_hf_config(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The model's ``config.json``, checked to be safe to load; raises :class:`HFModelError`."""
    p = Path(path)
    if not looks_like_hf_model(p):
        raise HFModelError(p, "not a Hugging Face model directory (needs config.json and model weights)")
    try:
        config = json.loads((p / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise HFModelError(p, f"config.json is unreadable: {exc}") from None
    if not isinstance(config, dict):
        raise HFModelError(p, "config.json is not a JSON object")
    if config.get("auto_map"):
        raise HFModelError(p, "its config.json asks for the model's own Python code (auto_map); attnviz never runs remote code")
    return config


def _safetensors_params(file: Path) -> int:
    """Parameters stored in one safetensors file, from its header (no tensor is read)."""
    with file.open("rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        if n > 100_000_000:
            raise ValueError("header too large")
        header = json.loads(f.read(n))
    total = 0
    for name, info in header.items():
        if name == "__metadata__":
            continue
        count = 1
        for s in info["shape"]:
            count *= int(s)
        total += count
    return total


def estimate_bytes(path: str | os.PathLike[str]) -> int:
    """Memory the model's weights take once loaded in float32: parameters counted from the
    safetensors headers, else the size of the pickled weight files."""
    p = Path(path)
    files = sorted(p.glob("*.safetensors"))
    if files:
        try:
            return BYTES_PER_PARAM * sum(_safetensors_params(f) for f in files)
        except (OSError, ValueError, KeyError, TypeError, struct.error) as exc:
            raise HFModelError(p, f"cannot load the model: its safetensors header is unreadable ({exc})") from None
    return sum(f.stat().st_size for f in p.glob("pytorch_model*.bin"))


def megabytes(n: int) -> str:
    return f"{n / 1e6:,.0f} MB"


# ---- readable tokens -------------------------------------------------------------------------


@cache
def _byte_decoder() -> dict[str, int]:
    """GPT-2's byte-level alphabet: printable stand-in character → byte (``Ġ`` → 0x20)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {chr(c): b for b, c in zip(bs, cs, strict=True)}


VISIBLE = {" ": "␣", "\n": "↵", "\t": "⇥", "\r": "␍"}


def visible(text: str) -> str:
    """Whitespace made visible with the front end's glyphs (lib/tokens.ts): ``␣ ↵ ⇥ ␍``."""
    return "".join(VISIBLE.get(ch, ch) for ch in text)


def _pieces_style(tokenizer: Any) -> str:
    """``bytelevel`` (GPT-2 ``Ġ``), ``metaspace`` (SentencePiece ``▁``) or ``plain`` (WordPiece)."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        return "plain"
    try:
        spec = json.loads(backend.to_str())
    except (ValueError, AttributeError):
        return "plain"
    found = json.dumps([spec.get("pre_tokenizer"), spec.get("decoder")])
    if '"ByteLevel"' in found:
        return "bytelevel"
    if '"Metaspace"' in found or "▁" in found:
        return "metaspace"
    return "plain"


def display_token(token: str, style: str, special: frozenset[str]) -> str:
    """One token in attnviz's convention: a space is ``␣``, a newline ``↵`` (GPT-2's ``Ġ``/``Ċ``,
    SentencePiece's ``▁`` and byte tokens ``<0x0A>`` alike); special tokens and word pieces as they are."""
    if token in special:
        return token
    if style == "bytelevel":
        dec = _byte_decoder()
        if all(ch in dec for ch in token):
            return visible(bytes(dec[ch] for ch in token).decode("utf-8", errors="backslashreplace"))
        return token
    if style == "metaspace":
        if len(token) == 6 and token.startswith("<0x") and token.endswith(">"):
            try:
                b = int(token[3:5], 16)
            except ValueError:
                return token
            return visible(chr(b)) if b < 0x80 and (chr(b).isprintable() or chr(b) in VISIBLE) else token
        return visible(token.replace("▁", " "))
    return token


# ---- the loaded model ------------------------------------------------------------------------


@dataclass
class HFModel:
    """A loaded model with its tokenizer and attention sites."""

    path: Path
    model: Any  # transformers.PreTrainedModel, in eval mode
    tokenizer: Any
    family: str
    model_type: str
    n_layers: int
    n_heads: int
    d_model: int
    max_length: int  # longest sequence in tokens (prompt + generated for a decoder), special tokens included
    nbytes: int
    sites: dict[str, list[hf_attn.Site]] = field(default_factory=dict)
    supports: tuple[str, ...] = ()
    token_style: str = "plain"
    special_tokens: frozenset[str] = frozenset()
    forward_inputs: frozenset[str] = frozenset({"input_ids", "attention_mask"})  # tokenizer outputs passed on
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))  # where the weights and activations live

    def describe(self) -> dict[str, Any]:
        return {
            "source": "huggingface",
            "model_type": self.model_type,
            "family": self.family,
            "n_layers": self.n_layers,
            "n_heads": self.n_heads,
            "d_model": self.d_model,
            "max_length": self.max_length,
        }

    def show(self, tokens: Sequence[str]) -> list[str]:
        return [display_token(str(t), self.token_style, self.special_tokens) for t in tokens]


HFEncoder = HFModel  # the name before decoders were supported


def _first_int(cfg: Any, *names: str) -> int | None:
    for n in names:
        v = getattr(cfg, n, None)
        if isinstance(v, int) and v > 0:
            return v
    return None


def _context(cfg: Any, tokenizer: Any) -> int:
    positions = _first_int(cfg, "max_position_embeddings", "n_positions", "n_ctx", "max_sequence_length")
    tok_max = getattr(tokenizer, "model_max_length", None)
    limits = [x for x in (positions, tok_max) if isinstance(x, int) and 0 < x < 1_000_000]
    return min(limits) if limits else FALLBACK_CONTEXT


def load_hf_model(
    path: str | os.PathLike[str], max_bytes: int | None = None, *, device: str = "cpu", dtype: str = "float32"
) -> HFModel:
    """Load a local model directory offline with eager attention; raises :class:`HFModelError`
    (:class:`DeviceUnavailableError` for a device this torch does not have).

    ``max_bytes``: refuse (before loading anything) a model whose weights in ``dtype`` need more.
    ``device``: one of :data:`DEVICES` (see :func:`resolve_device`); ``dtype``: one of :data:`DTYPES`."""
    p = Path(path).resolve()
    dev, torch_dtype = resolve_device(device), resolve_dtype(dtype)
    config = read_hf_config(p)
    try:
        import transformers
    except ImportError:
        raise HFNotInstalledError(p, "the 'hf' extra is not installed (pip install -e '.[hf]')") from None
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    family = detect_family(config)
    nbytes = estimate_bytes(p) * torch_dtype.itemsize // BYTES_PER_PARAM
    if not any((p / f).is_file() for f in TOKENIZER_FILES):
        # transformers would build an empty tokenizer that turns every text into no tokens
        raise HFModelError(p, f"no tokenizer files (one of {', '.join(TOKENIZER_FILES)}); save the tokenizer beside the model")
    if max_bytes is not None and nbytes > max_bytes:
        raise HFModelError(
            p,
            f"the model needs about {megabytes(nbytes)} of memory, more than the model cache allows "
            f"({megabytes(max_bytes)}); raise ATTNVIZ_MODEL_CACHE_BYTES to use it",
        )
    has_safetensors = any(p.glob("*.safetensors"))
    transformers.utils.logging.disable_progress_bar()  # tqdm floods non-TTY logs
    auto = {
        "encoder": transformers.AutoModel,
        "decoder": transformers.AutoModelForCausalLM,
        "encoder-decoder": transformers.AutoModelForSeq2SeqLM,
    }[family]
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(p, local_files_only=True, trust_remote_code=False)
        model = auto.from_pretrained(
            p,
            attn_implementation="eager",
            local_files_only=True,
            trust_remote_code=False,
            use_safetensors=has_safetensors,
            weights_only=True,
            dtype=torch_dtype,
        )
        model = model.to(dev).eval()
    except Exception as exc:  # transformers raises many types for a broken directory
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise HFModelError(p, f"cannot load the model: {first[:200]}") from None
    cfg = model.config
    n_layers = _first_int(cfg, "num_hidden_layers", "n_layer", "num_layers", "decoder_layers") or 0
    n_heads = _first_int(cfg, "num_attention_heads", "n_head", "num_heads", "decoder_attention_heads") or 0
    d_model = _first_int(cfg, "hidden_size", "n_embd", "d_model") or 0
    special = frozenset(str(t) for t in getattr(tokenizer, "all_special_tokens", []) or [])
    m = HFModel(
        path=p,
        model=model,
        tokenizer=tokenizer,
        family=family,
        model_type=str(cfg.model_type),
        n_layers=n_layers,
        n_heads=n_heads,
        d_model=d_model,
        max_length=_context(cfg, tokenizer),
        nbytes=sum(t.numel() * t.element_size() for t in [*model.parameters(), *model.buffers()]),
        token_style=_pieces_style(tokenizer),
        special_tokens=special,
        forward_inputs=forward_inputs(model),
        device=dev,
    )
    m.sites = hf_attn.find_sites(model, family)
    m.supports = _supports(m)
    if "ablate" in m.supports:
        hf_attn.install_hooks(m.sites)
    return m


load_hf_encoder = load_hf_model  # the name before decoders were supported


def _supports(m: HFModel) -> tuple[str, ...]:
    """What this model serves: per family, math/ablate only where every attention module was
    found (one site per layer of every kind the model returns)."""
    base = ["attention"] if m.family == "encoder" else ["attention", "generate", "steps"]
    try:
        run = run_model(m, "hello", 1)
    except Exception as exc:  # transformers raises many types; a model that cannot run a word serves nothing
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise HFModelError(m.path, f"the model cannot run a text: {first[:200]}") from None
    ok = set(run.attentions) == set(m.sites) and all(
        len(m.sites[k]) == w.shape[0] and all(s.n_heads == w.shape[1] for s in m.sites[k]) for k, w in run.attentions.items()
    )
    return (*base, "math", "ablate", "special_tokens") if ok else (*base, "special_tokens")


# ---- running ---------------------------------------------------------------------------------


@dataclass
class HFRun:
    """One text through the model: token ids, attention of the final pass, logits."""

    text: str
    src_ids: list[int]  # encoder input (empty for a decoder)
    tgt_ids: list[int]  # decoder input: prompt + generated (decoder), decoder_start + generated (seq2seq)
    n_prompt: int  # decoder: prompt tokens at the start of tgt_ids (0 for seq2seq)
    produced: list[int]  # generated ids, a final end-of-sequence token included
    output: str | None
    attentions: dict[str, torch.Tensor]  # kind -> (L, h, T_q, T_k)
    logits: torch.Tensor | None  # (T_tgt, vocab)
    finished: bool
    warnings: list[str]
    captured: dict[int, Any] = field(default_factory=dict)  # site module id -> (args, kwargs, output)
    sampling: Sampling | None = None  # how the tokens were chosen (None: greedy), its seed filled in
    sampled_p: list[float] | None = None  # per generated token, its probability under the sampling distribution


def encode_text(m: HFModel, text: str) -> dict[str, torch.Tensor]:
    if text.strip() == "":
        raise ValueError("text is empty")
    batch = m.tokenizer(text, return_tensors="pt", truncation=False)
    n = int(batch["input_ids"].shape[1])
    if n > m.max_length:
        raise HFTextTooLongError(n, m.max_length)
    if n == 0:
        raise ValueError("text is empty")
    return {k: v.to(m.device) for k, v in batch.items() if k in m.forward_inputs}


def forward_inputs(model: Any) -> frozenset[str]:
    """The tokenizer outputs this model's forward names as parameters. A tokenizer saved beside
    another architecture (a BERT tokenizer beside LLaMA or T5) also returns ``token_type_ids``,
    which those forwards (and ``generate``) reject; ``**kwargs`` is not an invitation."""
    import inspect

    params = inspect.signature(model.forward).parameters
    named = {n for n, p in params.items() if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)}
    return frozenset({"input_ids", "attention_mask"} | (named & {"token_type_ids", "position_ids"}))


def ablation_map(m: HFModel, ablate: Sequence[tuple[str, int, int]]) -> dict[int, list[int]]:
    heads: dict[int, list[int]] = {}
    for kind, layer, head in ablate:
        site = site_of(m, kind, layer, head)
        heads.setdefault(id(site.module), []).append(head)
    return heads


def site_of(m: HFModel, kind: str, layer: int, head: int) -> hf_attn.Site:
    sites = m.sites.get(kind)
    if not sites:
        raise HFUnsupportedError(f"this {m.family} model has no {kind} attention")
    if not 0 <= layer < len(sites) or not 0 <= head < sites[layer].n_heads:
        raise IndexError(f"no head {layer}.{head}: {kind} has {len(sites)} layers × {sites[0].n_heads} heads")
    return sites[layer]


def _eos_ids(m: HFModel) -> set[int]:
    eos = getattr(m.model.generation_config, "eos_token_id", None)
    if eos is None:
        eos = m.tokenizer.eos_token_id
    if eos is None:
        return set()
    return {int(e) for e in (eos if isinstance(eos, list) else [eos])}


def _sampling_processor(sampler: Sampler) -> Any:
    """A logits processor that draws the next token with ``sampler`` and leaves only it finite,
    so ``generate``'s greedy search takes the draw: ``generate(do_sample=True)`` would draw from
    the global RNG, shared by the server's threads. It runs after the model's own processors
    (forced BOS/EOS, ``min_length``...), on the scores greedy search would see."""
    from transformers import LogitsProcessor, LogitsProcessorList

    class Draw(LogitsProcessor):
        def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
            picked = sampler(scores)  # (B,)
            only = torch.full_like(scores, float("-inf"))
            return only.scatter(-1, picked[:, None], 0.0)

    return LogitsProcessorList([Draw()])


@torch.no_grad()
def run_model(
    m: HFModel,
    text: str,
    max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS,
    ablate: Sequence[tuple[str, int, int]] = (),
    capture: Sequence[hf_attn.Site] = (),
    reduce: Any = None,
    sampling: Sampling = GREEDY,
) -> HFRun:
    """Generate (decoder, encoder-decoder; greedy, or as ``sampling`` says), then one forward pass
    over the final sequence with ``output_attentions``; ``ablate`` heads are zeroed in both,
    ``capture`` sites record their inputs.

    ``reduce`` (long inputs, :mod:`attnviz.longctx`): the final pass runs without
    ``output_attentions`` (``attentions`` is empty) and each captured site keeps what
    ``reduce(site id, args, kwargs, output)`` returns, so no layer's weights outlive its module."""
    keep = reduce is None
    batch = encode_text(m, text)
    heads = ablation_map(m, ablate) if ablate else {}
    ids = batch["input_ids"]
    warnings: list[str] = []
    with hf_attn.ablating(heads):
        if m.family == "encoder":
            with hf_attn.capturing(list(capture), reduce) as cap:
                out = m.model(**batch, output_attentions=keep)
            attentions = {"encoder_self": _stack(out.attentions)} if keep else {}
            _zero_ablated(attentions, ablate)
            return HFRun(text, ids[0].tolist(), [], 0, [], None, attentions, None, True, warnings, cap)
        eos = _eos_ids(m)
        n_prompt = int(ids.shape[1]) if m.family == "decoder" else 0
        room = m.max_length - n_prompt if m.family == "decoder" else m.max_length - 1
        new = max(0, min(max_new_tokens, room))
        if new < max_new_tokens:
            warnings.append(f"Generation stopped after {new} new tokens: the model's context holds {m.max_length}.")
        pad = m.tokenizer.pad_token_id
        if pad is None:
            pad = next(iter(eos), 0)
        sampler = Sampler(sampling)
        if new > 0:
            draw = {} if sampling.greedy else {"logits_processor": _sampling_processor(sampler)}
            seq = m.model.generate(**batch, max_new_tokens=new, do_sample=False, num_beams=1, pad_token_id=pad, **draw)[0]
        elif m.family == "decoder":
            seq = ids[0]
        else:
            start_id = m.model.generation_config.decoder_start_token_id or m.model.config.decoder_start_token_id
            seq = torch.tensor([start_id], device=m.device)
        start = n_prompt if m.family == "decoder" else 1
        produced = seq[start:].tolist()
        finished = bool(produced) and produced[-1] in eos
        fed = seq[:-1] if finished else seq
        tgt = fed.unsqueeze(0)
        if new > 0 and not finished and len(produced) == new:
            warnings.append(f"Generation stopped after {new} new tokens without an end-of-sequence token.")
        with hf_attn.capturing(list(capture), reduce) as cap:
            if m.family == "decoder":
                out = m.model(input_ids=tgt, attention_mask=torch.ones_like(tgt), output_attentions=keep)
                attentions = {"decoder_self": _stack(out.attentions)} if keep else {}
            elif not keep:
                out = m.model(**batch, decoder_input_ids=tgt, output_attentions=False)
                attentions = {}
            else:
                out = m.model(**batch, decoder_input_ids=tgt, output_attentions=True)
                attentions = {
                    "encoder_self": _stack(out.encoder_attentions),
                    "decoder_self": _stack(out.decoder_attentions),
                    "cross": _stack(out.cross_attentions),
                }
        _zero_ablated(attentions, ablate)
        output = m.tokenizer.decode(produced, skip_special_tokens=True)
        run = HFRun(
            text,
            ids[0].tolist() if m.family == "encoder-decoder" else [],
            tgt[0].tolist(),
            n_prompt,
            produced,
            output,
            attentions,
            out.logits[0].float().cpu(),
            finished,
            warnings,
            cap,
            sampling=None if sampler.sampling.greedy else sampler.sampling,
            sampled_p=None if sampler.sampling.greedy else sampler.chosen_p[: len(produced)],
        )
        return run


def _zero_ablated(attentions: dict[str, torch.Tensor], ablate: Sequence[tuple[str, int, int]]) -> None:
    for kind, layer, head in ablate:  # the switched-off head contributes nothing: show it as 0
        if kind in attentions:
            attentions[kind][layer, head] = 0.0


def _stack(attentions: Sequence[torch.Tensor]) -> torch.Tensor:
    """(L, h, T_q, T_k) in float32 on the CPU: what is sent, whatever device and dtype ran the model."""
    return torch.stack([a[0] for a in attentions]).float().cpu()


def decoding_steps(m: HFModel, run: HFRun, top_k: int = DEFAULT_TOP_K, precision: int = 4) -> list[dict[str, Any]]:
    """One step per ``tokens.tgt`` row ``t`` (as the toy documents): the top ``top_k`` next tokens
    after reading ``tgt[0..t]``; ``token`` is the generated token where row ``t`` produced one, else
    (a decoder's prompt rows) the model's most probable next token; ``p`` its probability under
    the model, ``p_sampled`` under the sampling distribution (sampled tokens only)."""
    assert run.logits is not None
    probs = torch.softmax(run.logits, dim=-1)
    steps = []
    for t, (chosen, extra, ids, ps) in enumerate(step_rows(probs, run.n_prompt, run.produced, run.sampled_p, top_k, precision)):
        names = m.show(m.tokenizer.convert_ids_to_tokens(ids))
        top = [{"token": nm, "p": round(float(p), precision)} for nm, p in zip(names, ps, strict=True)]
        steps.append({"t": t, "token": m.show(m.tokenizer.convert_ids_to_tokens([chosen]))[0], **extra, "top": top})
    return steps


def hf_attention(m: HFModel, text: str) -> tuple[list[str], torch.Tensor]:
    """Tokens and the ``(n_layers, n_heads, T, T)`` self-attention of ``text`` (encoders)."""
    run = run_model(m, text)
    kind = "encoder_self" if m.family != "decoder" else "decoder_self"
    return m.show(m.tokenizer.convert_ids_to_tokens(run.src_ids or run.tgt_ids)), run.attentions[kind]


def hf_document(
    m: HFModel,
    text: str,
    *,
    name: str | None = None,
    precision: int = 4,
    encoding: Encoding = "json",
    json_as_array: bool = False,
    max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS,
    ablate: Sequence[tuple[str, int, int]] = (),
    top_k: int = DEFAULT_TOP_K,
    sampling: Sampling = GREEDY,
    weighting: Weighting = "attention",
) -> dict[str, Any]:
    """The attention document (schema v1) of ``text``: by family, ``encoder_self`` only; or
    ``decoder_self`` over prompt + generated tokens with ``steps``; or all three kinds.
    ``weighting``: ``value_norm`` weighs each weight by its key's ``‖v_j W^O_h‖``
    (:mod:`attnviz.weighting`; raises :class:`HFUnsupportedError` where the modules are not recognised)."""
    if not 0 <= precision <= 8:
        raise ValueError(f"precision must be between 0 and 8 decimals, not {precision}")
    check_weighting(weighting)
    if weighting == "value_norm":
        run = value_weighted_run(m, text, max_new_tokens, ablate, sampling)
    else:
        run = run_model(m, text, max_new_tokens, ablate, sampling=sampling)
    return document_of_run(
        m, run, name=name, precision=precision, encoding=encoding, json_as_array=json_as_array, top_k=top_k, weighting=weighting
    )


def value_weighted_run(
    m: HFModel, text: str, max_new_tokens: int, ablate: Sequence[tuple[str, int, int]] = (), sampling: Sampling = GREEDY
) -> HFRun:
    """:func:`run_model` whose ``attentions`` are value-norm weighted: the final pass records every
    site's inputs, from which each head's ``‖v_j W^O_h‖`` is recomputed (the model's own value and
    output projections; grouped value heads repeated)."""
    if "math" not in m.supports:
        raise HFUnsupportedError(f"the attention modules of this {m.model_type} model are not recognised")
    sites = [s for lst in m.sites.values() for s in lst]
    run = run_model(m, text, max_new_tokens, ablate, capture=sites, sampling=sampling)
    run.attentions = {kind: reweight(w, value_norms_of(m, run, kind)) for kind, w in run.attentions.items()}
    run.captured = {}
    return run


def value_norms_of(m: HFModel, run: HFRun, kind: str) -> torch.Tensor:
    """``(L, n_heads, T_k)``: ``‖v_j W^O_h‖`` of every site of ``kind`` from ``run.captured``."""
    norms = []
    for site in m.sites[kind]:
        args, kwargs, _ = run.captured[id(site.module)]
        norms.append(hf_attn.site_value_norms(site, args, kwargs))
    return torch.stack(norms)


def document_of_run(
    m: HFModel,
    run: HFRun,
    *,
    name: str | None = None,
    precision: int = 4,
    encoding: Encoding = "json",
    json_as_array: bool = False,
    top_k: int = DEFAULT_TOP_K,
    weighting: Weighting = "attention",
) -> dict[str, Any]:
    """The document of a finished run (``attentions`` holds whatever kinds ``run.attentions`` has,
    weighted as ``weighting`` says)."""
    text = run.text
    tok = m.tokenizer.convert_ids_to_tokens
    tokens: dict[str, list[str]] = {"src": m.show(tok(run.src_ids))}
    if m.family != "encoder":
        tokens["tgt"] = m.show(tok(run.tgt_ids))
    doc = envelope(
        checkpoint=name if name is not None else str(m.path),
        model={"task": None, "epoch": None, **m.describe()},
        text=text,
        output=run.output,
        expected=None,
        tokens=tokens,
        encoding=encoding,
        weighting=weighting,
        attentions={
            kind: encode_weights(w.numpy(), encoding, precision, json_as_array=json_as_array)
            for kind, w in run.attentions.items()
        },
        warnings=run.warnings,
    )
    doc["special_tokens"] = sorted(m.special_tokens)
    if m.family != "encoder" and top_k > 0:
        doc["steps"] = decoding_steps(m, run, top_k, precision)
    if run.sampling is not None:
        doc["sampling"] = run.sampling.describe()
    return doc


def hf_math(
    m: HFModel,
    text: str,
    kind: str,
    layer: int,
    head: int,
    max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS,
    sampling: Sampling = GREEDY,
) -> dict[str, Any]:
    """One head's attention math on the document's sequence, recomputed from the module's own
    projections; ``max_abs_diff`` is its largest distance to the model's own weights."""
    if "math" not in m.supports:
        raise HFUnsupportedError(f"the attention modules of this {m.model_type} model are not recognised")
    site = site_of(m, kind, layer, head)
    run = run_model(m, text, max_new_tokens, capture=[site], sampling=sampling)
    captured = run.captured[id(site.module)]
    traced = hf_attn.trace_site(site, captured, head)
    traced["tensors"] = {name: t.cpu() for name, t in traced["tensors"].items()}  # float32 already (trace_site)
    ref = run.attentions[kind][layer, head]
    traced["max_abs_diff"] = float((traced["tensors"]["weights"] - ref).abs().max())
    tok = m.tokenizer.convert_ids_to_tokens
    src, tgt = m.show(tok(run.src_ids)), m.show(tok(run.tgt_ids))
    query = src if kind == "encoder_self" and m.family != "decoder" else tgt
    key = tgt if kind == "decoder_self" else src
    if m.family == "encoder":
        query = key = src
    return {
        "kind": kind,
        "layer": layer,
        "head": head,
        "output": run.output or "",
        "query_tokens": query,
        "key_tokens": key,
        **traced,
    }
