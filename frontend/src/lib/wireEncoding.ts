/**
 * Which encoding to ask the server for. float16 (2 bytes a weight, ~3 significant digits) by
 * default; uint8 (1 byte a weight, steps of 1/255) once a document would hold more than
 * UINT8_FROM_WEIGHTS weights: a pretrained encoder at 512 tokens is 6 × 12 × 512² = 18.9 M
 * weights, 48 MB of float16 base64 against 24 MB of uint8, and half the decoding.
 * Toy checkpoints (≤ 3 kinds × 2 × 4 × 129²) always stay on float16.
 */
import type { CheckpointInfo, Encoding } from '../api/types';

/** 2²¹ ≈ 2.1 M weights (4 MB as float16): MiniLM (6 × 12) switches at about 171 tokens, 128 stays float16. */
export const UINT8_FROM_WEIGHTS = 2 ** 21;

/**
 * A lower bound on the word pieces of `text` for a BERT-like tokenizer: its pre-tokenizer splits on
 * whitespace and around every punctuation character, and each piece gives at least one word
 * piece; plus [CLS] and [SEP].
 */
export function minWordPieces(text: string): number {
  const pieces = text.match(/[\p{L}\p{N}\p{M}]+|[^\s\p{L}\p{N}\p{M}]/gu);
  return (pieces?.length ?? 0) + 2;
}

/** A cautious estimate of the weights of the document `text` gives on `ckpt` (never above the real count for a pretrained model). */
export function estimateWeights(ckpt: Pick<CheckpointInfo, 'kind' | 'config'> | null, text: string): number {
  const layers = Number(ckpt?.config?.n_layers) || 0;
  const heads = Number(ckpt?.config?.n_heads) || 0;
  if (ckpt?.kind === 'huggingface') {
    const max = Number(ckpt.config?.max_length) || Infinity;
    const n = Math.min(max, minWordPieces(text));
    return layers * heads * n * n;
  }
  // toy: one token per character plus <eos> / <bos>; encoder self, decoder self and cross
  const n = [...text].length + 1;
  return 3 * layers * heads * n * n;
}

export function requestEncoding(ckpt: Pick<CheckpointInfo, 'kind' | 'config'> | null, text: string): Encoding {
  return estimateWeights(ckpt, text) > UINT8_FROM_WEIGHTS ? 'uint8' : 'float16';
}
