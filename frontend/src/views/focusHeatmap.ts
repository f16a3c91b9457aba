/**
 * Focus heatmap of one head: canvas cells (one offscreen pixel per cell, scaled without smoothing),
 * a hatch over masked cells, SVG token labels, and an overlay canvas for hover / keyboard focus.
 */
import * as d3 from 'd3';
import { MASKED_FILL, MASKED_HATCH, matrixToRgba, weightColor } from '../lib/color';
import { KIND_LABEL, keySide, querySide } from '../lib/doc';
import type { AttentionKind, Encoding } from '../api/types';
import { focusRef, drawAlignment } from './insightCommon';
import { refLabel, type HeadRef } from '../lib/headRef';
import type { AttentionSource } from '../lib/source';
import { ablationKey, isAblated } from '../lib/ablate';
import { describeCell, ordinal } from '../lib/format';
import { cellAt, heatmapGeometry, labelStride, type HeatmapGeom } from '../lib/geometry';
import { highlightFor } from '../lib/hover';
import type { Store } from '../lib/store';
import { displayToken, isSpecialToken, quoteToken } from '../lib/tokens';
import type { AppState } from '../app/state';
import { current, type Current, type Size, hatchPattern, labelScale, trackSize, SIDE_LABEL, sizeCanvas, sizeCanvasBox, tokensOf, timed } from './common';
import { countRender } from '../app/testHook';
import { createLitSet } from './litSet';
import { weightingNote, weightingTitle } from './weightingToggle';
import { heatmapSvg } from '../lib/svgExport';
import type { ViewSpec } from './spec';

interface Label {
  axis: 'q' | 'k';
  i: number;
  text: string;
}

const PRECISION: Record<Encoding, { text: string; title: string }> = {
  json: { text: '', title: '' },
  float16: { text: 'float16 · 3 digits', title: 'The weights came as float16: about 3 significant digits, more than a colour can show.' },
  uint8: {
    text: 'uint8 · ±0.005',
    title:
      'This large document came as uint8 (1 byte per weight, square-root companded): a weight is within ±0.005 of the model’s value (finer for small weights), no visible weight reads 0, and every row keeps ≥ 99.5 % of its mass.',
  },
};

type Sel<E extends d3.BaseType> = d3.Selection<E, unknown, null, undefined>;

/** The panel's elements. */
function buildPanel(container: HTMLElement) {
  const root = d3.select(container).classed('panel focus-panel', true).attr('data-view', 'heatmap');
  const head = root.append('header').attr('class', 'panel-head');
  const title = head.append('h2').text('Focus heatmap');
  const readout = head
    .append('div')
    .attr('class', 'readout')
    .attr('data-testid', 'hover-value')
    .attr('aria-live', 'polite');
  // the precision of the weights shown, as they came over the wire (lib/doc.ts `encoding`)
  const precision = head.append('p').attr('class', 'hint').attr('data-testid', 'precision-note');
  const body = root.append('div').attr('class', 'panel-body hm-body');
  const wrap = body
    .append('div')
    .attr('class', 'hm-wrap')
    .attr('tabindex', 0)
    .attr('role', 'application')
    .attr('aria-roledescription', 'attention heatmap')
    .attr('data-testid', 'focus-heatmap');
  const base = wrap.append('canvas').attr('class', 'hm-base').attr('data-testid', 'focus-heatmap-canvas').node()!;
  const overlay = wrap.append('canvas').attr('class', 'hm-overlay').node()!;
  const svg = wrap.append('svg').attr('class', 'hm-labels').attr('aria-hidden', 'true');
  const gq = svg.append('g').attr('class', 'labels-q');
  const gk = svg.append('g').attr('class', 'labels-k');
  const axisQ = svg.append('text').attr('class', 'axis-title');
  const axisK = svg.append('text').attr('class', 'axis-title');
  const legend = body.append('div').attr('class', 'legend');
  // a switched-off head's weights are all 0: a dark square that says nothing unless we say why
  const offNote = wrap.append('p').attr('class', 'ablated-note').attr('data-testid', 'ablated-note').attr('hidden', true);
  return { title, readout, precision, body, wrap, base, overlay, svg, gq, gk, axisQ, axisK, legend, offNote };
}
type Panel = ReturnType<typeof buildPanel>;

