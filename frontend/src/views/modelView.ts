/**
 * Model view: every layer × head as a small heatmap. Each thumbnail is a canvas at native
 * resolution (one pixel per cell, scaled by CSS), so a 6 × 12 × 128² document is 72 putImageData
 * calls; a matrix with more than twice the thumbnail's pixels (512 tokens) is reduced once by
 * block max (lib/thumbnail.ts). Hover only moves two absolutely-positioned bands per thumbnail.
 */
import * as d3 from 'd3';
import { ablationKey, clampAblation, isAblated } from '../lib/ablate';
import { hasRollout, type Agg, type HeadRef } from '../lib/headRef';
import type { AttentionSource } from '../lib/source';
import { compareStat, statDefs, statValue, SPECIAL_KEYS, type HeadStats, type StatDef, type StatKey } from '../lib/stats';
import { keySide } from '../lib/doc';
import { thumbSize } from '../lib/geometry';
import { highlightFor } from '../lib/hover';
import type { Store } from '../lib/store';
import type { AppState } from '../app/state';
import { currentAny as current, trackSize, timed } from './common';
import { countRender } from '../app/testHook';
import { statColor, formatStat } from './insightCommon';
import { weightingNote, weightingTitle } from './weightingToggle';
import type { ViewSpec } from './spec';

interface Thumb {
  layer: number;
  head: number;
  key: string;
  /** 'mean' / 'rollout' pseudo-heads sit in extra columns right of the real heads */
  agg: Agg;
  /** grid column (1-based; the layer label is column 1) */
  col: number;
}

interface Frames {
  stats: HeadStats[] | null;
  statKey: string;
  def: StatDef | undefined;
  /** the frame's scale: [lo, hi] */
  lo: number;
  hi: number;
  ordered: boolean;
  value(l: number, h: number): number;
  /** the heads of layer l in their shown order */
  orderOf(l: number): number[];
}

/** Frame colour per head from a statistic, and the optional per-layer ordering (highest first). */
function statFrames(src: AttentionSource, s: AppState): Frames {
  const statKey = s.mvstat;
  const stats = statKey ? src.stats(s.offset) : null;
  const value = (l: number, h: number) => (stats ? statValue(stats[l * src.heads + h]!, statKey as StatKey) : NaN);
  const vals = stats ? stats.map((st) => statValue(st, statKey as StatKey)).filter(Number.isFinite) : [];
  const def = stats ? statDefs(s.offset, SPECIAL_KEYS).find((d) => d.key === statKey) : undefined;
  // frames span the heads' own range (low → pale, high → dark red); titles give the values. The
  // induction and previous-token scores mean the same on any model: a fixed 0–1 scale, so a head
  // lights up as it forms during training (and an untrained model's frames stay pale)
  const fixed = statKey === 'induction' || statKey === 'prev';
  const lo = fixed ? 0 : vals.length ? Math.min(...vals) : 0;
  const hi = fixed ? 1 : vals.length ? Math.max(lo + 1e-9, ...vals) : 1;
  const ordered = !!stats && s.mvorder;
  const orderOf = (l: number) => {
    const hs = d3.range(src.heads);
    if (ordered) hs.sort((a, b) => compareStat(value(l, a), value(l, b), true) || a - b);
    return hs;
  };
  return { stats, statKey, def, lo, hi, ordered, value, orderOf };
}

