/**
 * The one test / bench hook, `window.__attnviz`: the store, a way to show a document without the
 * server, linked hover with its timing, load and render timings, and the parts that views publish
 * (`timeline`, `train`). Nothing in the app reads it: it is for tests/ and bench/ only.
 */
import type { AttentionDocument } from '../api/types';
import type { AttentionKind } from '../api/types';
import { expectedAlignment } from '../lib/alignment';
import { keySide } from '../lib/doc';
import { hasRollout } from '../lib/headRef';
import { layerMeans, rolloutFromMeans } from '../lib/rollout';
import { stackStats } from '../lib/stats';
import { sameHover, type Hover } from '../lib/hover';
import type { Store } from '../lib/store';
import type { AppState } from './state';

/** Render counters per view, exposed through the hook (catches render loops); views count with `countRender`. */
const renderCounts: Record<string, number> = {};
export function countRender(view: string): void {
  renderCounts[view] = (renderCounts[view] ?? 0) + 1;
}

export interface LoadTimings {
  decodeMs: number;
  renderMs: number;
  frameMs: number;
  totalMs: number;
}

export interface Timings {
  load: LoadTimings | null;
  /** hover → every view updated, ms (listeners are synchronous); the last 1000 */
  hover: number[];
  renders: Record<string, number>;
}

/** What the attention-over-training view publishes once mounted. */
export interface TimelineHook {
  /** scrub the timeline to epoch index i; returns the synchronous repaint time (ms) */
  scrubTo(i: number): number;
  timelineEpochs(): number[];
  readonly timelineRequests: number;
}

/** What the training panel publishes once mounted. */
export interface TrainHook {
  /** attention redraws from snapshots so far */
  redraws: number;
  /** ms from a snapshot event to its attention drawn, per redraw */
  snapshotLatency: number[];
  /** ms from Train pressed to the first redrawn attention (null until then) */
  firstRedraw: number | null;
  /** the job's events received */
  events: number;
}

export interface AttnvizHook {
  version: string;
  store: Store<AppState>;
  /** Decode and show a document (any encoding) without the server; resolves after the next frame. */
  loadDocument(doc: AttentionDocument | unknown, fileName?: string): Promise<LoadTimings>;
  /** Set the linked hover like a pointer would; returns the synchronous update time in ms. */
  hover(h: Hover): number;
  ready: Promise<void>;
  isReady: boolean;
  timings: Timings;
  /** insight views: time the head statistics / means / rollout of the shown document (bench) */
  insight: InsightHook;
  /** Is a URL update still waiting for the end of its window (≤ 100 ms)? Tests wait for false. */
  urlPending(): boolean;
  /** Would a state change reach the URL at once (no update within the last window)? */
  urlIdle(): boolean;
  /** the timeline view's part, once its tab was opened */
  timeline: TimelineHook | null;
  /** the training panel's part */
  train: TrainHook | null;
}

declare global {
  interface Window {
    __attnviz: AttnvizHook;
  }
}

/** Bench hook (window.__attnviz.insight): time the statistics of the shown document, uncached. */
export interface InsightHook {
  timeStats(kind?: AttentionKind, offset?: number): { statsMs: number; meansMs: number; rolloutMs: number; heads: number; shape: number[] };
}

function insightHook(store: Store<AppState>): InsightHook {
  return {
    timeStats(kind, offset = -1) {
      const s = store.get();
      const doc = s.doc;
      const k = kind ?? s.kind;
      const t = doc?.kinds[k];
      if (!doc || !t) throw new Error(`no ${k} attention in the shown document`);
      const kTokens = keySide(k) === 'src' ? doc.tokens.src : doc.tokens.tgt;
      const t0 = performance.now();
      stackStats(t.data, t.layers, t.heads, t.nq, t.nk, { causal: t.causal, kTokens, offset, expected: expectedAlignment(doc, k) });
      const t1 = performance.now();
      const means = layerMeans(t.data, t.layers, t.heads, t.nq, t.nk);
      const t2 = performance.now();
      if (hasRollout(t)) rolloutFromMeans(means, t.layers, t.nq);
      const t3 = performance.now();
      return { statsMs: t1 - t0, meansMs: t2 - t1, rolloutMs: hasRollout(t) ? t3 - t2 : NaN, heads: t.layers * t.heads, shape: [t.layers, t.heads, t.nq, t.nk] };
    },
  };
}

/** Load timings (written by the page's load path, read through the hook). */
export const timings: Timings = { load: null, hover: [], renders: renderCounts };

const parts: Pick<AttnvizHook, 'timeline' | 'train'> = { timeline: null, train: null };

/** A view's test / bench part, shown under its name on `window.__attnviz`. */
export function publish<K extends keyof typeof parts>(name: K, part: NonNullable<AttnvizHook[K]>): void {
  parts[name] = part;
}

export interface HookDeps {
  /** decode and show a document as an opened file; resolves once painted */
  loadDocument(raw: unknown, fileName: string | null): Promise<LoadTimings>;
  urlPending(): boolean;
  urlIdle(): boolean;
}

/** Install `window.__attnviz`; call `markReady` when boot is done. */
export function installTestHook(store: Store<AppState>, deps: HookDeps): { markReady(): void } {
  let resolveReady: () => void = () => {};
  const hook: AttnvizHook = {
    version: '0.1.0',
    store,
    loadDocument: (raw, fileName) => deps.loadDocument(raw, fileName ?? null),
    hover(h) {
      const t0 = performance.now();
      if (!sameHover(store.get().hover, h)) store.set({ hover: h });
      return performance.now() - t0;
    },
    ready: new Promise<void>((r) => (resolveReady = r)),
    isReady: false,
    timings,
    insight: insightHook(store),
    urlPending: deps.urlPending,
    urlIdle: deps.urlIdle,
    get timeline() {
      return parts.timeline;
    },
    get train() {
      return parts.train;
    },
  };
  window.__attnviz = hook;
  return {
    markReady() {
      hook.isReady = true;
      document.documentElement.dataset.ready = '1';
      performance.mark('attnviz:ready');
      resolveReady();
    },
  };
}

/**
 * Mount the views between two listeners on the hover, so `timings.hover` holds the time from a
 * hover change to every view updated (store listeners run in order, synchronously).
 */
export function timeHovers(store: Store<AppState>, mountViews: () => void): void {
  let t0 = 0;
  store.subscribe((s, p) => {
    if (s.hover !== p.hover) t0 = performance.now();
  });
  mountViews();
  store.subscribe((s, p) => {
    if (s.hover === p.hover) return;
    timings.hover.push(performance.now() - t0);
    if (timings.hover.length > 1000) timings.hover.shift();
  });
}
