import { describe, expect, it } from 'vitest';
import { formatParams, param, paramsChanged, parseParams } from './url';
import { normalizeForDoc, URL_SPECS, type UrlState } from '../app/state';
import { decodeDocument } from './doc';

const defaults = parseParams(URL_SPECS, '');

describe('URL state', () => {
  it('has defaults and an empty query string for them', () => {
    expect(defaults).toMatchObject({ ckpt: '', text: '', kind: 'encoder_self', layer: 0, head: 0, view: 'heatmap', heads: null, mass: 0.9, present: false });
    expect(formatParams(URL_SPECS, defaults)).toBe('');
  });

  it('round-trips every field, including awkward text', () => {
    const s: UrlState = { ...defaults, ckpt: 'copy/ckpt_epoch3.pt', text: 'héllo wörld & ?=#+ 😀', kind: 'cross', layer: 1, head: 3, view: 'arcs', heads: [0, 2], mass: 0.75, present: true, insight: 'math', mq: 2, step: 3, ablate: [{ kind: 'cross', layer: 0, head: 1 }], hidespecial: true };
    const q = formatParams(URL_SPECS, s);
    expect(parseParams(URL_SPECS, q)).toEqual(s);
    expect(q).toContain('kind=cross');
    expect(q).toContain('heads=0%2C2');
  });

  it('falls back to defaults on invalid values', () => {
    const s = parseParams(URL_SPECS, '?kind=bogus&layer=-1&head=x&mass=7&view=nope&heads=a,b&present=maybe');
    expect(s).toEqual(defaults);
  });

  it('keeps unknown parameters (later features) and drops defaults', () => {
    const q = formatParams(URL_SPECS, { ...defaults, layer: 1 }, '?layer=0&gallery=copy-1&kind=encoder_self');
    expect(q).toBe('?layer=1&gallery=copy-1');
  });

  it('detects URL-relevant changes', () => {
    expect(paramsChanged(URL_SPECS, defaults, { ...defaults })).toBe(false);
    expect(paramsChanged(URL_SPECS, defaults, { ...defaults, heads: [] })).toBe(true);
    expect(paramsChanged(URL_SPECS, { ...defaults, heads: [1] }, { ...defaults, heads: [1] })).toBe(false);
  });

  it('parses param kinds', () => {
    expect(param.intList().parse('3,1,3')).toEqual([1, 3]);
    expect(param.bool().parse('')).toBe(true);
    expect(param.float(0.5, 0, 1).parse('')).toBeUndefined();
    expect(param.int(0, 0, 5).parse('6')).toBeUndefined();
  });

  it('normalises kind / layer / head to the document', () => {
    const doc = decodeDocument({ schema_version: 1, checkpoint: null, model: {}, input: '', output: null, tokens: { src: ['a'] }, attentions: { encoder_self: [[[[1]], [[1]]]] } });
    expect(normalizeForDoc({ kind: 'cross', layer: 5, head: 9, heads: [0, 7] }, doc)).toEqual({ kind: 'encoder_self', layer: 0, head: 1, heads: [0] });
    expect(normalizeForDoc({ kind: 'encoder_self', layer: 0, head: 0, heads: null }, doc)).toEqual({});
  });
});