/** The header's controls: the statistic of the frames, sorting by it, and the enlarge button. */
function buildControls(head: d3.Selection<HTMLElement, unknown, null, undefined>, store: Store<AppState>) {
  // insight: colour frames / order heads by a statistic
  const statCtl = head.append('div').attr('class', 'mv-stat');
  const statSel = statCtl
    .append('select')
    .attr('data-testid', 'mv-stat')
    .attr('aria-label', 'Colour head frames by a statistic')
    .on('change', function () {
      store.set({ mvstat: (this as HTMLSelectElement).value });
    });
  const orderLab = statCtl.append('label').attr('class', 'mv-order').attr('title', 'Order the heads of each layer by the statistic (highest first)');
  const orderBox = orderLab
    .append('input')
    .attr('type', 'checkbox')
    .attr('data-testid', 'mv-order')
    .on('change', function () {
      store.set({ mvorder: (this as HTMLInputElement).checked });
    });
  orderLab.append('span').text('sort');
  // enlarge: the model view takes the whole views area, so a 128-token thumbnail is big enough
  // to tell a previous-token head from the diagonal
  const zoomBtn = statCtl
    .append('button')
    .attr('class', 'btn small mv-zoom')
    .attr('data-testid', 'mv-zoom')
    .on('click', () => store.set({ mvzoom: !store.get().mvzoom, insight: 'none' }));

  function syncStatControls(s: AppState) {
    const cur = current(s);
    const specials = cur ? SPECIAL_KEYS.filter((x) => (keySide(cur.kind) === 'src' ? cur.doc.tokens.src : cur.doc.tokens.tgt).includes(x)) : [];
    const opts = [{ key: '', label: 'Frames: none' }, ...statDefs(s.offset, specials).map((d) => ({ key: d.key as string, label: d.label }))];
    statSel
      .selectAll<HTMLOptionElement, { key: string; label: string }>('option')
      .data(opts, (d) => d.key)
      .join('option')
      .attr('value', (d) => d.key)
      .text((d) => d.label);
    statSel.property('value', s.mvstat);
    orderBox.property('checked', s.mvorder).property('disabled', !s.mvstat);
  }
  function syncZoom(s: AppState) {
    zoomBtn
      .text(s.mvzoom ? 'Shrink' : 'Enlarge')
      .attr('aria-pressed', String(s.mvzoom))
      .attr('title', s.mvzoom ? 'Back to the heatmap and the arcs beside the model view' : 'Give the model view the whole width: large thumbnails tell a previous-token head from the diagonal');
  }
  return { orderBox, syncStatControls, syncZoom };
}

/** The column labels over the grid: heads (or ranks), then the aggregates. */
function drawColumnLabels(colLabels: d3.Selection<HTMLDivElement, unknown, null, undefined>, heads: number, aggs: Agg[], size: number, f: Frames) {
  const colData = [-1, ...d3.range(heads), ...(aggs.length ? [-2] : []), ...aggs.map((_, i) => 1000 + i)];
  colLabels
    .selectAll<HTMLSpanElement, number>('span')
    .data(colData, (d) => String(d))
    .join('span')
    .text((d) => (d < 0 ? '' : d >= 1000 ? aggLabel(aggs[d - 1000]!, size) : f.ordered ? `#${d + 1}` : heads > 8 ? String(d) : `H${d}`))
    .attr('title', (d) =>
      d === -1 || d === -2 ? null : d >= 1000 ? (aggs[d - 1000] === 'mean' ? 'mean over the heads of the layer' : 'attention rollout through the layer (Abnar & Zuidema 2020)') : f.ordered ? `rank ${d + 1} by ${f.def?.label}` : `head ${d}`,
    );
}

/** A new thumbnail button: click focuses (shift-click: the diff's B side), hover names the cell. */
function enterThumb(enter: d3.Selection<d3.EnterElement, Thumb, HTMLDivElement, number>, store: Store<AppState>) {
  const b = enter
    .append('button')
    .attr('class', 'thumb')
    .attr('role', 'gridcell')
    .attr('data-testid', (d) => `model-view-${d.layer}-${d.agg === 'none' ? d.head : d.agg}`)
    .classed('agg', (d) => d.agg !== 'none')
    .on('click', (e: MouseEvent, d) => {
      // shift-click: make this the B side of the diff view
      if (e.shiftKey) store.set({ diff: { layer: d.layer, head: d.head, agg: d.agg } });
      else store.set({ layer: d.layer, head: d.agg === 'none' ? d.head : store.get().head, agg: d.agg });
    })
    .on('pointermove', (e: PointerEvent) => {
      const cur2 = current(store.get());
      if (!cur2) return;
      const r = (e.currentTarget as HTMLElement).getBoundingClientRect();
      const k = Math.min(cur2.src.nk - 1, Math.max(0, Math.floor(((e.clientX - r.left) / r.width) * cur2.src.nk)));
      const q = Math.min(cur2.src.nq - 1, Math.max(0, Math.floor(((e.clientY - r.top) / r.height) * cur2.src.nq)));
      const h = store.get().hover;
      if (!(h && h.type === 'cell' && h.q === q && h.k === k)) store.set({ hover: { type: 'cell', q, k } });
    })
    .on('pointerleave', () => store.set({ hover: null }));
  b.append('canvas').attr('data-testid', (d) => (d.agg === 'none' ? 'model-view-canvas' : 'model-view-agg-canvas'));
  b.append('span').attr('class', 'thumb-tag');
  b.append('div').attr('class', 'band band-row');
  b.append('div').attr('class', 'band band-col');
  return b;
}

