/** Tabs for the attention kinds the document has (an encoder-only document shows one). */
import * as d3 from 'd3';
import type { AttentionKind } from '../api/types';
import { availableKinds, KIND_LABEL } from '../lib/doc';
import type { Store } from '../lib/store';
import type { AppState } from '../state';

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
      .classed('active', (d) => d === s.kind)
      .html((d) => {
        const t = s.doc!.kinds[d]!;
        return `${KIND_LABEL[d]} <small>${t.nq}×${t.nk}</small>`;
      });
  }
  store.subscribe((s, p) => {
    if (s.doc !== p.doc || s.kind !== p.kind) render();
  });
  render();
}
