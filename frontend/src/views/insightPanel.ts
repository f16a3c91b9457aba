/**
 * The insight panel under the main views: tabs (in the kind row) for attention over training,
 * the math step-through and the decoding steps, and the panel holding the open one. Also mounts
 * the ablation bar. Only the open view fetches or renders.
 */
import '../insight.css';
import type { Feature } from '../api/types';
import { isEmbedded } from '../embedded';
import { featureBlock } from '../lib/features';
import type { Store } from '../lib/store';
import type { AppState, InsightName } from '../state';
import { createAblationBar } from './ablationBar';
import { createDecodeSteps } from './decodeSteps';
import { createTimelineView } from './timelineView';
import { createTrainPanel } from './trainPanel';

type PanelView = (container: HTMLElement, store: Store<AppState>) => void;

/**
 * The registry of insight panels: adding one is a file in views/ with `createX(container, store)`
 * and one line here (plus its name in state.ts INSIGHTS, for the URL). `lazy` panels are loaded
 * the first time they are opened.
 */
const TABS: { name: Exclude<InsightName, 'none'>; feature?: Feature; label: string; title: string; create?: PanelView; lazy?: () => Promise<PanelView> }[] = [
  { name: 'timeline', feature: 'timeline', label: 'Training', title: 'The same input through every epoch of this run', create: createTimelineView },
  // KaTeX (~270 kB) is only loaded when the math view is first opened (bundled: works offline)
  { name: 'math', feature: 'math', label: 'Math', title: 'Q, K, V, softmax(QKᵀ/√d_k)V of the focused head, with its real numbers', lazy: () => import('./mathView').then((m) => m.createMathView) },
  { name: 'steps', feature: 'steps', label: 'Decoding', title: 'Greedy decoding step by step: what the decoder looked at and its top-5 guesses', create: createDecodeSteps },
  // issue 16: training is the server's to allow (the panel says why not), not a feature of the shown model
  { name: 'train', label: 'Train', title: 'Train a model here and watch its attention form, live', create: createTrainPanel },
];

/** Why the tab cannot open for what is shown, or null. */
function blocked(s: AppState, t: (typeof TABS)[number]): string | null {
  const why = t.feature ? featureBlock(s.checkpoints, s.ckpt, t.feature, s.docSource === 'file', isEmbedded()) : null;
  if (why) return why;
  if (t.name === 'steps' && s.doc && !s.doc.steps && !s.doc.kinds.decoder_self) return 'Decoding steps need a model that writes an output; this one only encodes.';
  return null;
}

export function createInsightPanel(container: HTMLElement, store: Store<AppState>) {
  container.classList.add('insight-panel');
  const tabs = document.getElementById('insight-tabs')!;
  tabs.classList.add('insight-tabs');
  tabs.setAttribute('aria-label', 'Insight views');
  const buttons = TABS.map((t) => {
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
  for (const t of TABS) {
    const el = document.createElement('div');
    el.className = 'insight-body';
    el.dataset.insight = t.name;
    container.append(el);
    bodies.set(t.name, el);
    if (t.create) t.create(el, store);
    else if (t.lazy) {
      const load = t.lazy;
      let loading = false;
      const open = () => {
        if (loading || store.get().insight !== t.name) return;
        loading = true;
        void load().then((create) => create(el, store));
      };
      store.subscribe(open);
      open();
    }
  }
  createAblationBar(document.getElementById('ablation-bar')!, store);

  function render(s: AppState) {
    document.body.classList.toggle('has-insight', s.insight !== 'none');
    container.parentElement?.classList.toggle('has-insight', s.insight !== 'none');
    TABS.forEach((t, i) => {
      const why = blocked(s, t);
      buttons[i]!.classList.toggle('active', s.insight === t.name);
      buttons[i]!.classList.toggle('unavailable', !!why);
      buttons[i]!.setAttribute('aria-disabled', String(!!why));
      buttons[i]!.title = why ?? t.title;
      buttons[i]!.setAttribute('aria-pressed', String(s.insight === t.name));
      bodies.get(t.name)!.hidden = s.insight !== t.name;
    });
    container.hidden = s.insight === 'none';
  }
  store.subscribe((s, p) => {
    // a model that cannot serve the open view (a pretrained encoder and Math…) closes it
    if (s.insight !== 'none' && (s.checkpoints !== p.checkpoints || s.ckpt !== p.ckpt || s.doc !== p.doc || s.insight !== p.insight)) {
      const t = TABS.find((x) => x.name === s.insight);
      if (t && blocked(s, t) && s.checkpointsStatus !== 'loading') return store.set({ insight: 'none' });
    }
    if (s.insight !== p.insight || s.checkpoints !== p.checkpoints || s.ckpt !== p.ckpt || s.doc !== p.doc || s.docSource !== p.docSource) render(s);
  });
  render(store.get());
}
