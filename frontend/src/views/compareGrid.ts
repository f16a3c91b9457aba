/**
 * Every head of two texts (URL `text2`), under the diff view's panes: the model view of the
 * comparison. Where the texts' tokens align (lib/diff.ts alignTexts) one grid of A − B per head on
 * one diverging scale, so the heads that react to the edit stand out; where they do not, A's and
 * B's grids side by side. Click a head to focus it (A and B follow).
 */
import * as d3 from 'd3';
import { cachedDocument, compareDraw } from '../app/data';
import { matrixToRgba } from '../lib/color';
import { alignTexts, diffDomain, diffMatrices, diffToRgba } from '../lib/diff';
import { keySide, querySide, type AttnDoc } from '../lib/doc';
import type { AttentionKind } from '../api/types';
import { attentionSource, type AttentionSource } from '../lib/source';
import type { Store } from '../lib/store';
import { shownDoc, type AppState } from '../app/state';
import { current, tokensOf } from './common';
import type { ViewSpec } from './spec';

interface Thumb {
  l: number;
  h: number;
  rgba: Uint8ClampedArray<ArrayBuffer>;
  nq: number;
  nk: number;
}

type Grid = { id: string; label: string; thumbs: Thumb[] };

/** Where the texts' tokens align, one grid of A − B per head on one scale; else A's and B's side by side. */
function headGrids(kind: AttentionKind, aDoc: AttnDoc, a: AttentionSource, bDoc: AttnDoc, b: AttentionSource): Grid[] {
  const qa = tokensOf(aDoc, querySide(kind));
  const ka = tokensOf(aDoc, keySide(kind));
  const al = alignTexts(qa, ka, tokensOf(bDoc, querySide(kind)), tokensOf(bDoc, keySide(kind)), querySide(kind) === keySide(kind));
  if (al.aligned) {
    const diffs = d3.range(a.layers).flatMap((l) => d3.range(a.heads).map((h) => ({ l, h, d: diffMatrices(a.matrix(l, h), a.nk, b.matrix(l, h), b.nk, a.nq, a.nk) })));
    const m = diffDomain(d3.max(diffs, (x) => x.d.maxAbs) ?? 0);
    return [
      {
        id: 'd',
        label: `A − B, every head (±${m})`,
        thumbs: diffs.map(({ l, h, d }) => ({ l, h, nq: a.nq, nk: a.nk, rgba: diffToRgba(d.d, a.nq, a.nk, m, a.causal) })),
      },
    ];
  }
  const all = (t: AttentionSource): Thumb[] => d3.range(t.layers).flatMap((l) => d3.range(t.heads).map((h) => ({ l, h, nq: t.nq, nk: t.nk, rgba: matrixToRgba(t.matrix(l, h), t.nq, t.nk, t.causal) })));
  return [
    { id: 'a', label: 'A, every head', thumbs: all(a) },
    { id: 'b', label: 'B, every head', thumbs: all(b) },
  ];
}

export function createCompareGrid(container: HTMLElement, store: Store<AppState>) {
  const body = container.querySelector<HTMLElement>('.diff-body') ?? container;
  const root = d3.select(body).insert('div', '.diff-footer').attr('class', 'compare-grid').attr('data-testid', 'compare-grid');
  let bKey = '';
  let bRaw: AttnDoc | null = null;

  function hide() {
    root.style('display', 'none').selectAll('*').remove();
  }

  function render() {
    const s = store.get();
    const cur = current(s);
    if (!s.text2 || !s.diff || !cur) return hide();
    const ckpt = s.diffckpt || cur.doc.checkpoint || s.ckpt;
    const draw = compareDraw(s.rawDoc, ckpt);
    const key = `${ckpt}\n${s.text2}\n${cur.doc.weighting}\n${JSON.stringify(draw)}`;
    if (key !== bKey) {
      bKey = key;
      bRaw = null;
      // the diff view asks for the same document: data.ts's cache answers both with one request
      cachedDocument(ckpt, s.text2, cur.doc.weighting, draw).then(
        (d) => {
          if (bKey !== key) return;
          bRaw = d;
          render();
        },
        () => undefined, // the diff view says what went wrong
      );
    }
    if (!bRaw) return hide();
    const bDoc = shownDoc(bRaw, s.hidespecial, { words: s.words, span: null }, s.nofirst);
    const a = cur.src;
    const b = attentionSource(bDoc, s.kind);
    if (!b || b.layers !== a.layers || b.heads !== a.heads || !a.exact || !b.exact) return hide();
    root.style('display', null);
    const grids = headGrids(s.kind, cur.doc, a, bDoc, b);
    const width = body.clientWidth || 600;
    const cell = Math.max(12, Math.min(28, Math.floor((width / grids.length - 24) / a.heads) - 3));
    const g = root
      .selectAll<HTMLDivElement, Grid>('div.compare-heads')
      .data(grids, (d) => d.id)
      .join((enter) => {
        const e = enter.append('div').attr('class', 'compare-heads');
        e.append('div').attr('class', 'compare-heads-title');
        e.append('div').attr('class', 'compare-heads-grid');
        return e;
      })
      .attr('data-testid', (d) => `compare-heads-${d.id}`);
    g.select('.compare-heads-title').text((d) => d.label);
    g.select<HTMLDivElement>('.compare-heads-grid')
      .style('grid-template-columns', `repeat(${a.heads}, ${cell}px)`)
      .selectAll<HTMLCanvasElement, Thumb>('canvas')
      .data((d) => d.thumbs, (t) => `${t.l}.${t.h}`)
      .join('canvas')
      .attr('data-testid', (t) => `compare-thumb-${t.l}-${t.h}`)
      .attr('title', (t) => `L${t.l} · H${t.h} · click to focus`)
      .classed('focused', (t) => s.agg === 'none' && t.l === s.layer && t.h === s.head)
      .style('width', `${cell}px`)
      .style('height', `${cell}px`)
      .each(function (t) {
        this.width = t.nk;
        this.height = t.nq;
        this.getContext('2d')!.putImageData(new ImageData(t.rgba, t.nk, t.nq), 0, 0);
      })
      .on('click', (_e, t) => store.set({ layer: t.l, head: t.h, agg: 'none' }));
  }

  store.subscribe((s, p) => {
    if (
      s.text2 !== p.text2 || s.diff !== p.diff || s.diffckpt !== p.diffckpt || s.doc !== p.doc || s.kind !== p.kind || s.layer !== p.layer ||
      s.head !== p.head || s.agg !== p.agg || s.words !== p.words
    ) render();
  });
  render();
}

// two texts side by side, in the diff view's container
export const spec: ViewSpec = { id: 'compare-grid', place: { in: 'diff-view' }, create: createCompareGrid };
