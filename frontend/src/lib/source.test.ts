import { describe, expect, it } from 'vitest';
import { lutIndex, MASKED_RGB, weightLut } from './color';
import type { AttnDoc, AttnTensor } from './doc';
import { attentionSource, memorySource, overviewSource } from './source';
import type { Pooled } from './tiled';

/** [2 layers, 2 heads, 3 × 3]: the weight at (l, h, q, k) is its flat index / 100, so each cell says where it is. */
function tensor(causal = false): AttnTensor {
  const data = new Float32Array(2 * 2 * 3 * 3).map((_, i) => i / 100);
  return { kind: causal ? 'decoder_self' : 'encoder_self', layers: 2, heads: 2, nq: 3, nk: 3, data, causal };
}

const ctx = () => ({ kTokens: ['a', 'b', 'c'], expected: null, self: true });
const colorOf = (w: number) => Array.from(weightLut().subarray(lutIndex(w) * 4, lutIndex(w) * 4 + 4));
const pixel = (t: { width: number; rgba: Uint8ClampedArray }, x: number, y: number) => Array.from(t.rgba.subarray((y * t.width + x) * 4, (y * t.width + x) * 4 + 4));

describe('the in-memory attention source', () => {
  it('gives the shape and reads a head, a row and a cell at their places', () => {
    const t = tensor();
    const src = memorySource(t, ctx);
    expect([src.kind, src.layers, src.heads, src.nq, src.nk, src.causal, src.exact]).toEqual(['encoder_self', 2, 2, 3, 3, false, true]);
    // layer 1, head 0 starts at (1 * 2 + 0) * 9 = 18
    expect(Array.from(src.matrix(1, 0))).toEqual([18, 19, 20, 21, 22, 23, 24, 25, 26].map((i) => Math.fround(i / 100)));
    expect(Array.from(src.row(1, 1, 2))).toEqual([33, 34, 35].map((i) => Math.fround(i / 100)));
    expect(src.cell(0, 1, 1, 2)).toBe(Math.fround(14 / 100));
  });

  it('hands out views on the tensor, not copies (the hot loops stay typed-array loops)', () => {
    const t = tensor();
    const src = memorySource(t, ctx);
    const m = src.matrix(0, 1);
    expect(m.buffer).toBe(t.data.buffer);
    t.data[9] = 0.75;
    expect(m[0]).toBe(0.75);
    expect(src.row(0, 1, 0)[0]).toBe(0.75);
  });

  it('names the mean of a layer and no head past the last', () => {
    const src = memorySource(tensor(), ctx);
    // layer 0: heads 0 and 1 are i/100 and (i + 9)/100, their mean (i + 4.5)/100
    expect(src.ref({ layer: 0, head: 0, agg: 'mean' })![0]).toBeCloseTo(0.045, 6);
    expect(src.ref({ layer: 0, head: 5, agg: 'none' })).toBeNull();
    expect(src.ref({ layer: 1, head: 1, agg: 'none' })).toEqual(src.matrix(1, 1));
  });

  it('draws a thumbnail cell by cell, masked cells in the masked colour', () => {
    const src = memorySource(tensor(true), ctx);
    const th = src.thumbnail({ layer: 0, head: 0, agg: 'none' }, 48, 2);
    expect([th.width, th.height, th.pixelated]).toEqual([3, 3, true]);
    expect(pixel(th, 0, 2)).toEqual(colorOf(0.06)); // (q 2, k 0) = index 6
    expect(pixel(th, 2, 0).slice(0, 3)).toEqual([...MASKED_RGB]); // k > q
  });

  it('reduces a thumbnail of more cells than twice its pixels by block maxima', () => {
    const n = 40;
    const data = new Float32Array(n * n);
    for (let i = 0; i < n; i++) data[i * n + i] = 1;
    const src = memorySource({ kind: 'encoder_self', layers: 1, heads: 1, nq: n, nk: n, data, causal: false }, ctx);
    const th = src.thumbnail({ layer: 0, head: 0, agg: 'none' }, 10);
    expect([th.width, th.height, th.pixelated]).toEqual([10, 10, false]); // 4 × 4 cells a pixel
    expect(pixel(th, 3, 3)).toEqual(colorOf(1)); // the diagonal keeps its full weight
    expect(pixel(th, 3, 0)).toEqual(colorOf(0));
  });

  it('computes the statistics of every head once per offset', () => {
    const t = tensor();
    t.data.fill(0);
    // layer 1, head 1 puts everything on the previous key (row 0 on itself)
    const m = t.data.subarray(27, 36);
    m[0] = 1;
    m[3] = 1;
    m[7] = 1;
    const src = memorySource(t, ctx);
    const st = src.stats(-1);
    expect(st).toHaveLength(4);
    expect(st[3]!.prev).toBe(1);
    expect(st[3]!.offset).toBe(1);
    expect(st[3]!.diagonal).toBeCloseTo(1 / 3);
    expect(src.stats(-1)).toBe(st);
    expect(src.stats(1)[3]!.offset).toBe(0);
  });
});

describe('the overview source', () => {
  const pooled = (): AttnTensor & { pooled: Pooled } => {
    const data = new Float32Array(1 * 2 * 2 * 2).map((_, i) => i / 10);
    return { kind: 'encoder_self', layers: 1, heads: 2, nq: 300, nk: 300, data, causal: false, pooled: { pq: 2, pk: 2, stats: { entropy: [[1.5, 2.5]] } } };
  };

  it('has thumbnails and the server statistics, but no weights', () => {
    const src = overviewSource(pooled());
    expect([src.nq, src.exact]).toEqual([300, false]);
    const th = src.thumbnail({ layer: 0, head: 1, agg: 'none' }, 48);
    expect([th.width, th.height, th.pixelated]).toEqual([2, 2, true]);
    expect(pixel(th, 1, 0)).toEqual(colorOf(0.5)); // head 1 starts at index 4
    expect(src.stats(-1)[1]!.entropy).toBe(2.5);
    expect(() => src.matrix(0, 0)).toThrow(/tile/);
    expect(src.ref({ layer: 0, head: 0, agg: 'none' })).toBeNull();
  });

  it('is the one a document of pooled kinds gives', () => {
    const doc = { kinds: { encoder_self: pooled() }, tokens: { src: [], tgt: [] } } as unknown as AttnDoc;
    const src = attentionSource(doc, 'encoder_self')!;
    expect(src.exact).toBe(false);
    expect(attentionSource(doc, 'encoder_self')).toBe(src); // one per tensor
    expect(attentionSource(doc, 'cross')).toBeNull();
  });
});
