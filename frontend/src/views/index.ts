/**
 * Every view of the page, in mount order: adding one is a file in views/ exporting its `spec`
 * (views/spec.ts: its place, needs, URL keys, export, create) and one line here. The insight
 * tabs are views placed in a tab: the insight panel takes them in this order.
 */
import type { AppState } from '../app/state';
import type { ViewSpec } from './spec';
import * as ablationBar from './ablationBar';
import * as arcView from './arcView';
import * as architecture from './architecture';
import * as compareBar from './compareBar';
import * as compareGrid from './compareGrid';
import * as decodeSteps from './decodeSteps';
import * as diffView from './diffView';
import * as examplesMenu from './examplesMenu';
import * as focusHeatmap from './focusHeatmap';
import * as inputBar from './inputBar';
import * as insightBar from './insightBar';
import * as insightPanel from './insightPanel';
import * as kindTabs from './kindTabs';
import * as lessonPanel from './lessonPanel';
import * as longArcs from './longArcs';
import * as longNotes from './longNotes';
import * as modelView from './modelView';
import * as outputPanel from './outputPanel';
import * as presenterToggle from './presenterToggle';
import * as spanBar from './spanBar';
import * as specialToggle from './specialToggle';
import * as statsTable from './statsTable';
import * as tiledHeatmap from './tiledHeatmap';
import * as timelineView from './timelineView';
import * as toolbar from './toolbar';
import * as trainPanel from './trainPanel';
import * as weightingToggle from './weightingToggle';

// The math view's spec is here, not in mathView.ts: importing that file would bundle its code
// with the page's, and it is loaded (with KaTeX, ~270 kB and its fonts, bundled: works offline)
// the first time the tab is opened.
const mathView: ViewSpec = {
  id: 'math',
  place: { tab: 'math', label: 'Math', title: 'Q, K, V, softmax(QKᵀ/√d_k)V of the focused head, with its real numbers' },
  needs: { feature: 'math' },
  url: ['mq'],
  lazy: () => import('./mathView').then((m) => m.loadMathView()),
};

export const VIEWS: readonly ViewSpec[] = [
  inputBar.spec,
  examplesMenu.spec,
  outputPanel.spec,
  kindTabs.spec,
  weightingToggle.spec,
  specialToggle.spec,
  spanBar.spec,
  modelView.spec,
  focusHeatmap.spec,
  tiledHeatmap.spec,
  arcView.spec,
  longArcs.spec,
  toolbar.spec,
  insightPanel.spec,
  timelineView.spec,
  mathView,
  decodeSteps.spec,
  trainPanel.spec,
  architecture.spec,
  ablationBar.spec,
  statsTable.spec,
  diffView.spec,
  compareGrid.spec,
  insightBar.spec,
  compareBar.spec,
  presenterToggle.spec,
  longNotes.spec,
  lessonPanel.menuSpec,
  // last: the lesson panel highlights elements of the views above
  lessonPanel.spec,
];

/** The focused view as SVG: its spec's export (the statistics table and the diff download the focus heatmap). */
export function focusedSvg(s: AppState, views: readonly ViewSpec[] = VIEWS): string | null {
  const exp = views.find((v) => v.export?.view === s.view)?.export ?? views.find((v) => v.export?.view === 'heatmap')?.export;
  return exp ? exp.svg(s) : null;
}
