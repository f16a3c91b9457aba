/**
 * Spans and words (lib/spans.ts): the "group sub-words into words" switch (URL `words=1`), what
 * the current span is and how it is read (URL `span=src:2-5`), and the gestures that select one:
 * shift-click tokens (arc view labels) to extend the span, or drag from one token to another
 * (arc view), or across rows / columns of the focus heatmap (down: query rows, across: key columns).
 * The views themselves draw the merged document the store holds: nothing of theirs changes.
 */
import * as d3 from 'd3';
import { keySide, querySide, type Side } from '../lib/doc';
import { extendSpan, groupsFor, joinTokens, rawPositions, SCHEME_LABEL, wordGroups, wordScheme } from '../lib/spans';
import type { Store } from '../lib/store';
import { displayToken } from '../lib/tokens';
import type { AppState } from '../app/state';
import { SIDE_LABEL } from './common';
import '../spans.css';
import type { ViewSpec } from './spec';

/** How a group is read, said in the view (lib/spans.ts). */
export const SPAN_RULE = 'as a key, its columns summed · as a query, its rows averaged (0..1)';

export function createSpanBar(container: HTMLElement, views: HTMLElement, store: Store<AppState>) {
  const root = d3.select(container).attr('class', 'span-bar').attr('data-testid', 'span-bar');
  const wordsLab = root.append('label').attr('class', 'span-words');
  const wordsBox = wordsLab
    .append('input')
    .attr('type', 'checkbox')
    .attr('data-testid', 'words-toggle')
    .on('change', function () {
      store.set({ words: (this as HTMLInputElement).checked, hover: null });
    });
  wordsLab.append('span').text('Group sub-words into words');
  const wordsRule = wordsLab.append('span').attr('class', 'span-rule').attr('data-testid', 'words-rule');
  const status = root.append('span').attr('class', 'span-status').attr('data-testid', 'span-status').attr('role', 'status');
  const clear = root
    .append('button')
    .attr('class', 'btn small')
    .attr('data-testid', 'span-clear')
    .attr('title', 'Read every token on its own again')
    .text('✕ span')
    .on('click', () => store.set({ span: null, hover: null }));

  function render() {
    const s = store.get();
    const raw = s.rawDoc;
    const usable = !!raw && !raw.overview && !!s.doc;
    root.style('display', usable ? '' : 'none');
    if (!raw || !usable) return;
    const scheme = wordScheme(raw.tokens.src) ?? wordScheme(raw.tokens.tgt);
    const pieces = scheme ? [raw.tokens.src, raw.tokens.tgt].some((t) => wordGroups(t, raw.specialTokens, scheme).some((g) => g.length > 1)) : false;
    wordsLab
      .style('display', scheme ? '' : 'none')
      .classed('unavailable', !pieces)
      .attr('title', scheme ? `${SCHEME_LABEL[scheme]}. The pieces of a word are read as one token: ${SPAN_RULE}.${pieces ? '' : ' Every token of this text is a whole word already.'}` : null);
    wordsBox.property('checked', s.words);
    wordsRule.text(s.words ? '(keys summed, queries averaged)' : '');
    const sp = s.span;
    const n = sp ? raw.tokens[sp.side].length : 0;
    // the group the span became (widened to whole words when words are grouped)
    const group = sp && sp.to <= n ? (groupsFor(raw, { words: s.words, span: sp })[sp.side].find((g) => g.includes(sp.from)) ?? []) : [];
    if (sp && group.length) {
      const from = group[0]!;
      const to = group[group.length - 1]!;
      const text = joinTokens(group.map((i) => raw.tokens[sp.side][i]!));
      status
        .text(
          group.length === 1
            ? `Span: ${SIDE_LABEL[sp.side]} token ${from} '${displayToken(text)}' · shift-click another token to extend it`
            : `Span '${displayToken(text)}' (${SIDE_LABEL[sp.side]} ${from}–${to}) as one token: keys summed, queries averaged`,
        )
        .attr('title', `${group.length} tokens read as one: ${SPAN_RULE}. Shift-click it to read them apart again.`);
      clear.style('display', '');
      status.classed('warn', false);
    } else if (sp) {
      // a span from the URL that does not fit this text: said, not silently dropped
      status
        .text(`Span ${sp.side}:${sp.from}-${sp.to} is past the end of this text (${n} ${SIDE_LABEL[sp.side]} tokens): not applied`)
        .attr('title', 'Clear it, or shift-click tokens to pick another span.');
      status.classed('hint', false).classed('warn', true);
      clear.style('display', '');
      return;
    } else {
      status.text('Shift-click or drag tokens to merge them').attr('title', `Shift-click tokens in the arc view, or drag across rows (queries) or columns (keys) of the heatmap: they are read as one token, ${SPAN_RULE}.`);
      status.classed('hint', true).classed('warn', false);
      clear.style('display', 'none');
      return;
    }
    status.classed('hint', false);
  }
  store.subscribe((s, p) => {
    if (s.rawDoc !== p.rawDoc || s.doc !== p.doc || s.words !== p.words || s.span !== p.span) render();
  });
  render();

  installSpanGestures(views, store);
}

