/** Tabs for the attention kinds the document has (an encoder-only document shows one). */
import * as d3 from 'd3';
import type { AttentionKind } from '../api/types';
import { availableKinds, KIND_LABEL } from '../lib/doc';
import type { Store } from '../lib/store';
import type { AppState } from '../app/state';
import type { ViewSpec } from './spec';

export function createKindTabs(container: HTMLElement, store: Store<AppState>) {
  const root = d3.select(container).attr('class', 'kind-tabs').attr('role', 'tablist').attr('aria-label', 'Attention kind');
  function render() {
    const s = store.get();
    const kinds = s.doc ? availableKinds(s.doc) : [];
    root
      .selectAll<HTMLButtonElement, AttentionKind>('button')
      .data(kinds, (d) => d)
      .join((enter) =>
        enter
          .append('button')
          .attr('role', 'tab')
          .attr('data-testid', (d) => `kind-${d}`)
          .on('click', (_e, d) => store.set({ kind: d, hover: null })),
      )
      .attr('aria-selected', (d) => String(d === s.kind))
      .attr('tabindex', (d) => (d === s.kind ? 0 : -1))
      .classed('active', (d) => d === s.kind)
      .html((d) => {
        const t = s.doc!.kinds[d]!;
        return `${KIND_LABEL[d]} <small>${t.nq}×${t.nk}</small>`;
      });
  }
  // WAI-ARIA tabs: arrows / Home / End select the neighbouring kind and move the focus with it
  root.on('keydown', (e: KeyboardEvent) => {
    const s = store.get();
    const kinds = s.doc ? availableKinds(s.doc) : [];
    // from the tab that has the focus (Tab may have reached one that is not the selected one)
    const from = (e.target as HTMLElement).closest<HTMLElement>('[role=tab]')?.dataset.testid?.replace(/^kind-/, '');
    const i = kinds.indexOf((from as AttentionKind | undefined) ?? s.kind);
    if (!kinds.length || i < 0) return;
    const moves: Record<string, number> = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: kinds.length - 1 };
    if (!(e.key in moves)) return;
    e.preventDefault();
    const next = kinds[(moves[e.key]! + kinds.length) % kinds.length]!;
    store.set({ kind: next, hover: null });
    container.querySelector<HTMLButtonElement>(`[data-testid="kind-${next}"]`)?.focus();
  });
  store.subscribe((s, p) => {
    if (s.doc !== p.doc || s.kind !== p.kind) render();
  });
  render();
}

export const spec: ViewSpec = { id: 'kind-tabs', place: { slot: 'kinds', order: 1, tag: 'nav', id: 'kind-tabs' }, url: ['kind'], create: createKindTabs };
