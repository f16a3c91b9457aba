import type { AttentionKind } from '../api/types';
import { keySide, querySide, type AttnDoc, type AttnTensor, type Side } from '../lib/doc';
import { attentionSource, type AttentionSource } from '../lib/source';
import type { AppState } from '../app/state';

/**
 * Size a canvas for the device pixel ratio without touching its pixels; true when the backing
 * store changed size (which clears it). An overlay that has nothing to show yet stays without a
 * 2D context: the browser then neither allocates nor uploads its pixels for the next frame.
 */
export function sizeCanvasBox(c: HTMLCanvasElement, w: number, h: number): boolean {
  const dpr = Math.max(1, Math.min(3, window.devicePixelRatio || 1));
  const W = Math.max(1, Math.round(w * dpr));
  const H = Math.max(1, Math.round(h * dpr));
  const resized = c.width !== W || c.height !== H;
  if (c.width !== W) c.width = W;
  if (c.height !== H) c.height = H;
  c.style.width = `${w}px`;
  c.style.height = `${h}px`;
  return resized;
}

/** Size a canvas for the device pixel ratio; returns a context in CSS-pixel units. */
export function sizeCanvas(c: HTMLCanvasElement, w: number, h: number): CanvasRenderingContext2D {
  const dpr = Math.max(1, Math.min(3, window.devicePixelRatio || 1));
  sizeCanvasBox(c, w, h);
  const ctx = c.getContext('2d')!;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  return ctx;
}

export function tokensOf(doc: AttnDoc, side: Side): string[] {
  return side === 'src' ? doc.tokens.src : doc.tokens.tgt;
}

export interface Current {
  doc: AttnDoc;
  kind: AttentionKind;
  t: AttnTensor;
  /** the weights of `t`, as the views read them (lib/source.ts) */
  src: AttentionSource;
  qTokens: string[];
  kTokens: string[];
}

/**
 * The shown document's tensor of the selected kind, with its query and key tokens. An overview's
 * (a long text: thumbnails, no weights; lib/tiled.ts) is not one: views that draw weights see no
 * document and the tiled views (tiledHeatmap.ts, the model view) take `currentAny`.
 */
export function current(s: AppState): Current | null {
  const c = currentOf(s.doc, s);
  return c && !c.t.pooled ? c : null;
}

/** `current`, an overview's pooled tensor included. */
export function currentAny(s: AppState): Current | null {
  return currentOf(s.doc, s);
}

function currentOf(doc: AttnDoc | null, s: Pick<AppState, 'kind'>): Current | null {
  if (!doc) return null;
  const t = doc.kinds[s.kind];
  if (!t) return null;
  return { doc, kind: s.kind, t, src: attentionSource(doc, s.kind)!, qTokens: tokensOf(doc, querySide(s.kind)), kTokens: tokensOf(doc, keySide(s.kind)) };
}

export const SIDE_LABEL: Record<Side, string> = { src: 'source', tgt: 'target' };

export interface Size {
  width: number;
  height: number;
}

/** The content box of `el` as a ResizeObserver's `contentRect` gives it (fractional border box
 * less borders, padding and a scrollbar), read synchronously: this forces a layout. */
function contentBox(el: HTMLElement): Size {
  const cs = getComputedStyle(el);
  const px = (v: string) => parseFloat(v) || 0;
  const r = el.getBoundingClientRect();
  const bx = px(cs.borderLeftWidth) + px(cs.borderRightWidth);
  const by = px(cs.borderTopWidth) + px(cs.borderBottomWidth);
  // offset* and client* are whole pixels: a difference under 2 px is rounding, not a scrollbar
  const bar = (d: number) => (d >= 2 ? d : 0);
  const barY = bar(el.offsetWidth - el.clientWidth - bx);
  const barX = bar(el.offsetHeight - el.clientHeight - by);
  return {
    width: Math.max(0, Math.floor(r.width - bx - px(cs.paddingLeft) - px(cs.paddingRight) - barY)),
    height: Math.max(0, Math.floor(r.height - by - px(cs.paddingTop) - px(cs.paddingBottom) - barX)),
  };
}

interface Tracked {
  el: HTMLElement;
  size: Size | null;
}
/** Every tracked element, to read the unknown sizes in one pass (one layout, not one per view). */
const tracked = new Set<Tracked>();

/**
 * The content-box size of `el`, kept up to date by a ResizeObserver so renders never force a
 * synchronous layout; `fn` runs (once per frame at most) when it changes. Before the observer's
 * first report (a document drawn in the task that built the page, or in the one that showed the
 * views) the sizes not known yet are read, all at once, and remembered, so that report, giving
 * the same size, redraws nothing.
 */
export function trackSize(el: HTMLElement, fn: () => void): (remeasure?: boolean) => Size {
  const me: Tracked = { el, size: null };
  tracked.add(me);
  let pending = false;
  new ResizeObserver((entries) => {
    const r = entries[entries.length - 1]!.contentRect;
    const next = { width: Math.floor(r.width), height: Math.floor(r.height) };
    const changed = !me.size || me.size.width !== next.width || me.size.height !== next.height;
    me.size = next;
    if (!changed || pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      fn();
    });
  }).observe(el);
  return (remeasure = false) => {
    // `remeasure`: the view itself just changed what sets this size (a panel head that grew), so
    // one forced layout now instead of drawing again at the next resize report
    if (remeasure) me.size = contentBox(el);
    // reads only, before any view writes: the first forces the layout, the others reuse it
    if (!me.size?.width) for (const t of tracked) if (t === me || !t.size?.width) t.size = contentBox(t.el);
    return me.size!;
  };
}

/** A hatch pattern for masked cells. */
export function hatchPattern(ctx: CanvasRenderingContext2D, bg: string, fg: string): CanvasPattern | string {
  const p = document.createElement('canvas');
  p.width = p.height = 8;
  const c = p.getContext('2d')!;
  c.fillStyle = bg;
  c.fillRect(0, 0, 8, 8);
  c.strokeStyle = fg;
  c.lineWidth = 1.2;
  c.beginPath();
  c.moveTo(-2, 10);
  c.lineTo(10, -2);
  c.moveTo(-2, 2);
  c.lineTo(2, -2);
  c.moveTo(6, 10);
  c.lineTo(10, 6);
  c.stroke();
  return ctx.createPattern(p, 'repeat') ?? bg;
}

/** Time a view's render into the performance timeline (`attnviz:render:<view>`). */
export function timed<T>(view: string, fn: () => T): T {
  const t0 = performance.now();
  try {
    return fn();
  } finally {
    performance.measure(`attnviz:render:${view}`, { start: t0, end: performance.now() });
  }
}

/** Label / cell size factor of the focus views: 2× in presenter mode (read from across a room). */
export function labelScale(s: Pick<AppState, 'present'>): number {
  return s.present ? 2 : 1;
}
