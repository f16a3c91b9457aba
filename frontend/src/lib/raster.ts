/**
 * A tiny software rasteriser for the token arcs. Canvas 2D strokes thousands of antialiased
 * curves slowly when the browser has no GPU (a classroom laptop, headless CI); these curves are
 * functions of x, so we fill them column by column into a float buffer instead and blit with one
 * putImageData (bench/NOTES.md).
 *
 * Curve: y(x) = y1 + (y2 − y1)·s(u), u = (x − x1)/(x2 − x1), s(u) = 3u² − 2u³ (smoothstep), i.e.
 * the cubic Bézier with control points (x1 + L/3, y1), (x2 − L/3, y2): the SVG export draws that.
 */

import type { Arc } from './arcs';
import { headColor } from './color';
import { arcY, type ArcGeom } from './geometry';

/** x0 of a raster with nothing drawn: above any column, and still a small integer. */
const NONE_X0 = 1 << 30;

export class ArcRaster {
  readonly width: number;
  readonly height: number;
  /** premultiplied r, g, b, a in [0, 1] */
  readonly buf: Float32Array;

  constructor(width: number, height: number) {
    this.width = Math.max(1, Math.round(width));
    this.height = Math.max(1, Math.round(height));
    this.buf = new Float32Array(this.width * this.height * 4);
  }

  /**
   * Columns touched since the last clear (inclusive), to keep clear() and toRgba() local.
   * Small integers only (x0 > x1 = nothing touched): a field that switched between ±Infinity and
   * integers changes its representation, which throws away the JIT's optimised curve() code.
   */
  private x0 = NONE_X0;
  private x1 = -1;

  clear(): void {
    if (this.x1 < this.x0) return;
    const W = this.width;
    const a = Math.max(0, this.x0) * 4;
    const b = (Math.min(W - 1, this.x1) + 1) * 4;
    for (let y = 0; y < this.height; y++) this.buf.fill(0, y * W * 4 + a, y * W * 4 + b);
    this.x0 = NONE_X0;
    this.x1 = -1;
  }

  /**
   * An antialiased smoothstep curve from (x1, y1) to (x2, y2), x1 < x2, `lineWidth` thick,
   * colour rgb (0..255) at opacity `alpha`.
   */
  curve(x1: number, y1: number, x2: number, y2: number, rgb: readonly [number, number, number], alpha: number, lineWidth = 1.5): void {
    if (x2 < x1) [x1, y1, x2, y2] = [x2, y2, x1, y1];
    const L = Math.max(1e-6, x2 - x1);
    const dy = y2 - y1;
    const r = rgb[0] / 255;
    const g = rgb[1] / 255;
    const b = rgb[2] / 255;
    const half = lineWidth / 2;
    const xa = Math.max(0, Math.floor(x1));
    const xb = Math.min(this.width - 1, Math.ceil(x2) - 1);
    // unconditional (not `if (xa < x0) x0 = xa`): a store that runs once per clear() leaves the
    // JIT without type feedback for it, and its first run in a real render deoptimises curve()
    this.x0 = Math.min(this.x0, xa);
    this.x1 = Math.max(this.x1, xb);
    const buf = this.buf;
    const W = this.width;
    const Hh = this.height;
    const invL = 1 / L;
    const k6 = 6 * dy * invL;
    for (let px = xa; px <= xb; px++) {
      // horizontal coverage of this column by [x1, x2]
      const hc = Math.min(px + 1, x2) - Math.max(px, x1);
      if (hc <= 0) continue;
      let u = (px + 0.5 - x1) * invL;
      if (u < 0) u = 0;
      else if (u > 1) u = 1;
      const yc = y1 + dy * u * u * (3 - 2 * u);
      const slope = k6 * u * (1 - u);
      const ht = half * Math.sqrt(1 + slope * slope);
      const top = yc - ht;
      const bot = yc + ht;
      const pa = Math.floor(top);
      const pb = Math.floor(bot);
      const a = alpha * hc;
      // rows pa and pb are partly covered; those between them fully, at coverage a
      if (pa === pb) {
        if (pa >= 0 && pa < Hh) this.blend(((pa * W + px) << 2), a * (bot - top), r, g, b);
        continue;
      }
      if (pa >= 0 && pa < Hh) this.blend(((pa * W + px) << 2), a * (pa + 1 - top), r, g, b);
      const k = 1 - a;
      const ra = r * a;
      const ga = g * a;
      const ba = b * a;
      const q1 = pb - 1 < Hh - 1 ? pb - 1 : Hh - 1;
      const step = W << 2;
      for (let py = pa + 1 > 0 ? pa + 1 : 0, i = (py * W + px) << 2; py <= q1; py++, i += step) {
        buf[i] = buf[i]! * k + ra;
        buf[i + 1] = buf[i + 1]! * k + ga;
        buf[i + 2] = buf[i + 2]! * k + ba;
        buf[i + 3] = buf[i + 3]! * k + a;
      }
      if (pb >= 0 && pb < Hh) this.blend(((pb * W + px) << 2), a * (bot - pb), r, g, b);
    }
  }

