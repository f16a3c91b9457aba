/**
 * The focus heatmap of a long text (an overview document, lib/tiled.ts): it shows the viewport
 * (`vq`, `vk` in the URL; the whole matrix at first) from a tile the server computes for it — block
 * maxima with at most one cell per canvas pixel, exact once the region has no more cells than the
 * canvas has pixels. Wheel / drag / + − arrows zoom and pan, "Reset" shows the whole matrix, a
 * minimap says where the viewport is. The colour scale is fitted to the tile shown (0 … its
 * largest weight): at thousands of tokens most weights are tiny and a fixed 0–1 scale is black.
 * It takes the focus panel's place while an overview is shown; the regular heatmap otherwise.
 */
import * as d3 from 'd3';
import { tileFeed } from '../app/data';
import { MASKED_RGB, matrixToRgba, weightColor, weightLut } from '../lib/color';
import { KIND_LABEL, type AttnDoc } from '../lib/doc';
import { quoteToken, displayToken } from '../lib/tokens';
import { clampViewport, fullViewport, headThumb, isPooled, panBy, type Pooled, tileFor, tileScaleTop, tileRgba, tileValue, zoomAbout, type Tile, type Viewport } from '../lib/tiled';
import type { Store } from '../lib/store';
import type { AppState } from '../app/state';
import { type Current, currentAny, type Size, sizeCanvas, trackSize } from './common';
import { weightingNote, weightingTitle } from './weightingToggle';
import type { ViewSpec } from './spec';

const LEFT = 78;
const TOP = 62;
/** token labels once a cell is this many CSS pixels */
const LABEL_CELL = 12;
const MINIMAP = 54;
/** weights at length are small: 4 significant digits, not 4 decimals */
const fmt = (w: number) => (w >= 0.001 ? w.toFixed(4) : w.toPrecision(3));

/** How to get closer to the exact weights: zoom in, or, in a saved file whose copy is pooled, what it holds. */
function zoomHint(doc: AttnDoc): string {
  const run = doc.overview;
  if (run?.source !== 'file') return 'zoom in for the exact ones';
  const fine = Object.values(doc.kinds).find((t) => t?.pooled?.fine)?.pooled?.fine;
  const saved = run.maxBytes ? ` (saved under max_bytes ${(run.maxBytes / 2 ** 20).toFixed(1)} MiB)` : '';
  return fine && fine.block > 1
    ? `this file holds every weight pooled in ${fine.block}×${fine.block} blocks${saved}, zooming in stops there; attnviz.show in a notebook shows the exact ones`
    : fine
      ? 'zoom in for the exact ones (this file holds them)'
      : `this file holds only the thumbnails${saved}; attnviz.show in a notebook shows the exact weights`;
}

/** the current kind, when its tensor is an overview's (its `t` narrowed to a pooled one) */
type PooledCurrent = Current & { t: Current['t'] & { pooled: Pooled } };
/** the plot's box in CSS pixels */
type Plot = { x: number; y: number; w: number; h: number };
type Sel<E extends d3.BaseType> = d3.Selection<E, unknown, null, undefined>;

function active(s: AppState): PooledCurrent | null {
  const cur = currentAny(s);
  return cur && isPooled(cur.t) ? { ...cur, t: cur.t } : null;
}

function viewport(s: AppState): Viewport | null {
  const cur = active(s);
  if (!cur) return null;
  const { nq, nk } = cur.t;
  const v = fullViewport(nq, nk);
  if (s.vq) [v.q0, v.q1] = s.vq;
  if (s.vk) [v.k0, v.k1] = s.vk;
  return clampViewport(v, nq, nk);
}

function setViewport(store: Store<AppState>, v: Viewport) {
  const cur = active(store.get());
  if (!cur) return;
  const full = (a: number, b: number, n: number) => a === 0 && b === n;
  store.set({ vq: full(v.q0, v.q1, cur.t.nq) ? null : [v.q0, v.q1], vk: full(v.k0, v.k1, cur.t.nk) ? null : [v.k0, v.k1] });
}