type Press = { kind: 'token'; side: Side; role: 'q' | 'k'; index: number } | { kind: 'cell'; q: number; k: number };

/** What the store's hover names under the pointer, in a view that takes the gestures. */
function pressOf(s: AppState, target: EventTarget | null): Press | null {
  const el = target instanceof Element ? target.closest<HTMLElement>('[data-view]') : null;
  const view = el?.dataset.view;
  const h = s.hover;
  if (!h || (view !== 'arcs' && view !== 'heatmap')) return null;
  if (h.type === 'token' && view === 'arcs') return { kind: 'token', side: h.side, role: h.role ?? 'q', index: h.index };
  if (h.type === 'cell' && view === 'heatmap') return { kind: 'cell', q: h.q, k: h.k };
  return null;
}

function installSpanGestures(views: HTMLElement, store: Store<AppState>) {
  let start: Press | null = null;
  let shift = false;
  views.addEventListener('pointerdown', (e) => {
    start = e.button === 0 ? pressOf(store.get(), e.target) : null;
    shift = e.shiftKey;
  });
  window.addEventListener('pointerup', (e) => {
    const a = start;
    start = null;
    if (!a) return;
    const s = store.get();
    const b = pressOf(s, e.target);
    if (!s.doc || !b || a.kind !== b.kind) return;
    const raw = (side: Side, i: number) => rawPositions(s.doc!, side, i);
    if (a.kind === 'token' && b.kind === 'token') {
      if (a.side !== b.side || a.role !== b.role) return;
      if (a.index === b.index) {
        // a plain click leaves the span alone; a shift-click extends (or clears) it
        if (shift) store.set({ span: extendSpan(s.span, a.side, raw(a.side, a.index)), hover: null });
        return;
      }
      store.set({ span: extendSpan(null, a.side, [...raw(a.side, a.index), ...raw(b.side, b.index)]), hover: null });
      return;
    }
    if (a.kind === 'cell' && b.kind === 'cell') {
      const dq = Math.abs(b.q - a.q);
      const dk = Math.abs(b.k - a.k);
      if (dq === 0 && dk === 0) return;
      // down the rows: a query span; across the columns: a key span
      const side = dq >= dk ? querySide(s.kind) : keySide(s.kind);
      const [i, j] = dq >= dk ? [a.q, b.q] : [a.k, b.k];
      store.set({ span: extendSpan(null, side, [...raw(side, i), ...raw(side, j)]), hover: null });
    }
  });
}

export const spec: ViewSpec = {
  id: 'span-bar',
  place: { slot: 'tools', order: 2, tag: 'div', id: 'span-bar' },
  url: ['span', 'words'],
  // its gestures (shift-click, drag over tokens) are on every view
  create: (el, store, { at }) => createSpanBar(el, at('views'), store),
};