/** The cells (one offscreen pixel each, scaled without smoothing), the masked staircase, grid lines and the expected alignment. */
function drawCells(ctx: CanvasRenderingContext2D, offscreen: HTMLCanvasElement, g: HeatmapGeom, cur: Current, ref: HeadRef, align: boolean) {
  const { src } = cur;
  offscreen.width = src.nk;
  offscreen.height = src.nq;
  const m = src.ref(ref) ?? new Float32Array(src.nq * src.nk);
  offscreen.getContext('2d')!.putImageData(new ImageData(matrixToRgba(m, src.nq, src.nk, src.causal), src.nk, src.nq), 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(offscreen, g.x0, g.y0, g.width, g.height);
  if (src.causal) {
    // hatch the staircase above the diagonal
    ctx.save();
    ctx.beginPath();
    for (let q = 0; q < src.nq - 0; q++) {
      const k0 = q + 1;
      if (k0 >= src.nk) continue;
      ctx.rect(g.x0 + k0 * g.cell, g.y0 + q * g.cell, (src.nk - k0) * g.cell, g.cell);
    }
    ctx.fillStyle = hatchPattern(ctx, MASKED_FILL, MASKED_HATCH);
    ctx.fill();
    ctx.restore();
  }
  if (g.cell >= 14) {
    // grid lines for small matrices
    ctx.strokeStyle = 'rgba(255,255,255,0.22)';
    ctx.lineWidth = 1;
    ctx.beginPath();
    for (let k = 1; k < src.nk; k++) {
      ctx.moveTo(g.x0 + k * g.cell + 0.5, g.y0);
      ctx.lineTo(g.x0 + k * g.cell + 0.5, g.y0 + g.height);
    }
    for (let q = 1; q < src.nq; q++) {
      ctx.moveTo(g.x0, g.y0 + q * g.cell + 0.5);
      ctx.lineTo(g.x0 + g.width, g.y0 + q * g.cell + 0.5);
    }
    ctx.stroke();
  }
  if (align) drawAlignment(ctx, g, cur.doc, cur.kind);
}

/** The query and key token labels (`fs` px, every label past `stride` thinned). */
function drawLabels(p: Panel, g: HeatmapGeom, qTokens: string[], kTokens: string[], fs: number, stride: number) {
  const lab = (axis: 'q' | 'k', toks: string[]): Label[] => toks.map((x, i) => ({ axis, i, text: displayToken(x) }));
  p.gq.selectAll<SVGTextElement, Label>('text')
    .data(lab('q', qTokens), (d) => `${d.i}`)
    .join('text')
    .attr('x', g.x0 - 6)
    .attr('y', (d) => g.y0 + (d.i + 0.5) * g.cell)
    .attr('font-size', fs)
    .classed('special', (d) => isSpecialToken(qTokens[d.i]!))
    .classed('thin', (d) => d.i % stride !== 0)
    .text((d) => d.text);
  p.gk.selectAll<SVGTextElement, Label>('text')
    .data(lab('k', kTokens), (d) => `${d.i}`)
    .join('text')
    // one character stands upright over its column (rotated, "l" reads as "/"); longer tokens slant
    .attr('transform', (d) =>
      Array.from(d.text).length <= 1 ? `translate(${g.x0 + (d.i + 0.5) * g.cell},${g.y0 - 6})` : `translate(${g.x0 + (d.i + 0.5) * g.cell + fs * 0.35},${g.y0 - 6}) rotate(-60)`,
    )
    .attr('text-anchor', (d) => (Array.from(d.text).length <= 1 ? 'middle' : null))
    .attr('font-size', fs)
    .classed('special', (d) => isSpecialToken(kTokens[d.i]!))
    .classed('thin', (d) => d.i % stride !== 0)
    .text((d) => d.text);
}

/** The axis titles; a grid of a few rows (a decoder that produced one token) is shorter than the
 *  upright query title: the title then joins the key axis's instead of running over the legend. */
function drawAxes(p: Panel, g: HeatmapGeom, kind: AttentionKind) {
  const qTitle = `query · ${SIDE_LABEL[querySide(kind)]}`;
  const upright = g.height >= qTitle.length * 6.5;
  p.axisQ
    .attr('transform', `translate(10,${g.y0 + g.height / 2}) rotate(-90)`)
    .style('display', upright ? '' : 'none')
    .text(qTitle);
  p.axisK.attr('x', g.x0 + g.width / 2).attr('y', 11).text(`key · ${SIDE_LABEL[keySide(kind)]}${upright ? '' : `  (rows: ${qTitle})`}`);
}

function drawLegend(legend: Sel<HTMLDivElement>, src: AttentionSource, stride: number) {
  legend.html('');
  legend.append('span').text('0');
  legend
    .append('span')
    .attr('class', 'legend-bar')
    .style('background', `linear-gradient(to right, ${d3.range(0, 1.0001, 0.1).map((v) => weightColor(v)).join(',')})`);
  legend.append('span').text('1');
  if (src.causal) {
    legend.append('span').attr('class', 'legend-masked');
    legend.append('span').text('masked (future position)');
  }
  if (stride > 1) {
    legend
      .append('span')
      .attr('class', 'legend-note')
      .attr('data-testid', 'labels-thinned')
      .text(`labels: every ${stride === 2 ? 'other' : ordinal(stride)} token of ${Math.max(src.nq, src.nk)} · hover a cell for its tokens`);
  }
}

/** Hover / keyboard highlight: the query row, the key column and the cell, on the overlay canvas. */
function drawOverlay(overlay: HTMLCanvasElement, g: HeatmapGeom, hl: ReturnType<typeof highlightFor>) {
  const ctx = overlay.getContext('2d')!;
  const dpr = overlay.width / parseFloat(overlay.style.width || '1');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, overlay.width / dpr, overlay.height / dpr);
  ctx.lineWidth = 1.5;
  if (hl.q !== null) {
    ctx.strokeStyle = 'rgba(17,24,39,0.85)';
    ctx.strokeRect(g.x0 + 0.75, g.y0 + hl.q * g.cell + 0.75, g.width - 1.5, Math.max(1, g.cell - 1.5));
  }
  if (hl.k !== null) {
    ctx.strokeStyle = 'rgba(17,24,39,0.85)';
    ctx.strokeRect(g.x0 + hl.k * g.cell + 0.75, g.y0 + 0.75, Math.max(1, g.cell - 1.5), g.height - 1.5);
  }
  if (hl.cell && hl.q !== null && hl.k !== null) {
    const x = g.x0 + hl.k * g.cell;
    const y = g.y0 + hl.q * g.cell;
    const c = Math.max(g.cell, 3);
    ctx.lineWidth = 3;
    ctx.strokeStyle = '#fff';
    ctx.strokeRect(x - 1, y - 1, c + 2, c + 2);
    ctx.lineWidth = 1.5;
    ctx.strokeStyle = '#111827';
    ctx.strokeRect(x - 1, y - 1, c + 2, c + 2);
  }
}