/** The cell under a point of the wrap (CSS pixels), or null outside the plot. */
function cellAt(plot: Plot, v: Viewport | null, x: number, y: number): { q: number; k: number } | null {
  if (!v || x < plot.x || y < plot.y || x >= plot.x + plot.w || y >= plot.y + plot.h) return null;
  return { q: Math.floor(v.q0 + ((y - plot.y) / plot.h) * (v.q1 - v.q0)), k: Math.floor(v.k0 + ((x - plot.x) / plot.w) * (v.k1 - v.k0)) };
}

/** The last tile, when it is of the head shown. */
function fitting(tile: Tile | null, s: AppState, cur: PooledCurrent): Tile | null {
  return tile && tile.kind === cur.kind && tile.layer === s.layer && tile.head === s.head ? tile : null;
}

/** The panel's elements: the heading and its zoom buttons, the plot's canvases, and the foot. */
function buildPanel(container: HTMLElement, zoomBy: (f: number) => void, reset: () => void) {
  const root = d3.select(container).append('div').attr('class', 'tiled-root').attr('data-testid', 'tiled-view');
  const head = root.append('header').attr('class', 'panel-head');
  // a heading, not an h2: the regular heatmap's h2 stays the panel's one (tests and tools find it by that)
  const title = head.append('div').attr('class', 'tiled-title').attr('role', 'heading').attr('aria-level', 2).attr('data-testid', 'tiled-title').text('Focus heatmap');
  const ctl = head.append('div').attr('class', 'tiled-ctl');
  const zoomBtn = (label: string, aria: string, f: number) =>
    ctl.append('button').attr('class', 'btn small').attr('aria-label', aria).text(label).on('click', () => zoomBy(f));
  zoomBtn('+', 'Zoom in', 2);
  zoomBtn('−', 'Zoom out', 0.5);
  ctl.append('button').attr('class', 'btn small').attr('data-testid', 'tiled-reset').text('Reset').attr('title', 'Show the whole matrix').on('click', reset);
  const body = root.append('div').attr('class', 'panel-body tiled-body');
  const wrap = body
    .append('div')
    .attr('class', 'hm-wrap tiled-wrap')
    .attr('tabindex', 0)
    .attr('role', 'application')
    .attr('aria-roledescription', 'zoomable attention heatmap')
    .attr('aria-label', 'Attention heatmap of a long text: wheel or + and − zoom, drag or arrows pan')
    .attr('data-testid', 'tiled-heatmap');
  const canvas = wrap.append('canvas').attr('data-testid', 'tiled-canvas').node()!;
  // the hovered cell's outline on its own layer: a hover redraws a few pixels, not the tile
  const overlay = wrap.append('canvas').attr('class', 'tiled-overlay').attr('aria-hidden', 'true').node()!;
  // the minimap sits in the corner the token labels leave free
  const mini = wrap.append('canvas').attr('class', 'tiled-minimap').attr('data-testid', 'tiled-minimap').attr('aria-hidden', 'true').node()!;
  const foot = body.append('div').attr('class', 'tiled-foot');
  const info = foot.append('div').attr('class', 'tiled-info');
  const readout = info.append('div').attr('class', 'tiled-readout').attr('data-testid', 'tiled-readout').attr('aria-live', 'polite');
  const note = info.append('div').attr('class', 'hint').attr('data-testid', 'tiled-note');
  // not `.legend`: the regular heatmap's legend stays the panel's one
  const legend = info.append('div').attr('class', 'tiled-legend').attr('data-testid', 'tiled-legend');
  return { title, body, wrap, canvas, overlay, mini, foot, readout, note, legend };
}

/** The plot's square in what the panel leaves, with both canvases and the wrap sized to it. */
function layoutPlot(sz: Size, foot: HTMLElement, canvas: HTMLCanvasElement, overlay: HTMLCanvasElement, wrap: Sel<HTMLDivElement>): Plot {
  const W = Math.max(200, sz.width);
  const H = Math.max(200, sz.height - (foot.offsetHeight || 56) - 6);
  const side = Math.max(40, Math.min(W - LEFT - 8, H - TOP - 8));
  sizeCanvas(canvas, LEFT + side + 8, TOP + side + 8);
  sizeCanvas(overlay, LEFT + side + 8, TOP + side + 8);
  wrap.style('width', `${LEFT + side + 8}px`).style('height', `${TOP + side + 8}px`);
  return { x: LEFT, y: TOP, w: side, h: side };
}