  /** Composite colour (r, g, b) at coverage c over pixel i (premultiplied "over"). */
  private blend(i: number, c: number, r: number, g: number, b: number): void {
    if (c <= 0) return;
    const buf = this.buf;
    const k = 1 - c;
    buf[i] = buf[i]! * k + r * c;
    buf[i + 1] = buf[i + 1]! * k + g * c;
    buf[i + 2] = buf[i + 2]! * k + b * c;
    buf[i + 3] = buf[i + 3]! * k + c;
  }

  /** Un-premultiplied RGBA bytes for ImageData (only the touched columns are converted; `out` is reused). */
  toRgba(out: Uint8ClampedArray<ArrayBuffer> = new Uint8ClampedArray(this.width * this.height * 4)): Uint8ClampedArray<ArrayBuffer> {
    const buf = this.buf;
    const W = this.width;
    const a0 = Math.max(0, this.x0);
    const a1 = Math.min(W - 1, this.x1);
    for (let y = 0; y < this.height; y++) {
      for (let i = (y * W + a0) * 4, end = (y * W + a1) * 4; i <= end; i += 4) {
        const a = buf[i + 3]!;
        if (a <= 0) {
          out[i + 3] = 0;
          continue;
        }
        const inv = 255 / a;
        out[i] = buf[i]! * inv;
        out[i + 1] = buf[i + 1]! * inv;
        out[i + 2] = buf[i + 2]! * inv;
        out[i + 3] = a * 255;
      }
    }
    return out;
  }
}

/** '#0072B2' → [0, 114, 178] */
export function hexToRgb(hex: string): [number, number, number] {
  const h = hex.replace('#', '');
  const n = parseInt(h.length === 3 ? h.replace(/./g, (c) => c + c) : h, 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

const headRgbCache = new Map<number, [number, number, number]>();
/** The head's colour (color.ts headColor) as [r, g, b], cached. */
export function headRgb(h: number): readonly [number, number, number] {
  let rgb = headRgbCache.get(h);
  if (!rgb) headRgbCache.set(h, (rgb = hexToRgb(headColor(h))));
  return rgb;
}

/** Opacity of an arc of weight `w` (the weight itself, `gain`-boosted, at least 0.05). */
export function arcAlpha(w: number, gain = 1): number {
  return Math.min(1, Math.max(0.05, w * gain));
}

/** Arcs at least this opaque are drawn STRONG_WIDTH wide on the arc view's base canvas (others 1 px). */
export const STRONG_ALPHA = 0.5;
export const STRONG_WIDTH = 1.8;

/** Width of an arc of opacity `alpha`: `strongWidth` when at least STRONG_ALPHA opaque, else `lineWidth`. */
export function arcLineWidth(alpha: number, lineWidth: number, strongWidth: number): number {
  return alpha >= STRONG_ALPHA ? strongWidth : lineWidth;
}

/**
 * Rasterise `arcs` (in drawing order: weakest first, so strong lines end on top) from the query
 * column at x1 to the key column at x2 (CSS px) into `r`, whose pixels are `dpr` CSS px⁻¹; lines
 * `lineWidth` CSS px wide, `strongWidth` when at least STRONG_ALPHA opaque.
 * The arc view and the warm-up both draw through here, so the JIT sees the same calls in both.
 */
export function rasterArcs(r: ArcRaster, arcs: readonly Arc[], g: ArcGeom, x1: number, x2: number, dpr: number, lineWidth: number, gain = 1, strongWidth = lineWidth): void {
  for (const a of arcs) {
    const alpha = arcAlpha(a.w, gain);
    r.curve(x1 * dpr, arcY(g, a.q, g.nq) * dpr, x2 * dpr, arcY(g, a.k, g.nk) * dpr, headRgb(a.head), alpha, arcLineWidth(alpha, lineWidth, strongWidth) * dpr);
  }
}
