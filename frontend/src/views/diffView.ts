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
import { cachedDocument, compareDraw } from '../app/data';
import { matrixToRgba, weightColor } from '../lib/color';
import { keySide, KIND_LABEL, querySide, type AttnDoc } from '../lib/doc';
import type { AttentionKind } from '../api/types';
import { attentionSource, type AttentionSource } from '../lib/source';
import { alignTexts, compareTokens, diffColor, diffDomain, diffMatrices, diffToRgba } from '../lib/diff';
import { formatWeight } from '../lib/format';
import { cellAt, heatmapGeometry, type HeatmapGeom } from '../lib/geometry';
import { AGGS, hasRollout, refLabel, refProblem, type Agg, type HeadRef } from '../lib/headRef';
import { highlightFor } from '../lib/hover';
import type { Store } from '../lib/store';
import { displayToken, quoteToken } from '../lib/tokens';
import { shownDoc, type AppState } from '../app/state';
import { current, sizeCanvas, timed, tokensOf, trackSize, type Current, type Size } from './common';
import { countRender } from '../app/testHook';
import { drawAlignment, focusRef } from './insightCommon';
import type { ViewSpec } from './spec';


interface Pane {
  root: d3.Selection<HTMLDivElement, unknown, null, undefined>;
  title: d3.Selection<HTMLDivElement, unknown, null, undefined>;
  canvas: HTMLCanvasElement;
  overlay: HTMLCanvasElement;
  geom: HeatmapGeom | null;
}

/** What is drawn, for the hover readout. */
interface Drawn {
  a: Float32Array;
  aNk: number;
  b: Float32Array;
  bNk: number;
  d: Float32Array;
  nq: number;
  nk: number;
  qT: string[];
  kT: string[];
  sideBySide: boolean;
}

/** The panel: its header's B controls, swap and close, the message line, the three panes and the footer. */
function buildPanel(container: HTMLElement, store: Store<AppState>) {
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
      const a = focusRef(s, cur.src);
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
  return { root, heading, layerSel, headSel, ckptSel, message, panes, pA, pB, pD, legend, readout };
}
type Panel = ReturnType<typeof buildPanel>;

/** B's layer, head (or aggregate) and checkpoint menus, for B's source (else A's). */
function syncControls(p: Panel, s: AppState, a: AttentionSource, b: AttentionSource | null) {
  if (!s.diff) return;
  const layers = b?.layers ?? a.layers;
  const heads = b?.heads ?? a.heads;
  p.layerSel
    .selectAll<HTMLOptionElement, number>('option')
    .data(d3.range(layers), (d) => String(d))
    .join('option')
    .attr('value', (d) => d)
    .text((d) => `L${d}`);
  p.layerSel.property('value', String(s.diff.layer));
  const headOpts: { v: string; label: string }[] = [
    ...d3.range(heads).map((h) => ({ v: String(h), label: `H${h}` })),
    { v: 'mean', label: 'mean' },
    ...(hasRollout(b ?? a) ? [{ v: 'rollout', label: 'rollout' }] : []),
  ];
  p.headSel
    .selectAll<HTMLOptionElement, { v: string; label: string }>('option')
    .data(headOpts, (d) => d.v)
    .join('option')
    .attr('value', (d) => d.v)
    .text((d) => d.label);
  p.headSel.property('value', s.diff.agg === 'none' ? String(s.diff.head) : s.diff.agg);
  const ckpts = (s.checkpoints?.runs ?? []).flatMap((r) => r.checkpoints.filter((c) => c.usable).map((c) => c.name));
  if (s.diffckpt && !ckpts.includes(s.diffckpt)) ckpts.push(s.diffckpt);
  const ckOpts = [{ v: '', label: s.text2 ? 'same checkpoint' : 'this document' }, ...ckpts.filter((c) => c !== s.doc?.checkpoint || c === s.diffckpt).map((c) => ({ v: c, label: c }))];
  p.ckptSel
    .selectAll<HTMLOptionElement, { v: string; label: string }>('option')
    .data(ckOpts, (d) => d.v)
    .join('option')
    .attr('value', (d) => d.v)
    .text((d) => d.label);
  p.ckptSel.property('value', s.diffckpt);
}