/** Token labels once a cell has room for one, else the range the axis shows. */
function drawLabels(ctx: CanvasRenderingContext2D, plot: Plot, v: Viewport, cur: PooledCurrent) {
  const { qTokens, kTokens } = cur;
  const cellW = plot.w / (v.k1 - v.k0);
  const cellH = plot.h / (v.q1 - v.q0);
  ctx.fillStyle = '#374151';
  ctx.font = '11px system-ui, sans-serif';
  const short = (x: string) => {
    const d = displayToken(x);
    return d.length > 9 ? `${d.slice(0, 8)}…` : d;
  };
  if (cellH >= LABEL_CELL) {
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    for (let q = v.q0; q < v.q1; q++) ctx.fillText(short(qTokens[q] ?? ''), plot.x - 4, plot.y + (q - v.q0 + 0.5) * cellH);
  }
  if (cellW >= LABEL_CELL) {
    ctx.save();
    ctx.textAlign = 'left';
    ctx.textBaseline = 'middle';
    for (let k = v.k0; k < v.k1; k++) {
      ctx.save();
      ctx.translate(plot.x + (k - v.k0 + 0.5) * cellW, plot.y - 4);
      ctx.rotate(-Math.PI / 2);
      ctx.fillText(short(kTokens[k] ?? ''), 0, 0);
      ctx.restore();
    }
    ctx.restore();
  }
  ctx.fillStyle = '#6b7280';
  ctx.textAlign = 'left';
  ctx.textBaseline = 'alphabetic';
  if (cellH < LABEL_CELL) ctx.fillText(`q ${v.q0}–${v.q1 - 1}`, 4, plot.y + 10);
  if (cellW < LABEL_CELL) ctx.fillText(`k ${v.k0}–${v.k1 - 1}`, plot.x, 12);
}

/** The plot alone: the tile (drawn in `offscreen`) where its region is in this viewport, and the labels. */
function paintPlot(canvas: HTMLCanvasElement, plot: Plot, v: Viewport, cur: PooledCurrent, tile: Tile | null, offscreen: HTMLCanvasElement) {
  const dpr = Math.max(1, Math.min(3, window.devicePixelRatio || 1));
  const ctx = canvas.getContext('2d')!;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, plot.x + plot.w + 8, plot.y + plot.h + 8);
  ctx.fillStyle = '#f3f4f6';
  ctx.fillRect(plot.x, plot.y, plot.w, plot.h);
  const qs = v.q1 - v.q0;
  const ks = v.k1 - v.k0;
  if (tile) {
    // the last tile, placed where its region is in this viewport (a new one is on its way)
    ctx.save();
    ctx.beginPath();
    ctx.rect(plot.x, plot.y, plot.w, plot.h);
    ctx.clip();
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(offscreen, plot.x + ((tile.k0 - v.k0) / ks) * plot.w, plot.y + ((tile.q0 - v.q0) / qs) * plot.h, ((tile.k1 - tile.k0) / ks) * plot.w, ((tile.q1 - tile.q0) / qs) * plot.h);
    ctx.restore();
  }
  drawLabels(ctx, plot, v, cur);
}

/** A tile's pixels, once, in its own size: each draw then places it in the viewport. */
function paintTile(offscreen: HTMLCanvasElement, t: Tile, top: number, causal: boolean) {
  offscreen.width = t.cols;
  offscreen.height = t.rows;
  offscreen.getContext('2d')!.putImageData(new ImageData(tileRgba(t, top, causal, weightLut(), MASKED_RGB), t.cols, t.rows), 0, 0);
}

/** The hovered cell's outline, on the overlay. */
function drawHoverOutline(overlay: HTMLCanvasElement, plot: Plot, h: AppState['hover'], v: Viewport | null) {
  const dpr = Math.max(1, Math.min(3, window.devicePixelRatio || 1));
  const ctx = overlay.getContext('2d')!;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, plot.x + plot.w + 8, plot.y + plot.h + 8);
  if (h?.type !== 'cell' || !v) return;
  const cw = plot.w / (v.k1 - v.k0);
  const ch = plot.h / (v.q1 - v.q0);
  if (h.q < v.q0 || h.q >= v.q1 || h.k < v.k0 || h.k >= v.k1) return;
  ctx.strokeStyle = 'rgba(255,255,255,0.95)';
  ctx.lineWidth = 1.5;
  ctx.strokeRect(plot.x + (h.k - v.k0) * cw, plot.y + (h.q - v.q0) * ch, Math.max(2, cw), Math.max(2, ch));
}

