import { describe, expect, it } from 'vitest';
import { blockMaxRgba, thumbFactor } from './thumbnail';
import { MASKED_RGB, lutIndex, weightLut } from './color';

const colorOf = (w: number) => Array.from(weightLut().subarray(lutIndex(w) * 4, lutIndex(w) * 4 + 4));
const pixel = (t: { width: number; rgba: Uint8ClampedArray }, x: number, y: number) => Array.from(t.rgba.subarray((y * t.width + x) * 4, (y * t.width + x) * 4 + 4));

describe('thumbnails', () => {
  it('reduces only matrices with more than twice the pixels', () => {
    expect(thumbFactor(128, 128, 90)).toBe(1);
    expect(thumbFactor(180, 180, 90)).toBe(1);
    expect(thumbFactor(181, 100, 90)).toBe(3);
    expect(thumbFactor(512, 512, 90)).toBe(6);
    expect(thumbFactor(512, 512, 180)).toBe(3);
  });

  it('keeps the maximum of each block, so a one-cell diagonal stays at full strength', () => {
    const n = 10;
    const m = new Float32Array(n * n);
    for (let i = 0; i < n; i++) m[i * n + i] = 1; // identity
    m[0 * n + 9] = 0.5; // one cell in the top-right block
    const t = blockMaxRgba(m, n, n, 4, false);
    expect([t.width, t.height]).toEqual([3, 3]); // 4 + 4 + 2
    expect(pixel(t, 0, 0)).toEqual(colorOf(1));
    expect(pixel(t, 1, 1)).toEqual(colorOf(1));
    expect(pixel(t, 2, 2)).toEqual(colorOf(1)); // the partial last block
    expect(pixel(t, 1, 0)).toEqual(colorOf(0));
    expect(pixel(t, 2, 0)).toEqual(colorOf(0.5));
  });

  it('masks blocks with no visible cell of a causal matrix, and ignores masked cells elsewhere', () => {
    const n = 4;
    const m = new Float32Array(n * n).fill(0.9); // masked cells hold junk: never shown
    for (let q = 0; q < n; q++) for (let k = 0; k <= q; k++) m[q * n + k] = 0.1;
    const t = blockMaxRgba(m, n, n, 2, true);
    expect(pixel(t, 0, 0)).toEqual(colorOf(0.1)); // has q=1,k=0.. visible
    expect(pixel(t, 1, 0)).toEqual([...MASKED_RGB, 255]); // k ∈ {2,3} > q ∈ {0,1}
    expect(pixel(t, 1, 1)).toEqual(colorOf(0.1));
    expect(pixel(t, 0, 1)).toEqual(colorOf(0.1));
  });

  it('with f = 1 is the per-cell picture', () => {
    const m = Float32Array.from([0, 0.25, 0.5, 1]);
    const t = blockMaxRgba(m, 2, 2, 1, false);
    expect([pixel(t, 0, 0), pixel(t, 1, 0), pixel(t, 0, 1), pixel(t, 1, 1)]).toEqual([colorOf(0), colorOf(0.25), colorOf(0.5), colorOf(1)]);
  });
});
