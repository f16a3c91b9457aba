/**
 * Long inputs as a tiled source (docs/api.md "Long inputs"): past the response budget the server
 * answers an overview — every head as a pooled thumbnail plus statistics — and computes tiles of
 * any region on demand. This module holds the pure parts: decoding the overview into the document
 * (each kind's tensor then holds the [L, H, P_q, P_k] thumbnails, marked `pooled`), the viewport
 * of the focus heatmap (zoom about a point, pan, clamping) and which tile to ask for. The one
 * place that asks the server for tiles is src/data.ts (`fetchTile`).
 */
import type { AblateHead, AttentionKind, CompactArray, CompactWeights, OverviewHeadStats, OverviewKind, SamplingRequest, Weighting } from '../api/types';
import { ATTENTION_KINDS } from '../api/types';
import { base64ToBytes } from './base64';
import { decodeFloat16 } from './float16';
import type { AttnDoc, AttnTensor } from './doc';
import { DocumentError } from './documentError';
import type { HeadStats } from './stats';
import { decodeUint8 } from './uint8';

/** The server's statistics of an overview, `[layer][head]` each (computed on the exact weights). */
export type OverviewStats = Partial<OverviewHeadStats>;

/** What marks a tensor as an overview's: `data` holds [L, H, pq, pk] block maxima, not the weights. */
export interface Pooled {
  pq: number;
  pk: number;
  stats: OverviewStats;
  /** a saved file's finer copy of every head (attnviz.save_html): the tiles are cut from it */
  fine?: FinePooled;
}

/** Every head as maxima of `block` × `block` blocks (1: the exact weights): [L, H, rows, cols]. */
export interface FinePooled {
  block: number;
  rows: number;
  cols: number;
  data: Float32Array;
}

/**
 * Where an overview's tiles come from: the server (by `handle`), the notebook kernel that showed
 * it (attnviz.show keeps the tensors; messages through the widget), or the file itself (its
 * `fine` copy, within the `maxBytes` it was saved under).
 */
export type TileSource = 'server' | 'kernel' | 'file';

/** The run behind an overview: the handle for tiles, and the request to make again when it expired. */
export interface OverviewRun {
  handle: string | null;
  checkpoint: string;
  text: string;
  /** heads switched off in the run (data.ts sets it: the document does not say) */
  ablate?: AblateHead[];
  /** the request fields that repeat the run's draw (data.ts sets it from the document's sampling) */
  draw?: SamplingRequest;
  /** the run's weighting (the document's): its tiles and a renewed overview ask for the same */
  weighting?: Weighting;
  source: TileSource;
  /** a saved file: the size it was saved under (attnviz.save_html's max_bytes) */
  maxBytes?: number;
}

export function isPooled(t: AttnTensor): t is AttnTensor & { pooled: Pooled } {
  return !!t.pooled;
}

/** Is this document an overview (no full weights)? */
export function isOverview(doc: AttnDoc | null | undefined): boolean {
  return !!doc?.overview;
}

/** A compact array (float16 or uint8) to floats; `n` values expected. */
export function decodeCompactArray(w: CompactWeights | CompactArray, n: number, where: string): Float32Array {
  const bytes = base64ToBytes(w.data);
  let data: Float32Array;
  if (w.dtype === 'float16') data = decodeFloat16(bytes);
  else if (w.dtype === 'uint8') data = decodeUint8(bytes, typeof w.scale === 'number' ? w.scale : 1 / 255, typeof w.compand === 'string' ? w.compand : null);
  else throw new DocumentError(`${where}.dtype "${String((w as { dtype: unknown }).dtype)}" is not supported (float16 or uint8).`);
  if (data.length !== n) throw new DocumentError(`${where} holds ${data.length} values but its shape needs ${n}.`);
  return data;
}

/** An overview's kind as read (a file's may lack the statistics); a saved file's also has `pooled`
 *  (attnviz.save_html: a finer copy of every head, which no server sends). */
interface RawOverviewKind extends Omit<OverviewKind, 'stats'> {
  stats?: OverviewStats;
  pooled?: { block: number; weights: CompactArray };
}

