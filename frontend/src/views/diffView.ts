/**
 * Diff view: A (the focused head / mean / rollout), B (any head, mean or rollout of this document,
 * or of another checkpoint run on the same text) and A − B on a diverging colour-blind-safe scale
 * (PuOr, symmetric around 0). It takes the focus area while `diff` is set (URL diff=L.H|L.mean|L.rollout,
 * diffckpt=run/ckpt_epochN.pt). Token sequences that differ are diffed on the common shape by position,
 * with a message saying where they differ (lib/diff.ts).
 * B may also be a second text on the same model (URL text2, views/compareBar.ts): A and B side by
 * side, and A − B only where the two texts' tokens align (lib/diff.ts alignTexts).
 */
import { clipText } from '../lib/text';
import * as d3 from 'd3';
import { cachedDocument, compareDraw } from '../data';
import { matrixToRgba, weightColor } from '../lib/color';
import { keySide, KIND_LABEL, querySide, type AttnDoc } from '../lib/doc';
import { alignTexts, compareTokens, diffColor, diffDomain, diffMatrices, diffToRgba } from '../lib/diff';
import { formatWeight } from '../lib/format';
import { cellAt, heatmapGeometry, type HeatmapGeom } from '../lib/geometry';
import { AGGS, hasRollout, refLabel, refMatrix, refProblem, type Agg, type HeadRef } from '../lib/headRef';
import { highlightFor } from '../lib/hover';
import type { Store } from '../lib/store';
import { displayToken, quoteToken } from '../lib/tokens';
import { shownDoc, type AppState } from '../state';
import { countRender, current, sizeCanvas, timed, tokensOf, trackSize } from './common';
import { drawAlignment, focusRef } from './insightCommon';
import type { ViewSpec } from './spec';


interface Pane {
  root: d3.Selection<HTMLDivElement, unknown, null, undefined>;
  title: d3.Selection<HTMLDivElement, unknown, null, undefined>;
  canvas: HTMLCanvasElement;
  overlay: HTMLCanvasElement;
  geom: HeatmapGeom | null;
}

