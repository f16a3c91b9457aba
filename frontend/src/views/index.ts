/**
 * Every view of the page, in mount order: adding one is a file in views/ with
 * `createX(container, store)` and one line here. `at(id)` is the page's container of that id
 * (index.html); `app` is what a view may ask of the page (run now, open a file).
 */
import type { Store } from '../lib/store';
import type { AppState } from '../state';
import { createAblationBar } from './ablationBar';
import { createArcView } from './arcView';
import { createDecodeSteps } from './decodeSteps';
import { createDiffView } from './diffView';
import { createExamplesMenu } from './examplesMenu';
import { createFocusHeatmap } from './focusHeatmap';
import { createInputBar } from './inputBar';
import { createInsightBar } from './insightBar';
import { createInsightPanel, type InsightTab } from './insightPanel';
import { createKindTabs } from './kindTabs';
import { createModelView } from './modelView';
import { createOutputPanel } from './outputPanel';
import { createPresenterToggle } from './presenterToggle';
import { createSpecialToggle } from './specialToggle';
import { createWeightingToggle } from './weightingToggle';
import { createStatsTable } from './statsTable';
import { createTiledHeatmap } from './tiledHeatmap';
import { createLongArcs } from './longArcs';
import { createLongNotes } from './longNotes';
import { createTimelineView } from './timelineView';
import { createToolbar } from './toolbar';
import { createTrainPanel } from './trainPanel';
import { createArchitecture } from './architecture';
import { createLessonPanel, createLessonsMenu } from './lessonPanel';
import { createSpanBar } from './spanBar';
import { createCompareBar } from './compareBar';
import { createCompareGrid } from './compareGrid';

export interface App {
  run(): void;
  openFile(): void;
}

/**
 * The insight panel's tabs (plus its name in state.ts INSIGHTS, for the URL); `lazy` panels are
 * loaded the first time they are opened.
 */
export const INSIGHT_TABS: readonly InsightTab[] = [
  { name: 'timeline', feature: 'timeline', label: 'Training', title: 'The same input through every epoch of this run', create: createTimelineView },
  // KaTeX (~270 kB and its fonts) is only loaded when the math view is first opened (bundled: works offline)
  { name: 'math', feature: 'math', label: 'Math', title: 'Q, K, V, softmax(QKᵀ/√d_k)V of the focused head, with its real numbers', lazy: () => import('./mathView').then((m) => m.loadMathView()) },
  { name: 'steps', feature: 'steps', label: 'Decoding', title: 'Decoding step by step (greedy or sampled): what the decoder looked at and its top-5 guesses', create: createDecodeSteps },
  // training is the server's to allow (the panel says why not), not a feature of the shown model; it opens
  // beside the focused head so that head is seen redrawn from each snapshot
  { name: 'train', label: 'Train', title: 'Train a model here and watch its attention form, live', create: createTrainPanel, beside: true },
  // the paper's Figure 1 for the loaded model: a map of its attention blocks, beside the focused head
  { name: 'arch', label: 'Architecture', title: 'The model drawn as in the paper: click an attention block to open it', create: createArchitecture, beside: true },
];

export const VIEWS: readonly ((store: Store<AppState>, at: (id: string) => HTMLElement, app: App) => void)[] = [
  (s, at, app) => createInputBar(at('input-bar'), s, { onRun: app.run }),
  (s, at) => createExamplesMenu(at('input-bar'), s),
  (s, at) => createOutputPanel(at('output-panel'), s),
  (s, at) => createKindTabs(at('kind-tabs'), s),
  (s, at) => createWeightingToggle(at('weighting-toggle'), s),
  (s, at) => createSpecialToggle(at('special-toggle'), s),
  (s, at) => createSpanBar(at('span-bar'), at('views'), s),
  (s, at) => createModelView(at('model-view'), s),
  (s, at) => createFocusHeatmap(at('focus-heatmap'), s),
  (s, at) => createTiledHeatmap(at('focus-heatmap'), s),
  (s, at) => createArcView(at('arc-view'), s),
  (s, at) => createLongArcs(at('arc-view'), s),
  (s, at, app) => createToolbar(at('toolbar'), s, app),
  (s, at) => createInsightPanel(at('insight-panel'), s, { tabs: at('insight-tabs') }, INSIGHT_TABS),
  (s, at) => createAblationBar(at('ablation-bar'), s),
  (s, at) => createStatsTable(at('stats-table'), s),
  (s, at) => createDiffView(at('diff-view'), s),
  (s, at) => createCompareGrid(at('diff-view'), s),
  (s, at) => createInsightBar(at('insight-bar'), s),
  (s, at) => createCompareBar(at('input-bar'), at('insight-bar'), s),
  (s, at) => createPresenterToggle(at('toolbar'), s),
  (s, at) => createLongNotes({ insight: at('insight-panel'), diff: at('diff-view') }, s),
  (s, at) => createLessonsMenu(at('input-bar'), s),
  // last: the lesson panel highlights elements of the views above
  (s) => createLessonPanel(s),
];