/**
 * The highlight of the hovered cell or token: overlay, lit labels and the readout. Returns whether
 * the overlay holds a highlight now.
 */
function drawHover(p: Panel, s: AppState, cur: Current, g: HeatmapGeom, lit: ReturnType<typeof createLitSet>, overlayDirty: boolean): boolean {
  const hl = highlightFor(s.hover, s.kind);
  // the overlay's context is only created (and its pixels only cleared) once there is a highlight
  const draws = hl.q !== null || hl.k !== null;
  if (draws || overlayDirty) drawOverlay(p.overlay, g, hl);
  // labels are joined in index order: the i-th text is token i
  lit.set([hl.q === null ? null : p.gq.node()!.children[hl.q], hl.k === null ? null : p.gk.node()!.children[hl.k]]);
  const text = hoverText(s, cur, hl);
  if (hl.cell && hl.q !== null && hl.k !== null) p.wrap.attr('aria-label', text);
  p.readout.text(text).classed('empty', !text);
  if (!text) p.readout.text('Hover a cell for its weight');
  return draws;
}

/** The readout's text for the hovered cell or token ('' when nothing is hovered). */
function hoverText(s: AppState, cur: Current, hl: ReturnType<typeof highlightFor>): string {
  const { src, qTokens, kTokens } = cur;
  if (hl.cell && hl.q !== null && hl.k !== null) {
    return describeCell(qTokens[hl.q]!, kTokens[hl.k]!, src.ref(focusRef(s, src))?.[hl.q * src.nk + hl.k] ?? NaN, src.causal && hl.k > hl.q);
  }
  if (s.hover && s.hover.type === 'token') {
    const toks = tokensOf(cur.doc, s.hover.side);
    return `${quoteToken(toks[s.hover.index] ?? '')} · ${SIDE_LABEL[s.hover.side]} token ${s.hover.index}`;
  }
  return '';
}

