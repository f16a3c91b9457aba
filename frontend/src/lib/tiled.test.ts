import { describe, expect, it } from 'vitest';
import { bytesToBase64 } from './base64';
import { floatToHalf } from './float16';
import { MASKED_RGB, lutIndex, weightLut } from './color';
import { decodeDocument } from './doc';
import { param } from './url';
import { attentionSource } from './source';
import {
  MIN_SPAN,
  clampViewport,
  fileTile,
  fullViewport,
  headThumb,
  isPooled,
  panBy,
  tileBlocks,
  tileFor,
  tileRgba,
  tileScaleTop,
  tileValue,
  zoomAbout,
  type Tile,
} from './tiled';
import { shownDoc } from '../app/state';

/** An overview document as the server writes it: uint8 thumbnails, square-root companded. */
function overviewDoc(n: number, P: number, thumbs: (l: number, h: number, i: number, j: number) => number) {
  const L = 2;
  const H = 3;
  const bytes = new Uint8Array(L * H * P * P);
  for (let l = 0, o = 0; l < L; l++) for (let h = 0; h < H; h++) for (let i = 0; i < P; i++) for (let j = 0; j < P; j++) bytes[o++] = Math.round(Math.sqrt(thumbs(l, h, i, j)) * 255);
  const stat = (f: (l: number, h: number) => number) => Array.from({ length: L }, (_, l) => Array.from({ length: H }, (_, h) => f(l, h)));
  return {
    schema_version: 1,
    detail: 'overview',
    checkpoint: 'hf/gpt2-long',
    model: { task: null, epoch: null, n_layers: L, n_heads: H, d_model: 32 },
    input: 'a long text',
    output: null,
    expected: null,
    encoding: 'uint8',
    tokens: { src: [], tgt: Array.from({ length: n }, (_, i) => (i === 0 ? '<|endoftext|>' : `t${i}`)) },
    warnings: [],
    special_tokens: ['<|endoftext|>'],
    overview: {
      handle: 'abc',
      kinds: {
        decoder_self: {
          layers: L,
          heads: H,
          nq: n,
          nk: n,
          thumbnails: { dtype: 'uint8', shape: [L, H, P, P], scale: 1 / 255, compand: 'sqrt', data: bytesToBase64(bytes), reduce: 'max' },
          stats: { entropy: stat((l, h) => l + h / 10), distance: stat((l, h) => 10 * l + h), previous_token: stat((l, h) => (l * 3 + h) / 10), self_token: stat(() => 0.5), first_token: stat(() => 0.2), local: stat(() => 0.7) },
        },
      },
    },
  };
}

