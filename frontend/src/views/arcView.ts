/**
 * Token-arc view: queries on the left, keys on the right, a line per (head, query, key) whose
 * opacity is the weight (the strong ones are also wider), one colour per head. Lines are pruned per query to the fewest keys that
 * carry `mass` of its attention. All lines are drawn once to a base canvas; hovering a token dims
 * the base (CSS opacity) and draws only that token's lines, unpruned, on an overlay canvas.
 */
import * as d3 from 'd3';
import { layerArcs, MIN_ARC_WEIGHT, type Arc } from '../lib/arcs';
import { headColor } from '../lib/color';
import { ArcRaster, arcAlpha, arcLineWidth, rasterArcs, STRONG_WIDTH } from '../lib/raster';
import { KIND_LABEL, keySide, querySide } from '../lib/doc';
import type { AttentionSource } from '../lib/source';
import { ARC_MAX_ROW, ARC_MIN_ROW, ARC_TOP, arcGeometry, arcTokenAt, arcY, labelStride, type ArcGeom } from '../lib/geometry';
import { highlightFor } from '../lib/hover';
import type { Store } from '../lib/store';
import { clipText } from '../lib/text';
import { displayToken, isSpecialToken } from '../lib/tokens';
import type { AppState } from '../app/state';
import { current, type Current, type Size, labelScale, trackSize, SIDE_LABEL, sizeCanvas, sizeCanvasBox, timed } from './common';
import { countRender } from '../app/testHook';
import { createLitSet } from './litSet';
import { weightingNote, weightingTitle } from './weightingToggle';
import { arcsSvg } from '../lib/svgExport';
import type { ViewSpec } from './spec';

interface Tok {
  role: 'q' | 'k';
  i: number;
  text: string;
  /** the text as drawn: cut to the label column */
  label: string;
  special: boolean;
}

const MIN_WEIGHT = MIN_ARC_WEIGHT;
/**
 * Up to this many lines are stroked on the canvas; more go through the software rasteriser.
 * Strokes are recorded cheaply and rasterised by the browser with the frame; the JS rasteriser
 * costs more until the engine has optimised it, so strokes win on a small first document and the
 * rasteriser on many lines (bench/NOTES.md).
 */
const STROKE_LIMIT = 800;
/**
 * The base canvas's lines are 1 CSS px wide, and the strong ones (opacity ≥ STRONG_ALPHA)
 * STRONG_WIDTH, so that weight reads as width as well as opacity. Without a GPU, a line at most
 * one device pixel wide takes Skia's hairline path, much cheaper than a wider stroke, so a strong
 * line is stroked as two hairlines 0.8 px apart (bench/NOTES.md). Hover lines (a few) are
 * thicker, on the overlay.
 */
const BASE_LINE = 1;

export function shownHeads(s: Pick<AppState, 'heads'>, t: { heads: number }): number[] {
  return s.heads === null ? d3.range(t.heads) : s.heads.filter((h) => h < t.heads);
}

/** The panel's elements; the mass slider writes the store. */
function buildPanel(container: HTMLElement, store: Store<AppState>) {
  const root = d3.select(container).classed('panel arc-panel', true).attr('data-view', 'arcs');
  const head = root.append('header').attr('class', 'panel-head arc-head');
  const title = head.append('h2').text('Token arcs');
  const controls = head.append('div').attr('class', 'arc-controls');
  const chips = head.append('div').attr('class', 'head-chips').attr('role', 'group').attr('aria-label', 'Heads shown');
  const massLabel = controls.append('label').attr('class', 'mass');
  massLabel.append('span').text('mass');
  const massInput = massLabel
    .append('input')
    .attr('type', 'range')
    // the URL's range (state.ts `mass`, frontend/README.md): 5 % keeps only each query's top key
    .attr('min', 0.05)
    .attr('max', 1)
    .attr('step', 0.01)
    .attr('aria-label', 'Attention mass kept per query')
    .attr('data-testid', 'arc-mass')
    .on('input', function () {
      store.set({ mass: +(this as HTMLInputElement).value });
    });
  const massValue = massLabel.append('output');

  const body = root.append('div').attr('class', 'panel-body arc-body');
  const wrap = body.append('div').attr('class', 'arc-wrap').attr('data-testid', 'arc-view');
  const cols = wrap.append('div').attr('class', 'arc-cols');
  const colQ = cols.append('span');
  const colK = cols.append('span');
  const stage = wrap.append('div').attr('class', 'arc-stage');
  const base = stage.append('canvas').attr('class', 'arc-base').attr('data-testid', 'arc-canvas').node()!;
  const overlay = stage.append('canvas').attr('class', 'arc-overlay').node()!;
  const svg = stage.append('svg').attr('class', 'arc-labels');
  const stat = body.append('div').attr('class', 'arc-stat');
  return { title, chips, massInput, massValue, body, colQ, colK, stage, base, overlay, svg, stat };
}
type Panel = ReturnType<typeof buildPanel>;