/** Pointer and keyboard: the hovered cell into the store; arrows move it, Escape clears it. */
function wireInput(p: Panel, store: Store<AppState>, geom: () => HeatmapGeom | null) {
  const setCell = (q: number, k: number) => {
    const h = store.get().hover;
    if (!(h && h.type === 'cell' && h.q === q && h.k === k)) store.set({ hover: { type: 'cell', q, k } });
  };
  d3.select(p.overlay)
    .on('pointermove', (e: PointerEvent) => {
      const g = geom();
      if (!g) return;
      const [x, y] = d3.pointer(e, p.overlay);
      const c = cellAt(g, x, y);
      if (c) setCell(c.q, c.k);
      else if (store.get().hover) store.set({ hover: null });
    })
    .on('pointerleave', () => store.set({ hover: null }));

  // keyboard: arrows move the focused cell; its label is announced ("'h' → 'e': 0.62")
  p.wrap.on('keydown', (e: KeyboardEvent) => {
    const cur = current(store.get());
    if (!cur) return;
    const h = store.get().hover;
    let q = h?.type === 'cell' ? h.q : 0;
    let k = h?.type === 'cell' ? h.k : 0;
    const d: Record<string, [number, number]> = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
    if (e.key === 'Escape') {
      store.set({ hover: null });
      return;
    }
    const m = d[e.key];
    if (!m) return;
    e.preventDefault();
    e.stopPropagation();
    if (h?.type === 'cell') {
      q = Math.max(0, Math.min(cur.src.nq - 1, q + m[0]));
      k = Math.max(0, Math.min(cur.src.nk - 1, k + m[1]));
    }
    setCell(q, k);
  });
  p.wrap.on('focus', () => {
    if (!store.get().hover) setCell(0, 0);
  });
}

export function createFocusHeatmap(container: HTMLElement, store: Store<AppState>) {
  const p = buildPanel(container);
  const bodySize = trackSize(p.body.node()!, () => render());
  const offscreen = document.createElement('canvas');
  let geom: HeatmapGeom | null = null;
  const lit = createLitSet();
  /** the overlay holds a highlight (else it is blank, or has no context yet) */
  let overlayDirty = false;
  /** what the token labels were last written for (tokens, places, size) */
  let labelsFor = '';

  function render() {
    timed('heatmap', renderNow);
  }
  function renderNow() {
    countRender('heatmap');
    const s = store.get();
    const cur = current(s);
    if (!cur) {
      p.title.text('Focus heatmap');
      p.precision.style('display', 'none');
      p.gq.selectAll('*').remove();
      p.gk.selectAll('*').remove();
      labelsFor = '';
      geom = null;
      return;
    }
    const { src, qTokens, kTokens, kind } = cur;
    const ref = focusRef(s, src);
    const label = describeFocus(p, s, cur, ref);
    const zoom = labelScale(s);
    const { g, cw, ch } = focusGeometry(cur, bodySize(), zoom);
    geom = g;
    const ctx = sizeCanvas(p.base, cw, ch);
    ctx.clearRect(0, 0, cw, ch);
    drawCells(ctx, offscreen, g, cur, ref, s.align);
    if (sizeCanvasBox(p.overlay, cw, ch)) overlayDirty = false; // resizing cleared it
    p.svg.attr('width', cw).attr('height', ch);
    p.wrap.style('width', `${cw}px`).style('height', `${ch}px`);
    const spoken = ref.agg === 'none' ? `layer ${s.layer} head ${s.head}` : label.toLowerCase();
    p.base.setAttribute('aria-label', `${KIND_LABEL[kind]}, ${spoken}: ${src.nq} queries by ${src.nk} keys`);
    const stride = labelStride(g.cell, 11);
    const fs = Math.max(9, Math.min(13 * zoom, g.cell * 0.8));
    // rewritten only when the tokens or their places changed (not for a head change, nor when the
    // document replaces its skeleton): a text rewrite is laid out and shaped again
    const labelKey = [qTokens.join('\0'), kTokens.join('\0'), g.x0, g.y0, g.cell, fs, stride].join('|');
    if (labelKey !== labelsFor) {
      labelsFor = labelKey;
      drawLabels(p, g, qTokens, kTokens, fs, stride);
    }
    drawAxes(p, g, kind);
    drawLegend(p.legend, src, stride);
    updateHover();
  }

  function updateHover() {
    const s = store.get();
    const cur = current(s);
    if (!cur || !geom) p.readout.text('');
    else overlayDirty = drawHover(p, s, cur, geom, lit, overlayDirty);
  }

  wireInput(p, store, () => geom);
  store.subscribe((s, prev) => {
    if (s.doc !== prev.doc || s.kind !== prev.kind || s.layer !== prev.layer || s.head !== prev.head || s.agg !== prev.agg || s.align !== prev.align || s.present !== prev.present || s.docAblate !== prev.docAblate) render();
    else if (s.hover !== prev.hover) updateHover();
  });
  render();

  return {
    render,
  };
}

