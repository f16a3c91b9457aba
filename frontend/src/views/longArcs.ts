/**
 * The arcs of a long text (an overview document, lib/tiled.ts): all of its tokens' arcs would be
 * millions of lines, so the panel shows a window of ±32 tokens around the query under the pointer
 * in the heatmap (else the middle of the heatmap's viewport), drawn from the focused head's exact
 * tile of that window (data.ts fetchTile): per query, the strongest keys of the window that carry
 * `mass` of its weight there. The focused query's top-k keys across the whole text (data.ts
 * fetchTopk: exact, from the server or the notebook kernel) are drawn over it, those outside the
 * window listed under it. It takes the arc panel's place while an overview is shown.
 */
import * as d3 from 'd3';
import type { TopkResponse } from '../api/types';
import { fetchTopk, tileFeed } from '../app/data';
import { headColor } from '../lib/color';
import { pruneRowByMass } from '../lib/arcs';
import { arcWindow, isPooled, windowArcs, ARC_HALF_WINDOW, type Tile, type WindowArc } from '../lib/tiled';
import { displayToken } from '../lib/tokens';
import type { Store } from '../lib/store';
import type { AppState } from '../app/state';
import { type Current, currentAny, sizeCanvas, trackSize } from './common';
import { weightingNote, weightingTitle } from './weightingToggle';
import type { ViewSpec } from './spec';

/** keys kept per query at most (a near-uniform row would otherwise keep most of the window) */
const PER_ROW = 6;
const LABEL_W = 92;
/** the focused query's strongest keys across the whole text */
const TOP_K = 8;
/** opacity steps the window's arcs are drawn in (one path a step) */
const ALPHA_STEPS = 16;
/** CSS pixels a far key's row gets (when the panel has room) */
const FAR_ROW = 13;

function active(s: AppState): Current | null {
  const cur = currentAny(s);
  return cur && isPooled(cur.t) ? cur : null;
}

/** The query the window is centred on: the heatmap's hovered cell, else its viewport's middle. */
function center(s: AppState, nq: number, lastCenter: number): number {
  if (s.hover?.type === 'cell') return s.hover.q;
  if (lastCenter >= 0 && s.hover) return lastCenter;
  return s.vq ? Math.floor((s.vq[0] + s.vq[1]) / 2) : Math.floor(nq / 2);
}

function frameOf(s: AppState, cur: Current, tile: Tile, arcs: WindowArc[], top: TopkResponse | null, lastCenter: number): Frame {
  const maxW = d3.max(arcs, (d) => d.w) ?? 1;
  // the focused query's top-k across the text: those outside the window get rows under it
  const tk = top && top.kind === cur.kind && top.layer === s.layer && top.head === s.head && top.q0 === lastCenter ? top : null;
  const keys = tk?.indices[0] ?? [];
  const far = keys.filter((k) => k < tile.q0 || k >= tile.q1).sort((p, q) => p - q);
  const hl = s.hover?.type === 'cell' ? s.hover.q : -1;
  return { tile, arcs, maxW, tk, keys, far, hl, head: s.head, center: lastCenter, qTokens: cur.qTokens, kTokens: cur.kTokens };
}

/** The focused query's top-k, asked once the pointer rests (the newer ask cancels the older). */
function createTopAsk(answer: (r: TopkResponse | null, err: string) => void) {
  let wanted = '';
  let asking: AbortController | null = null;
  let timer: number | undefined;
  return {
    ask(doc: Parameters<typeof fetchTopk>[0], req: Parameters<typeof fetchTopk>[1]) {
      const key = JSON.stringify(req);
      if (key === wanted) return;
      wanted = key;
      clearTimeout(timer);
      asking?.abort();
      timer = window.setTimeout(() => {
        const ac = new AbortController();
        asking = ac;
        fetchTopk(doc, req, ac.signal).then(
          (r) => {
            if (ac.signal.aborted || key !== wanted) return;
            answer(r, '');
          },
          (e: Error) => {
            if (ac.signal.aborted || e.name === 'AbortError') return;
            answer(null, e.message);
          },
        );
      }, 80);
    },
    /** the panel is off: forget what was wanted, so the same ask is made again once it is back */
    reset() {
      wanted = '';
      asking?.abort();
    },
  };
}

