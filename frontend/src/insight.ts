/**
 * The insight views wired into the page: the head-statistics table (right-hand panel, instead of
 * the token arcs), the diff view (takes the focus area while `diff` is set), the switcher in the
 * kind row (Arcs | Head stats, Diff, expected-alignment overlay), and the state clean-up they need.
 */
import * as d3 from 'd3';
import { noAlignmentReason } from './lib/alignment';
import { hasRollout } from './lib/headRef';
import type { Store } from './lib/store';
import type { AppState } from './state';
import { current } from './views/common';
import { createDiffView, defaultDiffRef } from './views/diffView';
import { createStatsTable } from './views/statsTable';

export function installInsight(store: Store<AppState>, el: { views: HTMLElement; bar: HTMLElement; stats: HTMLElement; diff: HTMLElement }) {
  createStatsTable(el.stats, store);
  createDiffView(el.diff, store);
  createInsightBar(el.bar, store);

  const layout = (s: AppState) => {
    el.views.classList.toggle('aside-stats', s.aside === 'stats');
    el.views.classList.toggle('has-diff', !!s.diff && !!s.doc);
  };
  // the focused view and its panel agree: view=stats shows the table, view=diff opens a diff,
  // closing either leaves a view that is on screen
  const syncView = (s: AppState, p: AppState | null) => {
    if (s.view === 'stats' && s.aside !== 'stats') {
      if (p && p.aside === 'stats') store.set({ view: 'arcs' });
      else store.set({ aside: 'stats' });
    } else if (s.view === 'diff' && !s.diff) {
      if (p?.diff) store.set({ view: 'heatmap' });
      else {
        const cur = current(s);
        if (cur && !cur.doc.pending) store.set({ diff: defaultDiffRef(s, cur.t.heads) });
      }
    }
  };
  store.subscribe((s, p) => {
    if (s.view !== p.view || s.aside !== p.aside || s.diff !== p.diff || s.doc !== p.doc) syncView(s, p);
  });
  syncView(store.get(), null);
  store.subscribe((s, p) => {
    if (s.aside !== p.aside || s.diff !== p.diff || s.doc !== p.doc) layout(s);
    // rollout exists for the encoder's self-attention only: elsewhere the focus becomes the mean
    if (s.agg === 'rollout' && (s.doc !== p.doc || s.kind !== p.kind || s.agg !== p.agg)) {
      const cur = current(s);
      if (cur && !hasRollout(cur.t)) store.set({ agg: 'mean' });
    }
  });
  layout(store.get());
}

function createInsightBar(container: HTMLElement, store: Store<AppState>) {
  const root = d3.select(container).attr('class', 'insight-bar');
  const seg = root.append('div').attr('class', 'seg').attr('role', 'group').attr('aria-label', 'Right-hand panel');
  const asides = [
    { v: 'arcs' as const, label: 'Arcs', title: 'Token arcs of the focused layer' },
    { v: 'stats' as const, label: 'Head stats', title: 'Statistics of every head: entropy, distance, line scores, alignment' },
  ];
  const segBtns = seg
    .selectAll('button')
    .data(asides)
    .join('button')
    .attr('data-testid', (d) => `aside-${d.v}`)
    .attr('title', (d) => d.title)
    .text((d) => d.label)
    .on('click', (_e, d) => store.set({ aside: d.v }));
  const diffBtn = root
    .append('button')
    .attr('class', 'toggle')
    .attr('data-testid', 'diff-toggle')
    .attr('title', 'Compare the focused head (A) with another head, layer mean, rollout or checkpoint (B). Shift-click a thumbnail to pick B.')
    .text('Diff A − B')
    .on('click', () => {
      const s = store.get();
      const cur = current(s);
      if (s.diff) store.set({ diff: null, diffckpt: '' });
      else if (cur) store.set({ diff: defaultDiffRef(s, cur.t.heads) });
    });
  const alignLab = root.append('label').attr('class', 'toggle check');
  const alignBox = alignLab
    .append('input')
    .attr('type', 'checkbox')
    .attr('data-testid', 'align-toggle')
    .on('change', function () {
      store.set({ align: (this as HTMLInputElement).checked });
    });
  alignLab.append('span').attr('class', 'align-swatch');
  alignLab.append('span').text('Expected alignment');

  const sync = (s: AppState) => {
    segBtns.classed('active', (d) => d.v === s.aside).attr('aria-pressed', (d) => String(d.v === s.aside));
    diffBtn.classed('active', !!s.diff).attr('aria-pressed', String(!!s.diff)).property('disabled', !s.doc);
    alignBox.property('checked', s.align).property('disabled', !s.doc);
    const cur = current(s);
    const why = cur ? noAlignmentReason(cur.doc, cur.kind) : null;
    alignLab
      .classed('unavailable', !!why)
      .attr('title', why ?? 'Outline the cells the task expects each query to attend to (copy: diagonal, reverse: anti-diagonal, sort: where each output character came from)');
  };
  store.subscribe((s, p) => {
    if (s.aside !== p.aside || s.diff !== p.diff || s.align !== p.align || s.doc !== p.doc || s.kind !== p.kind) sync(s);
  });
  sync(store.get());
}