/** The aggregate columns, the gaps, the layer label's width and the thumbnails' size in `width` px. */
function gridLayout(src: AttentionSource, s: AppState, width: number): { aggs: Agg[]; gap: number; label: number; size: number } {
  // an overview (a long text) has thumbnails, not the weights a mean or rollout needs
  const aggs: Agg[] = !src.exact ? [] : hasRollout(src) ? ['mean', 'rollout'] : ['mean'];
  const statKey = s.mvstat;
  // frames (stat-frames: 3px ring, 7px gaps, 3px padding) need room; the aggregate columns sit after a 2px spacer
  // many heads: tighter gaps and a shorter layer label, so every head and the aggregates fit
  const many = src.heads + aggs.length > 8;
  const gap = statKey ? (many ? 5 : 7) : many ? 2 : 4;
  const label = many ? 24 : 30;
  return { aggs, gap, label, size: thumbSize(src.heads + aggs.length, width - 2 - gap - (statKey ? 6 : 0), gap, label, 8, s.mvzoom ? 200 : 96) };
}

/** One grid row per layer, its label first. */
function joinRows(grid: d3.Selection<HTMLDivElement, unknown, null, undefined>, layers: number, template: string, gap: number) {
  const rows = grid
    .selectAll<HTMLDivElement, number>('div.mv-row')
    .data(d3.range(layers), (d) => String(d))
    .join((enter) => {
      const r = enter.append('div').attr('class', 'mv-row').attr('role', 'row');
      r.append('span').attr('class', 'mv-layer').attr('role', 'rowheader');
      return r;
    });
  rows.style('grid-template-columns', template).style('gap', `${gap}px`);
  rows.select('span.mv-layer').text((d) => `L${d}`);
  return rows;
}

/** What the grid drew: `gen` numbers the canvases drawn for one tensor and size. */
interface GridState {
  gen: number;
  size: number;
  /** the bands' inline styles as last set (updateHover skips unchanged ones) */
  bandCss: { row: string; col: string };
}

/** Join the thumbnails of every row, style their frames and draw the canvases that changed. */
function drawThumbs(rows: d3.Selection<HTMLDivElement, number, HTMLDivElement, unknown>, kind: AppState['kind'], src: AttentionSource, s: AppState, aggs: Agg[], f: Frames, st: GridState, store: Store<AppState>) {
  // a head is drawn switched off only when the shown document was computed without it
  const ablated = s.docAblate === ablationKey(s.ablate) ? clampAblation(s.ablate, src.layers, src.heads) : [];
  const off = (d: Thumb) => d.agg === 'none' && isAblated(ablated, kind, d.layer, d.head);
  const deferred: HTMLButtonElement[] = [];
  rows
    .selectAll<HTMLButtonElement, Thumb>('button.thumb')
    .data(
      (l) => [
        ...f.orderOf(l).map((h, rank): Thumb => ({ layer: l, head: h, key: `${l}-${h}`, agg: 'none', col: rank + 2 })),
        ...aggs.map((agg, i): Thumb => ({ layer: l, head: 0, key: `${l}-${agg}`, agg, col: src.heads + 3 + i })),
      ],
      (d) => d.key,
    )
    .join((enter) => enterThumb(enter, store))
    .attr('aria-label', (d) => (d.agg === 'none' ? `Layer ${d.layer}, head ${d.head}` : d.agg === 'mean' ? `Layer ${d.layer}, mean of heads` : `Rollout through layer ${d.layer}`))
    .classed('ablated', off)
    .attr('title', (d) => {
      if (off(d)) return 'Switched off (ablated)';
      if (d.agg !== 'none') return d.agg === 'mean' ? `L${d.layer} · mean of heads` : `Rollout through L${d.layer}`;
      return f.stats ? `L${d.layer} · H${d.head} · ${f.def?.label ?? f.statKey}: ${formatStat(f.value(d.layer, d.head), f.statKey)}` : `L${d.layer} · H${d.head} (shift-click: diff against it)`;
    })
    .style('grid-column', (d) => String(d.col))
    .style('--stat', (d) => (f.stats && d.agg === 'none' ? statColor((f.value(d.layer, d.head) - f.lo) / (f.hi - f.lo)) : null))
    .style('width', `${st.size}px`)
    .style('height', `${st.size}px`)
    .each(function (d) {
      (this.querySelector('.thumb-tag') as HTMLElement).textContent = f.ordered && d.agg === 'none' ? String(d.head) : '';
      // canvases are redrawn only when the tensor or the size changed (not for frames / ordering)
      if (this.dataset.gen === String(st.gen)) return;
      if (d.agg === 'rollout' && src.rolloutPending()) {
        // blank until this document's rollout is ready: the previous text's would pass for it
        const c = this.querySelector('canvas')!;
        c.getContext('2d')?.clearRect(0, 0, c.width, c.height);
        this.dataset.gen = '';
        this.classList.add('pending');
        deferred.push(this);
        return;
      }
      this.classList.remove('pending');
      this.dataset.gen = String(st.gen);
      drawThumb(this.querySelector('canvas')!, src, d, st.size);
    });
  if (deferred.length) drawRolloutLater(src, deferred, st);
}

