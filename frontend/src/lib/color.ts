/**
 * Colour: a colour-blind-safe sequential scale for weights (viridis, the same default as the
 * matplotlib plots of visualize.py), a neutral for masked cells, and a categorical palette for heads.
 */
import { color as d3color, interpolateViridis } from 'd3';

export const LUT_SIZE = 256;

/** Flat RGBA table: weight w in [0, 1] → entry round(w * 255). */
export function buildLut(interp: (t: number) => string = interpolateViridis, n = LUT_SIZE): Uint8ClampedArray<ArrayBuffer> {
  const lut = new Uint8ClampedArray(n * 4);
  for (let i = 0; i < n; i++) {
    const c = d3color(interp(i / (n - 1)))!.rgb();
    lut[i * 4] = c.r;
    lut[i * 4 + 1] = c.g;
    lut[i * 4 + 2] = c.b;
    lut[i * 4 + 3] = 255;
  }
  return lut;
}

let defaultLut: Uint8ClampedArray<ArrayBuffer> | null = null;
export function weightLut(): Uint8ClampedArray<ArrayBuffer> {
  return (defaultLut ??= buildLut());
}

/** Index into the LUT for a weight; clamps to [0, 1], NaN → 0. */
export function lutIndex(w: number, n = LUT_SIZE): number {
  if (!(w > 0)) return 0;
  if (w >= 1) return n - 1;
  return Math.round(w * (n - 1));
}

export function weightColor(w: number): string {
  const lut = weightLut();
  const i = lutIndex(w) * 4;
  return `rgb(${lut[i]},${lut[i + 1]},${lut[i + 2]})`;
}

/** Masked (future) cells: a flat light neutral, outside the viridis range (whose darkest is purple). */
export const MASKED_RGB: readonly [number, number, number] = [226, 228, 233];
export const MASKED_FILL = `rgb(${MASKED_RGB.join(',')})`;
/** A weight not known yet (NaN: a skeleton's cells while the model runs, perf/skeleton.ts). */
export const PENDING_RGB: readonly [number, number, number] = [238, 240, 243];
export const MASKED_HATCH = 'rgb(176, 180, 190)';

/**
 * Write a (nq × nk) matrix into RGBA pixels (one pixel per cell).
 * `causal`: cells with k > q get the masked neutral; NaN cells (not known yet) a paler one.
 */
export function matrixToRgba(
  m: Float32Array,
  nq: number,
  nk: number,
  causal: boolean,
  out: Uint8ClampedArray<ArrayBuffer> = new Uint8ClampedArray(nq * nk * 4),
  lut: Uint8ClampedArray = weightLut(),
): Uint8ClampedArray<ArrayBuffer> {
  const last = lut.length / 4 - 1;
  for (let q = 0, p = 0; q < nq; q++) {
    for (let k = 0; k < nk; k++, p += 4) {
      if (causal && k > q) {
        out[p] = MASKED_RGB[0];
        out[p + 1] = MASKED_RGB[1];
        out[p + 2] = MASKED_RGB[2];
        out[p + 3] = 255;
        continue;
      }
      const w = m[q * nk + k]!;
      if (Number.isNaN(w)) {
        out[p] = PENDING_RGB[0];
        out[p + 1] = PENDING_RGB[1];
        out[p + 2] = PENDING_RGB[2];
        out[p + 3] = 255;
        continue;
      }
      const i = (w > 0 ? (w >= 1 ? last : Math.round(w * last)) : 0) * 4;
      out[p] = lut[i]!;
      out[p + 1] = lut[i + 1]!;
      out[p + 2] = lut[i + 2]!;
      out[p + 3] = 255;
    }
  }
  return out;
}

/** Heads: Okabe–Ito (colour-blind-safe) first, then Tableau hues; labels always carry the head number too. */
export const HEAD_COLORS: readonly string[] = [
  '#0072B2', '#E69F00', '#009E73', '#CC79A7', '#D55E00', '#56B4E9', '#8c6d31', '#000000',
  '#7b4173', '#637939', '#e7298a', '#17becf',
];

export function headColor(h: number): string {
  return HEAD_COLORS[((h % HEAD_COLORS.length) + HEAD_COLORS.length) % HEAD_COLORS.length]!;
}

/** Relative luminance of an sRGB colour, for choosing a readable text colour on top of it. */
export function luminance(css: string): number {
  const c = d3color(css)!.rgb();
  const f = (v: number) => {
    const s = v / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b);
}
