/**
 * The insight panel under the main views: its tabs (in the kind row; the views placed in a tab, in
 * VIEWS order, views/index.ts) and the panel holding the open one. Only the open view fetches or renders.
 */
import '../insight.css';
import type { Feature } from '../api/types';
import { embeddedTrainingBlock, isEmbedded } from '../app/embedded';
import { featureBlock } from '../lib/features';
import type { Store } from '../lib/store';
import type { AppState, InsightName } from '../app/state';
import { isTab, type Page, type ViewSpec } from './spec';

export type PanelView = (container: HTMLElement, store: Store<AppState>) => void;

/** An insight tab: its panel is `create`d at once, or loaded (`lazy`) the first time it is opened. */
export interface InsightTab {
  name: Exclude<InsightName, 'none'>;
  feature?: Feature;
  label: string;
  title: string;
  create?: PanelView;
  lazy?: () => Promise<PanelView>;
  /** Opens beside the focused head (in the arcs' place) instead of over both, for a panel that is about the focused head changing. */
  beside?: boolean;
}

/** Why the tab cannot open for what is shown, or null. */
function blocked(s: AppState, t: InsightTab): string | null {
  const why = t.feature ? featureBlock(s.checkpoints, s.ckpt, t.feature, s.docSource === 'file', isEmbedded()) : null;
  if (why) return why;
  // a saved file or notebook output has no server to train on
  if (t.name === 'train') return embeddedTrainingBlock();
  // judged on a received document (`rawDoc`): a skeleton has no decoder side yet
  if (t.name === 'steps' && s.rawDoc && !s.rawDoc.steps && !s.rawDoc.kinds.decoder_self) return 'Decoding steps need a model that writes an output; this one only encodes.';
  return null;
}

/** The panel in `container`, its tab buttons in `el.tabs`, one per entry of `panels` (the tab views: `tabsOf`). */
export function createInsightPanel(container: HTMLElement, store: Store<AppState>, el: { tabs: HTMLElement }, panels: readonly InsightTab[]) {
  container.classList.add('insight-panel');
  const tabs = el.tabs;
  tabs.classList.add('insight-tabs');
  tabs.setAttribute('aria-label', 'Insight views');
  const buttons = panels.map((t) => {
    const b = document.createElement('button');
    b.textContent = t.label;
    b.title = t.title;
    b.dataset.testid = `insight-tab-${t.name}`;
    b.addEventListener('click', () => {
      const s = store.get();
      // an unavailable tab says why (its tooltip and the note) instead of failing after the click
      if (blocked(s, t)) return;
      store.set({ insight: s.insight === t.name ? 'none' : t.name, mvzoom: false });
    });
    tabs.append(b);
    return b;
  });
  const bodies = new Map<InsightName, HTMLElement>();
  for (const t of panels) {
    const el = document.createElement('div');
    el.className = 'insight-body';
    el.dataset.insight = t.name;
    container.append(el);
    bodies.set(t.name, el);
    if (t.create) t.create(el, store);
    else if (t.lazy) {
      const load = t.lazy;
      // failed: shown in the panel, tried again when the tab is next opened (not on every change)
      let state: 'idle' | 'loading' | 'done' | 'failed' = 'idle';
      const open = () => {
        if (store.get().insight !== t.name) {
          if (state === 'failed') state = 'idle';
          return;
        }
        if (state !== 'idle') return;
        state = 'loading';
        load()
          .then((create) => {
            state = 'done';
            el.replaceChildren();
            create(el, store);
          })
          .catch((e: unknown) => {
            state = 'failed';
            el.textContent = `This view could not be loaded: ${(e as Error).message}.`;
          });
      };
      store.subscribe(open);
      open();
    }
  }

  function render(s: AppState) {
    document.body.classList.toggle('has-insight', s.insight !== 'none');
    container.parentElement?.classList.toggle('has-insight', s.insight !== 'none');
    container.parentElement?.classList.toggle('insight-beside', panels.some((t) => t.beside && t.name === s.insight));
    panels.forEach((t, i) => {
      const why = blocked(s, t);
      buttons[i]!.classList.toggle('active', s.insight === t.name);
      buttons[i]!.classList.toggle('unavailable', !!why);
      buttons[i]!.setAttribute('aria-disabled', String(!!why));
      buttons[i]!.title = why ?? t.title;
      buttons[i]!.setAttribute('aria-pressed', String(s.insight === t.name));
      // a saved file or notebook can never gain a server: a tab it cannot open is left out, not greyed
      buttons[i]!.hidden = !!why && isEmbedded();
      bodies.get(t.name)!.hidden = s.insight !== t.name;
    });
    container.hidden = s.insight === 'none';
  }
  store.subscribe((s, p) => {
    // a model that cannot serve the open view (a pretrained encoder and Math…) closes it
    if (s.insight !== 'none' && (s.checkpoints !== p.checkpoints || s.ckpt !== p.ckpt || s.doc !== p.doc || s.insight !== p.insight)) {
      const t = panels.find((x) => x.name === s.insight);
      if (t && blocked(s, t) && s.checkpointsStatus !== 'loading') return store.set({ insight: 'none' });
    }
    if (s.insight !== p.insight || s.checkpoints !== p.checkpoints || s.ckpt !== p.ckpt || s.doc !== p.doc || s.docSource !== p.docSource) render(s);
  });
  render(store.get());
}

/** The insight tabs among the page's views (their list order), as the panel takes them. */
function tabsOf(page: Page): InsightTab[] {
  return page.views.flatMap((v) => {
    if (!isTab(v.place)) return [];
    const { create, lazy } = v;
    const { tab: name, label, title, beside } = v.place;
    const withPage = (c: NonNullable<ViewSpec['create']>): PanelView => (el, store) => c(el, store, page);
    return [{ name, feature: v.needs?.feature, label, title, beside, create: create && withPage(create), lazy: lazy && (() => lazy().then(withPage)) }];
  });
}

// takes the focus area beside the model view while open
export const spec: ViewSpec = {
  id: 'insight-panel',
  place: { slot: 'views', order: 6, tag: 'section', id: 'insight-panel', testid: 'insight-panel' },
  // its tab buttons, in the kind row
  more: [{ slot: 'kinds', order: 2, tag: 'nav', id: 'insight-tabs' }],
  url: ['insight'],
  create: (el, store, page) => createInsightPanel(el, store, { tabs: page.at('insight-tabs') }, tabsOf(page)),
};