/** The minimap: the head's thumbnail (drawn once per tensor and head) and the viewport on it. */
function createMinimap(mini: HTMLCanvasElement) {
  const miniOff = document.createElement('canvas');
  let miniFor: unknown = null;
  return (t: PooledCurrent['t'], s: AppState, v: Viewport) => {
    const key = `${s.layer}|${s.head}`;
    if (miniFor !== t || mini.dataset.key !== key) {
      miniFor = t;
      mini.dataset.key = key;
      const { pq, pk } = t.pooled;
      miniOff.width = pk;
      miniOff.height = pq;
      miniOff.getContext('2d')!.putImageData(new ImageData(matrixToRgba(headThumb(t, s.layer, s.head), pq, pk, t.causal && pq === pk), pk, pq), 0, 0);
    }
    const ctx = sizeCanvas(mini, MINIMAP, MINIMAP);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(miniOff, 0, 0, MINIMAP, MINIMAP);
    ctx.strokeStyle = '#ef4444';
    ctx.lineWidth = 1.5;
    const x = (v.k0 / t.nk) * MINIMAP;
    const y = (v.q0 / t.nq) * MINIMAP;
    ctx.strokeRect(x, y, Math.max(2, ((v.k1 - v.k0) / t.nk) * MINIMAP), Math.max(2, ((v.q1 - v.q0) / t.nq) * MINIMAP));
  };
}

/** What the pixels are, in place: exact weights, or pooled ones and how to get closer. */
function renderNote(note: Sel<HTMLDivElement>, region: string, tile: Tile | null, doc: AttnDoc) {
  if (!tile) note.text(`${region} · computing the tile…`).classed('pooled', false);
  else {
    const [bq, bk] = tile.block;
    const pooled = bq > 1 || bk > 1;
    note.text(pooled ? `pooled: each pixel is the max of ${bq}×${bk} weights · ${zoomHint(doc)}` : `exact weights · ${region}`).classed('pooled', pooled);
  }
}

function renderLegend(legend: Sel<HTMLDivElement>, top: number) {
  legend.html('');
  legend.append('span').text('0');
  legend.append('span').attr('class', 'tiled-legend-bar').style('background', `linear-gradient(to right, ${d3.range(0, 1.0001, 0.1).map((x) => weightColor(x)).join(',')})`);
  legend.append('span').attr('data-testid', 'tiled-scale-top').text(fmt(top));
  legend.append('span').attr('class', 'tiled-legend-note').attr('title', 'Fitted to the weights shown: 0 … their 99th percentile; larger weights are drawn brightest').text('fitted: 0 … 99th percentile of the weights shown');
}

/** The hovered cell's weight as the readout says it, and the exact weight when the tile has it. */
function readoutOf(cur: PooledCurrent, h: { q: number; k: number }, tile: Tile | null): { text: string; exact: number | null } {
  const { qTokens, kTokens, t } = cur;
  const cell = `${quoteToken(qTokens[h.q] ?? '')} (${h.q}) → ${quoteToken(kTokens[h.k] ?? '')} (${h.k})`;
  const w = tile ? tileValue(tile, h.q, h.k) : NaN;
  let text: string;
  if (t.causal && h.k > h.q) text = `${cell}: masked`;
  else if (!tile || Number.isNaN(w)) text = `${cell}: …`;
  else if (tile.block[0] > 1 || tile.block[1] > 1) text = `${cell}: pooled max ${fmt(w)} of its ${tile.block[0]}×${tile.block[1]} block (${zoomHint(cur.doc)})`;
  else text = `${cell}: ${fmt(w)}`;
  const exact = tile && !Number.isNaN(w) && tile.block[0] === 1 && tile.block[1] === 1;
  return { text, exact: exact ? w : null };
}