/** The canvases' software rasterisers, kept between draws (one per canvas). */
type Rasters = { base?: ArcRaster; overlay?: ArcRaster };

/**
 * Draw `list` (weakest first, so strong lines end on top) into `canvas` (`W` CSS px wide), `lw` CSS
 * px wide and `strongLw` for the strong ones. Few lines: canvas strokes. Many: the software
 * rasteriser (canvas strokes cost ~20 µs each without a GPU).
 */
function drawLines(canvas: HTMLCanvasElement, W: number, rasters: Rasters, which: 'base' | 'overlay', list: Arc[], g: ArcGeom, nq: number, nk: number, lw: number, strongLw: number, gain = 1) {
  const dpr = canvas.width / W;
  const x1 = g.xq + 6;
  const x2 = g.xk - 6;
  const sorted = list.slice().sort((a, b) => a.w - b.w);
  const ctx = canvas.getContext('2d')!;
  if (sorted.length <= STROKE_LIMIT) {
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, W, g.height);
    ctx.lineWidth = lw;
    const dx = (x2 - x1) / 3; // the rasteriser's smoothstep curve
    for (const a of sorted) {
      const y1 = arcY(g, a.q, nq);
      const y2 = arcY(g, a.k, nk);
      const alpha = arcAlpha(a.w, gain);
      ctx.globalAlpha = alpha;
      ctx.strokeStyle = headColor(a.head);
      ctx.beginPath();
      ctx.moveTo(x1, y1);
      ctx.bezierCurveTo(x1 + dx, y1, x2 - dx, y2, x2, y2);
      // a wider line: a second one this far below (1 px lines stay on the cheap hairline path)
      const extra = arcLineWidth(alpha, lw, strongLw) - lw;
      if (extra > 0) {
        ctx.moveTo(x1, y1 + extra);
        ctx.bezierCurveTo(x1 + dx, y1 + extra, x2 - dx, y2 + extra, x2, y2 + extra);
      }
      ctx.stroke();
    }
    ctx.globalAlpha = 1;
    return;
  }
  let r = rasters[which];
  if (!r || r.width !== canvas.width || r.height !== canvas.height) r = rasters[which] = new ArcRaster(canvas.width, canvas.height);
  else r.clear();
  rasterArcs(r, sorted, g, x1, x2, dpr, lw, gain, strongLw);
  ctx.putImageData(new ImageData(r.toRgba(), r.width, r.height), 0, 0);
}

/** One chip per head (click toggles it, shift- or alt-click shows it alone) and the mass slider.
 *  Returns whether the number of chips changed (12+ wrap to a second row: the body shrinks). */
