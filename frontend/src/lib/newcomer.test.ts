import { describe, expect, it } from 'vitest';
import { expectedAlignment } from './alignment';
import { decodeDocument } from './doc';
import { errorHeading, userMessage } from './errors';
import { checkpointInfo, featureBlock, supportedFeatures } from './features';
import { hideSpecialTokens, keptIndices } from './special';
import { describeInvalid, describeVocabulary, lowerCaseFix } from './text';
import type { CheckpointsResponse } from '../api/types';

const VOCAB = "abcdefghijklmnopqrstuvwxyz0123456789 .,!?'-:;()";

describe('what the page says', () => {
  it('says what a vocabulary reads and suggests lower case', () => {
    expect(describeVocabulary(VOCAB)).toBe("This model reads lower-case letters, digits, space and .,!?'-:;().");
    const msg = describeInvalid([{ char: 'H', position: 0 }], VOCAB);
    expect(msg).toContain('Use lower case.');
    expect(msg).toContain('lower-case letters');
    expect(describeInvalid([{ char: '€', position: 2 }], VOCAB)).not.toContain('lower case.');
  });
  it('offers the lower-case text only when that is all it takes', () => {
    expect(lowerCaseFix('Hello World', VOCAB)).toBe('hello world');
    expect(lowerCaseFix('Héllo', VOCAB)).toBeNull(); // é is unknown in lower case too
    expect(lowerCaseFix('hello', VOCAB)).toBeNull(); // nothing to fix
    expect(lowerCaseFix('Hello', null)).toBeNull(); // no vocabulary known: no promise
  });
  it('heads an error by what failed, without endpoint jargon', () => {
    expect(errorHeading('unknown_characters')).toBe('Cannot run this text.');
    expect(errorHeading('unknown_checkpoint')).toBe('Cannot use this checkpoint.');
    expect(errorHeading('not_supported')).toBe('Not available for this model.');
    expect(userMessage('unknown_checkpoint', "There is no checkpoint named 'x'; GET /api/checkpoints lists them.", 'x')).not.toContain('/api');
  });
});

describe('features', () => {
  const list = (c: object): CheckpointsResponse => ({ checkpoint_dir: '.', runs: [{ name: 'r', task: null, checkpoints: [{ name: 'm', run: 'r', epoch: null, usable: true, error: null, task: null, created_at: null, metrics: null, config: null, max_text_len: null, max_input_len: null, characters: null, ...c }] }] });
  it('reads supports, else derives it from kind', () => {
    expect([...supportedFeatures({ ...list({ kind: 'huggingface' }).runs[0]!.checkpoints[0]! })].sort()).toEqual(['attention', 'special_tokens']);
    expect(supportedFeatures(list({ kind: 'toy' }).runs[0]!.checkpoints[0]!).has('math')).toBe(true);
    expect(featureBlock(list({ family: 'decoder', supports: ['attention', 'steps'] }), 'm', 'math')).toContain('decoder-only');
    expect(featureBlock(list({ family: 'decoder', supports: ['attention', 'steps'] }), 'm', 'steps')).toBeNull();
  });
  it('a snapshot of a run has its run\'s features (the timeline steps through it)', () => {
    const l = list({ kind: 'toy' });
    expect(checkpointInfo(l, 'r/snapshots/step40.pt')?.name).toBe('m');
    expect(featureBlock(l, 'r/snapshots/step40.pt', 'timeline')).toBeNull();
    expect(checkpointInfo(l, 'other/snapshots/step40.pt')).toBeNull();
    expect(checkpointInfo(l, 'r/step40.pt')).toBeNull();
  });
});

describe('special tokens', () => {
  it('never hides [UNK], and honours the document list', () => {
    expect(keptIndices(['[CLS]', 'a', '[UNK]', '[SEP]'])).toEqual([1, 2]);
    expect(keptIndices(['<|endoftext|>', 'a'], ['<|endoftext|>'])).toEqual([1]);
  });
  it('keeps the expected alignment on its cells when <bos>/<eos> are hidden', () => {
    const n = 4; // a b c <eos> × <bos> a b c
    const w = Array.from({ length: 1 }, () => [Array.from({ length: n }, () => Array.from({ length: n }, () => 1 / n))]);
    const doc = decodeDocument({
      schema_version: 1, checkpoint: null, model: { task: 'copy' }, input: 'abc', output: 'abc',
      tokens: { src: ['a', 'b', 'c', '<eos>'], tgt: ['<bos>', 'a', 'b', 'c'] }, attentions: { cross: w },
    });
    expect(Array.from(expectedAlignment(doc, 'cross')!)).toEqual([0, 1, 2, 3]);
    // rows a b c predict b c <eos>: columns 1, 2 and none (<eos> hidden)
    expect(Array.from(expectedAlignment(hideSpecialTokens(doc), 'cross')!)).toEqual([1, 2, -1]);
  });
  it('reads a decoder-only document (no source tokens)', () => {
    const doc = decodeDocument({ schema_version: 1, tokens: { tgt: ['a', 'b'] }, attentions: { decoder_self: [[[[1, 0], [0.5, 0.5]]]] } });
    expect(doc.tokens.src).toEqual([]);
    expect(Object.keys(doc.kinds)).toEqual(['decoder_self']);
  });
});

describe('companded uint8', () => {
  it('decodes the service encoding (Python attnviz.encoding) to the same weights, every row keeping its mass', async () => {
    const fx = (await import('./__fixtures__/companded-uint8.json')).default as unknown as {
      exact: number[][][][];
      decoded_by_python: number[][][][];
    };
    const doc = decodeDocument(fx);
    const t = doc.kinds.cross!;
    expect(doc.encoding).toBe('uint8');
    const exact = fx.exact.flat(3);
    const py = fx.decoded_by_python.flat(3);
    for (let i = 0; i < exact.length; i++) {
      expect(t.data[i]).toBeCloseTo(py[i]!, 6);
      if (exact[i]! >= 1 / 255) expect(t.data[i]).toBeGreaterThan(0);
    }
    for (let r = 0; r < t.layers * t.heads * t.nq; r++) {
      let sum = 0;
      for (let k = 0; k < t.nk; k++) sum += t.data[r * t.nk + k]!;
      expect(sum).toBeGreaterThan(0.995);
      expect(sum).toBeLessThan(1.005);
    }
  });
  it('still reads an older linear uint8 document', () => {
    const doc = decodeDocument({ schema_version: 1, attentions: { cross: { dtype: 'uint8', shape: [1, 1, 1, 2], scale: 1 / 255, data: 'f4A=' } }, tokens: { src: ['a', 'b'], tgt: ['<bos>'] } });
    expect(doc.kinds.cross!.data[0]).toBeCloseTo(127 / 255, 6);
  });
});
