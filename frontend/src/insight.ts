/**
 * The layout and state clean-up of the insight views (their views are in views/index.ts): the
 * head-statistics table takes the right-hand panel instead of the token arcs, the diff view the
 * focus area while `diff` is set, and the focused view and its panel agree.
 */
import { hasRollout } from './lib/headRef';
import type { Store } from './lib/store';
import type { AppState } from './app/state';
import { current } from './views/common';
import { defaultDiffRef } from './views/diffView';

export function installInsight(store: Store<AppState>, el: { views: HTMLElement }) {
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
        if (cur && s.rawDoc) store.set({ diff: defaultDiffRef(s, cur.t.heads) });
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