/**
 * A costly rollout (a chain of n³ products) is computed after the first paint, in slices that
 * leave the page responsive (seconds of work at 512 tokens), then drawn; a cheap one is drawn at once.
 */
function drawRolloutLater(src: AttentionSource, deferred: HTMLButtonElement[], st: GridState) {
  const myGen = st.gen;
  const stale = () => myGen !== st.gen;
  const px = st.size;
  requestAnimationFrame(() =>
    void src.computeRollout(stale).then((done) => {
      if (!done || stale()) return;
      for (const el of deferred) {
        el.classList.remove('pending');
        el.dataset.gen = String(st.gen);
        drawThumb(el.querySelector('canvas')!, src, d3.select<HTMLButtonElement, Thumb>(el).datum(), px);
      }
    }),
  );
}

function updateSelection(grid: d3.Selection<HTMLDivElement, unknown, null, undefined>, s: AppState) {
  grid
    .selectAll<HTMLButtonElement, Thumb>('button.thumb')
    .classed('selected', (d) => isSel(d))
    .attr('aria-selected', (d) => String(isSel(d)))
    .attr('tabindex', (d) => (isSel(d) ? 0 : -1));
  function isSel(d: Thumb) {
    return d.layer === s.layer && d.agg === s.agg && (d.agg !== 'none' || d.head === s.head);
  }
}

/** The hovered row and column as bands over every thumbnail. */
function updateHover(container: HTMLElement, s: AppState, st: GridState) {
  const cur = current(s);
  if (!cur) return;
  const hl = highlightFor(s.hover, s.kind);
  const { nq, nk } = cur.src;
  const rowsEls = container.querySelectorAll<HTMLElement>('.band-row');
  const colEls = container.querySelectorAll<HTMLElement>('.band-col');
  // .band is display:none in the stylesheet; a highlighted band must say display:block itself.
  // Inline styles of the 2 × 78 bands restyle only them (custom properties on the grid would
  // restyle all its descendants: twice the style time at 512 tokens); unchanged ones are skipped.
  const rowCss = hl.q === null ? 'display:none' : `display:block;top:${(hl.q / nq) * 100}%;height:max(2px, ${100 / nq}%)`;
  const colCss = hl.k === null ? 'display:none' : `display:block;left:${(hl.k / nk) * 100}%;width:max(2px, ${100 / nk}%)`;
  if (rowCss !== st.bandCss.row) for (const el of rowsEls) el.style.cssText = rowCss;
  if (colCss !== st.bandCss.col) for (const el of colEls) el.style.cssText = colCss;
  st.bandCss = { row: rowCss, col: colCss };
}