describe('overview documents', () => {
  it('decode into a pooled tensor per kind: the thumbnails, the real sizes, the handle', () => {
    const doc = decodeDocument(overviewDoc(3000, 4, (l, h, i, j) => (j <= i ? (l * 3 + h + 1) / 10 : 0)));
    expect(doc.overview).toEqual({ handle: 'abc', checkpoint: 'hf/gpt2-long', text: 'a long text', source: 'server' });
    const t = doc.kinds.decoder_self!;
    expect(isPooled(t)).toBe(true);
    expect([t.nq, t.nk, t.layers, t.heads, t.causal]).toEqual([3000, 3000, 2, 3, true]);
    if (!isPooled(t)) return;
    expect([t.pooled.pq, t.pooled.pk]).toEqual([4, 4]);
    const th = headThumb(t, 1, 2); // (l*3 + h + 1) / 10 = 0.6 on and below the diagonal
    expect(th.length).toBe(16);
    expect(th[2 * 4 + 1]).toBeCloseTo(0.6, 2);
    expect(th[1 * 4 + 2]).toBe(0);
  });

  it('give the statistics table the server statistics', () => {
    const doc = decodeDocument(overviewDoc(300, 4, () => 0.1));
    const st = attentionSource(doc, 'decoder_self')!.stats(-1);
    expect(st).toHaveLength(6);
    expect(st[1 * 3 + 2]!.entropy).toBeCloseTo(1.2);
    expect(st[1 * 3 + 2]!.distance).toBe(12);
    expect(st[1 * 3 + 2]!.offset).toBeCloseTo(0.5); // previous token, the offset −1 line
    expect(st[0]!.diagonal).toBe(0.5);
    expect(Number.isNaN(attentionSource(doc, 'decoder_self')!.stats(2)[0]!.offset)).toBe(true); // only −1 is known
  });

  it('are shown whole when special tokens are hidden (no weights to renormalise)', () => {
    const raw = decodeDocument(overviewDoc(300, 4, () => 0.1));
    expect(shownDoc(raw, true)).toBe(raw);
  });

  it('of a saved file cut their tiles from its pooled copy, pooled further to fit max_cells', () => {
    // 10 tokens, copy in blocks of 3: 4 × 4 cells a head, cell (r, c) of head (l, h) = l·100 + h·10 + r + c/10
    const raw = overviewDoc(10, 4, () => 0.1);
    const vals = new Float32Array(2 * 3 * 16);
    for (let l = 0, o = 0; l < 2; l++) for (let h = 0; h < 3; h++) for (let r = 0; r < 4; r++) for (let c = 0; c < 4; c++) vals[o++] = (l * 100 + h * 10 + r + c / 10) / 1000;
    const kind = raw.overview.kinds.decoder_self as Record<string, unknown>;
    kind.pooled = { block: 3, weights: { dtype: 'float16', shape: [2, 3, 4, 4], data: bytesToBase64(new Uint8Array(Uint16Array.from(vals, floatToHalf).buffer)) } };
    Object.assign(raw.overview, { source: 'file', max_bytes: 2_000_000 });
    const doc = decodeDocument(raw);
    expect(doc.overview).toMatchObject({ source: 'file', maxBytes: 2_000_000 });
    const t = doc.kinds.decoder_self!;
    if (!isPooled(t)) throw new Error('not pooled');
    // rows 4..7, keys 1..5: blocks 1..2 by 0..1, widened to whole blocks
    const a = fileTile(t, 1, 2, { q0: 4, q1: 8, k0: 1, k1: 6 });
    expect([a.q0, a.q1, a.k0, a.k1, a.block, a.rows, a.cols]).toEqual([3, 9, 0, 6, [3, 3], 2, 2]);
    expect(tileValue(a, 7, 4)).toBeCloseTo((120 + 2 + 0.1) / 1000, 4);
    // the whole matrix in at most 4 cells: blocks of 2 × 2 copy cells, their maxima
    const b = fileTile(t, 0, 1, { q0: 0, q1: 10, k0: 0, k1: 10, max_cells: 4 });
    expect([b.q0, b.q1, b.block, b.rows, b.cols]).toEqual([0, 10, [6, 6], 2, 2]);
    expect(tileValue(b, 9, 9)).toBeCloseTo((10 + 3 + 0.3) / 1000, 4);
    expect(tileValue(b, 0, 0)).toBeCloseTo((10 + 1 + 0.1) / 1000, 4);
    // a file without the copy says so
    const bare = decodeDocument(overviewDoc(10, 4, () => 0.1)).kinds.decoder_self!;
    if (isPooled(bare)) expect(() => fileTile(bare, 0, 0, { q0: 0, q1: 4, k0: 0, k1: 4 })).toThrow(/only the thumbnails/);
  });

  it('refuse thumbnails that do not match the tokens', () => {
    const bad = overviewDoc(300, 4, () => 0.1);
    bad.overview.kinds.decoder_self.nq = 299;
    expect(() => decodeDocument(bad)).toThrow(/299×300/);
  });
});

