import { describe, expect, it } from 'vitest';
import { estimateWeights, minWordPieces, requestEncoding, UINT8_FROM_WEIGHTS } from './wireEncoding';

const minilm = { kind: 'huggingface' as const, config: { n_layers: 6, n_heads: 12, d_model: 384, max_length: 512, d_ff: 1536, dropout: 0.1, max_len: 512, vocab_size: 30522 } };
const toy = { kind: 'toy' as const, config: { n_layers: 2, n_heads: 4, d_model: 64, d_ff: 256, dropout: 0.1, max_len: 64, vocab_size: 32 } };

describe('wire encoding', () => {
  it('counts BERT pre-tokens: words and each punctuation character, plus [CLS] [SEP]', () => {
    expect(minWordPieces('')).toBe(2);
    expect(minWordPieces('Attention lets every token look.')).toBe(5 + 1 + 2);
    expect(minWordPieces("don't stop—now!!")).toBe(3 + 1 + 1 + 1 + 2 + 2); // don ' t stop — now ! !
    expect(minWordPieces('naïve café 123')).toBe(3 + 2);
  });

  it('asks for float16 at 128 word pieces and uint8 well before 512', () => {
    const words = (n: number) => Array.from({ length: n }, (_, i) => `w${i}`).join(' ');
    expect(requestEncoding(minilm, words(126))).toBe('float16');
    expect(estimateWeights(minilm, words(126))).toBe(6 * 12 * 128 * 128);
    expect(requestEncoding(minilm, words(254))).toBe('uint8');
    expect(requestEncoding(minilm, words(510))).toBe('uint8');
    // capped at the model's limit (the server refuses longer input anyway)
    expect(estimateWeights(minilm, words(2000))).toBe(6 * 12 * 512 * 512);
    // the switch sits between: 2²¹ weights
    const n = Math.ceil(Math.sqrt(UINT8_FROM_WEIGHTS / 72));
    expect(requestEncoding(minilm, words(n - 3))).toBe('float16'); // n − 1 tokens
    expect(requestEncoding(minilm, words(n - 2))).toBe('uint8'); // n tokens
  });

  it('keeps toy checkpoints and unknown ones on float16', () => {
    expect(requestEncoding(toy, 'x'.repeat(128))).toBe('float16');
    expect(requestEncoding(null, 'x'.repeat(4000))).toBe('float16');
  });
});
