/**
 * Difference of two attention matrices A − B on a diverging, colour-blind-safe scale (PuOr,
 * symmetric around 0: orange = A larger, purple = B larger, white = equal).
 *
 * Different token sequences (e.g. two checkpoints whose outputs differ): we do NOT refuse. Rows and
 * columns are matched by position and only the common shape min(nq) × min(nk) is diffed; the view
 * says clearly which tokens differ (from which position on), because rows after the first differing
 * target token are conditioned on different prefixes.
 */
import { color as d3color, interpolatePuOr } from 'd3';
import { MASKED_RGB } from './color';

export interface TokenComparison {
  /** the shape that is diffed */
  nq: number;
  nk: number;
  same: boolean;
  /** first differing query / key token index (or -1) */
  qFrom: number;
  kFrom: number;
  /** a sentence for people, empty when the tokens are the same */
  message: string;
}

function firstDiff(a: readonly string[], b: readonly string[]): number {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return -1;
}

export function compareTokens(aQ: readonly string[], aK: readonly string[], bQ: readonly string[], bK: readonly string[]): TokenComparison {
  const qFrom = firstDiff(aQ, bQ);
  const kFrom = firstDiff(aK, bK);
  const nq = Math.min(aQ.length, bQ.length);
  const nk = Math.min(aK.length, bK.length);
  const same = qFrom < 0 && kFrom < 0;
  let message = '';
  if (!same) {
    const parts: string[] = [];
    if (qFrom >= 0) parts.push(`query tokens differ from position ${qFrom} (A ${aQ.length}, B ${bQ.length} tokens)`);
    if (kFrom >= 0 && !(kFrom === qFrom && aQ === aK)) parts.push(`key tokens differ from position ${kFrom} (A ${aK.length}, B ${bK.length} tokens)`);
    message = `The token sequences differ: ${parts.join('; ')}. Diffing the common ${nq} × ${nk} shape by position.`;
  }
  return { nq, nk, same, qFrom, kFrom, message };
}

export interface DiffResult {
  d: Float32Array;
  nq: number;
  nk: number;
  /** max |A − B| over the diffed cells */
  maxAbs: number;
}

/** A − B over the common nq × nk top-left block of two row-major matrices. */
export function diffMatrices(a: Float32Array, aNk: number, b: Float32Array, bNk: number, nq: number, nk: number): DiffResult {
  const d = new Float32Array(nq * nk);
  let maxAbs = 0;
  for (let i = 0; i < nq; i++) {
    for (let j = 0; j < nk; j++) {
      const v = a[i * aNk + j]! - b[i * bNk + j]!;
      d[i * nk + j] = v;
      const av = Math.abs(v);
      if (av > maxAbs) maxAbs = av;
    }
  }
  return { d, nq, nk, maxAbs };
}

/** Symmetric domain [−m, m] for the colour scale: max |d| rounded up to a readable step, ≥ 0.05. */
export function diffDomain(maxAbs: number): number {
  const m = Math.max(0.05, Math.min(1, maxAbs));
  const steps = [0.05, 0.1, 0.2, 0.25, 0.5, 0.75, 1];
  return steps.find((s) => s >= m - 1e-9) ?? 1;
}

/** t ∈ [0, 1] on PuOr for a difference: d = −m → 0 (purple, B larger), 0 → 0.5 (white), +m → 1
 *  (orange, A larger); d3's interpolatePuOr runs purple → orange. */
export function divergingT(d: number, m: number): number {
  if (!(m > 0) || !Number.isFinite(d)) return 0.5;
  return Math.max(0, Math.min(1, 0.5 + d / (2 * m)));
}

export function diffColor(d: number, m: number): string {
  return interpolatePuOr(divergingT(d, m));
}

let lut: Uint8ClampedArray | null = null;
function divergingLut(): Uint8ClampedArray {
  if (lut) return lut;
  lut = new Uint8ClampedArray(256 * 4);
  for (let i = 0; i < 256; i++) {
    const c = d3color(interpolatePuOr(i / 255))!.rgb();
    lut.set([c.r, c.g, c.b, 255], i * 4);
  }
  return lut;
}

/** RGBA pixels of a difference matrix; causal: cells above the diagonal get the masked neutral. */
export function diffToRgba(d: Float32Array, nq: number, nk: number, m: number, causal: boolean): Uint8ClampedArray<ArrayBuffer> {
  const out = new Uint8ClampedArray(nq * nk * 4);
  const l = divergingLut();
  for (let q = 0, p = 0; q < nq; q++) {
    for (let k = 0; k < nk; k++, p += 4) {
      if (causal && k > q) {
        out.set([MASKED_RGB[0], MASKED_RGB[1], MASKED_RGB[2], 255], p);
        continue;
      }
      const i = Math.round(divergingT(d[q * nk + k]!, m) * 255) * 4;
      out[p] = l[i]!;
      out[p + 1] = l[i + 1]!;
      out[p + 2] = l[i + 2]!;
      out[p + 3] = 255;
    }
  }
  return out;
}

/**
 * Two texts on the same model (the diff view's second text, URL `text2`): they ALIGN when each
 * side has the same number of tokens, the tokens differing only at edited positions (a word
 * swapped for another of the same length in tokens); then A − B is taken cell by cell. When the
 * counts differ, positions no longer name the same token (everything after an insertion shifts):
 * no difference is drawn, the two are shown side by side.
 */
export interface TextAlignment {
  aligned: boolean;
  /** positions (query side, then key side) whose tokens differ */
  editedQ: number[];
  editedK: number[];
  /** a sentence for people */
  message: string;
}

export function alignTexts(aQ: readonly string[], aK: readonly string[], bQ: readonly string[], bK: readonly string[], sameSide: boolean): TextAlignment {
  const edits = (a: readonly string[], b: readonly string[]) => a.flatMap((t, i) => (t !== b[i] ? [i] : []));
  if (aQ.length !== bQ.length || aK.length !== bK.length) {
    const counts = sameSide || aQ.length === bQ.length
      ? `A has ${aK.length} tokens, B ${bK.length}`
      : `A has ${aQ.length} query tokens, B ${bQ.length}`;
    return {
      aligned: false,
      editedQ: [],
      editedK: [],
      message: `The two texts do not align (${counts}): a difference needs the same number of tokens, equal except where a token was edited. Shown side by side only.`,
    };
  }
  const editedQ = edits(aQ, bQ);
  const editedK = edits(aK, bK);
  const name = (a: readonly string[], b: readonly string[], i: number) => `${i} '${a[i]}' → '${b[i]}'`;
  const list = (sameSide ? editedK.map((i) => name(aK, bK, i)) : [...editedQ.map((i) => `query ${name(aQ, bQ, i)}`), ...editedK.map((i) => `key ${name(aK, bK, i)}`)]);
  const shown = list.slice(0, 4).join(', ') + (list.length > 4 ? `, … (${list.length} in all)` : '');
  return {
    aligned: true,
    editedQ,
    editedK,
    message: list.length
      ? `The texts align (${aK.length} tokens each), edited at ${shown}: A − B cell by cell.`
      : `The two texts give the same ${aK.length} tokens: A − B cell by cell.`,
  };
}