describe('viewport', () => {
  it('zooms about a point that stays put, and clamps to the matrix', () => {
    const v = fullViewport(4096, 4096);
    const z = zoomAbout(v, 4, 1024, 3072, 4096, 4096);
    expect(z.q1 - z.q0).toBe(1024);
    expect(z.k1 - z.k0).toBe(1024);
    // the point keeps its place: a quarter down, three quarters across
    expect((1024 - z.q0) / (z.q1 - z.q0)).toBeCloseTo(0.25, 2);
    expect((3072 - z.k0) / (z.k1 - z.k0)).toBeCloseTo(0.75, 2);
    // zooming out past the whole matrix gives the whole matrix
    expect(zoomAbout(z, 0.01, 0, 0, 4096, 4096)).toEqual(v);
    // zooming in stops at MIN_SPAN cells, inside the matrix at its corner
    const c = zoomAbout(v, 1e6, 4095.5, 4095.5, 4096, 4096);
    expect(c).toEqual({ q0: 4096 - MIN_SPAN, q1: 4096, k0: 4096 - MIN_SPAN, k1: 4096 });
  });

  it('pans by whole cells and keeps its span at the edges', () => {
    const v = { q0: 100, q1: 200, k0: 0, k1: 50 };
    expect(panBy(v, 10, -5, 1000, 1000)).toEqual({ q0: 110, q1: 210, k0: 0, k1: 50 });
    expect(panBy(v, 5000, 5000, 1000, 1000)).toEqual({ q0: 900, q1: 1000, k0: 950, k1: 1000 });
    expect(clampViewport({ q0: -20, q1: 5000, k0: 3, k1: 3 }, 300, 8)).toEqual({ q0: 0, q1: 300, k0: 3, k1: 7 });
    // a matrix smaller than MIN_SPAN is shown whole
    expect(clampViewport({ q0: 0, q1: 1, k0: 0, k1: 1 }, 2, 3)).toEqual({ q0: 0, q1: 2, k0: 0, k1: 3 });
  });

  it('asks for at most one cell per canvas pixel, exact once the region fits', () => {
    const big = tileFor({ q0: 0, q1: 4096, k0: 0, k1: 4096 }, 600, 600);
    expect(big.max_cells).toBe(360000);
    const [bq, bk] = tileBlocks(4096, 4096, big.max_cells);
    expect(Math.ceil(4096 / bq) * Math.ceil(4096 / bk)).toBeLessThanOrEqual(360000);
    expect(bq).toBeGreaterThan(1);
    const small = tileFor({ q0: 10, q1: 410, k0: 0, k1: 500 }, 600, 600);
    expect(tileBlocks(400, 500, small.max_cells)).toEqual([1, 1]);
    // never past the server's ceiling
    expect(tileFor(fullViewport(9000, 9000), 3000, 3000).max_cells).toBe(1 << 20);
  });

  it('predicts the server block (longctx.tile_blocks) and the block is the smallest that fits', () => {
    // figures of longctx.tile_blocks for the same arguments
    expect(tileBlocks(2960, 2960, 372 * 372)).toEqual([8, 8]);
    expect(tileBlocks(4096, 4096, 1 << 20)).toEqual([4, 4]);
    expect(tileBlocks(4096, 100, 1000)).toEqual([21, 20]);
    expect(tileBlocks(7, 3000, 500)).toEqual([7, 6]);
    for (const [r, c, m] of [[3000, 2000, 5000], [123, 4567, 999], [4096, 4096, 360000]] as const) {
      const [bq, bk] = tileBlocks(r, c, m);
      expect(Math.ceil(r / bq) * Math.ceil(c / bk)).toBeLessThanOrEqual(m);
      if (bk > 1) expect(Math.ceil(r / bq) * Math.ceil(c / (bk - 1))).toBeGreaterThan(m);
    }
  });
});

describe('the viewport in the URL', () => {
  it('is vq=q0-q1 / vk=k0-k1, absent for the whole axis, and refuses what is not a range', () => {
    const r = param.range();
    expect(r.parse('12-40')).toEqual([12, 40]);
    expect(r.format([12, 40])).toBe('12-40');
    expect(r.parse('40-12')).toBeUndefined();
    expect(r.parse('3')).toBeUndefined();
    expect(r.parse('-1-4')).toBeUndefined();
    expect(r.default).toBeNull();
  });
});

