/**
 * A reference to one matrix of a kind: a real head (layer, head), the mean over the heads of a
 * layer, or the attention rollout through a layer (encoder self-attention only). The URL writes them
 * as "2.3", "2.mean", "2.rollout" (the diff's B side) or as layer=2 & agg=mean (the focus).
 * Aggregates are computed once per tensor and cached.
 */
import { headMatrix, type AttnTensor } from './doc';
import { drain, layerMeans, rolloutSteps } from './rollout';
import type { ParamSpec } from './url';

export const AGGS = ['none', 'mean', 'rollout'] as const;
export type Agg = (typeof AGGS)[number];

export interface HeadRef {
  layer: number;
  head: number;
  /** 'none' = the real head `head`; otherwise `head` is ignored */
  agg: Agg;
}

export function parseHeadRef(raw: string): HeadRef | undefined {
  const m = /^(\d+)\.(\d+|mean|rollout)$/.exec(raw);
  if (!m) return undefined;
  const layer = Number(m[1]);
  if (m[2] === 'mean' || m[2] === 'rollout') return { layer, head: 0, agg: m[2] };
  return { layer, head: Number(m[2]), agg: 'none' };
}

export function formatHeadRef(r: HeadRef): string {
  return `${r.layer}.${r.agg === 'none' ? r.head : r.agg}`;
}

export function sameRef(a: HeadRef | null, b: HeadRef | null): boolean {
  if (!a || !b) return a === b;
  return a.layer === b.layer && a.agg === b.agg && (a.agg !== 'none' || a.head === b.head);
}

/** "L1 · H2", "L1 · mean of heads", "rollout through L1". */
export function refLabel(r: HeadRef): string {
  if (r.agg === 'mean') return `L${r.layer} · mean of heads`;
  if (r.agg === 'rollout') return `Rollout through L${r.layer}`;
  return `L${r.layer} · H${r.head}`;
}

/** The shape of a kind: a tensor's or an attention source's (lib/source.ts). */
export type KindShape = Pick<AttnTensor, 'kind' | 'layers' | 'heads' | 'nq' | 'nk'>;

/** Rollout needs square self-attention over the same tokens: the encoder's. */
export function hasRollout(t: Pick<KindShape, 'kind' | 'nq' | 'nk'>): boolean {
  return t.kind === 'encoder_self' && t.nq === t.nk;
}

interface Aggregates {
  means: Float32Array;
  /** computed on first use (a chain of n³ matrix products) */
  rollout: Float32Array | null | undefined;
  /** a rollout being computed in slices (rolloutInSlices); a synchronous use finishes it */
  steps?: Generator<void, Float32Array> | undefined;
}
const aggCache = new WeakMap<AttnTensor, Aggregates>();

function aggregates(t: AttnTensor, withRollout: boolean): Aggregates {
  let a = aggCache.get(t);
  if (!a) {
    a = { means: layerMeans(t.data, t.layers, t.heads, t.nq, t.nk), rollout: undefined };
    aggCache.set(t, a);
  }
  if (withRollout && a.rollout === undefined) {
    if (!hasRollout(t)) a.rollout = null;
    else {
      a.rollout = drain(a.steps ?? rolloutSteps(a.means, t.layers, t.nq));
      a.steps = undefined;
    }
  }
  return a;
}

/** Rollouts up to this many multiply-adds (layers × n³: 6 layers × 64 tokens) take a few ms. */
export const CHEAP_ROLLOUT_MACS = 1 << 21;

/**
 * Is the rollout cheap enough to compute inside a render? A small document's rollout thumbnails
 * are then part of its first painted frame; a large one's are drawn just after it.
 */
export function rolloutCheap(t: AttnTensor): boolean {
  return t.layers * t.nq * t.nq * t.nq <= CHEAP_ROLLOUT_MACS;
}

const yieldToPage = () =>
  new Promise<void>((resolve) => {
    const ch = new MessageChannel();
    ch.port1.onmessage = () => resolve();
    ch.port2.postMessage(null);
  });

/**
 * Compute the rollout of `t` in slices of about `sliceMs`, yielding to the page between them (at
 * 512 tokens it is 6 × 512³ multiply-adds, seconds of main thread in one piece). Resolves true
 * once it is cached, false when `stale()` said to stop (the work done so far is kept and resumed
 * by the next call, or finished by a synchronous refMatrix).
 */
export async function rolloutInSlices(t: AttnTensor, stale: () => boolean, sliceMs = 8): Promise<boolean> {
  const a = aggregates(t, false);
  if (a.rollout !== undefined) return true;
  if (!hasRollout(t)) {
    a.rollout = null;
    return true;
  }
  a.steps ??= rolloutSteps(a.means, t.layers, t.nq);
  for (;;) {
    await yieldToPage();
    if (a.rollout !== undefined) return true;
    if (stale()) return false;
    const steps = a.steps!;
    const end = performance.now() + sliceMs;
    let r = steps.next();
    while (!r.done && performance.now() < end) r = steps.next();
    if (r.done) {
      a.rollout = r.value;
      a.steps = undefined;
      return true;
    }
  }
}

/** Has the rollout of this tensor been computed already? */
export function rolloutReady(t: AttnTensor): boolean {
  return aggCache.get(t)?.rollout !== undefined;
}

/** Why a reference does not exist in a tensor, or null when it does. */
export function refProblem(t: KindShape, r: HeadRef): string | null {
  if (r.layer < 0 || r.layer >= t.layers) return `there is no layer ${r.layer} (${t.layers} layers)`;
  if (r.agg === 'none' && (r.head < 0 || r.head >= t.heads)) return `there is no head ${r.head} (${t.heads} heads)`;
  if (r.agg === 'rollout' && !hasRollout(t)) return 'attention rollout exists for encoder self-attention only';
  return null;
}

/** The nq × nk matrix a reference names, or null when it does not exist. */
export function refMatrix(t: AttnTensor, r: HeadRef): Float32Array | null {
  if (refProblem(t, r) || t.pooled) return null;
  if (r.agg === 'none') return headMatrix(t, r.layer, r.head);
  const size = t.nq * t.nk;
  const a = aggregates(t, r.agg === 'rollout');
  const src = r.agg === 'mean' ? a.means : a.rollout!;
  return src.subarray(r.layer * size, (r.layer + 1) * size);
}

/** Is the matrix causal-masked? (rollout and means of the decoder self-attention keep the mask) */
export function refCausal(t: AttnTensor): boolean {
  return t.causal;
}

/** URL parameter for an optional head reference ("2.3", "2.mean", "1.rollout"; absent = null). */
export function headRefParam(): ParamSpec<HeadRef | null> {
  return {
    default: null,
    parse: (r) => parseHeadRef(r),
    format: (v) => (v ? formatHeadRef(v) : ''),
    equals: sameRef,
  };
}