/** The menus write B's reference and checkpoint into the store. */
function wireControls(p: Panel, store: Store<AppState>) {
  p.layerSel.on('change', function () {
    const s = store.get();
    if (s.diff) store.set({ diff: { ...s.diff, layer: Number((this as HTMLSelectElement).value) } });
  });
  p.headSel.on('change', function () {
    const s = store.get();
    const v = (this as HTMLSelectElement).value;
    if (!s.diff) return;
    const agg: Agg = (AGGS as readonly string[]).includes(v) ? (v as Agg) : 'none';
    store.set({ diff: { layer: s.diff.layer, head: agg === 'none' ? Number(v) : 0, agg } });
  });
  p.ckptSel.on('change', function () {
    const s = store.get();
    const cur = current(s);
    const diffckpt = (this as HTMLSelectElement).value;
    // another checkpoint compares the same head (what changed between epochs); this document, another head
    const diff = !cur ? s.diff : diffckpt ? focusRef(s, cur.src) : defaultDiffRef(s, cur.src.heads);
    store.set({ diffckpt, diff });
  });
}

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

/** B's document: the current one, or another checkpoint's / text's, fetched once (data.ts); `onLoad` when it arrives or fails. */
function createBSide(onLoad: () => void) {
  let state: { key: string; doc: AttnDoc | null; error: string | null } = { key: '', doc: null, error: null };
  /** shown as A is (words grouped, special tokens hidden; the span where the tokens line up) */
  function doc(s: AppState): AttnDoc | null {
    const src = bSource(s);
    if (!src || !s.doc) return s.doc;
    if (state.key !== bKeyOf(s, src) || !state.doc) return null;
    const raw = state.doc;
    const a = s.rawDoc;
    const span = s.span && a && raw.tokens[s.span.side].length === a.tokens[s.span.side].length ? s.span : null;
    return shownDoc(raw, s.hidespecial, { words: s.words, span }, s.nofirst);
  }
  function ensure(s: AppState) {
    const src = s.diff ? bSource(s) : null;
    if (!src) return;
    // B weighs its keys as A does, or the difference would be of two weightings
    const weighting = s.doc?.weighting ?? 'attention';
    const key = bKeyOf(s, src);
    if (state.key === key) return;
    state = { key, doc: null, error: null };
    cachedDocument(src.ckpt, src.text, weighting, compareDraw(s.rawDoc, src.ckpt)).then(
      (d) => {
        if (state.key !== key) return;
        state = { key, doc: d, error: null };
        onLoad();
      },
      (e: Error) => {
        if (state.key !== key) return;
        state = { key, doc: null, error: e.message };
        onLoad();
      },
    );
  }
  function source(s: AppState): AttentionSource | null {
    const d = doc(s);
    return d ? attentionSource(d, s.kind) : null;
  }
  return { doc, ensure, source, error: () => state.error };
}

/** One pane: its title, the cells of `rgba` (nq × nk) in `paneW` × `paneH`, the expected alignment and the token labels. */
function drawPane(p: Pane, rgba: Uint8ClampedArray<ArrayBuffer>, nq: number, nk: number, qT: string[], kT: string[], label: string, box: { paneW: number; paneH: number }, align: { doc: AttnDoc; kind: AttentionKind } | null) {
  const longest = (toks: string[]) => d3.max(toks, (x) => displayToken(x).length) ?? 1;
  p.title.text(label).attr('title', label);
  const left = Math.min(70, 14 + longest(qT) * 7);
  const top = Math.min(60, 12 + longest(kT) * 6);
  // the key labels lean right (60°): the last one reaches half its length past its column
  const right = 4 + Math.min(40, Math.ceil(longest(kT) * 7 * 0.5));
  const g = heatmapGeometry(nq, nk, box.paneW, box.paneH, { left, top, right, bottom: 4 }, 1, 28);
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
  if (align) drawAlignment(ctx, g, align.doc, align.kind, nq);
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
}

/** The weight scale of A and B and, unless side by side, the diverging scale of A − B (±m). */
function drawLegend(legend: Panel['legend'], m: number, sideBySide: boolean) {
  legend.html('');
  legend.append('span').text('A, B: 0');
  legend
    .append('span')
    .attr('class', 'legend-bar')
    .style('width', '70px')
    .style('background', `linear-gradient(to right, ${d3.range(0, 1.0001, 0.1).map((v) => weightColor(v)).join(',')})`);
  legend.append('span').text('1');
  if (sideBySide) return;
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
}

/** The hovered row and column on every pane, and the readout of A, B and A − B at the hovered cell. */
function drawHover(p: Panel, s: AppState, drawn: Drawn | null) {
  const hl = drawn ? highlightFor(s.hover, s.kind) : { q: null, k: null, cell: false };
  for (const pane of [p.pA, p.pB, p.pD]) {
    const g = pane.geom;
    const ctx = pane.overlay.getContext('2d')!;
    const dpr = pane.overlay.width / (parseFloat(pane.overlay.style.width) || 1);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, pane.overlay.width / dpr, pane.overlay.height / dpr);
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
  p.readout.text(text).classed('empty', !(drawn && hl.cell));
}

