"""Tiny randomly initialised Hugging Face models of every family, built locally (no hub): each is
``save_pretrained`` into a directory with a tokenizer trained here on a few sentences, so the
real loading code (``AutoTokenizer`` / ``AutoModel*``) reads them as it would a downloaded model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

CORPUS = [
    "the cat sat on the mat",
    "attention is all you need",
    "a dog ate my homework then it slept",
    "hello world, hello attention",
    "every token looks at every other token",
] * 4

# name under <root>/hf/ -> family
TINY = {"gpt2-tiny": "decoder", "llama-gqa-tiny": "decoder", "t5-tiny": "encoder-decoder", "bart-tiny": "encoder-decoder"}


def bytelevel_tokenizer(special: list[str], *, bos_eos: tuple[str, str] | None = None) -> Any:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    alphabet = pre_tokenizers.ByteLevel.alphabet()
    tok.train_from_iterator(CORPUS, trainers.BpeTrainer(vocab_size=320, special_tokens=special, initial_alphabet=alphabet))
    if bos_eos:
        b, e = bos_eos
        tok.post_processor = processors.TemplateProcessing(
            single=f"{b} $A {e}", special_tokens=[(b, tok.token_to_id(b)), (e, tok.token_to_id(e))]
        )
    return tok


def _sentencepiece_bpe() -> Any:
    """LLaMA-style: ``▁`` for spaces, unknown characters as byte tokens ``<0x0A>``, ``<s>`` first."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    tok = Tokenizer(models.BPE(byte_fallback=True, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Sequence([decoders.Metaspace(), decoders.ByteFallback()])
    special = ["<unk>", "<s>", "</s>", *[f"<0x{i:02X}>" for i in range(256)]]
    tok.train_from_iterator(CORPUS, trainers.BpeTrainer(vocab_size=400, special_tokens=special))
    tok.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", tok.token_to_id("<s>"))])
    return tok


def _unigram() -> Any:
    """T5-style SentencePiece unigram, ``</s>`` appended."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    tok = Tokenizer(models.Unigram())
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    tok.train_from_iterator(
        CORPUS, trainers.UnigramTrainer(vocab_size=90, special_tokens=["<pad>", "</s>", "<unk>"], unk_token="<unk>")
    )
    tok.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", tok.token_to_id("</s>"))])
    return tok


def build_tiny_models(root: Path) -> dict[str, Path]:
    """``{name: directory}`` of the four tiny models under ``root / "hf"``."""
    import torch
    import transformers as tf

    out: dict[str, Path] = {}
    torch.manual_seed(0)

    def save(name: str, model: Any, tokenizer: Any) -> None:
        d = root / "hf" / name
        model.eval().save_pretrained(d)
        tokenizer.save_pretrained(d)
        out[name] = d

    gtok = tf.PreTrainedTokenizerFast(
        tokenizer_object=bytelevel_tokenizer(["<|endoftext|>"]), bos_token="<|endoftext|>", eos_token="<|endoftext|>"
    )
    cfg = tf.GPT2Config(
        vocab_size=len(gtok), n_positions=64, n_embd=32, n_layer=2, n_head=4,
        bos_token_id=gtok.bos_token_id, eos_token_id=gtok.eos_token_id,
    )  # fmt: skip
    save("gpt2-tiny", tf.GPT2LMHeadModel(cfg), gtok)

    ltok = tf.PreTrainedTokenizerFast(tokenizer_object=_sentencepiece_bpe(), unk_token="<unk>", bos_token="<s>", eos_token="</s>")
    lcfg = tf.LlamaConfig(
        vocab_size=len(ltok), hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, max_position_embeddings=64, bos_token_id=ltok.bos_token_id, eos_token_id=ltok.eos_token_id,
        pad_token_id=None, tie_word_embeddings=False,
    )  # fmt: skip
    save("llama-gqa-tiny", tf.LlamaForCausalLM(lcfg), ltok)

    ttok = tf.PreTrainedTokenizerFast(tokenizer_object=_unigram(), pad_token="<pad>", eos_token="</s>", unk_token="<unk>")
    tcfg = tf.T5Config(
        vocab_size=len(ttok), d_model=32, d_kv=8, d_ff=64, num_layers=2, num_decoder_layers=2, num_heads=4,
        relative_attention_num_buckets=8, relative_attention_max_distance=16,
        pad_token_id=ttok.pad_token_id, eos_token_id=ttok.eos_token_id, decoder_start_token_id=ttok.pad_token_id,
    )  # fmt: skip
    save("t5-tiny", tf.T5ForConditionalGeneration(tcfg), ttok)

    special = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    btok = tf.PreTrainedTokenizerFast(
        tokenizer_object=bytelevel_tokenizer(special, bos_eos=("<s>", "</s>")),
        bos_token="<s>", eos_token="</s>", pad_token="<pad>", unk_token="<unk>", mask_token="<mask>",
    )  # fmt: skip
    bcfg = tf.BartConfig(
        vocab_size=len(btok), d_model=32, encoder_layers=2, decoder_layers=2, encoder_attention_heads=4,
        decoder_attention_heads=4, encoder_ffn_dim=64, decoder_ffn_dim=64, max_position_embeddings=64,
        bos_token_id=btok.bos_token_id, eos_token_id=btok.eos_token_id, pad_token_id=btok.pad_token_id,
        decoder_start_token_id=btok.eos_token_id, forced_bos_token_id=None, forced_eos_token_id=None,
    )  # fmt: skip
    save("bart-tiny", tf.BartForConditionalGeneration(bcfg), btok)
    return out
