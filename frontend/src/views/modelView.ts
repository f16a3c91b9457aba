/**
 * Model view: every layer × head as a small heatmap. Each thumbnail is a canvas at native
 * resolution (one pixel per cell, scaled by CSS), so a 6 × 12 × 128² document is 72 putImageData
 * calls; hover only moves two absolutely-positioned bands per thumbnail.
 */
import * as d3 from 'd3';
import { matrixToRgba } from '../lib/color';
import { headMatrix } from '../lib/doc';
import { thumbSize } from '../lib/geometry';
import { highlightFor } from '../lib/hover';
import type { Store } from '../lib/store';
import type { AppState } from '../state';
import { current, trackSize, countRender, timed } from './common';

interface Thumb {
  layer: number;
  head: number;
  key: string;
}

export function createModelView(container: HTMLElement, store: Store<AppState>) {
  const root = d3.select(container).classed('panel model-view', true);
  const head = root.append('header').attr('class', 'panel-head');
  head.append('h2').text('Model view');
  head.append('p').attr('class', 'hint').text('All layers × heads · click to focus · arrow keys move');
  const body = root.append('div').attr('class', 'panel-body');
  const colLabels = body.append('div').attr('class', 'mv-cols');
  const grid = body.append('div').attr('class', 'mv-grid').attr('role', 'grid').attr('aria-label', 'Layers by heads');

  const bodySize = trackSize(body.node()!, () => render());
  let rendered: unknown = null;
  let size = 48;

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
    const { t } = cur;
    const width = bodySize().width - 4;
    const newSize = thumbSize(t.heads, width, 4, 30, 16, 96);
    if (!force && rendered === t && newSize === size) return;
    size = newSize;
    rendered = t;
    const pixelated = size >= Math.max(t.nq, t.nk);
    colLabels.style('grid-template-columns', `30px repeat(${t.heads}, ${size}px)`);
    colLabels
      .selectAll<HTMLSpanElement, number>('span')
      .data([-1, ...d3.range(t.heads)], (d) => String(d))
      .join('span')
      .text((d) => (d < 0 ? '' : t.heads > 8 ? String(d) : `H${d}`))
      .attr('title', (d) => (d < 0 ? null : `head ${d}`));

    const rows = grid
      .selectAll<HTMLDivElement, number>('div.mv-row')
      .data(d3.range(t.layers), (d) => String(d))
      .join((enter) => {
        const r = enter.append('div').attr('class', 'mv-row').attr('role', 'row');
        r.append('span').attr('class', 'mv-layer').attr('role', 'rowheader');
        return r;
      });
    rows.style('grid-template-columns', `30px repeat(${t.heads}, ${size}px)`);
    rows.select('span.mv-layer').text((d) => `L${d}`);

    const buf = new Uint8ClampedArray(t.nq * t.nk * 4);
    rows
      .selectAll<HTMLButtonElement, Thumb>('button.thumb')
      .data(
        (l) => d3.range(t.heads).map((h) => ({ layer: l, head: h, key: `${l}-${h}` })),
        (d) => d.key,
      )
      .join((enter) => {
        const b = enter
          .append('button')
          .attr('class', 'thumb')
          .attr('role', 'gridcell')
          .attr('data-testid', (d) => `model-view-${d.layer}-${d.head}`)
          .on('click', (_e, d) => store.set({ layer: d.layer, head: d.head }))
          .on('pointermove', (e: PointerEvent, d) => {
            const cur2 = current(store.get());
            if (!cur2) return;
            const r = (e.currentTarget as HTMLElement).getBoundingClientRect();
            const k = Math.min(cur2.t.nk - 1, Math.max(0, Math.floor(((e.clientX - r.left) / r.width) * cur2.t.nk)));
            const q = Math.min(cur2.t.nq - 1, Math.max(0, Math.floor(((e.clientY - r.top) / r.height) * cur2.t.nq)));
            const h = store.get().hover;
            if (!(h && h.type === 'cell' && h.q === q && h.k === k)) store.set({ hover: { type: 'cell', q, k } });
            void d;
          })
          .on('pointerleave', () => store.set({ hover: null }));
        b.append('canvas').attr('data-testid', 'model-view-canvas');
        b.append('div').attr('class', 'band band-row');
        b.append('div').attr('class', 'band band-col');
        return b;
      })
      .attr('aria-label', (d) => `Layer ${d.layer}, head ${d.head}`)
      .style('width', `${size}px`)
      .style('height', `${size}px`)
      .each(function (d) {
        const c = this.querySelector('canvas')!;
        c.width = t.nk;
        c.height = t.nq;
        c.style.imageRendering = pixelated ? 'pixelated' : 'auto';
        const ctx = c.getContext('2d')!;
        matrixToRgba(headMatrix(t, d.layer, d.head), t.nq, t.nk, t.causal, buf);
        ctx.putImageData(new ImageData(buf, t.nk, t.nq), 0, 0);
      });
    updateSelection();
    updateHover();
  }

  function updateSelection() {
    const s = store.get();
    grid
      .selectAll<HTMLButtonElement, Thumb>('button.thumb')
      .classed('selected', (d) => d.layer === s.layer && d.head === s.head)
      .attr('aria-selected', (d) => String(d.layer === s.layer && d.head === s.head))
      .attr('tabindex', (d) => (d.layer === s.layer && d.head === s.head ? 0 : -1));
  }

  function updateHover() {
    const s = store.get();
    const cur = current(s);
    if (!cur) return;
    const hl = highlightFor(s.hover, s.kind);
    const { nq, nk } = cur.t;
    const rowsEls = container.querySelectorAll<HTMLElement>('.band-row');
    const colEls = container.querySelectorAll<HTMLElement>('.band-col');
    // .band is display:none in the stylesheet; a highlighted band must say display:block itself
    const rowCss = hl.q === null ? 'none' : `display:block;top:${(hl.q / nq) * 100}%;height:max(2px, ${100 / nq}%)`;
    const colCss = hl.k === null ? 'none' : `display:block;left:${(hl.k / nk) * 100}%;width:max(2px, ${100 / nk}%)`;
    for (const el of rowsEls) el.style.cssText = rowCss === 'none' ? 'display:none' : rowCss;
    for (const el of colEls) el.style.cssText = colCss === 'none' ? 'display:none' : colCss;
  }

  // arrows move between layers and heads when the grid has focus (the app also binds them globally)
  grid.on('keydown', (e: KeyboardEvent) => {
    if (moveFocus(store, e.key)) {
      e.preventDefault();
      (container.querySelector('button.thumb.selected') as HTMLElement | null)?.focus();
    }
  });

  store.subscribe((s, p) => {
    if (s.doc !== p.doc || s.kind !== p.kind) render();
    if (s.layer !== p.layer || s.head !== p.head || s.doc !== p.doc || s.kind !== p.kind) updateSelection();
    if (s.hover !== p.hover) updateHover();
  });
  render(true);
  return { render };
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
  store.set({ layer: clamp(s.layer + m[0], layers), head: clamp(s.head + m[1], heads) });
  return true;
}