function renderChips(p: Panel, s: AppState, store: Store<AppState>): boolean {
  const cur = current(s);
  const n = cur ? cur.src.heads : 0;
  const changed = p.chips.selectAll('button').size() !== n;
  const on = new Set(cur ? shownHeads(s, cur.src) : []);
  p.chips
    .selectAll<HTMLButtonElement, number>('button')
    .data(d3.range(n), (d) => String(d))
    .join((enter) =>
      enter
        .append('button')
        .attr('class', 'chip')
        .attr('data-testid', (d) => `arc-head-${d}`)
        .on('click', (e: MouseEvent, h) => {
          const st = store.get();
          const c = current(st);
          if (!c) return;
          const all = d3.range(c.src.heads);
          const cur2 = new Set(shownHeads(st, c.src));
          if (e.altKey || e.shiftKey) {
            store.set({ heads: [h] });
            return;
          }
          if (cur2.has(h)) cur2.delete(h);
          else cur2.add(h);
          const list = all.filter((x) => cur2.has(x));
          store.set({ heads: list.length === all.length ? null : list });
        }),
    )
    .style('--head', (d) => headColor(d))
    .classed('on', (d) => on.has(d))
    .classed('focused-head', (d) => d === s.head)
    .attr('aria-pressed', (d) => String(on.has(d)))
    .attr('title', 'Click to toggle · Shift-click to show only this head')
    .text((d) => `H${d}`);
  p.massInput.property('value', s.mass);
  p.massValue.text(`${Math.round(s.mass * 100)}%`);
  return changed;
}

/** The query and key labels, cut to `fitChars` (a cut one says itself in full on hover). */
function drawTokenLabels(svg: Panel['svg'], g: ArcGeom, cur: Current, fs: number, stride: number, fitChars: number) {
  const toks: Tok[] = [
    ...cur.qTokens.map((x, i) => ({ role: 'q' as const, i, x })),
    ...cur.kTokens.map((x, i) => ({ role: 'k' as const, i, x })),
  ].map(({ role, i, x }) => {
    const text = displayToken(x);
    return { role, i, text, label: clipText(text, fitChars), special: isSpecialToken(x) };
  });
  svg
    .selectAll<SVGTextElement, Tok>('text')
    .data(toks, (d) => `${d.role}${d.i}`)
    .join('text')
    .attr('class', (d) => `tok tok-${d.role}`)
    .attr('x', (d) => (d.role === 'q' ? g.xq - 2 : g.xk + 2))
    .attr('y', (d) => arcY(g, d.i, d.role === 'q' ? cur.src.nq : cur.src.nk))
    .attr('text-anchor', (d) => (d.role === 'q' ? 'end' : 'start'))
    .style('font-size', `${fs}px`) // a style: the .tok class rule would beat an attribute
    .classed('special', (d) => d.special)
    .classed('thin', (d) => d.i % stride !== 0)
    .text((d) => d.label)
    // a token cut to its column says itself in full on hover
    .selectAll('title')
    .data((d) => (d.label === d.text ? [] : [d.text]))
    .join('title')
    .text((x) => x);
}

/** The stage's width and the arcs' geometry in a body of `sz` (room for the longest label). */
function arcLayout(cur: Current, sz: Size, zoom: number): { W: number; g: ArcGeom } {
  const W = Math.max(220, sz.width - 12);
  const availH = Math.max(160, sz.height - 44);
  const longest = Math.max(d3.max(cur.qTokens, (x) => displayToken(x).length) ?? 1, d3.max(cur.kTokens, (x) => displayToken(x).length) ?? 1);
  const labelW = Math.min(90 * zoom, 14 + longest * 7.5 * zoom);
  return { W, g: arcGeometry(cur.src.nq, cur.src.nk, W, availH, labelW, ARC_TOP, ARC_MIN_ROW, ARC_MAX_ROW * zoom) };
}

/** The line under the arcs: how many are drawn, of how many heads, and what was pruned. */
function statText(s: AppState, nk: number, drawn: number, total: number, perRow: number, nHeads: number): string {
  if (!total && s.status === 'loading') return 'Running the model…';
  return (
    `${drawn < total ? `strongest ${drawn} of ${total}` : drawn} lines · ${nHeads} head${nHeads === 1 ? '' : 's'} · up to ${Math.round(s.mass * 100)}% of each query's attention` +
    (perRow < nk ? `, at most ${perRow} key${perRow === 1 ? '' : 's'} per query and head` : '')
  );
}