/** What one draw shows: the window's tile and arcs, and the focused query's top-k. */
interface Frame {
  tile: Tile;
  arcs: WindowArc[];
  maxW: number;
  /** the focused query's top-k, when it is of this head and query */
  tk: TopkResponse | null;
  keys: number[];
  /** the top-k keys outside the window, in order */
  far: number[];
  /** the hovered query, else -1 */
  hl: number;
  head: number;
  center: number;
  qTokens: string[];
  kTokens: string[];
}

/** Where things go: the window's rows, then the far keys' rows under them. */
interface Rows {
  W: number;
  n: number;
  rowH: number;
  farRow: number;
  xq: number;
  xk: number;
  y: (i: number) => number;
  yKey: (k: number) => number;
}

function rowsOf(f: Frame, W: number, H: number): Rows {
  const { tile, far } = f;
  const n = tile.q1 - tile.q0;
  // the far keys get readable rows under the window, the window the rest
  const farH = far.length ? Math.min((H - 8) / 3, (far.length + 0.5) * FAR_ROW) : 0;
  const farRow = far.length ? farH / (far.length + 0.5) : 0;
  const rowH = (H - 8 - farH) / n;
  const y = (i: number) => 4 + (i - tile.q0 + 0.5) * rowH;
  /** where key k is drawn: its row in the window, else its row under it */
  const yKey = (k: number) => (k >= tile.q0 && k < tile.q1 ? y(k) : 4 + n * rowH + (far.indexOf(k) + 1) * farRow);
  return { W, n, rowH, farRow, xq: LABEL_W, xk: W - LABEL_W, y, yKey };
}

/** The note's tail: what the bold arcs are, or why they are missing. */
function topNote(f: Frame, topErr: string): string {
  return f.tk
    ? ` · bold: query ${f.center}'s ${f.keys.length} strongest keys in the whole text${f.far.length ? `, ${f.far.length} of them outside the window (listed under it)` : ''}`
    : topErr
      ? ` · not shown: its strongest keys in the whole text (${topErr})`
      : ' · its strongest keys in the whole text: computing…';
}

