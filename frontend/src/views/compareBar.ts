/**
 * A second text on the same model (URL `text2`), compared with the first in the diff view
 * (views/diffView.ts: A and B side by side, A − B where the tokens align). A "Compare texts"
 * button beside "Diff A − B" opens a second input under the first, filled with the first text so one word can be
 * edited; typing there opens the diff with B = the focused head of the second text.
 */
import * as d3 from 'd3';
import { isEmbedded } from '../app/embedded';
import { sameRef } from '../lib/headRef';
import type { Store } from '../lib/store';
import type { AppState } from '../app/state';
import { current } from './common';
import { focusRef } from './insightCommon';
import '../spans.css';
import type { ViewSpec } from './spec';

const TYPING_MS = 250;

export function createCompareBar(inputBar: HTMLElement, toolsBar: HTMLElement, store: Store<AppState>) {
  let open = false;
  const button = d3
    .select(toolsBar)
    .append('button')
    .attr('class', 'toggle')
    .attr('data-testid', 'compare-toggle')
    .attr('title', 'Compare with a second text on the same model: side by side, and A − B where the tokens align')
    .text('Compare texts')
    .on('click', () => {
      const s = store.get();
      if (open || s.text2) close();
      else {
        open = true;
        render();
        input.property('value', s.text);
        (input.node() as HTMLInputElement).focus();
      }
    });
  const row = d3.select(inputBar.parentElement ?? inputBar).append('div').attr('class', 'compare-bar').attr('data-testid', 'compare-bar');
  row.append('label').attr('for', 'attnviz-text2').text('B: second text');
  const input = row
    .append('input')
    .attr('id', 'attnviz-text2')
    .attr('type', 'text')
    .attr('spellcheck', 'false')
    .attr('data-testid', 'text2-input')
    .attr('placeholder', 'a second text, e.g. the first with one word changed');
  row
    .append('button')
    .attr('class', 'btn small')
    .attr('data-testid', 'text2-close')
    .attr('title', 'Stop comparing')
    .text('✕')
    .on('click', () => close());

  let timer: number | undefined;
  const apply = () => {
    clearTimeout(timer);
    const text2 = String(input.property('value'));
    const s = store.get();
    const cur = current(s);
    if (!text2) {
      store.set({ text2: '' });
      return;
    }
    // the diff opens on the same head of both texts
    store.set({ text2, diff: s.diff && s.text2 ? s.diff : cur ? focusRef(s, cur.t) : s.diff });
  };
  input.on('input', () => {
    clearTimeout(timer);
    timer = window.setTimeout(apply, TYPING_MS);
  });
  input.on('keydown', (e: KeyboardEvent) => {
    if (e.key === 'Enter') apply();
    if (e.key === 'Escape') close();
  });

  function close() {
    clearTimeout(timer);
    open = false;
    const s = store.get();
    store.set(s.text2 ? { text2: '', diff: null } : {});
    render();
  }

  function render() {
    const s = store.get();
    const shown = open || !!s.text2;
    row.style('display', shown ? '' : 'none');
    // a single-file page has no model to run a second text on
    button.style('display', isEmbedded() ? 'none' : '');
    button.classed('active', shown).attr('aria-pressed', String(shown)).property('disabled', !s.doc && !s.text2);
    if (s.text2 && document.activeElement !== input.node()) input.property('value', s.text2);
  }
  store.subscribe((s, p) => {
    if (s.text2 !== p.text2 || s.doc !== p.doc) render();
    // a link naming a second text opens its comparison once the first document is there
    const cur = current(s);
    if (s.text2 && !s.diff && cur && !p.rawDoc && s.rawDoc) store.set({ diff: focusRef(s, cur.t) });
    // comparing texts, B is the same head as A: it follows a change of the focused head
    if (s.text2 && s.diff && cur && (s.layer !== p.layer || s.head !== p.head || s.agg !== p.agg) && sameRef(s.diff, focusRef(p, cur.t))) {
      const next = focusRef(s, cur.t);
      if (!sameRef(next, s.diff)) store.set({ diff: next });
    }
  });
  render();
}

// its second input goes under the first, its button in the insight bar
export const spec: ViewSpec = { id: 'compare-bar', place: { in: 'input-bar' }, url: ['text2'], create: (el, store, { at }) => createCompareBar(el, at('insight-bar'), store) };