export function createModelView(container: HTMLElement, store: Store<AppState>) {
  const root = d3.select(container).classed('panel model-view', true);
  const head = root.append('header').attr('class', 'panel-head');
  const title = head.append('h2').text('Model view');
  head.append('p').attr('class', 'hint').text('All layers × heads · click to focus · arrow keys move');
  const controls = buildControls(head, store);
  const body = root.append('div').attr('class', 'panel-body');
  const colLabels = body.append('div').attr('class', 'mv-cols');
  const grid = body.append('div').attr('class', 'mv-grid').attr('role', 'grid').attr('aria-label', 'Layers by heads');

  const bodySize = trackSize(body.node()!, () => render());
  let rendered: unknown = null;
  let renderedStamp = '';
  let genT: unknown = null;
  let genSize = 0;
  const st: GridState = { gen: 0, size: 48, bandCss: { row: '', col: '' } };

  function render(force = false) {
    timed('model', () => renderNow(force));
  }
  function renderNow(force: boolean) {
    countRender('model');
    const s = store.get();
    const cur = current(s);
    if (!cur) {
      grid.selectAll('*').remove();
      colLabels.selectAll('*').remove();
      rendered = null;
      return;
    }
    const { t, src } = cur;
    title.text(`Model view${weightingNote(cur.doc, s.nofirst)}`).attr('title', weightingTitle(cur.doc));
    const { aggs, gap, label, size: newSize } = gridLayout(src, s, bodySize().width - 4);
    const stamp = `${s.mvstat}|${s.mvorder}|${s.offset}|${gap}|${s.mvzoom}|${s.docAblate}|${ablationKey(s.ablate)}`;
    if (!force && rendered === t && newSize === st.size && stamp === renderedStamp) return;
    const size = (st.size = newSize);
    rendered = t;
    renderedStamp = stamp;
    const frames = statFrames(src, s);
    const template = `${label}px repeat(${src.heads}, ${size}px)${aggs.length ? ` 2px repeat(${aggs.length}, ${size}px)` : ''}`;
    colLabels.style('grid-template-columns', template).style('gap', `${gap}px`);
    grid.style('gap', `${gap}px`);
    drawColumnLabels(colLabels, src.heads, aggs, size, frames);
    grid.classed('stat-frames', !!frames.stats);
    const rows = joinRows(grid, src.layers, template, gap);
    if (t !== genT || size !== genSize) {
      st.gen++;
      grid.attr('data-gen', st.gen); // thumbnails drawn for this tensor carry the same number
      genT = t;
      genSize = size;
    }
    drawThumbs(rows, cur.kind, src, s, aggs, frames, st, store);
    updateSelection(grid, s);
    st.bandCss = { row: '', col: '' }; // thumbnails may be new: style every band
    updateHover(container, s, st);
  }

  // arrows move between layers and heads when the grid has focus (the app also binds them globally)
  grid.on('keydown', (e: KeyboardEvent) => {
    if (moveFocus(store, e.key)) {
      e.preventDefault();
      (container.querySelector('button.thumb.selected') as HTMLElement | null)?.focus();
    }
  });

  controls.syncStatControls(store.get());
  controls.syncZoom(store.get());
  store.subscribe((s, p) => {
    if (s.doc !== p.doc || s.kind !== p.kind || s.offset !== p.offset || s.mvstat !== p.mvstat) controls.syncStatControls(s);
    if (s.mvorder !== p.mvorder) controls.orderBox.property('checked', s.mvorder);
    if (s.mvzoom !== p.mvzoom) controls.syncZoom(s);
    if (s.doc !== p.doc || s.kind !== p.kind || s.mvstat !== p.mvstat || s.mvorder !== p.mvorder || (s.mvstat && s.offset !== p.offset) || s.ablate !== p.ablate || s.docAblate !== p.docAblate) render();
    if (s.layer !== p.layer || s.head !== p.head || s.agg !== p.agg || s.doc !== p.doc || s.kind !== p.kind || s.mvorder !== p.mvorder || s.mvstat !== p.mvstat) updateSelection(grid, s);
    if (s.hover !== p.hover) updateHover(container, s, st);
  });
  render(true);
  return { render };
}

/** An aggregate column's label: a symbol when the column is too narrow for the word (the title says it). */
function aggLabel(agg: Agg, size: number): string {
  if (size >= 30) return agg === 'mean' ? 'mean' : 'roll.';
  return agg === 'mean' ? 'μ' : 'R';
}

/** One thumbnail from the source (a head, the mean or the rollout of a layer), `size` CSS px square. */
function drawThumb(c: HTMLCanvasElement, src: AttentionSource, ref: HeadRef, size: number) {
  const th = src.thumbnail(ref, size, window.devicePixelRatio || 1);
  c.style.imageRendering = th.pixelated ? 'pixelated' : 'auto';
  c.width = th.width;
  c.height = th.height;
  c.getContext('2d')!.putImageData(new ImageData(th.rgba, th.width, th.height), 0, 0);
}

/** Arrow keys: ←/→ head, ↑/↓ layer. Returns true when handled. */
export function moveFocus(store: Store<AppState>, key: string): boolean {
  const s = store.get();
  const cur = current(s);
  if (!cur) return false;
  const { layers, heads } = cur.t;
  const clamp = (v: number, n: number) => Math.max(0, Math.min(n - 1, v));
  const moves: Record<string, [number, number]> = { ArrowLeft: [0, -1], ArrowRight: [0, 1], ArrowUp: [-1, 0], ArrowDown: [1, 0] };
  const m = moves[key];
  if (!m) return false;
  store.set({ layer: clamp(s.layer + m[0], layers), head: clamp(s.head + m[1], heads), agg: 'none' });
  return true;
}

export const spec: ViewSpec = {
  id: 'model-view',
  place: { slot: 'views', order: 1, tag: 'section', id: 'model-view' },
  url: ['layer', 'head', 'agg', 'mvstat', 'mvorder', 'mvzoom'],
  create: createModelView,
};