/** The `overview` object of an overview document → one pooled tensor per kind. */
export function decodeOverviewKinds(overview: unknown, nTokens: (kind: AttentionKind) => [number, number]): Partial<Record<AttentionKind, AttnTensor>> {
  const o = overview as { kinds?: Partial<Record<AttentionKind, RawOverviewKind | null>> } | null;
  if (typeof o !== 'object' || o === null || typeof o.kinds !== 'object' || o.kinds === null) throw new DocumentError('The overview has no "kinds" object.');
  const kinds: Partial<Record<AttentionKind, AttnTensor>> = {};
  for (const kind of ATTENTION_KINDS) {
    const k = o.kinds[kind];
    if (!k) continue;
    const shape = k.thumbnails?.shape;
    if (!Array.isArray(shape) || shape.length !== 4) throw new DocumentError(`overview.kinds.${kind}.thumbnails.shape must be [layers, heads, P_q, P_k].`);
    const [L, H, pq, pk] = shape as [number, number, number, number];
    if (L !== k.layers || H !== k.heads) throw new DocumentError(`overview.kinds.${kind}: thumbnails of ${L}×${H} heads for ${k.layers}×${k.heads}.`);
    const [tq, tk] = nTokens(kind);
    if (k.nq !== tq || k.nk !== tk) throw new DocumentError(`overview.kinds.${kind} is ${k.nq}×${k.nk} but there are ${tq} query and ${tk} key tokens.`);
    const data = decodeCompactArray(k.thumbnails, L * H * pq * pk, `overview.kinds.${kind}.thumbnails`);
    const pooled: Pooled = { pq, pk, stats: k.stats ?? {} };
    if (k.pooled) {
      const b = k.pooled.block;
      const [rows, cols] = [Math.ceil(k.nq / b), Math.ceil(k.nk / b)];
      const want = [L, H, rows, cols];
      if (!Number.isInteger(b) || b < 1 || k.pooled.weights?.shape?.join() !== want.join()) throw new DocumentError(`overview.kinds.${kind}.pooled must be [${want.join(', ')}] maxima of ${b} × ${b} blocks.`);
      pooled.fine = { block: b, rows, cols, data: decodeCompactArray(k.pooled.weights, L * H * rows * cols, `overview.kinds.${kind}.pooled.weights`) };
    }
    kinds[kind] = { kind, layers: L, heads: H, nq: k.nq, nk: k.nk, data, causal: kind === 'decoder_self', pooled };
  }
  return kinds;
}

/** One head's thumbnail (pq × pk block maxima), a view on the tensor's data. */
export function headThumb(t: AttnTensor & { pooled: Pooled }, layer: number, head: number): Float32Array {
  const size = t.pooled.pq * t.pooled.pk;
  const off = (layer * t.heads + head) * size;
  return t.data.subarray(off, off + size);
}

/**
 * The statistics table's rows from the server's statistics (those it computes: entropy, distance,
 * the diagonal, the previous token as the offset −1 line); the rest are NaN (shown as "—").
 */
export function overviewHeadStats(t: AttnTensor & { pooled: Pooled }, offset: number): HeadStats[] {
  const st = t.pooled.stats;
  const at = (k: keyof OverviewStats, l: number, h: number) => st[k]?.[l]?.[h] ?? NaN;
  const out: HeadStats[] = [];
  for (let l = 0; l < t.layers; l++) {
    for (let h = 0; h < t.heads; h++) {
      out.push({
        entropy: at('entropy', l, h),
        entropyNorm: NaN,
        distance: at('distance', l, h),
        diagonal: at('self_token', l, h),
        offset: offset === -1 ? at('previous_token', l, h) : NaN,
        anti: NaN,
        agreement: NaN,
        prev: at('previous_token', l, h),
        induction: NaN, // needs the whole matrix and the tokens' repeats: not in an overview
        special: {},
      });
    }
  }
  return out;
}

// ---- the focus heatmap's viewport ----

/** Rows q0..q1−1, columns k0..k1−1 (integers, half-open). */
export interface Viewport {
  q0: number;
  q1: number;
  k0: number;
  k1: number;
}

/** Fewest rows / columns a viewport shows (zooming in stops at single cells this big). */
export const MIN_SPAN = 4;

export function fullViewport(nq: number, nk: number): Viewport {
  return { q0: 0, q1: nq, k0: 0, k1: nk };
}

function clampAxis(a: number, b: number, n: number): [number, number] {
  let span = Math.round(b - a);
  span = Math.max(Math.min(MIN_SPAN, n), Math.min(n, span));
  let lo = Math.round(a);
  lo = Math.max(0, Math.min(n - span, lo));
  return [lo, lo + span];
}

/** A viewport inside the matrix, at least MIN_SPAN (or the whole axis) on each axis. */
export function clampViewport(v: Viewport, nq: number, nk: number): Viewport {
  const [q0, q1] = clampAxis(v.q0, v.q1, nq);
  const [k0, k1] = clampAxis(v.k0, v.k1, nk);
  return { q0, q1, k0, k1 };
}

/**
 * Zoom by `factor` (> 1 in) about the point (q, k) in matrix coordinates (fractional): the point
 * stays where it is on screen. Clamped to the matrix.
 */
