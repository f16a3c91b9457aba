/**
 * The insight panel under the main views: tabs (in the kind row) for attention over training,
 * the math step-through and the decoding steps, and the panel holding the open one. Also mounts
 * the ablation bar. Only the open view fetches or renders.
 */
import '../insight.css';
import type { ApiClient } from '../api/client';
import type { Store } from '../lib/store';
import type { AppState, InsightName } from '../state';
import { createAblationBar } from './ablationBar';
import { createDecodeSteps } from './decodeSteps';
import { createTimelineView } from './timelineView';

const TABS: { name: Exclude<InsightName, 'none'>; label: string; title: string }[] = [
  { name: 'timeline', label: 'Training', title: 'The same input through every epoch of this run' },
  { name: 'math', label: 'Math', title: 'Q, K, V, softmax(QKᵀ/√d_k)V of the focused head, with its real numbers' },
  { name: 'steps', label: 'Decoding', title: 'Greedy decoding step by step: what the decoder looked at and its top-5 guesses' },
];

export function createInsightPanel(container: HTMLElement, store: Store<AppState>, api: ApiClient) {
  container.classList.add('insight-panel');
  const tabs = document.getElementById('insight-tabs')!;
  tabs.classList.add('insight-tabs');
  tabs.setAttribute('aria-label', 'Insight views');
  const buttons = TABS.map((t) => {
    const b = document.createElement('button');
    b.textContent = t.label;
    b.title = t.title;
    b.dataset.testid = `insight-tab-${t.name}`;
    b.addEventListener('click', () => store.set({ insight: store.get().insight === t.name ? 'none' : t.name, mvzoom: false }));
    tabs.append(b);
    return b;
  });
  const bodies: Record<Exclude<InsightName, 'none'>, HTMLElement> = {
    timeline: document.createElement('div'),
    math: document.createElement('div'),
    steps: document.createElement('div'),
  };
  for (const [name, el] of Object.entries(bodies)) {
    el.className = 'insight-body';
    el.dataset.insight = name;
    container.append(el);
  }
  createTimelineView(bodies.timeline, store, api);
  // KaTeX (~270 kB) is only loaded when the math view is first opened (bundled: works offline)
  let mathLoading = false;
  const loadMath = () => {
    if (mathLoading || store.get().insight !== 'math') return;
    mathLoading = true;
    void import('./mathView').then((m) => m.createMathView(bodies.math, store, api));
  };
  store.subscribe(loadMath);
  loadMath();
  createDecodeSteps(bodies.steps, store);
  createAblationBar(document.getElementById('ablation-bar')!, store, api);

  function render(s: AppState) {
    document.body.classList.toggle('has-insight', s.insight !== 'none');
    container.parentElement?.classList.toggle('has-insight', s.insight !== 'none');
    TABS.forEach((t, i) => {
      buttons[i]!.classList.toggle('active', s.insight === t.name);
      buttons[i]!.setAttribute('aria-pressed', String(s.insight === t.name));
      bodies[t.name].hidden = s.insight !== t.name;
    });
    container.hidden = s.insight === 'none';
  }
  store.subscribe((s, p) => {
    if (s.insight !== p.insight) render(s);
  });
  render(store.get());
}
