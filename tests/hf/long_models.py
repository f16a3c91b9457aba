"""Long-context variants of the tiny models of every family (tiny_models.py), built locally: each
takes 8,192 positions, so a text of a few thousand tokens runs. GPT-2 (fused projections), LLaMA
with grouped-query attention and RoPE, T5 (relative position bias), BART and a BERT encoder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .tiny_models import CORPUS, _sentencepiece_bpe, _unigram, bytelevel_tokenizer

POSITIONS = 8192
LONG = {"gpt2-long": "decoder", "llama-long": "decoder", "t5-long": "encoder-decoder", "bart-long": "encoder-decoder",
        "bert-long": "encoder"}  # fmt: skip


def wordpiece_tokenizer(**options: Any) -> Any:
    """BERT-style WordPiece, ``[CLS] … [SEP]``; ``options`` go to ``PreTrainedTokenizerFast``."""
    import transformers as tf
    from tokenizers import Tokenizer, models, pre_tokenizers, processors, trainers

    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]"]
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.train_from_iterator(CORPUS, trainers.WordPieceTrainer(vocab_size=120, special_tokens=special))
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", tok.token_to_id("[CLS]")), ("[SEP]", tok.token_to_id("[SEP]"))]
    )
    return tf.PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]", sep_token="[SEP]",
        model_max_length=POSITIONS, **options,
    )  # fmt: skip


def long_text(n_words: int) -> str:
    """About ``n_words`` words of the corpus the tokenizers were trained on."""
    words = " ".join(CORPUS).split()
    return " ".join(words[i % len(words)] for i in range(n_words))


def build_long_models(root: Path, names: tuple[str, ...] = tuple(LONG)) -> dict[str, Path]:
    """``{name: directory}`` under ``root / "hf"``, each with 8,192 positions."""
    import torch
    import transformers as tf

    torch.manual_seed(0)
    out: dict[str, Path] = {}

    def save(name: str, model: Any, tokenizer: Any) -> None:
        d = root / "hf" / name
        model.eval().save_pretrained(d)
        tokenizer.save_pretrained(d)
        out[name] = d

    if "gpt2-long" in names:
        tok = tf.PreTrainedTokenizerFast(
            tokenizer_object=bytelevel_tokenizer(["<|endoftext|>"]), bos_token="<|endoftext|>", eos_token="<|endoftext|>",
            model_max_length=POSITIONS,
        )  # fmt: skip
        cfg = tf.GPT2Config(vocab_size=len(tok), n_positions=POSITIONS, n_embd=32, n_layer=2, n_head=4,
                            bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id)  # fmt: skip
        save("gpt2-long", tf.GPT2LMHeadModel(cfg), tok)
    if "llama-long" in names:
        tok = tf.PreTrainedTokenizerFast(tokenizer_object=_sentencepiece_bpe(), unk_token="<unk>", bos_token="<s>",
                                         eos_token="</s>", model_max_length=POSITIONS)  # fmt: skip
        cfg = tf.LlamaConfig(
            vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
            num_key_value_heads=2, max_position_embeddings=POSITIONS, bos_token_id=tok.bos_token_id,
            eos_token_id=tok.eos_token_id, pad_token_id=None, tie_word_embeddings=False,
        )  # fmt: skip
        save("llama-long", tf.LlamaForCausalLM(cfg), tok)
    if "t5-long" in names:
        tok = tf.PreTrainedTokenizerFast(tokenizer_object=_unigram(), pad_token="<pad>", eos_token="</s>", unk_token="<unk>",
                                         model_max_length=POSITIONS)  # fmt: skip
        cfg = tf.T5Config(
            vocab_size=len(tok), d_model=32, d_kv=8, d_ff=64, num_layers=2, num_decoder_layers=2, num_heads=4,
            relative_attention_num_buckets=8, relative_attention_max_distance=16,
            pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id, decoder_start_token_id=tok.pad_token_id,
        )  # fmt: skip
        save("t5-long", tf.T5ForConditionalGeneration(cfg), tok)
    if "bart-long" in names:
        special = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
        tok = tf.PreTrainedTokenizerFast(
            tokenizer_object=bytelevel_tokenizer(special, bos_eos=("<s>", "</s>")), bos_token="<s>", eos_token="</s>",
            pad_token="<pad>", unk_token="<unk>", mask_token="<mask>", model_max_length=POSITIONS,
        )  # fmt: skip
        cfg = tf.BartConfig(
            vocab_size=len(tok), d_model=32, encoder_layers=2, decoder_layers=2, encoder_attention_heads=4,
            decoder_attention_heads=4, encoder_ffn_dim=64, decoder_ffn_dim=64, max_position_embeddings=POSITIONS,
            bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id,
            decoder_start_token_id=tok.eos_token_id, forced_bos_token_id=None, forced_eos_token_id=None,
        )  # fmt: skip
        save("bart-long", tf.BartForConditionalGeneration(cfg), tok)
    if "bert-long" in names:
        tok = wordpiece_tokenizer()
        cfg = tf.BertConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                            intermediate_size=64, max_position_embeddings=POSITIONS, pad_token_id=tok.pad_token_id)  # fmt: skip
        save("bert-long", tf.BertModel(cfg), tok)
    return out