export function zoomAbout(v: Viewport, factor: number, q: number, k: number, nq: number, nk: number): Viewport {
  const axis = (a: number, b: number, p: number): [number, number] => {
    const span = (b - a) / factor;
    const f = b > a ? (p - a) / (b - a) : 0.5;
    return [p - f * span, p - f * span + span];
  };
  const [q0, q1] = axis(v.q0, v.q1, q);
  const [k0, k1] = axis(v.k0, v.k1, k);
  return clampViewport({ q0, q1, k0, k1 }, nq, nk);
}

/** Move by (dq, dk) cells, clamped (the span is kept). */
export function panBy(v: Viewport, dq: number, dk: number, nq: number, nk: number): Viewport {
  return clampViewport({ q0: v.q0 + dq, q1: v.q1 + dq, k0: v.k0 + dk, k1: v.k1 + dk }, nq, nk);
}

/** The server's block for a region (longctx.tile_blocks): 1 × 1 when it fits `maxCells`, else the
 *  smallest square block whose pooled tile fits, the columns' block then made as small as fits. */
export function tileBlocks(rows: number, cols: number, maxCells: number): [number, number] {
  if (rows * cols <= maxCells) return [1, 1];
  let b = Math.max(1, Math.floor(Math.sqrt(Math.floor((rows * cols) / maxCells))));
  const cdiv = (a: number, d: number) => Math.ceil(a / d);
  while (cdiv(rows, Math.min(b, rows)) * cdiv(cols, Math.min(b, cols)) > maxCells) b++;
  const bq = Math.min(b, rows);
  const outRows = cdiv(rows, bq);
  const bk = Math.max(1, cdiv(cols, Math.max(1, Math.floor(maxCells / outRows))));
  return [bq, Math.min(bk, cols)];
}

/** The server's ceiling on a tile's cells. */
export const MAX_TILE_CELLS = 1 << 20;

/**
 * The tile to ask for a viewport drawn on `wPx` × `hPx` device pixels: the region itself, with at
 * most one cell per pixel (pooled by block max past that), so the answer is exact as soon as the
 * region has no more cells than the canvas has pixels.
 */
export function tileFor(v: Viewport, wPx: number, hPx: number): Viewport & { max_cells: number } {
  const maxCells = Math.max(1, Math.min(MAX_TILE_CELLS, Math.floor(wPx) * Math.floor(hPx)));
  return { ...v, max_cells: maxCells };
}

/** A decoded tile of one head (data.ts fetchTile). */
export interface Tile {
  layer: number;
  head: number;
  kind: AttentionKind;
  q0: number;
  q1: number;
  k0: number;
  k1: number;
  /** [bq, bk]; [1, 1] = exact weights */
  block: [number, number];
  rows: number;
  cols: number;
  /** rows × cols, row-major */
  data: Float32Array;
}

/**
 * A tile cut from a saved file's finer copy (no server, no kernel): the region widened to whole
 * blocks of the copy, pooled further (block maxima) until it has at most `max_cells` cells. Exact
 * when the copy's block is 1 and the region fits.
 */
export function fileTile(t: AttnTensor & { pooled: Pooled }, layer: number, head: number, req: Viewport & { max_cells?: number }): Tile {
  const fine = t.pooled.fine;
  if (!fine) throw new DocumentError('This file holds only the thumbnails of this head: its weights did not fit the size it was saved under.');
  const b = fine.block;
  const r0 = Math.floor(req.q0 / b);
  const r1 = Math.min(fine.rows, Math.ceil(req.q1 / b));
  const c0 = Math.floor(req.k0 / b);
  const c1 = Math.min(fine.cols, Math.ceil(req.k1 / b));
  const maxCells = Math.max(1, req.max_cells ?? MAX_TILE_CELLS);
  let m = 1;
  while (Math.ceil((r1 - r0) / m) * Math.ceil((c1 - c0) / m) > maxCells) m++;
  const rows = Math.ceil((r1 - r0) / m);
  const cols = Math.ceil((c1 - c0) / m);
  const data = new Float32Array(rows * cols);
  const base = (layer * t.heads + head) * fine.rows * fine.cols;
  for (let r = r0; r < r1; r++) {
    const o = Math.floor((r - r0) / m) * cols;
    const src = base + r * fine.cols;
    for (let c = c0; c < c1; c++) {
      const i = o + Math.floor((c - c0) / m);
      const w = fine.data[src + c]!;
      if (w > data[i]!) data[i] = w;
    }
  }
  return { kind: t.kind, layer, head, q0: r0 * b, q1: Math.min(t.nq, r1 * b), k0: c0 * b, k1: Math.min(t.nk, c1 * b), block: [b * m, b * m], rows, cols, data };
}

