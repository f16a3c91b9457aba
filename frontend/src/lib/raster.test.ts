import { describe, expect, it } from 'vitest';
import { ArcRaster, hexToRgb, rasterArcs, STRONG_ALPHA, STRONG_WIDTH } from './raster';
import { arcGeometry, arcY } from './geometry';

describe('ArcRaster', () => {
  it('draws a horizontal line with the right coverage and colour', () => {
    const r = new ArcRaster(10, 5);
    r.curve(0, 2.5, 10, 2.5, [255, 0, 0], 1, 1);
    const px = r.toRgba();
    const at = (x: number, y: number) => Array.from(px.slice((y * 10 + x) * 4, (y * 10 + x) * 4 + 4));
    expect(at(5, 2)).toEqual([255, 0, 0, 255]); // fully covered row 2 (y in [2, 3))
    expect(at(5, 1)[3]).toBe(0);
    expect(at(5, 3)[3]).toBe(0);
  });
  it('splits coverage between rows and follows the smoothstep', () => {
    const r = new ArcRaster(100, 100);
    r.curve(0, 10, 100, 90, [0, 0, 255], 1, 1);
    const px = r.toRgba();
    const colAlpha = (x: number) => {
      let sum = 0;
      let cy = 0;
      for (let y = 0; y < 100; y++) {
        const a = px[(y * 100 + x) * 4 + 3]! / 255;
        sum += a;
        cy += a * (y + 0.5);
      }
      return { sum, cy: cy / sum };
    };
    expect(colAlpha(0).cy).toBeCloseTo(10, 0);
    expect(Math.abs(colAlpha(50).cy - (10 + 80 * (0.505 ** 2 * (3 - 2 * 0.505))))).toBeLessThan(0.2);
    expect(colAlpha(99).cy).toBeCloseTo(90, 0);
    expect(colAlpha(50).sum).toBeGreaterThan(1); // steeper in the middle: thicker vertical span
  });
  it('composites source-over and clips to the canvas', () => {
    const r = new ArcRaster(4, 4);
    r.curve(-5, 1.5, 10, 1.5, [255, 255, 255], 0.5, 1);
    r.curve(-5, 1.5, 10, 1.5, [0, 0, 0], 0.5, 1);
    const px = r.toRgba();
    expect(px[(1 * 4 + 2) * 4 + 3]).toBe(191); // 1 - 0.5 * 0.5 = 0.75
    expect(px[(1 * 4 + 2) * 4]).toBe(85); // white 0.25 / 0.75 → 1/3
    r.curve(0, -50, 4, -40, [0, 0, 0], 1); // fully outside: no throw
  });
  it('parses hex colours', () => {
    expect(hexToRgb('#0072B2')).toEqual([0, 114, 178]);
    expect(hexToRgb('#fff')).toEqual([255, 255, 255]);
  });
});

describe('ArcRaster clearing', () => {
  it('clears only what was drawn and converts it again', () => {
    const r = new ArcRaster(20, 4);
    r.curve(2, 1.5, 6, 1.5, [255, 0, 0], 1, 1);
    let px = r.toRgba();
    expect(px[(1 * 20 + 3) * 4 + 3]).toBe(255);
    r.clear();
    expect(Array.from(r.buf).every((v) => v === 0)).toBe(true);
    r.curve(10, 2.5, 14, 2.5, [0, 255, 0], 1, 1);
    px = r.toRgba(new Uint8ClampedArray(20 * 4 * 4));
    expect(px[(2 * 20 + 12) * 4 + 1]).toBe(255);
    expect(px[(1 * 20 + 3) * 4 + 3]).toBe(0);
  });
});

describe('rasterArcs', () => {
  it('draws strong arcs (opacity ≥ STRONG_ALPHA) STRONG_WIDTH wide and the others lineWidth wide', () => {
    // two horizontal arcs (same row in both columns): weak on token 0, strong on token 1
    const g = arcGeometry(2, 2, 60, 60, 10, 5, 4, 20);
    const r = new ArcRaster(60, g.height);
    const arcs = [
      { head: 0, q: 0, k: 0, w: 0.3 },
      { head: 0, q: 1, k: 1, w: 0.8 },
    ];
    rasterArcs(r, arcs, g, g.xq + 6, g.xk - 6, 1, 1, 1, STRONG_WIDTH);
    const px = r.toRgba();
    const ink = (token: number) => {
      // summed coverage down the middle column around the token's row, divided by its opacity
      const x = 30;
      const y0 = Math.floor(arcY(g, token, 2) - g.row / 2);
      let sum = 0;
      for (let y = y0; y < y0 + g.row; y++) sum += px[(y * 60 + x) * 4 + 3]! / 255;
      return sum;
    };
    expect(STRONG_ALPHA).toBeGreaterThan(0.3);
    expect(STRONG_ALPHA).toBeLessThanOrEqual(0.8);
    expect(ink(0) / 0.3).toBeCloseTo(1, 1);
    expect(ink(1) / 0.8).toBeCloseTo(STRONG_WIDTH, 1);
  });
});