describe('tiles', () => {
  const tile = (over: Partial<Tile>): Tile => ({ kind: 'decoder_self', layer: 0, head: 0, q0: 0, q1: 4, k0: 0, k1: 4, block: [1, 1], rows: 4, cols: 4, data: new Float32Array(16), ...over });

  it('read a cell through its block', () => {
    const t = tile({ q0: 100, q1: 108, k0: 10, k1: 18, block: [2, 2], rows: 4, cols: 4, data: Float32Array.from({ length: 16 }, (_, i) => i) });
    expect(tileValue(t, 100, 10)).toBe(0);
    expect(tileValue(t, 103, 17)).toBe(1 * 4 + 3);
    expect(Number.isNaN(tileValue(t, 108, 10))).toBe(true);
  });

  it('colour to a scale fitted to the weights shown, masked blocks in the masked colour', () => {
    // a causal 4 × 4 tile: row 0 all on key 0 (weight 1), the other weights small
    const data = new Float32Array([1, 0, 0, 0, 0.02, 0.01, 0, 0, 0.01, 0.02, 0.01, 0, 0.02, 0.01, 0.01, 0.01]);
    const t = tile({ data });
    const top = tileScaleTop(t, true, 0.9);
    expect(top).toBeGreaterThanOrEqual(0.02);
    expect(top).toBeLessThan(0.03); // the one weight of 1 does not set the scale
    const rgba = tileRgba(t, top, true, weightLut(), MASKED_RGB);
    const px = (r: number, c: number) => Array.from(rgba.subarray((r * 4 + c) * 4, (r * 4 + c) * 4 + 3));
    expect(px(0, 3)).toEqual([...MASKED_RGB]);
    const lut = weightLut();
    const col = (w: number) => Array.from(lut.subarray(lutIndex(w) * 4, lutIndex(w) * 4 + 3));
    expect(px(0, 0)).toEqual(col(1)); // saturates
    expect(px(2, 1)).toEqual(col(0.02 / top));
    // a pooled block on the diagonal keeps its visible cells
    const pooled = tile({ q0: 0, q1: 4, k0: 0, k1: 4, block: [2, 2], rows: 2, cols: 2, data: new Float32Array([0.5, 0, 0.2, 0.4]) });
    const pr = tileRgba(pooled, 0.5, true, weightLut(), MASKED_RGB);
    expect(Array.from(pr.subarray(4, 7))).toEqual([...MASKED_RGB]); // block (0, 1): keys 2–3 over queries 0–1
    expect(Array.from(pr.subarray(0, 3))).toEqual(col(1));
  });
});

describe('the arcs window', () => {
  it('keeps its size, shifted at the ends', async () => {
    const { arcWindow } = await import('./tiled');
    expect(arcWindow(1000, 3000)).toEqual([968, 1033]);
    expect(arcWindow(3, 3000)).toEqual([0, 65]);
    expect(arcWindow(2999, 3000)).toEqual([2935, 3000]);
    expect(arcWindow(5, 10)).toEqual([0, 10]);
  });

  it('prunes each row of the window tile by mass, positions of the whole text', async () => {
    const { windowArcs } = await import('./tiled');
    const { pruneRowByMass } = await import('./arcs');
    const t: Tile = { kind: 'decoder_self', layer: 0, head: 1, q0: 100, q1: 102, k0: 100, k1: 103, block: [1, 1], rows: 2, cols: 3, data: new Float32Array([0.9, 0, 0, 0.5, 0.4, 0.001]) };
    const arcs = windowArcs(t, 1, 0.8, 0.005, pruneRowByMass);
    expect(arcs).toEqual([
      { q: 100, k: 100, w: expect.closeTo(0.9, 5), h: 1 },
      { q: 101, k: 100, w: 0.5, h: 1 },
      { q: 101, k: 101, w: expect.closeTo(0.4, 5), h: 1 },
    ]);
  });
});