/** Every line of the hovered token (or cell) of the shown heads, unpruned (weights under MIN_WEIGHT aside). */
function hoverArcs(src: AttentionSource, heads: number[], layer: number, hl: ReturnType<typeof highlightFor>): Arc[] {
  const list: Arc[] = [];
  for (const h of heads) {
    const m = src.matrix(layer, h);
    const add = (q: number, k: number) => {
      if (src.causal && k > q) return;
      const w = m[q * src.nk + k]!;
      if (w >= MIN_WEIGHT) list.push({ head: h, q, k, w });
    };
    if (hl.cell) add(hl.q!, hl.k!);
    else {
      if (hl.q !== null) for (let k = 0; k < src.nk; k++) add(hl.q, k);
      if (hl.k !== null) for (let q = 0; q < src.nq; q++) if (q !== hl.q) add(q, hl.k);
    }
  }
  return list;
}

/**
 * The hovered token's (or cell's) lines of the shown heads on the overlay, over the dimmed base,
 * and its labels lit. Returns whether the overlay holds lines now.
 */
function drawHover(p: Panel, s: AppState, g: ArcGeom, W: number, rasters: Rasters, lit: ReturnType<typeof createLitSet>, overlayDirty: boolean): boolean {
  const cur = current(s);
  if (!cur) return overlayDirty;
  const { src } = cur;
  const hl = highlightFor(s.hover, s.kind);
  const active = hl.q !== null || hl.k !== null;
  p.base.classList.toggle('dimmed', active);
  let dirty = overlayDirty;
  if (active) {
    const lw = Math.max(1, Math.min(2.5, g.row * 0.22));
    drawLines(p.overlay, W, rasters, 'overlay', hoverArcs(src, shownHeads(s, src), s.layer, hl), g, src.nq, src.nk, lw, lw, 1.15);
    dirty = true;
  } else if (overlayDirty) {
    p.overlay.getContext('2d')!.clearRect(0, 0, p.overlay.width, p.overlay.height);
    dirty = false;
  }
  // labels are joined in order: the queries' then the keys'
  const labels = p.svg.node()!.children;
  lit.set([hl.q === null ? null : labels[hl.q], hl.k === null ? null : labels[src.nq + hl.k]]);
  return dirty;
}

/** Hovering a token's label (the left half: queries, the right: keys) puts it in the store. */
function wireHover(p: Panel, store: Store<AppState>, at: () => { geom: ArcGeom | null; W: number }) {
  d3.select(p.overlay)
    .on('pointermove', (e: PointerEvent) => {
      const s = store.get();
      const cur = current(s);
      const { geom, W } = at();
      if (!cur || !geom) return;
      const [x, y] = d3.pointer(e, p.overlay);
      const role: 'q' | 'k' = x < W / 2 ? 'q' : 'k';
      const i = arcTokenAt(geom, y, role === 'q' ? cur.src.nq : cur.src.nk);
      const side = role === 'q' ? querySide(s.kind) : keySide(s.kind);
      const h = s.hover;
      if (i < 0) {
        if (h) store.set({ hover: null });
        return;
      }
      if (!(h && h.type === 'token' && h.side === side && h.index === i && h.role === role)) {
        store.set({ hover: { type: 'token', side, index: i, role } });
      }
    })
    .on('pointerleave', () => store.set({ hover: null }));
}

