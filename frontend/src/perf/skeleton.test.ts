import { describe, expect, it } from 'vitest';
import type { CheckpointInfo } from '../api/types';
import { predictSourceTokens, skeletonDoc } from './skeleton';

const toy: CheckpointInfo = {
  name: 'copy/ckpt_epoch3.pt',
  run: 'copy',
  kind: 'toy',
  epoch: 3,
  usable: true,
  error: null,
  task: 'copy',
  created_at: null,
  metrics: null,
  config: { d_model: 64, n_heads: 4, n_layers: 2, d_ff: 256, dropout: 0.1, max_len: 64, vocab_size: 32 },
  max_text_len: 16,
  characters: 'abc ',
  max_input_len: 6,
};

describe('predictSourceTokens', () => {
  it('is the characters and <eos> for a toy checkpoint', () => {
    expect(predictSourceTokens(toy, 'ab c')).toEqual(['a', 'b', ' ', 'c', '<eos>']);
  });
  it('is null when the service would refuse or tokenise differently', () => {
    expect(predictSourceTokens(toy, 'abx')).toBeNull(); // not in the vocabulary
    expect(predictSourceTokens(toy, 'abcabca')).toBeNull(); // longer than max_input_len
    expect(predictSourceTokens(toy, '')).toBeNull();
    expect(predictSourceTokens({ ...toy, usable: false }, 'ab')).toBeNull();
    expect(predictSourceTokens({ ...toy, characters: null }, 'ab')).toBeNull();
    expect(predictSourceTokens({ ...toy, kind: 'huggingface' }, 'ab')).toBeNull(); // word pieces
    expect(predictSourceTokens(null, 'ab')).toBeNull();
  });
  it('counts characters, not UTF-16 units', () => {
    expect(predictSourceTokens({ ...toy, characters: 'a😀' }, 'a😀')).toEqual(['a', '😀', '<eos>']);
  });
});

describe('skeletonDoc', () => {
  it("has the encoder self-attention's shape, NaN weights and no output", () => {
    const d = skeletonDoc(toy, toy.name, 'abc')!;
    expect(d.checkpoint).toBe(toy.name);
    expect(d.input).toBe('abc');
    expect(d.output).toBeNull();
    expect(d.tokens).toEqual({ src: ['a', 'b', 'c', '<eos>'], tgt: [] });
    expect(Object.keys(d.kinds)).toEqual(['encoder_self']);
    const t = d.kinds.encoder_self!;
    expect([t.layers, t.heads, t.nq, t.nk, t.causal]).toEqual([2, 4, 4, 4, false]);
    expect(t.data.length).toBe(2 * 4 * 4 * 4);
    expect(t.data.every((v) => Number.isNaN(v))).toBe(true);
  });
  it('is null without a config or predictable tokens', () => {
    expect(skeletonDoc({ ...toy, config: null }, toy.name, 'abc')).toBeNull();
    expect(skeletonDoc(toy, toy.name, 'xyz')).toBeNull();
  });
});