export function createDiffView(container: HTMLElement, store: Store<AppState>) {
  const root = d3.select(container).classed('panel diff-panel', true).attr('data-view', 'diff').attr('data-testid', 'diff-view');
  const head = root.append('header').attr('class', 'panel-head diff-head');
  const heading = head.append('h2').text('Diff · A − B');
  const ctl = head.append('div').attr('class', 'diff-controls');
  ctl.append('span').attr('class', 'diff-b-label').text('B:');
  const layerSel = ctl.append('select').attr('data-testid', 'diff-b-layer').attr('aria-label', 'B layer');
  const headSel = ctl.append('select').attr('data-testid', 'diff-b-head').attr('aria-label', 'B head');
  const ckptSel = ctl.append('select').attr('data-testid', 'diff-b-ckpt').attr('aria-label', 'B checkpoint');
  ctl
    .append('button')
    .attr('class', 'btn small')
    .attr('data-testid', 'diff-swap')
    .attr('title', 'Swap A and B (same document only)')
    .text('⇄')
    .on('click', () => {
      const s = store.get();
      const cur = current(s);
      if (!s.diff || !cur || s.diffckpt || s.text2) return;
      const a = focusRef(s, cur.t);
      store.set({ layer: s.diff.layer, head: s.diff.agg === 'none' ? s.diff.head : s.head, agg: s.diff.agg, diff: a });
    });
  ctl
    .append('button')
    .attr('class', 'btn small')
    .attr('data-testid', 'diff-close')
    .attr('title', 'Close the diff')
    .text('✕')
    .on('click', () => store.set({ diff: null, diffckpt: '', text2: '' }));
  const message = root.append('div').attr('class', 'diff-message').attr('data-testid', 'diff-message').attr('role', 'status');
  const body = root.append('div').attr('class', 'panel-body diff-body');
  const panes = body.append('div').attr('class', 'diff-panes');
  const mkPane = (id: string): Pane => {
    const r = panes.append('div').attr('class', `diff-pane diff-pane-${id}`);
    const t = r.append('div').attr('class', 'diff-pane-title');
    const wrap = r.append('div').attr('class', 'diff-canvas-wrap');
    const c = wrap.append('canvas').attr('data-testid', `diff-${id}-canvas`).node()!;
    const o = wrap.append('canvas').attr('class', 'diff-overlay').node()!;
    return { root: r, title: t, canvas: c, overlay: o, geom: null };
  };
  const pA = mkPane('a');
  const pB = mkPane('b');
  const pD = mkPane('d');
  const footer = body.append('div').attr('class', 'diff-footer');
  const legend = footer.append('div').attr('class', 'legend diff-legend');
  const readout = footer.append('div').attr('class', 'readout diff-readout').attr('data-testid', 'diff-readout');

  const size = trackSize(panes.node()!, () => render());
  let bState: { key: string; doc: AttnDoc | null; error: string | null } = { key: '', doc: null, error: null };
  // what is drawn, for the hover readout
  let drawn: { a: Float32Array; aNk: number; b: Float32Array; bNk: number; d: Float32Array; nq: number; nk: number; qT: string[]; kT: string[]; sideBySide: boolean } | null = null;

  function syncControls(s: AppState) {
    const cur = current(s);
    if (!cur || !s.diff) return;
    const bt = bTensor(s);
    const layers = bt?.layers ?? cur.t.layers;
    const heads = bt?.heads ?? cur.t.heads;
    layerSel
      .selectAll<HTMLOptionElement, number>('option')
      .data(d3.range(layers), (d) => String(d))
      .join('option')
      .attr('value', (d) => d)
      .text((d) => `L${d}`);
    layerSel.property('value', String(s.diff.layer));
    const headOpts: { v: string; label: string }[] = [
      ...d3.range(heads).map((h) => ({ v: String(h), label: `H${h}` })),
      { v: 'mean', label: 'mean' },
      ...((bt ?? cur.t) && hasRollout(bt ?? cur.t) ? [{ v: 'rollout', label: 'rollout' }] : []),
    ];
    headSel
      .selectAll<HTMLOptionElement, { v: string; label: string }>('option')
      .data(headOpts, (d) => d.v)
      .join('option')
      .attr('value', (d) => d.v)
      .text((d) => d.label);
    headSel.property('value', s.diff.agg === 'none' ? String(s.diff.head) : s.diff.agg);
    const ckpts = (s.checkpoints?.runs ?? []).flatMap((r) => r.checkpoints.filter((c) => c.usable).map((c) => c.name));
    if (s.diffckpt && !ckpts.includes(s.diffckpt)) ckpts.push(s.diffckpt);
    const ckOpts = [{ v: '', label: s.text2 ? 'same checkpoint' : 'this document' }, ...ckpts.filter((c) => c !== s.doc?.checkpoint || c === s.diffckpt).map((c) => ({ v: c, label: c }))];
    ckptSel
      .selectAll<HTMLOptionElement, { v: string; label: string }>('option')
      .data(ckOpts, (d) => d.v)
      .join('option')
      .attr('value', (d) => d.v)
      .text((d) => d.label);
    ckptSel.property('value', s.diffckpt);
  }
  layerSel.on('change', function () {
    const s = store.get();
    if (s.diff) store.set({ diff: { ...s.diff, layer: Number((this as HTMLSelectElement).value) } });
  });
  headSel.on('change', function () {
    const s = store.get();
    const v = (this as HTMLSelectElement).value;
    if (!s.diff) return;
    const agg: Agg = (AGGS as readonly string[]).includes(v) ? (v as Agg) : 'none';
    store.set({ diff: { layer: s.diff.layer, head: agg === 'none' ? Number(v) : 0, agg } });
  });
  ckptSel.on('change', function () {
    const s = store.get();
    const cur = current(s);
    const diffckpt = (this as HTMLSelectElement).value;
    // another checkpoint compares the same head (what changed between epochs); this document, another head
    const diff = !cur ? s.diff : diffckpt ? focusRef(s, cur.t) : defaultDiffRef(s, cur.t.heads);
    store.set({ diffckpt, diff });
  });

  /** B's checkpoint and text: another checkpoint (diffckpt) and / or a second text (text2). */
  function bSource(s: AppState): { ckpt: string; text: string } | null {
    if (!s.doc || (!s.diffckpt && !s.text2)) return null;
    const ckpt = s.diffckpt || s.doc.checkpoint || s.ckpt;
    const text = s.text2 || s.doc.input;
    if (ckpt === s.doc.checkpoint && text === s.doc.input && s.docSource === 'api') return null;
    return { ckpt, text };
  }
  function bKeyOf(s: AppState, src: { ckpt: string; text: string }): string {
    return `${src.ckpt}\n${src.text}\n${s.doc?.weighting ?? 'attention'}\n${JSON.stringify(compareDraw(s.rawDoc, src.ckpt))}`;
  }
  /** B's document: the current one, or another checkpoint's / text's (fetched once, data.ts),
   *  shown as A is (words grouped, special tokens hidden; the span where the tokens line up). */
  function bDoc(s: AppState): AttnDoc | null {
    const src = bSource(s);
    if (!src || !s.doc) return s.doc;
    if (bState.key !== bKeyOf(s, src) || !bState.doc) return null;
    const raw = bState.doc;
    const a = s.rawDoc;
    const span = s.span && a && raw.tokens[s.span.side].length === a.tokens[s.span.side].length ? s.span : null;
    return shownDoc(raw, s.hidespecial, { words: s.words, span }, s.nofirst);
  }
  function bTensor(s: AppState) {
    return bDoc(s)?.kinds[s.kind] ?? null;
  }
  function ensureB(s: AppState) {
    const src = s.diff ? bSource(s) : null;
    if (!src) return;
    // B weighs its keys as A does, or the difference would be of two weightings
    const weighting = s.doc?.weighting ?? 'attention';
    const key = bKeyOf(s, src);
    if (bState.key === key) return;
    bState = { key, doc: null, error: null };
    cachedDocument(src.ckpt, src.text, weighting, compareDraw(s.rawDoc, src.ckpt)).then(
      (doc) => {
        if (bState.key !== key) return;
        bState = { key, doc, error: null };
        syncControls(store.get());
        render();
      },
      (e: Error) => {
        if (bState.key !== key) return;
        bState = { key, doc: null, error: e.message };
        render();
      },
    );
  }

  /** Nothing drawn since the panes were created or cleared: clearing again would only cost contexts. */
  let blank = true;
  function clearPanes() {
    if (blank) return;
    blank = true;
    for (const p of [pA, pB, pD]) {
      p.geom = null;
      p.title.text('');
      sizeCanvas(p.canvas, 1, 1).clearRect(0, 0, 1, 1);
      sizeCanvas(p.overlay, 1, 1);
    }
    legend.html('');
    drawn = null;
  }
  function say(text: string, kind: 'info' | 'warn' | 'error' = 'info') {
    message.text(text).attr('data-kind', kind).style('display', text ? 'block' : 'none');
  }

  function render() {
    timed('diff', renderNow);
  }
  function renderNow() {
    countRender('diff');
    const s = store.get();
    const cur = current(s);
    if (!cur || !s.diff) {
      clearPanes();
      say('');
      return;
    }
    blank = false;
    syncControls(s);
    ensureB(s);
    const { t, kind, doc } = cur;
    const aRef = focusRef(s, t);
    const a = refMatrix(t, aRef);
    const bd = bDoc(s);
    const texts = !!s.text2;
    heading.text(texts ? 'Compare two texts · A − B' : 'Diff · A − B');
    const bName = texts ? `“${clipText(s.text2)}”` : s.diffckpt ? `${s.diffckpt}` : 'this document';
    if (!bd) {
      clearPanes();
      if (bState.error) say(`B (${bName}): ${bState.error}`, 'error');
      else say(`Running ${s.diffckpt || doc.checkpoint} on “${clipText(s.text2 || doc.input)}” for B…`);
      return;
    }
    const bt = bd.kinds[kind];
    if (!bt) {
      clearPanes();
      say(`B (${bName}) has no ${KIND_LABEL[kind].toLowerCase()}.`, 'error');
      return;
    }
    const problem = refProblem(bt, s.diff);
    const b = refMatrix(bt, s.diff);
    if (!a || !b || problem) {
      clearPanes();
      say(`B (${bName}): ${problem ?? 'not available'}.`, 'error');
      return;
    }
    const aQ = tokensOf(doc, querySide(kind));
    const aK = tokensOf(doc, keySide(kind));
    const bQ = tokensOf(bd, querySide(kind));
    const bK = tokensOf(bd, keySide(kind));
    const cmp = compareTokens(aQ, aK, bQ, bK);
    if (cmp.nq === 0 || cmp.nk === 0) {
      clearPanes();
      say('Nothing in common to diff: one side has no tokens.', 'error');
      return;
    }
    // two texts: a difference only where their tokens align, else side by side (lib/diff.ts)
    const textAlign = texts ? alignTexts(aQ, aK, bQ, bK, querySide(kind) === keySide(kind)) : null;
    const sideBySide = !!textAlign && !textAlign.aligned;
    pD.root.classed('not-aligned', sideBySide);
    root.attr('data-aligned', textAlign ? String(textAlign.aligned) : null);
    if (textAlign) say(textAlign.message, textAlign.aligned ? 'info' : 'warn');
    else say(cmp.message, cmp.same ? 'info' : 'warn');
    const diff = diffMatrices(a, t.nk, b, bt.nk, cmp.nq, cmp.nk);
    const m = diffDomain(diff.maxAbs);

    const sz = size();
    const nPanes = sideBySide ? 2 : 3;
    const paneW = Math.max(140, Math.floor((sz.width - (nPanes - 1) * 14) / nPanes));
    const paneH = Math.max(140, sz.height - 22);
    const longest = (toks: string[]) => d3.max(toks, (x) => displayToken(x).length) ?? 1;
    const aLabel = `A · ${refLabel(aRef)}${s.diffckpt ? ` · ${doc.checkpoint ?? 'this document'}` : ''}${texts ? ` · “${clipText(doc.input)}”` : ''}`;
    const bLabel = `B · ${refLabel(s.diff)}${s.diffckpt ? ` · ${s.diffckpt}` : ''}${texts ? ` · “${clipText(bd.input)}”` : ''}`;
    const draw = (p: Pane, rgba: Uint8ClampedArray<ArrayBuffer>, nq: number, nk: number, qT: string[], kT: string[], label: string, alignDoc: AttnDoc | null) => {
      p.title.text(label).attr('title', label);
      const left = Math.min(70, 14 + longest(qT) * 7);
      const top = Math.min(60, 12 + longest(kT) * 6);
      // the key labels lean right (60°): the last one reaches half its length past its column
      const right = 4 + Math.min(40, Math.ceil(longest(kT) * 7 * 0.5));
      const g = heatmapGeometry(nq, nk, paneW, paneH, { left, top, right, bottom: 4 }, 1, 28);
      p.geom = g;
      const cw = g.x0 + g.width + right;
      const ch = g.y0 + g.height + 4;
      const off = document.createElement('canvas');
      off.width = nk;
      off.height = nq;
      off.getContext('2d')!.putImageData(new ImageData(rgba, nk, nq), 0, 0);
      const ctx = sizeCanvas(p.canvas, cw, ch);
      ctx.clearRect(0, 0, cw, ch);
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(off, g.x0, g.y0, g.width, g.height);
      ctx.strokeStyle = 'rgba(0,0,0,0.12)';
      ctx.strokeRect(g.x0 - 0.5, g.y0 - 0.5, g.width + 1, g.height + 1);
      if (s.align && alignDoc) drawAlignment(ctx, g, alignDoc, kind, nq);
      // labels (every n-th so they stay legible)
      const fs = Math.max(8, Math.min(12, g.cell * 0.8));
      const stride = Math.max(1, Math.ceil(10 / g.cell));
      ctx.fillStyle = '#1b1f24';
      ctx.font = `${fs}px ui-monospace, SFMono-Regular, Menlo, Consolas, 'DejaVu Sans Mono', monospace`;
      ctx.textAlign = 'right';
      ctx.textBaseline = 'middle';
      for (let i = 0; i < nq; i += stride) ctx.fillText(displayToken(qT[i] ?? ''), g.x0 - 4, g.y0 + (i + 0.5) * g.cell);
      for (let j = 0; j < nk; j += stride) {
        ctx.save();
        ctx.translate(g.x0 + (j + 0.5) * g.cell + fs * 0.3, g.y0 - 4);
        ctx.rotate(-Math.PI / 3);
        ctx.textAlign = 'left';
        ctx.fillText(displayToken(kT[j] ?? ''), 0, 0);
        ctx.restore();
      }
      sizeCanvas(p.overlay, cw, ch);
      d3.select(p.canvas.parentElement).style('width', `${cw}px`).style('height', `${ch}px`);
    };
    draw(pA, matrixToRgba(a, t.nq, t.nk, t.causal), t.nq, t.nk, aQ, aK, aLabel, doc);
    draw(pB, matrixToRgba(b, bt.nq, bt.nk, bt.causal), bt.nq, bt.nk, bQ, bK, bLabel, bd);
    if (sideBySide) {
      pD.geom = null;
      sizeCanvas(pD.canvas, 1, 1);
      sizeCanvas(pD.overlay, 1, 1);
    } else draw(pD, diffToRgba(diff.d, cmp.nq, cmp.nk, m, t.causal), cmp.nq, cmp.nk, aQ.slice(0, cmp.nq), aK.slice(0, cmp.nk), `A − B · max |A − B| = ${formatWeight(diff.maxAbs)}`, cmp.same ? doc : null);
    drawn = { a, aNk: t.nk, b, bNk: bt.nk, d: diff.d, nq: cmp.nq, nk: cmp.nk, qT: aQ, kT: aK, sideBySide };

    legend.html('');
    legend.append('span').text('A, B: 0');
    legend
      .append('span')
      .attr('class', 'legend-bar')
      .style('width', '70px')
      .style('background', `linear-gradient(to right, ${d3.range(0, 1.0001, 0.1).map((v) => weightColor(v)).join(',')})`);
    legend.append('span').text('1');
    if (sideBySide) {
      updateHover();
      return;
    }
    legend.append('span').attr('class', 'legend-gap');
    legend.append('span').text(`A − B: −${m}`);
    legend
      .append('span')
      .attr('class', 'legend-bar')
      .attr('data-testid', 'diff-legend')
      .style('width', '110px')
      .style('background', `linear-gradient(to right, ${d3.range(-1, 1.0001, 0.1).map((v) => diffColor(v * m, m)).join(',')})`);
    legend.append('span').text(`+${m}`);
    legend.append('span').attr('class', 'legend-note').text('purple: B larger · orange: A larger');
    updateHover();
  }

  function updateHover() {
    const s = store.get();
    const hl = drawn ? highlightFor(s.hover, s.kind) : { q: null, k: null, cell: false };
    for (const p of [pA, pB, pD]) {
      const g = p.geom;
      const ctx = p.overlay.getContext('2d')!;
      const dpr = p.overlay.width / (parseFloat(p.overlay.style.width) || 1);
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      ctx.clearRect(0, 0, p.overlay.width / dpr, p.overlay.height / dpr);
      if (!g) continue;
      ctx.lineWidth = 1.5;
      ctx.strokeStyle = 'rgba(17,24,39,0.85)';
      if (hl.q !== null && hl.q < g.nq) ctx.strokeRect(g.x0 + 0.75, g.y0 + hl.q * g.cell + 0.75, g.width - 1.5, Math.max(1, g.cell - 1.5));
      if (hl.k !== null && hl.k < g.nk) ctx.strokeRect(g.x0 + hl.k * g.cell + 0.75, g.y0 + 0.75, Math.max(1, g.cell - 1.5), g.height - 1.5);
    }
    let text = 'Hover a cell: A, B and A − B';
    if (drawn && hl.cell && hl.q !== null && hl.k !== null && hl.q < drawn.nq && hl.k < drawn.nk) {
      const { q, k } = { q: hl.q, k: hl.k };
      const d = drawn.d[q * drawn.nk + k]!;
      text = drawn.sideBySide
        ? `${q}, ${k}  A ${formatWeight(drawn.a[q * drawn.aNk + k]!)} · B ${formatWeight(drawn.b[q * drawn.bNk + k]!)} (different tokens: no difference)`
        : `${quoteToken(drawn.qT[q] ?? '')} → ${quoteToken(drawn.kT[k] ?? '')}  A ${formatWeight(drawn.a[q * drawn.aNk + k]!)} · B ${formatWeight(drawn.b[q * drawn.bNk + k]!)} · A − B ${d >= 0 ? '+' : '−'}${formatWeight(Math.abs(d))}`;
    }
    readout.text(text).classed('empty', !(drawn && hl.cell));
  }

  for (const p of [pA, pB, pD]) {
    d3.select(p.overlay)
      .on('pointermove', (e: PointerEvent) => {
        if (!p.geom) return;
        const [x, y] = d3.pointer(e, p.overlay);
        const c = cellAt(p.geom, x, y);
        const h = store.get().hover;
        if (c && !(h && h.type === 'cell' && h.q === c.q && h.k === c.k)) store.set({ hover: { type: 'cell', q: c.q, k: c.k } });
        else if (!c && h) store.set({ hover: null });
      })
      .on('pointerleave', () => store.set({ hover: null }));
  }

  store.subscribe((s, p) => {
    if (!s.diff) {
      if (p.diff) render();
      return;
    }
    if (
      s.diff !== p.diff || s.diffckpt !== p.diffckpt || s.text2 !== p.text2 || s.words !== p.words || s.doc !== p.doc || s.kind !== p.kind || s.layer !== p.layer || s.head !== p.head ||
      s.agg !== p.agg || s.align !== p.align || s.checkpoints !== p.checkpoints
    ) render();
    else if (s.hover !== p.hover) updateHover();
  });
  render();
  return { render };
}

/** A sensible B for a fresh diff: the next head of the same layer (or head 0 for aggregates). */
export function defaultDiffRef(s: Pick<AppState, 'layer' | 'head' | 'agg'>, heads: number): HeadRef {
  if (s.agg !== 'none' || heads < 2) return { layer: s.layer, head: 0, agg: s.agg === 'none' ? 'mean' : 'none' };
  return { layer: s.layer, head: (s.head + 1) % heads, agg: 'none' };
}

// takes the focus area while `diff` is set (src/insight.ts)
export const spec: ViewSpec = { id: 'diff-view', place: { slot: 'views', order: 5, tag: 'section', id: 'diff-view' }, url: ['diff', 'diffckpt'], create: createDiffView };
