import { describe, expect, it } from 'vitest';
import { decodeDocument, headMatrix } from './doc';
import { hasSpecialTokens, hideSpecialTokens, keptIndices } from './special';

// 1 layer, 1 head, [CLS] a b [SEP]; rows sum to 1
const W = [
  [0.4, 0.1, 0.1, 0.4],
  [0.5, 0.2, 0.3, 0.0],
  [0.25, 0.25, 0.25, 0.25],
  [0.0, 0.0, 0.0, 1.0],
];
const bert = () =>
  decodeDocument({
    schema_version: 1,
    checkpoint: 'hf/m',
    model: {},
    input: 'a b',
    output: null,
    tokens: { src: ['[CLS]', 'a', 'b', '[SEP]'] },
    attentions: { encoder_self: [[W]] },
  });

describe('hideSpecialTokens', () => {
  it('drops [CLS]/[SEP] rows and columns and renormalises the rows', () => {
    const doc = bert();
    const hidden = hideSpecialTokens(doc);
    expect(hidden.tokens.src).toEqual(['a', 'b']);
    const t = hidden.kinds.encoder_self!;
    expect([t.nq, t.nk]).toEqual([2, 2]);
    const m = Array.from(headMatrix(t, 0, 0));
    // row 'a': 0.2, 0.3 → 0.4, 0.6; row 'b': 0.25, 0.25 → 0.5, 0.5
    expect(m.map((x) => +x.toFixed(6))).toEqual([0.4, 0.6, 0.5, 0.5]);
    expect(doc.kinds.encoder_self!.nq).toBe(4); // the original is untouched
  });

  it('keeps everything when nothing is special, and all tokens when all are', () => {
    expect(keptIndices(['a', 'b'])).toEqual([0, 1]);
    expect(keptIndices(['[CLS]', '[SEP]'])).toEqual([0, 1]);
    expect(keptIndices(['<bos>', 'x', '<eos>'])).toEqual([1]);
    const plain = decodeDocument({ schema_version: 1, checkpoint: null, model: {}, input: 'ab', output: null,
      tokens: { src: ['a', 'b'] }, attentions: { encoder_self: [[[[0.5, 0.5], [0.1, 0.9]]]] } });
    expect(hasSpecialTokens(plain)).toBe(false);
    expect(hideSpecialTokens(plain)).toBe(plain);
  });

  it('handles both sides of an encoder-decoder document, a zero row stays zero', () => {
    const doc = decodeDocument({
      schema_version: 1, checkpoint: 'copy/x.pt', model: {}, input: 'ab', output: 'ab',
      tokens: { src: ['a', 'b', '<eos>'], tgt: ['<bos>', 'a', 'b'] },
      attentions: {
        encoder_self: [[[[0.2, 0.2, 0.6], [0.3, 0.3, 0.4], [0, 0, 1]]]],
        decoder_self: [[[[1, 0, 0], [0.5, 0.5, 0], [0.5, 0.25, 0.25]]]],
        cross: [[[[0.5, 0.5, 0], [0, 0, 1], [0.1, 0.3, 0.6]]]],
      },
    });
    const h = hideSpecialTokens(doc);
    expect(h.tokens).toEqual({ src: ['a', 'b'], tgt: ['a', 'b'] });
    const dec = Array.from(headMatrix(h.kinds.decoder_self!, 0, 0));
    expect(dec.map((x) => +x.toFixed(6))).toEqual([1, 0, 0.5, 0.5]);
    expect(h.kinds.decoder_self!.causal).toBe(true);
    const cross = Array.from(headMatrix(h.kinds.cross!, 0, 0));
    expect(cross.map((x) => +x.toFixed(6))).toEqual([0, 0, 0.25, 0.75]); // 'a' looked only at <eos>
  });
});

describe('a document that names its special tokens', () => {
  // a LLaMA-style decoder document: `<s>` is special, the byte token `<0xE2>` is not
  const llama = () =>
    decodeDocument({
      schema_version: 1,
      checkpoint: 'hf/llama',
      model: {},
      input: 'x',
      output: '',
      tokens: { src: [], tgt: ['<s>', '<0xE2>', '␣hi'] },
      attentions: { decoder_self: [[[[1, 0, 0], [0.5, 0.5, 0], [0.2, 0.3, 0.5]]]] },
      special_tokens: ['<s>', '</s>', '<unk>'],
    });

  it('hides exactly those and keeps look-alikes', () => {
    const doc = llama();
    expect(doc.specialTokens).toEqual(['<s>', '</s>', '<unk>']);
    expect(hasSpecialTokens(doc)).toBe(true);
    const hidden = hideSpecialTokens(doc);
    expect(hidden.tokens.tgt).toEqual(['<0xE2>', '␣hi']);
    const row = Array.from(headMatrix(hidden.kinds.decoder_self!, 0, 0).slice(2, 4)); // query '␣hi' over the kept keys
    expect(row[0]).toBeCloseTo(0.375, 6);
    expect(row[1]).toBeCloseTo(0.625, 6);
  });

  it('without a list, the shape of the token decides (as before)', () => {
    expect(keptIndices(['<s>', '<0xE2>', 'hi'])).toEqual([2]);
  });
});

describe('hiding special tokens keeps the decoding steps on their rows', () => {
  it('drops the steps of hidden target rows and renumbers the rest', () => {
    const doc = decodeDocument({
      schema_version: 1,
      checkpoint: 'hf/gpt',
      model: {},
      input: 'a',
      output: ' b',
      tokens: { src: [], tgt: ['<s>', 'a', '␣b'] },
      attentions: { decoder_self: [[[[1, 0, 0], [0.5, 0.5, 0], [0.2, 0.3, 0.5]]]] },
      steps: [{ t: 0, token: 'a', top: [] }, { t: 1, token: '␣b', top: [] }, { t: 2, token: 'c', top: [] }],
      special_tokens: ['<s>'],
    });
    const h = hideSpecialTokens(doc);
    expect(h.tokens.tgt).toEqual(['a', '␣b']);
    expect(h.steps).toEqual([{ t: 0, token: '␣b', top: [] }, { t: 1, token: 'c', top: [] }]);
    expect(h.hidden?.steps).toBe(doc.steps);
  });
});
