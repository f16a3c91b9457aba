/**
 * The math, stepped through with real numbers: for the focused head and a chosen query token,
 * Q, K, V → QKᵀ → ÷√d_k → mask → softmax → weighted sum of V → the head's output, each step with
 * its formula (KaTeX, bundled) and the model's own numbers (POST /api/attention/math, cached).
 * A Hugging Face model's own variant is what is written: its `scale` (T5: none), T5's position
 * bias as a step of its own, RoPE-rotated Q and K, a key/value head shared by several query heads.
 * Hovering a score or weight writes out q·k term by term; the chosen query row is highlighted
 * through every step; hovering a cell also lights it in the other views.
 */
import { loadKatex, type KatexApi } from '../lib/katex';
import { fetchMath, sameDraw } from '../app/data';
import type { AttentionKind, MathResponse } from '../api/types';
import { keySide, KIND_LABEL, querySide, type Side } from '../lib/doc';
import { highlightFor, sameHover } from '../lib/hover';
import { rawPositions, shownIndex } from '../lib/spans';
import { dotProduct, fmtNum, isInvSqrt, maxAbs, rowWindow, shownColumns, signedTint, weightTint } from '../lib/mathFormat';
import type { Store } from '../lib/store';
import { displayToken, isSpecialToken, quoteToken } from '../lib/tokens';
import type { AppState } from '../app/state';
import { timed } from './common';
import { countRender } from '../app/testHook';

const DK_SHOWN = 16;

type Tint = (v: number) => { bg: string; dark: boolean };

interface TableSpec {
  id: string;
  rowLabels: string[];
  /** which axis the rows are: 'q' (queries), 'k' (keys), or none */
  rowAxis: 'q' | 'k' | '';
  colLabels: string[];
  colAxis: 'k' | 'd';
  data: number[][];
  tint: Tint;
  /** the highlighted query row (rowAxis 'q') */
  qrow?: number;
  /** the row a long table keeps in view (default: qrow): the rows around it are shown */
  focusRow?: number;
  masked?: (i: number, j: number) => boolean;
  /** what a masked cell holds: −∞ (scores, the default) or 0 (weights) */
  maskedValue?: 0;
  hiddenCols?: number;
  /** cells explain their dot product on hover */
  explain?: boolean;
  /** extra trailing rows (e.g. the Σ row) */
  footer?: { label: string; values: number[]; tint: Tint };
  /** leading column (e.g. α) */
  lead?: { label: string; values: number[]; tint: Tint };
}

let katex: KatexApi;

/** The math view's constructor, once KaTeX (loaded on first use, lib/katex.ts) is there. */
export async function loadMathView(): Promise<typeof createMathView> {
  katex = await loadKatex();
  return createMathView;
}

function tex(expr: string, display = true): HTMLElement {
  const el = document.createElement('div');
  el.className = display ? 'mformula' : 'mformula inline';
  katex.render(expr, el, { throwOnError: false, displayMode: display, output: 'htmlAndMathml' });
  return el;
}