function drawWindowArcs(ctx: CanvasRenderingContext2D, f: Frame, r: Rows) {
  const { xq, xk, y } = r;
  // one path per (colour, opacity step, width), weakest first so strong lines end on top: a few
  // strokes instead of one per arc (each stroke is a raster pass; a hover redraws them all)
  const dx = (xk - xq) / 3;
  const groups = new Map<string, { color: string; alpha: number; width: number; path: Path2D }>();
  for (const a of f.arcs) {
    const strong = a.q === f.hl;
    const alpha = Math.round(Math.min(1, Math.max(0.06, a.w / f.maxW)) * (f.hl >= 0 && !strong ? 0.35 : 1) * ALPHA_STEPS) / ALPHA_STEPS;
    const color = headColor(a.h);
    const width = strong ? 2 : 1;
    const key = `${width}|${alpha}|${color}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { color, alpha, width, path: new Path2D() }));
    const y1 = y(a.q);
    const y2 = y(a.k);
    g.path.moveTo(xq + 6, y1);
    g.path.bezierCurveTo(xq + 6 + dx, y1, xk - 6 - dx, y2, xk - 6, y2);
  }
  for (const g of [...groups.values()].sort((p, q) => p.width - q.width || p.alpha - q.alpha)) {
    ctx.globalAlpha = Math.max(0.02, g.alpha);
    ctx.strokeStyle = g.color;
    ctx.lineWidth = g.width;
    ctx.stroke(g.path);
  }
  ctx.globalAlpha = 1;
}

/** The top-k arcs, bold, to wherever the key is (its weight beside the far ones). */
function drawTopArcs(ctx: CanvasRenderingContext2D, f: Frame, tk: TopkResponse, r: Rows) {
  const { xq, xk, y, yKey, n, rowH, farRow, W } = r;
  const ws = tk.weights[0] ?? [];
  const best = ws[0] || 1;
  ctx.strokeStyle = headColor(f.head);
  f.keys.forEach((k, i) => {
    ctx.globalAlpha = Math.max(0.35, (ws[i] ?? 0) / best);
    ctx.lineWidth = 2.5;
    const y1 = y(f.center);
    const y2 = yKey(k);
    const dx = (xk - xq) / 3;
    ctx.beginPath();
    ctx.moveTo(xq + 6, y1);
    ctx.bezierCurveTo(xq + 6 + dx, y1, xk - 6 - dx, y2, xk - 6, y2);
    ctx.stroke();
  });
  ctx.globalAlpha = 1;
  if (f.far.length) {
    ctx.strokeStyle = '#d1d5db';
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(xk - 40, 4 + n * rowH + farRow * 0.4);
    ctx.lineTo(W - 4, 4 + n * rowH + farRow * 0.4);
    ctx.stroke();
    ctx.font = `${Math.min(11, Math.max(8, farRow - 1))}px system-ui, sans-serif`;
    ctx.textBaseline = 'middle';
    ctx.textAlign = 'left';
    ctx.fillStyle = '#111827';
    for (const k of f.far) {
      const d = displayToken(f.kTokens[k] ?? '');
      ctx.fillText(`${d.length > 7 ? `${d.slice(0, 6)}…` : d} @${k}`, xk, yKey(k));
    }
  }
}

/** Labels: every token when rows have room, else every other one. */
function drawLabels(ctx: CanvasRenderingContext2D, f: Frame, r: Rows) {
  const { tile, hl } = f;
  const stride = r.rowH >= 10 ? 1 : r.rowH >= 5 ? 2 : 4;
  ctx.font = `${Math.min(11, Math.max(8, r.rowH - 1))}px system-ui, sans-serif`;
  ctx.textBaseline = 'middle';
  const short = (x: string) => {
    const d = displayToken(x);
    return d.length > 11 ? `${d.slice(0, 10)}…` : d;
  };
  for (let i = tile.q0; i < tile.q1; i++) {
    if ((i - tile.q0) % stride && i !== hl) continue;
    ctx.fillStyle = i === hl ? '#111827' : '#4b5563';
    ctx.textAlign = 'right';
    ctx.fillText(short(f.qTokens[i] ?? ''), r.xq, r.y(i));
    ctx.textAlign = 'left';
    ctx.fillText(short(f.kTokens[i] ?? ''), r.xk, r.y(i));
  }
}

function paint(canvas: HTMLCanvasElement, f: Frame, W: number, H: number) {
  const ctx = sizeCanvas(canvas, W, H);
  ctx.clearRect(0, 0, W, H);
  const r = rowsOf(f, W, H);
  drawWindowArcs(ctx, f, r);
  if (f.tk) drawTopArcs(ctx, f, f.tk, r);
  drawLabels(ctx, f, r);
}

export function createLongArcs(container: HTMLElement, store: Store<AppState>) {
  const root = d3.select(container).append('div').attr('class', 'long-arcs').attr('data-testid', 'long-arcs');
  const head = root.append('header').attr('class', 'panel-head');
  const title = head.append('div').attr('class', 'tiled-title').attr('role', 'heading').attr('aria-level', 2).text('Token arcs');
  const body = root.append('div').attr('class', 'panel-body long-arcs-body');
  const note = body.append('p').attr('class', 'hint').attr('data-testid', 'long-arcs-note');
  const canvas = body.append('canvas').attr('data-testid', 'long-arcs-canvas').node()!;
  const size = trackSize(body.node()!, () => draw());
  // the note's height, as last laid out: read from a ResizeObserver, never in a draw (a hover
  // changes the note; reading its height there would force the whole page's layout every move)
  let noteH = 36;
  new ResizeObserver((entries) => {
    const e = entries[entries.length - 1]!;
    const h = Math.ceil(e.borderBoxSize?.[0]?.blockSize ?? e.contentRect.height);
    if (h !== noteH) {
      noteH = h;
      draw();
    }
  }).observe(note.node()!);
  let tile: Tile | null = null;
  let arcs: WindowArc[] = [];
  let lastCenter = -1;
  let top: TopkResponse | null = null;
  let topErr = '';
  const topAsk = createTopAsk((r, err) => {
    top = r;
    topErr = err;
    root.attr('data-topk', r ? `${r.q0}:${r.indices[0]?.join(' ') ?? ''}` : `error: ${err}`);
    draw();
  });
  const feed = tileFeed(80, {
    tile(t) {
      tile = t;
      arcs = windowArcs(t, store.get().head, store.get().mass, 0, (row, mass, minW) => pruneRowByMass(row, mass, minW, PER_ROW));
      root.attr('data-state', 'ready').attr('data-window', `${t.q0}-${t.q1}`);
      draw();
    },
    error(e) {
      root.attr('data-state', 'error');
      note.text(`Arcs need a shorter text here: ${e.message}`);
    },
  });

  function request(s: AppState, cur: Current) {
    const c = center(s, cur.t.nq, lastCenter);
    lastCenter = c;
    const [a, b] = arcWindow(c, cur.t.nq);
    const req = { kind: cur.kind, layer: s.layer, head: s.head, q0: a, q1: b, k0: a, k1: b };
    if (feed.ask(cur.doc, req)) root.attr('data-state', 'loading');
    topAsk.ask(cur.doc, { kind: cur.kind, layer: s.layer, head: s.head, k: TOP_K, q0: c, q1: c + 1 });
  }

  function draw() {
    const s = store.get();
    const cur = active(s);
    container.classList.toggle('long-arcs-on', !!cur);
    if (!cur) {
      feed.stop();
      tile = null;
      top = null;
      topAsk.reset();
      return;
    }
    if (cur.t.nq !== cur.t.nk) {
      // a window around a query needs the same positions on both sides: self-attention
      sizeCanvas(canvas, 10, 10);
      note.text(`Arcs of a long text are drawn for self-attention (a window of ±${ARC_HALF_WINDOW} tokens); this kind's queries and keys are different texts (${cur.t.nq} × ${cur.t.nk}). The heatmap beside zooms to any region.`);
      return;
    }
    const fits = tile && tile.layer === s.layer && tile.head === s.head && tile.kind === cur.kind;
    title.text(`Token arcs · L${s.layer} · H${s.head}${weightingNote(cur.doc, s.nofirst)}`).attr('title', weightingTitle(cur.doc));
    if (!tile || !fits) {
      sizeCanvas(canvas, Math.max(200, size().width), 120).clearRect(0, 0, 10000, 10000);
      note.text(`A window of ±${ARC_HALF_WINDOW} tokens around the query under the pointer in the heatmap · computing…`);
      request(s, cur);
      return;
    }
    const f = frameOf(s, cur, tile, arcs, top, lastCenter);
    note.text(
      `tokens ${tile.q0}–${tile.q1 - 1} of ${cur.t.nq}, ±${ARC_HALF_WINDOW} around query ${lastCenter} (point at a heatmap cell to move it) · per query the keys holding ${Math.round(s.mass * 100)} % of its weight in the window, at most ${PER_ROW} · opacity fitted to ${f.maxW.toPrecision(3)}${topNote(f, topErr)}`,
    );
    root.attr('data-far', f.far.join(' '));
    const sz = size();
    paint(canvas, f, Math.max(200, sz.width), Math.max(120, sz.height - noteH - 8));
    request(s, cur);
  }

  store.subscribe((s, p) => {
    if (s.doc !== p.doc || s.kind !== p.kind || s.layer !== p.layer || s.head !== p.head || s.vq !== p.vq || s.mass !== p.mass || s.hover !== p.hover) {
      if (s.mass !== p.mass) feed.forget(); // the same window pruned again
      draw();
    }
  });
  draw();
}

// draws in the arc view's container while the text is long (an overview)
export const spec: ViewSpec = { id: 'long-arcs', place: { in: 'arc-view' }, create: createLongArcs };