export function createArcView(container: HTMLElement, store: Store<AppState>) {
  const p = buildPanel(container, store);
  const bodySize = trackSize(p.body.node()!, () => render());
  let geom: ArcGeom | null = null;
  let arcs: Arc[] = [];
  const lit = createLitSet();
  /** what the token labels were last drawn for (tokens, places, size) */
  let labelsFor: unknown[] = [];
  let overlayDirty = false;
  const rasters: Rasters = {};
  let W = 0;

  function render() {
    timed('arcs', renderNow);
  }
  function renderNow() {
    countRender('arcs');
    const s = store.get();
    const chipsChanged = renderChips(p, s, store);
    const cur = current(s);
    if (!cur) {
      p.svg.selectAll('*').remove();
      labelsFor = [];
      geom = null;
      return;
    }
    const { src, qTokens, kTokens, kind } = cur;
    p.title.text(`Token arcs · layer ${s.layer}${weightingNote(cur.doc, s.nofirst)}`).attr('title', weightingTitle(cur.doc));
    p.colQ.text(`queries · ${SIDE_LABEL[querySide(kind)]}`);
    p.colK.text(`keys · ${SIDE_LABEL[keySide(kind)]}`);
    const zoom = labelScale(s);
    const layout = arcLayout(cur, bodySize(chipsChanged), zoom);
    W = layout.W;
    const g = (geom = layout.g);
    const r = layerArcs(src, s.layer, shownHeads(s, src), s.mass);
    arcs = r.arcs;
    sizeCanvas(p.base, W, g.height);
    drawLines(p.base, W, rasters, 'base', arcs, g, src.nq, src.nk, BASE_LINE, STRONG_WIDTH);
    if (sizeCanvasBox(p.overlay, W, g.height)) overlayDirty = false; // resizing cleared it
    p.svg.attr('width', W).attr('height', g.height);
    p.stage.style('height', `${g.height}px`);

    const stride = labelStride(g.row, 9);
    const fs = Math.max(8, Math.min(13 * zoom, g.row * 0.72));
    const fitChars = Math.max(3, Math.floor((g.xq - 4) / (0.62 * fs))); // monospace: ~0.6 em a character
    // labels: rewritten only when the tokens or their places changed, not for a layer, heads or
    // mass change (1 024 labels at 512 tokens), nor when the document replaces its skeleton
    const labelKey = [qTokens.join('\0'), kTokens.join('\0'), g.xq, g.xk, g.height, fs, stride];
    if (labelKey.length !== labelsFor.length || labelKey.some((v, i) => v !== labelsFor[i])) {
      labelsFor = labelKey;
      drawTokenLabels(p.svg, g, cur, fs, stride, fitChars);
    }
    p.stat.text(statText(s, src.nk, arcs.length, r.total, r.perRow, shownHeads(s, src).length));
    p.base.setAttribute('aria-label', `${KIND_LABEL[kind]} arcs, layer ${s.layer}, ${arcs.length} lines`);
    updateHover();
  }

  function updateHover() {
    if (geom) overlayDirty = drawHover(p, store.get(), geom, W, rasters, lit, overlayDirty);
  }

  wireHover(p, store, () => ({ geom, W }));
  store.subscribe((s, prev) => {
    if (s.doc !== prev.doc || s.kind !== prev.kind || s.layer !== prev.layer || s.heads !== prev.heads || s.mass !== prev.mass || s.present !== prev.present) render();
    else {
      if (s.head !== prev.head) renderChips(p, s, store);
      if (s.hover !== prev.hover) updateHover();
    }
  });
  render();

  return { render, arcs: () => arcs };
}

/** The focused layer's arcs (the heads shown, pruned to `mass`) as a standalone SVG: the download of the arc view. */
function arcSvg(s: AppState): string | null {
  const cur = current(s);
  if (!cur) return null;
  const { t, qTokens, kTokens, kind } = cur;
  const heads = shownHeads(s, t);
  const { arcs } = layerArcs(cur.src, s.layer, heads, s.mass);
  arcs.sort((a, b) => a.w - b.w);
  return arcsSvg({ arcs, qTokens, kTokens, heads, title: `${KIND_LABEL[kind]} · layer ${s.layer} · ${Math.round(s.mass * 100)}% mass${weightingNote(cur.doc, s.nofirst, true)}` });
}

export const spec: ViewSpec = {
  id: 'arc-view',
  place: { slot: 'views', order: 3, tag: 'section', id: 'arc-view' },
  url: ['heads', 'mass'],
  export: { view: 'arcs', svg: arcSvg },
  create: createArcView,
};