/** Hovering a cell of any pane puts it in the store. */
function wireHover(p: Panel, store: Store<AppState>) {
  for (const pane of [p.pA, p.pB, p.pD]) {
    d3.select(pane.overlay)
      .on('pointermove', (e: PointerEvent) => {
        if (!pane.geom) return;
        const [x, y] = d3.pointer(e, pane.overlay);
        const c = cellAt(pane.geom, x, y);
        const h = store.get().hover;
        if (c && !(h && h.type === 'cell' && h.q === c.q && h.k === c.k)) store.set({ hover: { type: 'cell', q: c.q, k: c.k } });
        else if (!c && h) store.set({ hover: null });
      })
      .on('pointerleave', () => store.set({ hover: null }));
  }
}

/** B's matrix, or why there is none to diff (its document is loading, failed, or lacks the kind or the reference). */
function resolveB(s: AppState & { diff: HeadRef }, cur: Current, bd: AttnDoc | null, error: string | null): { bd: AttnDoc; b: AttentionSource; bm: Float32Array } | { say: string; kind: 'info' | 'error' } {
  const { kind, doc } = cur;
  const bName = s.text2 ? `“${clipText(s.text2)}”` : s.diffckpt ? `${s.diffckpt}` : 'this document';
  if (!bd) {
    if (error) return { say: `B (${bName}): ${error}`, kind: 'error' };
    return { say: `Running ${s.diffckpt || doc.checkpoint} on “${clipText(s.text2 || doc.input)}” for B…`, kind: 'info' };
  }
  const b = attentionSource(bd, kind);
  if (!b) return { say: `B (${bName}) has no ${KIND_LABEL[kind].toLowerCase()}.`, kind: 'error' };
  const problem = refProblem(b, s.diff);
  const bm = b.ref(s.diff);
  if (!cur.src.ref(focusRef(s, cur.src)) || !bm || problem) return { say: `B (${bName}): ${problem ?? 'not available'}.`, kind: 'error' };
  return { bd, b, bm };
}

export function createDiffView(container: HTMLElement, store: Store<AppState>) {
  const p = buildPanel(container, store);
  const size = trackSize(p.panes.node()!, () => render());
  const bSide = createBSide(() => {
    const s = store.get();
    const cur = current(s);
    if (cur) syncControls(p, s, cur.src, bSide.source(s));
    render();
  });
  let drawn: Drawn | null = null;
  /** Nothing drawn since the panes were created or cleared: clearing again would only cost contexts. */
  let blank = true;
  function clearPanes() {
    if (blank) return;
    blank = true;
    for (const pane of [p.pA, p.pB, p.pD]) {
      pane.geom = null;
      pane.title.text('');
      sizeCanvas(pane.canvas, 1, 1).clearRect(0, 0, 1, 1);
      sizeCanvas(pane.overlay, 1, 1);
    }
    p.legend.html('');
    drawn = null;
  }
  function say(text: string, kind: 'info' | 'warn' | 'error' = 'info') {
    p.message.text(text).attr('data-kind', kind).style('display', text ? 'block' : 'none');
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
    syncControls(p, s, cur.src, bSide.source(s));
    bSide.ensure(s);
    p.heading.text(s.text2 ? 'Compare two texts · A − B' : 'Diff · A − B');
    const sd = s as AppState & { diff: HeadRef };
    const b = resolveB(sd, cur, bSide.doc(s), bSide.error());
    if ('say' in b) {
      clearPanes();
      say(b.say, b.kind);
      return;
    }
    const shown = drawDiff(p, sd, cur, b, size(), say);
    if (!shown) return clearPanes();
    drawn = shown;
    updateHover();
  }

  function updateHover() {
    drawHover(p, store.get(), drawn);
  }

  wireHover(p, store);
  wireControls(p, store);
  store.subscribe((s, prev) => {
    if (!s.diff) {
      if (prev.diff) render();
      return;
    }
    if (
      s.diff !== prev.diff || s.diffckpt !== prev.diffckpt || s.text2 !== prev.text2 || s.words !== prev.words || s.doc !== prev.doc || s.kind !== prev.kind || s.layer !== prev.layer || s.head !== prev.head ||
      s.agg !== prev.agg || s.align !== prev.align || s.checkpoints !== prev.checkpoints
    ) render();
    else if (s.hover !== prev.hover) updateHover();
  });
  render();
  return { render };
}