/** A token as KaTeX text: \text{'h'} with specials escaped. */
function texTok(t: string): string {
  // inside \text only text-mode commands work: \lt / \gt there render as red errors
  const s = displayToken(t).replace(/[\\{}$&#^_%~]/g, (c) => `\\${c}`).replace(/</g, '\\textless{}').replace(/>/g, '\\textgreater{}');
  return `\\text{“${s}”}`;
}

function cell(td: HTMLTableCellElement, v: number, tint: Tint) {
  const { bg, dark } = tint(v);
  td.style.background = bg;
  if (dark) td.classList.add('dark');
  td.textContent = fmtNum(v);
  td.dataset.v = String(v);
}

function buildTable(spec: TableSpec): HTMLElement {
  const wrap = document.createElement('div');
  wrap.className = 'mx-wrap';
  // a matrix wider than its card scrolls: say so under it (a bare scrollbar goes unnoticed)
  requestAnimationFrame(() => wrap.classList.toggle('scrolls', wrap.scrollWidth > wrap.clientWidth + 1));
  const table = document.createElement('table');
  table.className = 'mx';
  table.dataset.testid = `math-table-${spec.id}`;
  table.dataset.rowAxis = spec.rowAxis;
  table.dataset.colAxis = spec.colAxis;
  const thead = table.createTHead().insertRow();
  thead.append(document.createElement('th'));
  if (spec.lead) {
    const th = document.createElement('th');
    th.className = 'lead';
    th.textContent = spec.lead.label;
    thead.append(th);
  }
  spec.colLabels.forEach((l, j) => {
    const th = document.createElement('th');
    th.textContent = l;
    th.dataset.c = String(j);
    if (spec.colAxis === 'k' && isSpecialToken(l)) th.classList.add('special');
    thead.append(th);
  });
  if (spec.hiddenCols) {
    const th = document.createElement('th');
    th.className = 'more';
    th.textContent = `+${spec.hiddenCols}`;
    th.title = `${spec.hiddenCols} more dimensions not shown (sums use all of them)`;
    thead.append(th);
  }
  const body = table.createTBody();
  const [r0, r1] = rowWindow(spec.data.length, spec.focusRow ?? spec.qrow ?? 0);
  spec.data.slice(r0, r1).forEach((row, at) => {
    const i = r0 + at;
    const tr = body.insertRow();
    tr.dataset.r = String(i);
    if (spec.rowAxis === 'q' && spec.qrow === i) tr.classList.add('qrow');
    const th = document.createElement('th');
    th.textContent = spec.rowLabels[i] ?? '';
    if (isSpecialToken(spec.rowLabels[i] ?? '')) th.classList.add('special');
    tr.append(th);
    if (spec.lead) {
      const td = tr.insertCell();
      td.className = 'lead';
      cell(td, spec.lead.values[i]!, spec.lead.tint);
    }
    spec.colLabels.forEach((_l, j) => {
      const td = tr.insertCell();
      td.dataset.c = String(j);
      if (spec.masked?.(i, j)) {
        // a masked score is −∞; after the softmax its weight is exactly 0
        td.className = 'masked';
        td.textContent = spec.maskedValue === 0 ? '0' : '−∞';
        td.dataset.v = spec.maskedValue === 0 ? '0' : '-Infinity';
      } else cell(td, row[j]!, spec.tint);
      if (spec.explain) td.classList.add('explain');
    });
    if (spec.hiddenCols) tr.insertCell().className = 'more';
  });
  if (spec.footer) {
    const tr = body.insertRow();
    tr.className = 'sum';
    const th = document.createElement('th');
    th.textContent = spec.footer.label;
    tr.append(th);
    if (spec.lead) tr.insertCell();
    spec.footer.values.forEach((v) => cell(tr.insertCell(), v, spec.footer!.tint));
    if (spec.hiddenCols) tr.insertCell().className = 'more';
  }
  wrap.append(table);
  if (r1 - r0 < spec.data.length) {
    const note = document.createElement('p');
    note.className = 'mx-note';
    note.dataset.testid = `math-rows-note-${spec.id}`;
    const around = spec.rowAxis === 'q' ? 'around the chosen query' : 'around the key it weighs most';
    note.textContent = `Rows ${r0}–${r1 - 1} of ${spec.data.length} shown, ${around}; pick another query to move them.`;
    wrap.append(note);
  }
  if (spec.hiddenCols) {
    const note = document.createElement('p');
    note.className = 'mx-note';
    note.textContent = `Showing the first ${spec.colLabels.length} of ${spec.colLabels.length + spec.hiddenCols} dimensions; every sum uses all of them.`;
    wrap.append(note);
  }
  return wrap;
}

function step(n: number, id: string, title: string, formula: string, prose: string): { el: HTMLElement; body: HTMLElement } {
  const el = document.createElement('section');
  el.className = 'mstep';
  el.dataset.testid = `math-step-${id}`;
  const h = document.createElement('h3');
  const num = document.createElement('span');
  num.className = 'mnum';
  num.textContent = String(n);
  h.append(num, title);
  const p = document.createElement('p');
  p.className = 'mprose';
  p.textContent = prose;
  const body = document.createElement('div');
  body.className = 'mbody';
  el.append(h, tex(formula), p, body);
  return { el, body };
}

/** What every step of one rendering shares: the response, the chosen query, labels, tints. */
interface MathCtx {
  m: MathResponse;
  kind: AttentionKind;
  t: MathResponse['tensors'];
  qi: number;
  dk: number;
  sq: number;
  scale: number;
  paperScale: boolean;
  bias: number[][] | null;
  nHeads: number | null;
  kvHead: number;
  shared: number;
  qLabels: string[];
  kLabels: string[];
  cols: number[];
  hidden: number;
  dLabels: string[];
  pick: (rows: number[][]) => number[][];
  qTok: string;
  masked: (i: number, j: number) => boolean;
  /** the key rows a long K, V table keeps in view */
  heaviest: number;
  /** a signed tint fitted to a matrix */
  tintOf: (mat: number[][]) => Tint;
  /** the same, fitted to the visible cells only */
  tintM: (mat: number[][]) => Tint;
  doc: AppState['doc'];
}

function mathCtx(m: MathResponse, s: AppState): MathCtx {
  const kind: AttentionKind = m.kind;
  const Tq = m.query_tokens.length;
  const qi = Math.min(Math.max(0, s.mq), Tq - 1);
  const t = m.tensors;
  const dk = m.d_k;
  const sq = Math.sqrt(dk);
  const scale = m.scale ?? 1 / sq;
  const nHeads = s.doc?.kinds[kind]?.heads ?? null;
  const kvHead = m.kv_head ?? m.head;
  const shared = m.n_kv_heads && nHeads && m.n_kv_heads < nHeads ? nHeads / m.n_kv_heads : 1;
  const { cols, hidden } = shownColumns(dk, DK_SHOWN);
  const masked = (i: number, j: number) => !t.mask.data[i]![j];
  const wq = t.weights.data[qi]!;
  // masked cells can hold T5's "minus a huge number": they must not set the colour scale
  const tintM = (mat: number[][]): Tint => {
    const mx = maxAbs(mat, masked);
    return (v) => signedTint(v, mx);
  };
  const tintOf = (mat: number[][]): Tint => {
    const mx = maxAbs(mat);
    return (v) => signedTint(v, mx);
  };
  return {
    m, kind, t, qi, dk, sq, scale, paperScale: isInvSqrt(scale, dk), bias: t.position_bias?.data ?? null, nHeads, kvHead, shared,
    qLabels: m.query_tokens.map(displayToken), kLabels: m.key_tokens.map(displayToken), cols, hidden, dLabels: cols.map((d) => String(d)),
    pick: (rows) => rows.map((r) => cols.map((d) => r[d]!)), qTok: quoteToken(m.query_tokens[qi]!), masked,
    heaviest: wq.reduce((b, v, j) => (v > wq[b]! ? j : b), 0), tintOf, tintM, doc: s.doc,
  };
}

function labelled(name: string, el: HTMLElement): HTMLElement {
  const d = document.createElement('div');
  d.append(tex(name, false), el);
  return d;
}

/** 1. projections: where Q, K and V come from (RoPE and shared key/value heads said). */
function projectionStep(c: MathCtx): HTMLElement {
  const { m, kind, t, kvHead, shared, qi, dk, dLabels, hidden } = c;
  const xName = kind === 'encoder_self' ? 'X' : 'Y';
  const kvName = kind === 'cross' ? 'Z' : xName;
  const decoderOnly = kind === 'decoder_self' && !c.doc?.kinds.cross && !c.doc?.tokens.src.length;
  const inputs =
    kind === 'encoder_self' ? 'X is the input of this encoder layer (one row per source token).'
    : kind === 'decoder_self' ? (decoderOnly ? 'Y is the input of this decoder layer (one row per token: the prompt, then what was generated).' : 'Y is the input of this decoder layer (one row per target token read so far).')
    : 'The queries come from the decoder (Y, after its self-attention); keys and values from the encoder output Z.';
  const kvSub = kvHead !== m.head || shared > 1 ? String(kvHead) : String(m.head);
  const rot = (e: string) => (m.rope ? `\\operatorname{RoPE}(${e})` : e);
  const notes: string[] = [];
  if (m.rope) notes.push('Q and K are then rotated by the rotary position embedding (RoPE): each pair of dimensions turns by an angle that grows with the position, so q·k depends on how far apart the two tokens are. The Q and K shown are the rotated ones.');
  if (shared > 1) {
    const from = kvHead * shared;
    notes.push(`Grouped-query attention: this model has ${m.n_kv_heads} key/value heads for ${c.nHeads} query heads, so K and V come from key/value head ${kvHead}, shared by query heads ${from}–${from + shared - 1}.`);
  }
  const s1 = step(1, 'qkv', 'Project every token to a query, a key and a value',
    `Q = ${rot(`${xName}W^Q_{${m.head}}`)},\\quad K = ${rot(`${kvName}W^K_{${kvSub}}`)},\\quad V = ${kvName}W^V_{${kvSub}}`,
    `${inputs} Each head has its own learned projections, so each row becomes a ${dk}-number query, key and value.${notes.length ? ` ${notes.join(' ')}` : ''}`);
  s1.el.dataset.rope = String(!!m.rope);
  if (shared > 1) s1.el.dataset.kvHead = String(kvHead);
  const trio = document.createElement('div');
  trio.className = 'mtrio';
  trio.append(
    labelled('Q', buildTable({ id: 'q', rowLabels: c.qLabels, rowAxis: 'q', colLabels: dLabels, colAxis: 'd', data: c.pick(t.q.data), tint: c.tintOf(t.q.data), qrow: qi, hiddenCols: hidden })),
    labelled('K', buildTable({ id: 'k', rowLabels: c.kLabels, rowAxis: 'k', colLabels: dLabels, colAxis: 'd', data: c.pick(t.k.data), tint: c.tintOf(t.k.data), hiddenCols: hidden, focusRow: c.heaviest })),
    labelled('V', buildTable({ id: 'v', rowLabels: c.kLabels, rowAxis: 'k', colLabels: dLabels, colAxis: 'd', data: c.pick(t.v.data), tint: c.tintOf(t.v.data), hiddenCols: hidden, focusRow: c.heaviest })),
  );
  s1.body.append(trio);
  return s1.el;
}

/** 2. QKᵀ, and 3. its scale (the model's own factor: the paper's 1/√d_k, or e.g. none for T5). */
function scoreSteps(c: MathCtx): HTMLElement[] {
  const { t, qi, dk, sq, scale, paperScale, qLabels, kLabels } = c;
  const raw = t.q.data.map((q) => t.k.data.map((k) => dotProduct(q, k, 0).dot)); // QKᵀ, unscaled
  const scaled = raw.map((r) => r.map((v) => v * scale));
  const s2 = step(2, 'qk', 'Compare each query with every key', `S = QK^\\top,\\qquad S_{ij} = q_i \\cdot k_j = \\sum_{d=1}^{${dk}} q_{id}\\,k_{jd}`,
    'A dot product is large when the query and the key point the same way. Hover a number to see its terms.');
  s2.body.append(buildTable({ id: 'qk', rowLabels: qLabels, rowAxis: 'q', colLabels: kLabels, colAxis: 'k', data: raw, tint: c.tintOf(raw), qrow: qi, explain: true }));
  const s3 = paperScale
    ? step(3, 'scaled', 'Scale by √d_k', `\\tilde S = \\frac{QK^\\top}{\\sqrt{d_k}} = \\frac{S}{\\sqrt{${dk}}} = \\frac{S}{${fmtNum(sq, sq % 1 ? 2 : 0)}}`,
      `Dividing by √${dk} keeps the scores in a range where the softmax still has useful gradients (section 3.2.1 of the paper).`)
    : scale === 1
      ? step(3, 'scaled', 'No scaling', '\\tilde S = S = QK^\\top \\qquad (\\text{scale } 1)',
        `This model does not divide by √${dk}: its weights were initialised so that the scores already stay in range (T5 folds the 1/√d_k into the initialisation of W^Q).`)
      : step(3, 'scaled', `Scale by ${fmtNum(scale, 4)}`, `\\tilde S = ${fmtNum(scale, 4)}\\cdot QK^\\top`,
        `This model scales the scores by its own factor ${fmtNum(scale, 4)} (1/√${dk} would be ${fmtNum(1 / sq, 4)}).`);
  s3.el.dataset.scale = String(scale);
  s3.body.append(buildTable({ id: 'scaled', rowLabels: qLabels, rowAxis: 'q', colLabels: kLabels, colAxis: 'k', data: scaled, tint: c.tintOf(scaled), qrow: qi, explain: true }));
  return [s2.el, s3.el];
}

/** The scaled scores as a formula (the output step writes it again). */
function scoreTex(c: MathCtx): string {
  return c.paperScale ? '\\frac{QK^\\top}{\\sqrt{d_k}}' : c.scale === 1 ? 'QK^\\top' : `${fmtNum(c.scale, 4)}\\,QK^\\top`;
}

/** T5: its relative position bias is added to the scores, a step of its own. */
function biasStep(c: MathCtx, n: number, bias: number[][]): HTMLElement {
  const { m, t, qi, scale, paperScale, qLabels, kLabels, masked } = c;
  const sb = step(n, 'bias', 'Add the relative position bias', `\\tilde S = ${scoreTex(c)} + B, \\qquad B_{ij} = b_{${m.head}}\\big(\\text{bucket}(j - i)\\big)`,
    'T5 has no position embeddings: each head learns one number per bucket of relative distance j − i (near distances get their own buckets, far ones share log-spaced buckets) and adds it to the score. The first table is B, the second the scores with it.');
  const pair = document.createElement('div');
  pair.className = 'mtrio';
  pair.append(
    labelled('B', buildTable({ id: 'bias', rowLabels: qLabels, rowAxis: 'q', colLabels: kLabels, colAxis: 'k', data: bias, tint: c.tintM(bias), qrow: qi, masked })),
    labelled(`\\tilde S = ${paperScale || scale !== 1 ? `${fmtNum(scale, 4)}\\,S` : 'S'} + B`, buildTable({ id: 'biased', rowLabels: qLabels, rowAxis: 'q', colLabels: kLabels, colAxis: 'k', data: t.scores.data, tint: c.tintM(t.scores.data), qrow: qi, masked, explain: true })),
  );
  sb.body.append(pair);
  return sb.el;
}

function maskStep(c: MathCtx, n: number): HTMLElement {
  const { kind, t } = c;
  const anyMasked = t.mask.data.some((r) => r.some((x) => !x));
  const s4 = step(n, 'mask', 'Mask what the query may not see',
    kind === 'decoder_self' ? 'M_{ij} = \\begin{cases} 0 & j \\le i \\\\ -\\infty & j > i \\end{cases}' : 'M_{ij} = 0 \\quad \\text{(every key is visible)}',
    kind === 'decoder_self'
      ? 'The decoder predicts left to right, so a target position may only look at itself and earlier positions: later keys get −∞, which the softmax turns into exactly 0.'
      : anyMasked ? 'Padding keys get −∞.' : 'Encoder self-attention and cross-attention see every source token; only padding would be masked, and there is none here.');
  s4.body.append(buildTable({ id: 'masked', rowLabels: c.qLabels, rowAxis: 'q', colLabels: c.kLabels, colAxis: 'k', data: t.scores.data, tint: c.tintM(t.scores.data), qrow: c.qi, masked: c.masked, explain: true }));
  return s4.el;
}

/** The chosen query's visible keys, in order. */
function visibleKeys(c: MathCtx): number[] {
  const row = c.t.scores.data[c.qi]!;
  const vis = row.map((v, j) => (c.masked(c.qi, j) ? null : v));
  return vis.map((v, j) => [v, j] as const).filter((x) => x[1] !== null && x[0] !== null).map((x) => x[1]);
}

/** 5. softmax, with the chosen row worked out. */
function softmaxStep(c: MathCtx, n: number, order: number[], top: number[]): HTMLElement {
  const { m, t, qi, masked } = c;
  const w = t.weights.data;
  const row = t.scores.data[qi]!;
  const best = top[0]!;
  const denom = order.map((j) => `e^{${fmtNum(row[j]!)}}`);
  const denomTex = denom.length > 4 ? `${denom.slice(0, 3).join(' + ')} + \\dots` : denom.join(' + ');
  const s5 = step(n, 'weights', 'Softmax each row into weights that sum to 1',
    `A_{ij} = \\operatorname{softmax}_j\\big(\\tilde S_{ij} + M_{ij}\\big) = \\frac{e^{\\tilde S_{ij} + M_{ij}}}{\\sum_{j'} e^{\\tilde S_{ij'} + M_{ij'}}}`,
    'These are the attention weights the heatmaps show. Hover a weight for its dot product.' +
      (m.max_abs_diff != null ? ` Recomputed here from the model's own projections, they match the weights the model itself returns ${m.max_abs_diff === 0 ? 'exactly' : `to within ${m.max_abs_diff.toExponential(1)}`}.` : ''));
  if (m.max_abs_diff != null) s5.el.dataset.maxAbsDiff = String(m.max_abs_diff);
  s5.body.append(
    tex(`A_{${qi},${best}} = \\frac{e^{${fmtNum(row[best]!)}}}{${denomTex}} = ${fmtNum(w[qi]![best]!)} \\qquad (${texTok(m.query_tokens[qi]!)} \\to ${texTok(m.key_tokens[best]!)})`),
    buildTable({
      id: 'weights', rowLabels: c.qLabels, rowAxis: 'q', colLabels: c.kLabels, colAxis: 'k', data: w, tint: weightTint, qrow: qi, masked, maskedValue: 0,
      explain: true,
    }),
  );
  return s5.el;
}

/** 6. weighted sum of V for the chosen query. */
function weightedSumStep(c: MathCtx, n: number, top: number[]): HTMLElement {
  const { m, t, qi, cols, masked } = c;
  const w = t.weights.data;
  const out = t.output.data;
  const contrib = t.v.data.map((vr, j) => cols.map((d) => w[qi]![j]! * vr[d]!));
  const terms = top.slice(0, 3).map((j) => `${fmtNum(w[qi]![j]!)}\\,v_{${j}}`).join(' + ') + (top.length > 3 ? ' + \\dots' : '');
  const s6 = step(n, 'wsum', `Mix the values with the weights of ${c.qTok}`, `\\text{head}(${texTok(m.query_tokens[qi]!)}) = \\sum_j A_{${qi}j}\\, v_j = ${terms}`,
    'Each value row is scaled by its weight; the sum is what this head passes on for that query.');
  const scaleC = maxAbs(contrib.concat([c.pick([out[qi]!])[0]!]));
  s6.body.append(
    buildTable({
      id: 'wsum', rowLabels: c.kLabels.map((l, j) => (masked(qi, j) ? `${l} (masked)` : l)), rowAxis: 'k', colLabels: c.dLabels, colAxis: 'd', data: contrib,
      tint: (v) => signedTint(v, scaleC), hiddenCols: c.hidden, focusRow: c.heaviest,
      lead: { label: 'A', values: w[qi]!, tint: weightTint },
      footer: { label: 'Σ = head', values: cols.map((d) => out[qi]![d]!), tint: (v) => signedTint(v, scaleC) },
    }),
  );
  return s6.el;
}

/** 7. the head's output. */
function outputStep(c: MathCtx, n: number): HTMLElement {
  const out = c.t.output.data;
  const s7 = step(n, 'output', "The head's output for every query", `\\text{head}_{${c.m.head}} = \\operatorname{softmax}\\!\\Big(${scoreTex(c)}${c.bias ? ' + B' : ''} + M\\Big)V`,
    'Concat(head₀ … headₕ)·Wᴼ then mixes this with the other heads of the layer (section 3.2.2).');
  s7.body.append(buildTable({ id: 'output', rowLabels: c.qLabels, rowAxis: 'q', colLabels: c.dLabels, colAxis: 'd', data: c.pick(out), tint: c.tintOf(out), qrow: c.qi, hiddenCols: c.hidden }));
  return s7.el;
}

/** Every step's card, numbered in order (T5's bias is a step of its own). */
function mathCards(c: MathCtx): HTMLElement[] {
  const cards = [projectionStep(c), ...scoreSteps(c)];
  let n = 4;
  if (c.bias) cards.push(biasStep(c, n++, c.bias));
  cards.push(maskStep(c, n++));
  const order = visibleKeys(c);
  const w = c.t.weights.data[c.qi]!;
  const top = order.slice().sort((a, b) => w[b]! - w[a]!);
  cards.push(softmaxStep(c, n++, order, top));
  cards.push(weightedSumStep(c, n++, top));
  cards.push(outputStep(c, n++));
  return cards;
}

/** The heading: which head, which query (and what does not apply here), and the query picker. */
function renderHeading(head: MathHead, c: MathCtx, s: AppState, store: Store<AppState>) {
  const { m, qi } = c;
  head.title.textContent = `The math of one head: ${KIND_LABEL[c.kind]}, layer ${m.layer} · head ${m.head}`;
  head.sub.textContent = `Query ${c.qTok} (row ${qi}) is followed through every step — pick another query below or click a row. d_k = ${c.dk}.` +
    (s.ablate.length ? ' (The intact model: ablation does not apply here.)' : '') +
    (s.doc?.merged ? ' (Every token on its own: the span and word grouping do not apply here; hovering lights their pieces.)' : '');
  head.picker.replaceChildren(
    ...m.query_tokens.map((tok, i) => {
      const b = document.createElement('button');
      b.className = `tok${i === qi ? ' on' : ''}${isSpecialToken(tok) ? ' special' : ''}`;
      b.textContent = displayToken(tok);
      b.dataset.testid = `math-query-${i}`;
      b.title = `Step through query ${i}`;
      b.addEventListener('click', () => store.set({ mq: i }));
      return b;
    }),
  );
}

interface MathHead {
  title: HTMLElement;
  sub: HTMLElement;
  picker: HTMLElement;
  status: HTMLElement;
  steps: HTMLElement;
  tip: HTMLElement;
}

function buildMathView(container: HTMLElement): MathHead {
  container.classList.add('math-view');
  container.dataset.testid = 'math-view';
  const head = document.createElement('div');
  head.className = 'insight-head';
  const title = document.createElement('h2');
  const sub = document.createElement('p');
  sub.className = 'hint';
  sub.dataset.testid = 'math-sub';
  const picker = document.createElement('div');
  picker.className = 'mq-picker';
  picker.dataset.testid = 'math-query-picker';
  head.append(title, sub, picker);
  const status = document.createElement('div');
  status.className = 'insight-status';
  status.dataset.testid = 'math-status';
  const steps = document.createElement('div');
  steps.className = 'msteps';
  const tip = document.createElement('div');
  tip.className = 'math-tip';
  tip.dataset.testid = 'math-tooltip';
  tip.hidden = true;
  container.append(head, status, steps, tip);
  return { title, sub, picker, status, steps, tip };
}

function explainText(m: MathResponse, table: string, i: number, j: number): string {
  const t = m.tensors;
  const d = dotProduct(t.q.data[i]!, t.k.data[j]!, 8, m.scale ?? null);
  let text = `${quoteToken(m.query_tokens[i]!)} · ${quoteToken(m.key_tokens[j]!)}\n${d.text}`;
  const isMasked = !t.mask.data[i]![j];
  const b = t.position_bias?.data[i]?.[j];
  if (b !== undefined && !isMasked && table !== 'math-table-qk' && table !== 'math-table-scaled') text += `; + bias ${fmtNum(b)} = ${fmtNum(t.scores.data[i]![j]!)}`;
  if (table === 'math-table-masked' && isMasked) text += '\nmasked: a later position → −∞';
  if (table === 'math-table-weights') text += isMasked ? '\nmasked → weight 0' : `\nsoftmax → ${fmtNum(t.weights.data[i]![j]!)}`;
  return text;
}

/** Hover: a tooltip with the dot product, the linked highlight in every view; a click picks a query row. */
function wireHover(steps: HTMLElement, tip: HTMLElement, store: Store<AppState>, shownOf: () => MathResponse | null) {
  steps.addEventListener('pointerover', (e) => {
    const shown = shownOf();
    const td = (e.target as HTMLElement).closest('td.explain') as HTMLTableCellElement | null;
    if (!td || !shown) return;
    const table = td.closest('table') as HTMLTableElement;
    const i = +(td.parentElement as HTMLElement).dataset.r!;
    const j = +td.dataset.c!;
    tip.textContent = explainText(shown, table.dataset.testid ?? '', i, j);
    tip.hidden = false;
    const r = td.getBoundingClientRect();
    tip.style.left = `${Math.min(window.innerWidth - 20, r.left)}px`;
    tip.style.top = `${r.bottom + 6}px`;
    // the other views index the shown document (words / span merged, special tokens hidden)
    const doc = store.get().doc;
    const q = doc ? shownIndex(doc, querySide(shown.kind), i) : i;
    const k = doc ? shownIndex(doc, keySide(shown.kind), j) : j;
    const h = q === null || k === null ? null : { type: 'cell' as const, q, k };
    if (!sameHover(store.get().hover, h)) store.set({ hover: h });
  });
  steps.addEventListener('pointerout', (e) => {
    const to = (e as PointerEvent).relatedTarget as HTMLElement | null;
    if (to?.closest?.('td.explain')) return;
    tip.hidden = true;
    if (store.get().hover?.type === 'cell') store.set({ hover: null });
  });
  steps.addEventListener('click', (e) => {
    const tr = (e.target as HTMLElement).closest('table[data-row-axis="q"] tbody tr') as HTMLElement | null;
    if (tr?.dataset.r !== undefined) store.set({ mq: +tr.dataset.r });
  });
}

/** Lights the hovered token's rows and columns in every table. */
function highlight(steps: HTMLElement, s: AppState, shown: MathResponse) {
  const hl = highlightFor(s.hover, shown.kind);
  for (const el of steps.querySelectorAll('.hl')) el.classList.remove('hl');
  // a token of the shown document is one or more rows here (a span or a word: its pieces)
  const rows = (side: Side, i: number | null) => (i === null ? [] : s.doc ? rawPositions(s.doc, side, i) : [i]);
  const qs = rows(querySide(shown.kind), hl.q);
  const ks = rows(keySide(shown.kind), hl.k);
  for (const q of qs) for (const el of steps.querySelectorAll(`table[data-row-axis="q"] tr[data-r="${q}"] > th`)) el.classList.add('hl');
  for (const k of ks) {
    for (const el of steps.querySelectorAll(`table[data-row-axis="k"] tr[data-r="${k}"] > th`)) el.classList.add('hl');
    for (const el of steps.querySelectorAll(`table[data-col-axis="k"] [data-c="${k}"]`)) {
      if (el.tagName === 'TH' || hl.q === null || qs.includes(+((el.parentElement as HTMLElement).dataset.r ?? -1))) el.classList.add('hl');
    }
  }
}

function keyOf(s: AppState) {
  return JSON.stringify([s.ckpt, s.text, s.kind, s.layer, s.head, s.docSampling]);
}

export function createMathView(container: HTMLElement, store: Store<AppState>) {
  const ui = buildMathView(container);
  const { status, steps } = ui;
  let shown: MathResponse | null = null;
  let shownKey = '';
  let wanted = '';
  let shownQ = -1;

  function load() {
    const s = store.get();
    if (s.insight !== 'math' || !s.ckpt || !s.text || !s.doc || s.docSource === 'file') {
      if (s.insight === 'math' && s.docSource === 'file') status.textContent = 'The step-through needs the server: this document was opened from a file.';
      return;
    }
    const key = keyOf(s);
    if (key === shownKey) {
      if (s.mq !== shownQ) render();
      return;
    }
    if (key === wanted) return;
    wanted = key;
    // a sampled document: the same draw (seed included), so the math runs on the tokens it shows
    const p = fetchMath({ checkpoint: s.ckpt, text: s.text, kind: s.kind, layer: s.layer, head: s.head, ...sameDraw(s.rawDoc?.sampling) });
    status.textContent = 'Computing…';
    status.className = 'insight-status loading';
    p.then(
      (m) => {
        if (wanted !== key) return;
        wanted = '';
        shown = m;
        shownKey = key;
        status.textContent = '';
        status.className = 'insight-status';
        render();
      },
      (e: Error) => {
        if (wanted !== key) return;
        wanted = '';
        status.textContent = e.message;
        status.className = 'insight-status error';
      },
    );
  }

  function render() {
    const m = shown;
    if (!m) return;
    timed('math', () => {
      countRender('math');
      const s = store.get();
      shownQ = s.mq;
      const c = mathCtx(m, s);
      renderHeading(ui, c, s, store);
      steps.replaceChildren(...mathCards(c));
      updateHover();
    });
  }

  function updateHover() {
    const s = store.get();
    if (!shown || s.kind !== shown.kind) return;
    highlight(steps, s, shown);
  }

  wireHover(steps, ui.tip, store, () => shown);
  store.subscribe((s, p) => {
    if (s.insight !== 'math') return;
    if (s.insight !== p.insight || s.ckpt !== p.ckpt || s.text !== p.text || s.kind !== p.kind || s.layer !== p.layer || s.head !== p.head || s.doc !== p.doc || s.mq !== p.mq || s.ablate !== p.ablate) load();
    if (s.mq !== p.mq || ((s.ablate !== p.ablate || s.doc !== p.doc) && shown)) render();
    if (s.hover !== p.hover) updateHover();
  });
  load();
}
