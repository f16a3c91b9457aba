import { describe, expect, it } from 'vitest';
import { URL_SPECS, type UrlState } from '../app/state';
import { formatParams, parseParams } from './url';

const defaults = parseParams(URL_SPECS, '');

describe('URL state of the insight views', () => {
  it('defaults are left out of the URL', () => {
    expect(defaults).toMatchObject({ agg: 'none', aside: 'arcs', sort: '', offset: -1, mvstat: '', mvorder: false, align: false, diff: null, diffckpt: '' });
    expect(formatParams(URL_SPECS, defaults)).toBe('');
  });
  it('round-trips aggregates, table, model view, overlay and diff', () => {
    const s: UrlState = {
      ...defaults, layer: 1, agg: 'rollout', aside: 'stats', sort: '-entropy', offset: 2, mvstat: 'mass:<eos>', mvorder: true, align: true,
      diff: { layer: 0, head: 3, agg: 'none' }, diffckpt: 'copy/ckpt_epoch1.pt',
    };
    const q = formatParams(URL_SPECS, s);
    expect(q).toContain('agg=rollout');
    expect(q).toContain('diff=0.3');
    expect(parseParams(URL_SPECS, q)).toEqual(s);
    expect(parseParams(URL_SPECS, '?diff=2.mean').diff).toEqual({ layer: 2, head: 0, agg: 'mean' });
  });
  it('invalid values fall back to defaults', () => {
    expect(parseParams(URL_SPECS, '?agg=max&aside=x&offset=100&diff=a.b')).toEqual(defaults);
  });
});