/**
 * A, B and A − B (or A and B side by side where two texts' tokens do not align) in the panes, the
 * message saying how the tokens compare, and the legend; returns what is drawn, for the readout.
 */
function drawDiff(p: Panel, s: AppState & { diff: HeadRef }, cur: Current, B: { bd: AttnDoc; b: AttentionSource; bm: Float32Array }, sz: Size, say: (text: string, kind?: 'info' | 'warn' | 'error') => void): Drawn | null {
  const { src: t, kind, doc } = cur;
  const { bd, b: bt, bm: b } = B;
  const aRef = focusRef(s, t);
  const a = t.ref(aRef)!;
  const texts = !!s.text2;
  const aQ = tokensOf(doc, querySide(kind));
  const aK = tokensOf(doc, keySide(kind));
  const bQ = tokensOf(bd, querySide(kind));
  const bK = tokensOf(bd, keySide(kind));
  const cmp = compareTokens(aQ, aK, bQ, bK);
  if (cmp.nq === 0 || cmp.nk === 0) {
    say('Nothing in common to diff: one side has no tokens.', 'error');
    return null;
  }
  // two texts: a difference only where their tokens align, else side by side (lib/diff.ts)
  const textAlign = texts ? alignTexts(aQ, aK, bQ, bK, querySide(kind) === keySide(kind)) : null;
  const sideBySide = !!textAlign && !textAlign.aligned;
  p.pD.root.classed('not-aligned', sideBySide);
  p.root.attr('data-aligned', textAlign ? String(textAlign.aligned) : null);
  if (textAlign) say(textAlign.message, textAlign.aligned ? 'info' : 'warn');
  else say(cmp.message, cmp.same ? 'info' : 'warn');
  const diff = diffMatrices(a, t.nk, b, bt.nk, cmp.nq, cmp.nk);
  const m = diffDomain(diff.maxAbs);
  const nPanes = sideBySide ? 2 : 3;
  const box = { paneW: Math.max(140, Math.floor((sz.width - (nPanes - 1) * 14) / nPanes)), paneH: Math.max(140, sz.height - 22) };
  const aLabel = `A · ${refLabel(aRef)}${s.diffckpt ? ` · ${doc.checkpoint ?? 'this document'}` : ''}${texts ? ` · “${clipText(doc.input)}”` : ''}`;
  const bLabel = `B · ${refLabel(s.diff)}${s.diffckpt ? ` · ${s.diffckpt}` : ''}${texts ? ` · “${clipText(bd.input)}”` : ''}`;
  const align = (d: AttnDoc | null) => (s.align && d ? { doc: d, kind } : null);
  drawPane(p.pA, matrixToRgba(a, t.nq, t.nk, t.causal), t.nq, t.nk, aQ, aK, aLabel, box, align(doc));
  drawPane(p.pB, matrixToRgba(b, bt.nq, bt.nk, bt.causal), bt.nq, bt.nk, bQ, bK, bLabel, box, align(bd));
  if (sideBySide) {
    p.pD.geom = null;
    sizeCanvas(p.pD.canvas, 1, 1);
    sizeCanvas(p.pD.overlay, 1, 1);
  } else drawPane(p.pD, diffToRgba(diff.d, cmp.nq, cmp.nk, m, t.causal), cmp.nq, cmp.nk, aQ.slice(0, cmp.nq), aK.slice(0, cmp.nk), `A − B · max |A − B| = ${formatWeight(diff.maxAbs)}`, box, align(cmp.same ? doc : null));
  drawLegend(p.legend, m, sideBySide);
  return { a, aNk: t.nk, b, bNk: bt.nk, d: diff.d, nq: cmp.nq, nk: cmp.nk, qT: aQ, kT: aK, sideBySide };
}

/** A sensible B for a fresh diff: the next head of the same layer (or head 0 for aggregates). */
export function defaultDiffRef(s: Pick<AppState, 'layer' | 'head' | 'agg'>, heads: number): HeadRef {
  if (s.agg !== 'none' || heads < 2) return { layer: s.layer, head: 0, agg: s.agg === 'none' ? 'mean' : 'none' };
  return { layer: s.layer, head: (s.head + 1) % heads, agg: 'none' };
}

// takes the focus area while `diff` is set (src/insight.ts)
export const spec: ViewSpec = { id: 'diff-view', place: { slot: 'views', order: 5, tag: 'section', id: 'diff-view' }, url: ['diff', 'diffckpt'], create: createDiffView };