/** Input: wheel zooms about the pointer, drag pans, keys zoom and pan. */
function wireInput(wrapEl: HTMLDivElement, store: Store<AppState>, plotOf: () => Plot, zoomBy: (f: number, atX?: number, atY?: number) => void) {
  const local = (e: MouseEvent) => {
    const r = wrapEl.getBoundingClientRect();
    return { x: e.clientX - r.left, y: e.clientY - r.top };
  };
  wrapEl.addEventListener(
    'wheel',
    (e) => {
      if (!active(store.get())) return;
      e.preventDefault();
      const p = local(e);
      zoomBy(Math.exp(-e.deltaY * 0.002), p.x, p.y);
    },
    { passive: false },
  );
  let drag: { x: number; y: number; v: Viewport; moved: boolean } | null = null;
  wrapEl.addEventListener('pointerdown', (e) => {
    const v = viewport(store.get());
    if (!v || e.button !== 0) return;
    const p = local(e);
    drag = { ...p, v, moved: false };
    wrapEl.setPointerCapture(e.pointerId);
  });
  wrapEl.addEventListener('pointerup', () => (drag = null));
  wrapEl.addEventListener('pointermove', (e) => {
    const s = store.get();
    const cur = active(s);
    if (!cur) return;
    const p = local(e);
    const plot = plotOf();
    if (drag && (drag.moved || Math.abs(p.x - drag.x) + Math.abs(p.y - drag.y) > 3)) {
      drag.moved = true;
      const dq = -((p.y - drag.y) / plot.h) * (drag.v.q1 - drag.v.q0);
      const dk = -((p.x - drag.x) / plot.w) * (drag.v.k1 - drag.v.k0);
      setViewport(store, panBy(drag.v, Math.round(dq), Math.round(dk), cur.t.nq, cur.t.nk));
      return;
    }
    const c = cellAt(plot, viewport(store.get()), p.x, p.y);
    const h = s.hover;
    if (!c) {
      if (h) store.set({ hover: null });
    } else if (!(h && h.type === 'cell' && h.q === c.q && h.k === c.k)) store.set({ hover: { type: 'cell', ...c } });
  });
  wrapEl.addEventListener('pointerleave', () => {
    if (!drag && store.get().hover) store.set({ hover: null });
  });
  wrapEl.addEventListener('keydown', (e) => {
    const s = store.get();
    const cur = active(s);
    const v = viewport(s);
    if (!cur || !v) return;
    const stepQ = Math.max(1, Math.round((v.q1 - v.q0) / 4));
    const stepK = Math.max(1, Math.round((v.k1 - v.k0) / 4));
    const moves: Record<string, [number, number]> = { ArrowUp: [-stepQ, 0], ArrowDown: [stepQ, 0], ArrowLeft: [0, -stepK], ArrowRight: [0, stepK] };
    if (e.key === '+' || e.key === '=') zoomBy(2);
    else if (e.key === '-' || e.key === '_') zoomBy(0.5);
    else if (e.key === '0') store.set({ vq: null, vk: null });
    else if (moves[e.key]) setViewport(store, panBy(v, moves[e.key]![0], moves[e.key]![1], cur.t.nq, cur.t.nk));
    else return;
    e.preventDefault();
  });
}

