import { describe, expect, it } from 'vitest';
import type { CheckpointInfo } from '../api/types';
import { URL_SPECS } from '../app/state';
import { decodeDocument } from './doc';
import { decodeSampling, describeSampling, docSamplingKey, generates, GREEDY, samplingKey, samplingRequest } from './sampling';
import { formatParams, parseParams } from './url';

const info = (supports: CheckpointInfo['supports']): CheckpointInfo =>
  ({ name: 'x', run: 'x', supports, epoch: null, usable: true, error: null, task: null, created_at: null, metrics: null, config: null, max_text_len: null }) as CheckpointInfo;

describe('sampling settings', () => {
  it('greedy sends nothing, and neither does a model that generates nothing', () => {
    expect(samplingRequest(GREEDY, true)).toEqual({});
    expect(samplingRequest({ temp: 1, topk: 5, topp: 0.9, seed: 3 }, false)).toEqual({});
    expect(samplingKey({ ...GREEDY, topk: 5, seed: 9 }, true)).toBe(''); // temperature 0: the rest is unused
  });

  it('sends only the settings that cut something', () => {
    expect(samplingRequest({ temp: 1.5, topk: 0, topp: 1, seed: 42 }, true)).toEqual({ temperature: 1.5, seed: 42 });
    expect(samplingRequest({ temp: 0.7, topk: 5, topp: 0.9, seed: 0 }, true)).toEqual({ temperature: 0.7, top_k: 5, top_p: 0.9, seed: 0 });
  });

  it('keys a request the same way as the document it returns', () => {
    const s = { temp: 1, topk: 5, topp: 0.9, seed: 42 };
    const doc = decodeDocument({ schema_version: 1, input: 'ab', output: 'ab', tokens: { src: ['a'], tgt: ['<bos>'] }, attentions: { cross: [[[[1]]]] }, sampling: { temperature: 1.0, top_k: 5, top_p: 0.9, seed: 42 } });
    expect(doc.sampling).toEqual({ temperature: 1, top_k: 5, top_p: 0.9, seed: 42 });
    expect(docSamplingKey(doc.sampling)).toBe(samplingKey(s, true));
    expect(docSamplingKey(null)).toBe(samplingKey(GREEDY, true));
    expect(samplingKey({ ...s, seed: 43 }, true)).not.toBe(docSamplingKey(doc.sampling));
  });

  it('drops a malformed sampling field and describes a good one', () => {
    expect(decodeSampling({ temperature: '1', top_k: 0, top_p: 1, seed: 1 })).toBeNull();
    expect(decodeSampling(null)).toBeNull();
    expect(describeSampling({ temperature: 1.2, top_k: 5, top_p: 0.9, seed: 42 })).toBe('T 1.2 · top-k 5 · top-p 0.9 · seed 42');
    expect(describeSampling({ temperature: 1, top_k: 0, top_p: 1, seed: 7 })).toBe('T 1 · seed 7');
    expect(describeSampling(null)).toBe('greedy');
  });

  it('is offered where the listing says the model generates (and asked as set before a listing)', () => {
    expect(generates(info(['attention', 'generate', 'steps']))).toBe(true);
    expect(generates(info(['attention', 'math']))).toBe(false);
    expect(generates(null)).toBe(true);
  });

  it('lives in the URL as temp, topk, topp, seed (defaults absent, bad values ignored)', () => {
    const defaults = parseParams(URL_SPECS, '');
    expect(defaults).toMatchObject({ temp: 0, topk: 0, topp: 1, seed: -1 });
    const q = formatParams(URL_SPECS, { ...defaults, temp: 1.25, topk: 5, topp: 0.9, seed: 42 });
    expect(q).toBe('?temp=1.25&topk=5&topp=0.9&seed=42');
    expect(parseParams(URL_SPECS, q)).toMatchObject({ temp: 1.25, topk: 5, topp: 0.9, seed: 42 });
    expect(parseParams(URL_SPECS, '?temp=9&topk=-1&topp=0&seed=x')).toMatchObject({ temp: 0, topk: 0, topp: 1, seed: -1 });
  });
});