/** The focused head (or the layer's mean / rollout) as a standalone SVG: the download of the focus heatmap. */
function focusSvg(s: AppState): string | null {
  const cur = current(s);
  if (!cur) return null;
  const { src, qTokens, kTokens, kind } = cur;
  const ref = focusRef(s, src);
  return heatmapSvg({
    matrix: src.ref(ref) ?? new Float32Array(src.nq * src.nk),
    nq: src.nq,
    nk: src.nk,
    causal: src.causal,
    qTokens,
    kTokens,
    title: `${KIND_LABEL[kind]} · ${ref.agg === 'none' ? `layer ${s.layer} · head ${s.head}` : refLabel(ref)}${weightingNote(cur.doc, s.nofirst, true)}`,
    qAxis: `query (${SIDE_LABEL[querySide(kind)]})`,
    kAxis: `key (${SIDE_LABEL[keySide(kind)]})`,
  });
}

export const spec: ViewSpec = {
  id: 'focus-heatmap',
  place: { slot: 'views', order: 2, tag: 'section', id: 'focus-heatmap' },
  export: { view: 'heatmap', svg: focusSvg },
  create: createFocusHeatmap,
};

/** The heatmap's geometry in a body of `sz` (room for the longest labels) and the canvas size. */
function focusGeometry(cur: Current, sz: Size, zoom: number): { g: HeatmapGeom; cw: number; ch: number } {
  const W = Math.max(200, sz.width);
  const H = Math.max(200, sz.height - 26);
  const longest = (toks: string[]) => d3.max(toks, (x) => displayToken(x).length) ?? 1;
  const left = Math.min(120 * zoom, 26 + longest(cur.qTokens) * 7.5 * zoom);
  const top = Math.min(110 * zoom, 24 + longest(cur.kTokens) * 6.5 * zoom);
  const g = heatmapGeometry(cur.src.nq, cur.src.nk, W, H, { left, top, right: 8, bottom: 4 }, 1, 40 * zoom);
  return { g, cw: Math.min(W, g.x0 + g.width + 8), ch: Math.min(H, g.y0 + g.height + 4) };
}

/** The title, precision note and switched-off note of the focused matrix; returns its label. */
function describeFocus(p: Panel, s: AppState, cur: Current, ref: HeadRef): string {
  const { kind } = cur;
  const prec = PRECISION[cur.doc.encoding];
  p.precision.text(prec.text).attr('title', prec.title).style('display', prec.text ? '' : 'none');
  const label = ref.agg === 'none' ? `Layer ${s.layer} · Head ${s.head}` : refLabel(ref);
  p.title.text(label + weightingNote(cur.doc, s.nofirst)).attr('title', `${KIND_LABEL[kind]}, ${label}: ${weightingTitle(cur.doc, s.nofirst)}`);
  const off = ref.agg === 'none' && s.docAblate === ablationKey(s.ablate) && isAblated(s.ablate, kind, s.layer, s.head);
  p.offNote
    .attr('hidden', off ? null : true)
    .text(off ? `Switched off: layer ${s.layer} · head ${s.head} is ablated, so its weights are all 0. Switch it on again to see them.` : '');
  return label;
}
