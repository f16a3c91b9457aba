/** "Hide [CLS]/[SEP]" switch (URL `hidespecial=1`), shown when the document has special tokens. */
import * as d3 from 'd3';
import { featureBlock } from '../lib/features';
import { hasSpecialTokens, isHideable } from '../lib/special';
import type { Store } from '../lib/store';
import type { AppState } from '../app/state';
import type { ViewSpec } from './spec';

export function createSpecialToggle(container: HTMLElement, store: Store<AppState>) {
  const root = d3.select(container).attr('class', 'special-toggle');
  const label = root.append('label').attr('title', 'Drop special tokens from both axes and renormalise each row over the remaining keys');
  const box = label
    .append('input')
    .attr('type', 'checkbox')
    .attr('data-testid', 'hide-special')
    .on('change', function () {
      store.set({ hidespecial: (this as HTMLInputElement).checked });
    });
  const text = label.append('span');

  function render() {
    const s = store.get();
    const raw = s.rawDoc;
    const why = featureBlock(s.checkpoints, s.ckpt, 'special_tokens', s.docSource === 'file');
    // an overview (a long text) has no weights to renormalise: the switch is not offered
    root.style('display', raw && !raw.overview && hasSpecialTokens(raw) && !why ? '' : 'none');
    box.property('checked', s.hidespecial);
    if (!raw) return;
    const names = [...new Set([...raw.tokens.src, ...raw.tokens.tgt].filter((t) => isHideable(t, raw.specialTokens)))];
    // "renormalise rows" is in the title: the tools row also holds the weighting toggle and fits 1280 px
    text.text(`Hide ${names.slice(0, 3).join(' ') || 'special tokens'}`);
  }
  store.subscribe((s, p) => {
    if (s.rawDoc !== p.rawDoc || s.hidespecial !== p.hidespecial || s.checkpoints !== p.checkpoints || s.ckpt !== p.ckpt) render();
  });
  render();
}

export const spec: ViewSpec = { id: 'special-toggle', place: { slot: 'tools', order: 4, tag: 'div', id: 'special-toggle' }, url: ['hidespecial'], create: createSpecialToggle };