export function createTiledHeatmap(container: HTMLElement, store: Store<AppState>) {
  const ui = buildPanel(container, (f) => zoomBy(f), () => store.set({ vq: null, vk: null }));
  const { wrap, note, readout } = ui;
  const size = trackSize(ui.body.node()!, () => draw());
  const offscreen = document.createElement('canvas');
  const drawMinimap = createMinimap(ui.mini);
  let tile: Tile | null = null;
  /** the colour scale's top for `tile` */
  let scaleTop = 1;
  // a wheel or a drag moves the viewport every frame: a tile is asked once it rests for a moment
  const feed = tileFeed(60, {
    tile(t) {
      const cur = active(store.get());
      if (!cur) return;
      tile = t;
      scaleTop = tileScaleTop(t, cur.t.causal);
      paintTile(offscreen, t, scaleTop, cur.t.causal);
      wrap.attr('data-tile-state', 'ready').attr('data-tile', `${t.q0}-${t.q1},${t.k0}-${t.k1},${t.block.join('x')}`);
      draw();
    },
    error(e) {
      wrap.attr('data-tile-state', 'error');
      note.text(`No tile: ${e.message}`);
    },
  });
  let plot: Plot = { x: LEFT, y: TOP, w: 0, h: 0 };

  function zoomBy(f: number, atX?: number, atY?: number) {
    const s = store.get();
    const cur = active(s);
    const v = viewport(s);
    if (!cur || !v) return;
    const fx = atX === undefined ? 0.5 : (atX - plot.x) / plot.w;
    const fy = atY === undefined ? 0.5 : (atY - plot.y) / plot.h;
    setViewport(store, zoomAbout(v, f, v.q0 + fy * (v.q1 - v.q0), v.k0 + fx * (v.k1 - v.k0), cur.t.nq, cur.t.nk));
  }

  function request(s: AppState, cur: PooledCurrent, v: Viewport) {
    if (plot.w < 8) return;
    const dpr = Math.max(1, Math.min(3, window.devicePixelRatio || 1));
    const req = { kind: cur.kind, layer: s.layer, head: s.head, ...tileFor(v, plot.w * dpr, plot.h * dpr) };
    if (feed.ask(cur.doc, req)) wrap.attr('data-tile-state', 'loading');
  }

  function draw() {
    const s = store.get();
    const cur = active(s);
    container.classList.toggle('tiled', !!cur);
    if (!cur) {
      feed.stop();
      tile = null;
      return;
    }
    const v = viewport(s)!;
    const { t } = cur;
    ui.title
      .text(`Layer ${s.layer} · Head ${s.head}${weightingNote(cur.doc, s.nofirst)}`)
      .attr('title', `${KIND_LABEL[cur.kind]}, layer ${s.layer}, head ${s.head}: ${t.nq} × ${t.nk} · ${weightingTitle(cur.doc)}`);
    plot = layoutPlot(size(), ui.foot.node()!, ui.canvas, ui.overlay, wrap);
    const shown = fitting(tile, s, cur);
    // the plot alone on the canvas as sized: a hover redraws only the overlay
    paintPlot(ui.canvas, plot, v, cur, shown, offscreen);
    drawHover();
    // what the pixels are, in place
    const region = `rows ${v.q0}–${v.q1 - 1}, keys ${v.k0}–${v.k1 - 1} of ${t.nq} × ${t.nk}`;
    wrap.attr('title', region);
    renderNote(note, region, shown, cur.doc);
    renderLegend(ui.legend, shown ? scaleTop : 1);
    drawMinimap(cur.t, s, v);
    updateReadout();
    request(s, cur, v);
  }

  function drawHover() {
    drawHoverOutline(ui.overlay, plot, store.get().hover, viewport(store.get()));
  }

  function updateReadout() {
    const s = store.get();
    const cur = active(s);
    const h = s.hover;
    if (!cur || !h || h.type !== 'cell') {
      readout.text('Hover a cell for its weight').classed('empty', true).attr('data-weight', null);
      return;
    }
    const r = readoutOf(cur, h, fitting(tile, s, cur));
    readout.text(r.text).classed('empty', false).attr('data-weight', r.exact !== null ? String(r.exact) : null);
  }

  wireInput(wrap.node()!, store, () => plot, zoomBy);
  store.subscribe((s, p) => {
    // a new text starts from the whole matrix (the first document keeps the URL's viewport)
    if (s.rawDoc !== p.rawDoc && p.rawDoc?.overview && s.rawDoc?.input !== p.rawDoc.input && (s.vq || s.vk)) {
      store.set({ vq: null, vk: null });
      return;
    }
    if (s.doc !== p.doc || s.kind !== p.kind || s.layer !== p.layer || s.head !== p.head || s.vq !== p.vq || s.vk !== p.vk) draw();
    else if (s.hover !== p.hover && active(s)) {
      // the pointer only: its outline and the readout (no layout read, no resize, no tile redrawn)
      drawHover();
      updateReadout();
    }
  });
  draw();
}

// draws in the focus heatmap's container, in its place while the text is long (an overview)
export const spec: ViewSpec = { id: 'tiled-heatmap', place: { in: 'focus-heatmap' }, url: ['vq', 'vk'], create: createTiledHeatmap };
