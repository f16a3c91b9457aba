import type { AttentionSource } from './source';

/** What the arcs read of a kind: its shape and a head's matrix (an attention source, lib/source.ts). */
export type HeadStack = Pick<AttentionSource, 'nq' | 'nk' | 'causal' | 'matrix'>;

/** Which arcs to draw: per query row, the fewest keys that carry `mass` of its attention. */

export interface Arc {
  head: number;
  q: number;
  k: number;
  w: number;
}

/**
 * Indices of the largest weights of `row` whose sum reaches `mass` (0..1), largest first,
 * ignoring weights below `minWeight`. mass ≥ 1 keeps every weight ≥ minWeight.
 */
export function pruneRowByMass(row: ArrayLike<number>, mass: number, minWeight = 0.005, limit = Infinity): number[] {
  if (limit <= SMALL_LIMIT) return pruneRowSmall(row, mass, minWeight, limit);
  const idx: number[] = [];
  for (let i = 0; i < row.length; i++) if (row[i]! >= minWeight && row[i]! > 0) idx.push(i);
  idx.sort((a, b) => row[b]! - row[a]! || a - b);
  if (mass >= 1) return idx.slice(0, limit);
  let total = 0;
  for (let i = 0; i < row.length; i++) total += row[i]! > 0 ? row[i]! : 0;
  const target = mass * total;
  const out: number[] = [];
  let acc = 0;
  for (const i of idx) {
    if (acc >= target - 1e-9 || out.length >= limit) break;
    out.push(i);
    acc += row[i]!;
  }
  return out;
}

/** Up to this many keys per row, pruneRowByMass selects them in one pass instead of sorting the row. */
const SMALL_LIMIT = 8;

/**
 * pruneRowByMass for a small `limit` (a long row under the line budget: 512 tokens × 12 heads keep
 * 1 key per row): one pass keeps the `limit` largest (ties: lower index first), no sort of the row.
 */
function pruneRowSmall(row: ArrayLike<number>, mass: number, minWeight: number, limit: number): number[] {
  const { top, total } = rowTop(row, minWeight, limit);
  return massCut(row, top, total, mass);
}

/** The `limit` largest weights ≥ minWeight of a row (largest first, ties: lower index), and the row's positive sum. */
function rowTop(row: ArrayLike<number>, minWeight: number, limit: number): { top: number[]; total: number } {
  const top: number[] = [];
  let total = 0;
  for (let i = 0; i < row.length; i++) {
    const v = row[i]!;
    if (!(v > 0)) continue;
    total += v;
    if (v < minWeight) continue;
    if (top.length === limit && v <= row[top[limit - 1]!]!) continue;
    let j = top.length < limit ? top.length : limit - 1;
    while (j > 0 && row[top[j - 1]!]! < v) {
      if (j < limit) top[j] = top[j - 1]!;
      j--;
    }
    top[j] = i;
  }
  return { top, total };
}

/** The first of `top` (largest first) whose sum reaches `mass` of `total`. */
function massCut(row: ArrayLike<number>, top: number[], total: number, mass: number): number[] {
  if (mass >= 1) return top;
  const target = mass * total;
  const out: number[] = [];
  let acc = 0;
  for (const i of top) {
    if (acc >= target - 1e-9) break;
    out.push(i);
    acc += row[i]!;
  }
  return out;
}

/** Arcs of one head matrix (nq × nk, row-major) after mass pruning; causal skips k > q. */
export function headArcs(m: Float32Array, nq: number, nk: number, head: number, mass: number, causal = false, minWeight = 0.005, perRow = Infinity): Arc[] {
  const out: Arc[] = [];
  for (let q = 0; q < nq; q++) {
    const end = causal ? Math.min(nk, q + 1) : nk;
    const row = m.subarray(q * nk, q * nk + end);
    for (const k of pruneRowByMass(row, mass, minWeight, perRow)) out.push({ head, q, k, w: row[k]! });
  }
  return out;
}

/** Minimum weight ever drawn as a line (invisible at that opacity anyway). */
export const MIN_ARC_WEIGHT = 0.02;
/** Line budget for one layer: more is an unreadable hairball, and slower to draw. */
export const ARC_BUDGET = 600;

/** Per (query, head), at most this many keys so that the whole layer stays within `budget`. */
export function arcsPerRow(nq: number, heads: number, budget = ARC_BUDGET): number {
  return Math.max(1, Math.floor(budget / Math.max(1, nq * heads)));
}

/**
 * Hard cap on the lines of a layer. Past budget / heads queries even one key per query and head
 * exceeds the budget (128 tokens × 12 heads: 1 536 lines, kept); at 512 tokens that is 6 144
 * lines over rows 1–2 px apart, an unreadable hairball that is also slow to draw. Then each head
 * keeps its strongest ⌊ARC_CAP / heads⌋ lines, so every head stays visible (a peaked head would
 * otherwise take the whole cap).
 */
export const ARC_CAP = 1600;

/**
 * The arcs of `heads` in one layer: mass-pruned per query, capped per row by the budget, then, past
 * `cap` lines, the strongest ⌊cap / heads⌋ of each head (`total` = how many there were before).
 */
export function layerArcs(t: HeadStack, layer: number, heads: number[], mass: number, budget = ARC_BUDGET, cap = ARC_CAP): { arcs: Arc[]; perRow: number; total: number } {
  const perRow = arcsPerRow(t.nq, heads.length, budget);
  const byHead = heads.map((h) =>
    perRow <= SMALL_LIMIT ? cachedHeadArcs(t, layer, h, mass, perRow) : headArcs(t.matrix(layer, h), t.nq, t.nk, h, mass, t.causal, MIN_ARC_WEIGHT, perRow),
  );
  const total = byHead.reduce((n, a) => n + a.length, 0);
  const quota = total > cap ? Math.max(1, Math.floor(cap / Math.max(1, heads.length))) : Infinity;
  const arcs: Arc[] = [];
  for (const list of byHead) {
    const kept = list.length > quota ? list.sort((a, b) => b.w - a.w || a.q - b.q || a.k - b.k).slice(0, quota) : list;
    for (const a of kept) arcs.push(a);
  }
  return { arcs, perRow, total };
}

/**
 * Each row's top keys do not depend on `mass`, only the cut does: they are kept per tensor, layer,
 * head and limit, so dragging the mass slider over a 512-token layer (12 × 512 rows of 512) only
 * redoes the cut.
 */
const topsCache = new WeakMap<HeadStack, Map<string, { top: number[][]; total: Float64Array }>>();

function cachedHeadArcs(t: HeadStack, layer: number, head: number, mass: number, limit: number): Arc[] {
  let byKey = topsCache.get(t);
  if (!byKey) topsCache.set(t, (byKey = new Map()));
  const key = `${layer}.${head}.${limit}`;
  const m = t.matrix(layer, head);
  let tops = byKey.get(key);
  if (!tops) {
    tops = { top: [], total: new Float64Array(t.nq) };
    for (let q = 0; q < t.nq; q++) {
      const end = t.causal ? Math.min(t.nk, q + 1) : t.nk;
      const r = rowTop(m.subarray(q * t.nk, q * t.nk + end), MIN_ARC_WEIGHT, limit);
      tops.top.push(r.top);
      tops.total[q] = r.total;
    }
    byKey.set(key, tops);
  }
  const out: Arc[] = [];
  for (let q = 0; q < t.nq; q++) {
    const row = m.subarray(q * t.nk, (q + 1) * t.nk);
    for (const k of massCut(row, tops.top[q]!, tops.total[q]!, mass)) out.push({ head, q, k, w: row[k]! });
  }
  return out;
}
