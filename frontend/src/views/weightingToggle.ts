/**
 * "Attention / Value-weighted" (URL `weighting`) and "Without the first token" (URL `nofirst`).
 *
 * Value-weighted asks the server for the document again with `weighting: "value_norm"` (data.ts):
 * each weight α_ij times ‖v_j W^O_h‖, the norm of what key j's value actually adds through the
 * head's slice of W^O, rows renormalised (Kobayashi et al. 2020). A head that puts 90 % on the
 * first token may move almost nothing there. Every view draws the document it gets, so all of them
 * follow; their titles name the weighting (`weightingNote`).
 *
 * A document opened from a file, or a saved single-file page, holds one weighting: only that one
 * is offered (the other needs the server). "Without the first token" is computed here, on any
 * document (lib/firstToken.ts): key 0 dropped, each row renormalised over the remaining keys.
 */
import type { Weighting } from '../api/types';
import { isEmbedded } from '../app/embedded';
import type { AttnDoc } from '../lib/doc';
import { checkpointInfo, supportedFeatures } from '../lib/features';
import type { Store } from '../lib/store';
import type { AppState } from '../app/state';
import type { ViewSpec } from './spec';

export const WEIGHTING_LABEL: Record<Weighting, string> = { attention: 'Attention', value_norm: 'Value-weighted' };
const WEIGHTING_TITLE: Record<Weighting, string> = {
  attention: 'The softmax attention weights α',
  value_norm: 'Each weight α times ‖v W^O‖ of its key (what the head actually mixes in), rows renormalised',
};

/** What a view's title adds for the weights it draws: '' for plain attention (so the titles people
 *  know stay as they were); `withFirst`: also say the first token was dropped (exports, tooltips). */
export function weightingNote(doc: AttnDoc | null, nofirst = false, withFirst = false): string {
  if (!doc) return '';
  const parts = doc.weighting === 'value_norm' ? [' · value-weighted'] : [];
  if (withFirst && nofirst && !doc.overview) parts.push(' · without the first token');
  return parts.join('');
}

/** The weights a view's tooltip names, always (attention included). */
export function weightingTitle(doc: AttnDoc | null, nofirst = false): string {
  if (!doc) return '';
  return WEIGHTING_TITLE[doc.weighting] + (nofirst && !doc.overview ? '; the first token dropped and rows renormalised' : '');
}

export function createWeightingToggle(container: HTMLElement, store: Store<AppState>) {
  container.className = 'weighting-toggle';
  const group = document.createElement('div');
  group.className = 'seg';
  group.setAttribute('role', 'radiogroup');
  group.setAttribute('aria-label', 'Weights shown');
  group.dataset.testid = 'weighting-toggle';
  const buttons = (['attention', 'value_norm'] as const).map((w) => {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'btn small';
    b.dataset.weighting = w;
    b.dataset.testid = `weighting-${w}`;
    b.setAttribute('role', 'radio');
    b.textContent = WEIGHTING_LABEL[w];
    b.addEventListener('click', () => {
      if (store.get().weighting !== w) store.set({ weighting: w });
    });
    group.append(b);
    return b;
  });
  const first = document.createElement('label');
  first.className = 'nofirst';
  first.title = 'Drop key 0 (the first token, where many heads park their attention) and renormalise each row over the remaining keys';
  const box = document.createElement('input');
  box.type = 'checkbox';
  box.dataset.testid = 'no-first-token';
  box.addEventListener('change', () => store.set({ nofirst: box.checked }));
  const text = document.createElement('span');
  text.textContent = 'No first token';
  first.append(box, text);
  container.append(group, first);

  function render() {
    const s = store.get();
    const raw = s.rawDoc;
    container.style.display = raw ? '' : 'none';
    // a file holds the weighting it was saved with: the other needs the server
    const fixed = raw && (s.docSource === 'file' || isEmbedded()) ? raw.weighting : null;
    // value norms come from the modules the step-through finds (`math`); a model without them has only attention
    const info = checkpointInfo(s.checkpoints, s.ckpt);
    const noValues = fixed === null && info !== null && !supportedFeatures(info).has('math');
    for (const b of buttons) {
      const w = b.dataset.weighting as Weighting;
      const on = (raw && s.status !== 'loading' ? raw.weighting : s.weighting) === w;
      b.classList.toggle('active', on);
      b.setAttribute('aria-checked', String(on));
      b.hidden = fixed !== null && w !== fixed;
      b.disabled = fixed !== null || (noValues && w === 'value_norm');
      b.title =
        fixed !== null
          ? `${WEIGHTING_TITLE[w]}. This saved document holds only this weighting; the other needs the attnviz server.`
          : noValues && w === 'value_norm'
            ? 'Value weighting is not available for this model: the server cannot find its value and output projections.'
            : WEIGHTING_TITLE[w];
    }
    // an overview (a long text) holds block maxima, not rows to renormalise
    first.style.display = raw?.overview ? 'none' : '';
    box.checked = s.nofirst;
  }
  store.subscribe((s, p) => {
    if (
      s.rawDoc !== p.rawDoc || s.weighting !== p.weighting || s.nofirst !== p.nofirst || s.docSource !== p.docSource ||
      s.status !== p.status || s.checkpoints !== p.checkpoints || s.ckpt !== p.ckpt
    ) render();
  });
  render();
}

export const spec: ViewSpec = {
  id: 'weighting-toggle',
  place: { slot: 'tools', order: 3, tag: 'div', id: 'weighting-toggle' },
  url: ['weighting', 'nofirst'],
  create: createWeightingToggle,
};
