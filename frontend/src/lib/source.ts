/**
 * One kind's attention weights as the views read them: the shape, a head's matrix, a query's row, a
 * cell, a thumbnail and every head's statistics. The views never index a tensor themselves, so
 * where the weights live is this module's business:
 *
 * - the in-memory document (lib/doc.ts: one Float32Array [L, H, nq, nk] per kind) answers all of
 *   it; `matrix` and `row` are subarray views, so the views' hot loops stay loops over a typed array;
 * - an overview of a long text (lib/tiled.ts: the server's pooled thumbnails and statistics) is a
 *   source with `exact` false: it answers the shape, `thumbnail` and `stats`, and its weights come
 *   as tiles (data.ts fetchTile), so `matrix`, `row` and `cell` throw and `ref` is null. A tiled
 *   source that kept the tiles it fetched could answer them per region, the views unchanged.
 */
import type { AttentionKind } from '../api/types';
import { expectedAlignment } from './alignment';
import { matrixToRgba } from './color';
import { keySide, type AttnDoc, type AttnTensor } from './doc';
import { refMatrix, rolloutCheap, rolloutInSlices, rolloutReady, type HeadRef } from './headRef';
import { stackStats, type HeadStats, type StatsContext } from './stats';
import { blockMaxRgba, thumbFactor, type Thumbnail } from './thumbnail';
import { headThumb, isPooled, overviewHeadStats, type Pooled } from './tiled';

export interface SourceThumbnail extends Thumbnail {
  /** the canvas shows at least one CSS pixel per cell of the grid drawn: no smoothing */
  pixelated: boolean;
}

export interface AttentionSource {
  readonly kind: AttentionKind;
  readonly layers: number;
  readonly heads: number;
  readonly nq: number;
  readonly nk: number;
  /** decoder self-attention: cells with k > q are masked (future positions) */
  readonly causal: boolean;
  /** it holds every weight (false: an overview, whose weights come as tiles) */
  readonly exact: boolean;
  /** One head's nq × nk weights, row-major: a view on the source's memory, not a copy. */
  matrix(layer: number, head: number): Float32Array;
  /** The matrix a reference names (a head, the mean of a layer's heads, the rollout through a
   *  layer), or null when it does not exist here. */
  ref(r: HeadRef): Float32Array | null;
  /** The nk weights of query `q` of one head (a view). */
  row(layer: number, head: number, q: number): Float32Array;
  cell(layer: number, head: number, q: number, k: number): number;
  /**
   * A reference's thumbnail for a canvas `size` CSS px wide at device pixel ratio `dpr`: one pixel
   * per cell, or block maxima when the matrix has more than twice the pixels (lib/thumbnail.ts).
   * Its pixels may be reused by the next call: draw them at once.
   */
  thumbnail(r: HeadRef, size: number, dpr?: number): SourceThumbnail;
  /** Every head's statistics (index layer × heads + head), for the offset line `offset`. */
  stats(offset: number): HeadStats[];
  /** The rollout is costly and not computed yet: draw it after `computeRollout`. */
  rolloutPending(): boolean;
  /** Compute the rollout in slices that leave the page responsive (true once it is ready). */
  computeRollout(stale: () => boolean): Promise<boolean>;
}

/** What the statistics need besides the weights: the key tokens and the task's expected keys. */
export type SourceContext = Omit<StatsContext, 'offset' | 'causal'>;

/** What every source says of its tensor's shape. */
function shapeOf(t: AttnTensor): Pick<AttentionSource, 'kind' | 'layers' | 'heads' | 'nq' | 'nk' | 'causal'> {
  return { kind: t.kind, layers: t.layers, heads: t.heads, nq: t.nq, nk: t.nk, causal: t.causal };
}

/** The in-memory tensor `t` as a source; `ctx` is asked for once, the first time stats are (by
 *  default no tokens and no expected alignment). */
export function memorySource(t: AttnTensor, ctx: () => SourceContext = () => ({ kTokens: [], expected: null })): AttentionSource {
  const size = t.nq * t.nk;
  const byOffset = new Map<number, HeadStats[]>();
  let context: SourceContext | null = null;
  let scratch: Uint8ClampedArray<ArrayBuffer> | null = null;
  const matrix = (layer: number, head: number) => {
    const off = (layer * t.heads + head) * size;
    return t.data.subarray(off, off + size);
  };
  return {
    ...shapeOf(t),
    exact: true,
    matrix,
    ref: (r) => refMatrix(t, r),
    row: (layer, head, q) => matrix(layer, head).subarray(q * t.nk, (q + 1) * t.nk),
    cell: (layer, head, q, k) => t.data[((layer * t.heads + head) * t.nq + q) * t.nk + k]!,
    thumbnail(r, px, dpr = 1) {
      const m = refMatrix(t, r) ?? new Float32Array(size);
      const f = thumbFactor(t.nq, t.nk, px * Math.max(1, dpr));
      const pixelated = px >= Math.max(t.nq, t.nk);
      if (f > 1) return { ...blockMaxRgba(m, t.nq, t.nk, f, t.causal), pixelated };
      scratch ??= new Uint8ClampedArray(size * 4);
      return { width: t.nk, height: t.nq, rgba: matrixToRgba(m, t.nq, t.nk, t.causal, scratch), pixelated };
    },
    stats(offset) {
      let s = byOffset.get(offset);
      if (!s) {
        context ??= ctx();
        s = stackStats(t.data, t.layers, t.heads, t.nq, t.nk, { ...context, causal: t.causal, offset });
        byOffset.set(offset, s);
      }
      return s;
    },
    rolloutPending: () => !rolloutReady(t) && !rolloutCheap(t),
    computeRollout: (stale) => rolloutInSlices(t, stale),
  };
}

/** An overview's pooled tensor as a source: thumbnails and the server's statistics only. */
export function overviewSource(t: AttnTensor & { pooled: Pooled }): AttentionSource {
  const { pq, pk } = t.pooled;
  let scratch: Uint8ClampedArray<ArrayBuffer> | null = null;
  const none = (): never => {
    throw new Error('An overview holds thumbnails, not the weights: ask for a tile (data.ts fetchTile).');
  };
  return {
    ...shapeOf(t),
    exact: false,
    matrix: none,
    ref: () => null,
    row: none,
    cell: none,
    thumbnail(r, px) {
      // the server's block maxima, drawn as they came; the aggregates need weights it did not send
      const m = r.agg === 'none' ? headThumb(t, r.layer, r.head) : new Float32Array(pq * pk);
      scratch ??= new Uint8ClampedArray(pq * pk * 4);
      return { width: pk, height: pq, rgba: matrixToRgba(m, pq, pk, t.causal && pq === pk, scratch), pixelated: px >= Math.max(pq, pk) };
    },
    stats: (offset) => overviewHeadStats(t, offset),
    rolloutPending: () => false,
    computeRollout: () => Promise.resolve(true),
  };
}

const sources = new WeakMap<AttnTensor, AttentionSource>();

/** The source of one kind of a document (one per tensor, so its caches live as long as it), or null. */
export function attentionSource(doc: AttnDoc, kind: AttentionKind): AttentionSource | null {
  const t = doc.kinds[kind];
  if (!t) return null;
  let src = sources.get(t);
  if (!src) {
    src = isPooled(t)
      ? overviewSource(t)
      : memorySource(t, () => ({ kTokens: keySide(kind) === 'src' ? doc.tokens.src : doc.tokens.tgt, expected: expectedAlignment(doc, kind), self: kind !== 'cross' }));
    sources.set(t, src);
  }
  return src;
}
