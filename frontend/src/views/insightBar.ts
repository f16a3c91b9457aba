/** The switcher in the kind row: Arcs | Head stats (right-hand panel), Diff A − B, expected-alignment overlay. */
import * as d3 from 'd3';
import { noAlignmentReason } from '../lib/alignment';
import type { Store } from '../lib/store';
import type { AppState } from '../app/state';
import { current } from './common';
import { defaultDiffRef } from './diffView';
import type { ViewSpec } from './spec';

export function createInsightBar(container: HTMLElement, store: Store<AppState>) {
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

export const spec: ViewSpec = { id: 'insight-bar', place: { slot: 'tools', order: 1, tag: 'div', id: 'insight-bar' }, url: ['aside', 'align'], create: createInsightBar };