/** The tile's value at matrix cell (q, k) (the block holding it when pooled), or NaN outside. */
export function tileValue(t: Tile, q: number, k: number): number {
  if (q < t.q0 || q >= t.q1 || k < t.k0 || k >= t.k1) return NaN;
  const r = Math.floor((q - t.q0) / t.block[0]);
  const c = Math.floor((k - t.k0) / t.block[1]);
  return t.data[r * t.cols + c]!;
}

/** Are all cells of the tile's cell (r, c) above the diagonal (k > q: masked, weight 0)? */
function blockMasked(t: Tile, r: number, c: number): boolean {
  return t.k0 + c * t.block[1] > Math.min(t.q1, t.q0 + (r + 1) * t.block[0]) - 1;
}

/**
 * The top of the colour scale of a tile: the `q` quantile of its weights (masked blocks left out),
 * so a few large weights (the first row of a causal matrix is all on key 0) do not turn the rest
 * black; weights above it saturate. Read from a 2,048-bin histogram (O(cells), no sort). At least a
 * tiny positive number, so the scale never divides by 0.
 */
export function tileScaleTop(t: Tile, causal: boolean, q = 0.99): number {
  let max = 0;
  let n = 0;
  for (let r = 0; r < t.rows; r++) {
    for (let c = 0; c < t.cols; c++) {
      if (causal && blockMasked(t, r, c)) continue;
      n++;
      const w = t.data[r * t.cols + c]!;
      if (w > max) max = w;
    }
  }
  if (!(max > 0)) return 1e-6;
  const BINS = 2048;
  const hist = new Uint32Array(BINS);
  for (let r = 0; r < t.rows; r++) {
    for (let c = 0; c < t.cols; c++) {
      if (causal && blockMasked(t, r, c)) continue;
      const w = t.data[r * t.cols + c]!;
      hist[Math.min(BINS - 1, Math.floor((Math.max(0, w) / max) * BINS))]!++;
    }
  }
  const want = Math.ceil(q * n);
  let acc = 0;
  for (let b = 0; b < BINS; b++) {
    acc += hist[b]!;
    if (acc >= want) return Math.max(1e-6, ((b + 1) / BINS) * max);
  }
  return max;
}

/** RGBA of a tile scaled to 0…`top`; cells wholly above the diagonal (k > q) get the masked colour. */
export function tileRgba(t: Tile, top: number, causal: boolean, lut: Uint8ClampedArray, masked: readonly number[]): Uint8ClampedArray<ArrayBuffer> {
  const out = new Uint8ClampedArray(t.rows * t.cols * 4);
  const last = lut.length / 4 - 1;
  for (let r = 0, p = 0; r < t.rows; r++) {
    for (let c = 0; c < t.cols; c++, p += 4) {
      if (causal && blockMasked(t, r, c)) {
        out[p] = masked[0]!;
        out[p + 1] = masked[1]!;
        out[p + 2] = masked[2]!;
        out[p + 3] = 255;
        continue;
      }
      const w = t.data[r * t.cols + c]! / top;
      const i = (w > 0 ? (w >= 1 ? last : Math.round(w * last)) : 0) * 4;
      out[p] = lut[i]!;
      out[p + 1] = lut[i + 1]!;
      out[p + 2] = lut[i + 2]!;
      out[p + 3] = 255;
    }
  }
  return out;
}

// ---- the arcs of a long text: a window around one token ----

/** Tokens either side of the centre the arcs of a long text show. */
export const ARC_HALF_WINDOW = 32;

/** The window [a, b) of at most 2·half + 1 positions around `center`, inside 0..n, shifted (not
 *  cut) at the ends so it keeps its size. */
export function arcWindow(center: number, n: number, half = ARC_HALF_WINDOW): [number, number] {
  const size = Math.min(n, 2 * half + 1);
  const a = Math.max(0, Math.min(n - size, Math.round(center) - half));
  return [a, a + size];
}

/** One arc of a window: query and key as positions of the whole text, the weight, the head. */
export interface WindowArc {
  q: number;
  k: number;
  w: number;
  h: number;
}

/**
 * The arcs of one head's exact window tile (rows and keys a..b): per query row, the fewest keys
 * of the window that carry `mass` of the row's weight inside the window (pruneRowByMass's rule,
 * weights under `minWeight` dropped), as positions of the whole text.
 */
export function windowArcs(t: Tile, head: number, mass: number, minWeight: number, prune: (row: ArrayLike<number>, mass: number, minWeight: number) => number[]): WindowArc[] {
  const out: WindowArc[] = [];
  for (let r = 0; r < t.rows; r++) {
    const row = t.data.subarray(r * t.cols, (r + 1) * t.cols);
    for (const c of prune(row, mass, minWeight)) out.push({ q: t.q0 + r, k: t.k0 + c, w: row[c]!, h: head });
  }
  return out;
}
