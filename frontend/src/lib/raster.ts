/**
 * A tiny software rasteriser for the token arcs. Canvas 2D strokes thousands of antialiased
 * curves slowly when the browser has no GPU (a classroom laptop, headless CI: 3 000 strokes ≈ 150 ms);
 * these curves are functions of x, so we fill them column by column into a float buffer instead
 * (≈ 10× faster) and blit with one putImageData.
 *
 * Curve: y(x) = y1 + (y2 − y1)·s(u), u = (x − x1)/(x2 − x1), s(u) = 3u² − 2u³ (smoothstep), i.e.
 * the cubic Bézier with control points (x1 + L/3, y1), (x2 − L/3, y2): the SVG export draws that.
 */

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

  clear(): void {
    this.buf.fill(0);
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
      for (let py = pa < 0 ? 0 : pa, end = pb >= Hh ? Hh - 1 : pb; py <= end; py++) {
        // vertical coverage of pixel row py by [top, bot]
        const cov = (py + 1 < bot ? py + 1 : bot) - (py > top ? py : top);
        const c = a * cov;
        if (c <= 0) continue;
        const i = (py * W + px) << 2;
        const k = 1 - c;
        buf[i] = buf[i]! * k + r * c;
        buf[i + 1] = buf[i + 1]! * k + g * c;
        buf[i + 2] = buf[i + 2]! * k + b * c;
        buf[i + 3] = buf[i + 3]! * k + c;
      }
    }
  }

  /** Un-premultiplied RGBA bytes for ImageData. */
  toRgba(out: Uint8ClampedArray<ArrayBuffer> = new Uint8ClampedArray(this.width * this.height * 4)): Uint8ClampedArray<ArrayBuffer> {
    const buf = this.buf;
    for (let i = 0; i < buf.length; i += 4) {
      const a = buf[i + 3]!;
      if (a <= 0) {
        out[i + 3] = 0;
        continue;
      }
      out[i] = (buf[i]! / a) * 255;
      out[i + 1] = (buf[i + 1]! / a) * 255;
      out[i + 2] = (buf[i + 2]! / a) * 255;
      out[i + 3] = a * 255;
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
