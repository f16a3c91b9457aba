/**
 * What a long text (an overview document: thumbnails and statistics, tiles on demand; lib/tiled.ts)
 * cannot show, said in place: the diff and the insight panels that need every weight (training
 * timeline, math, decoding steps) are covered by a sentence instead of drawing nothing. (The arcs
 * show a window of the text: views/longArcs.ts.)
 */
import type { Store } from '../lib/store';
import type { AppState } from '../app/state';
import type { ViewSpec } from './spec';

const NEEDS_WEIGHTS: ReadonlySet<string> = new Set(['timeline', 'math', 'steps']);

export function createLongNotes(at: { insight: HTMLElement; diff: HTMLElement }, store: Store<AppState>) {
  const note = (el: HTMLElement, testid: string) => {
    const n = document.createElement('p');
    n.className = 'long-note';
    n.dataset.testid = testid;
    el.append(n);
    return n;
  };
  const insight = note(at.insight, 'insight-long-note');
  const diff = note(at.diff, 'diff-long-note');

  function sync(s: AppState) {
    const doc = s.rawDoc?.overview ? s.doc : null;
    const n = doc ? Math.max(doc.tokens.src.length, doc.tokens.tgt.length) : 0;
    const why = `this text has ${n.toLocaleString('en')} tokens, past what one answer can carry, so the page holds an overview (every head pooled, its statistics, exact tiles on demand)`;
    const panel = doc && NEEDS_WEIGHTS.has(s.insight);
    at.insight.classList.toggle('long-na', !!panel);
    insight.textContent = panel ? `Not available for an overview: this panel needs every weight, and ${why}. Try a shorter text.` : '';
    at.diff.classList.toggle('long-na', !!doc);
    diff.textContent = doc ? `The diff needs every weight of both heads, and ${why}.` : '';
  }
  store.subscribe((s, p) => {
    if (s.doc !== p.doc || s.rawDoc !== p.rawDoc || s.insight !== p.insight) sync(s);
  });
  sync(store.get());
}

// says in the insight panel and the diff view what a long text cannot show there
export const spec: ViewSpec = { id: 'long-notes', place: { in: 'insight-panel' }, create: (el, store, { at }) => createLongNotes({ insight: el, diff: at('diff-view') }, store) };
