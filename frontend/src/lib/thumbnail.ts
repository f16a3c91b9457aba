/**
 * Thumbnails of large matrices: a 512 × 512 head drawn into a ~90 px thumbnail is reduced once,
 * f × f cells to one pixel, instead of putting 262 144 pixels into a canvas that the browser then
 * scales down on every repaint. Each pixel shows the block's MAXIMUM weight: attention is sparse
 * (a diagonal or a column of one token), and a mean would fade a 1-cell line to 1/f of its weight.
 */
import { MASKED_RGB, weightLut } from './color';

/** Cells per thumbnail pixel: 1 (draw every cell) until the matrix has more than twice the pixels. */
export function thumbFactor(nq: number, nk: number, px: number): number {
  const n = Math.max(nq, nk);
  return n > 2 * px ? Math.ceil(n / px) : 1;
}

export interface Thumbnail {
  width: number;
  height: number;
  rgba: Uint8ClampedArray<ArrayBuffer>;
}

/**
 * RGBA of `m` (nq × nk, row-major) reduced by block max over f × f cells (the last blocks may be
 * smaller). `causal`: cells with k > q are masked; a block with no visible cell gets the masked
 * neutral, the others the maximum of their visible cells.
 */
export function blockMaxRgba(m: ArrayLike<number>, nq: number, nk: number, f: number, causal: boolean, lut: Uint8ClampedArray = weightLut()): Thumbnail {
  const width = Math.ceil(nk / f);
  const height = Math.ceil(nq / f);
  const max = new Float32Array(width * height).fill(-1);
  for (let q = 0; q < nq; q++) {
    const rowOut = Math.floor(q / f) * width;
    const end = causal ? Math.min(nk, q + 1) : nk;
    const base = q * nk;
    for (let x = 0, k0 = 0; k0 < end; x++, k0 += f) {
      const k1 = Math.min(end, k0 + f);
      let b = max[rowOut + x]!;
      for (let k = base + k0, ke = base + k1; k < ke; k++) {
        const w = m[k]!;
        if (w > b) b = w;
      }
      max[rowOut + x] = b;
    }
  }
  const rgba = new Uint8ClampedArray(width * height * 4);
  const last = lut.length / 4 - 1;
  for (let i = 0, p = 0; i < max.length; i++, p += 4) {
    const w = max[i]!;
    if (w < 0) {
      rgba[p] = MASKED_RGB[0];
      rgba[p + 1] = MASKED_RGB[1];
      rgba[p + 2] = MASKED_RGB[2];
    } else {
      const j = (w > 0 ? (w >= 1 ? last : Math.round(w * last)) : 0) * 4;
      rgba[p] = lut[j]!;
      rgba[p + 1] = lut[j + 1]!;
      rgba[p + 2] = lut[j + 2]!;
    }
    rgba[p + 3] = 255;
  }
  return { width, height, rgba };
}
