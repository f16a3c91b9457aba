/**
 * Decoding, step by step: at step t the decoder has read `<bos>` (or, decoder-only, the prompt)
 * and the tokens it produced so far; its masked self-attention row t and, with an encoder, its
 * cross-attention row t (focused layer and head) feed the prediction of the next token, shown as
 * the top-5 probabilities (`steps` of the document). A decoder-only model's prompt rows are
 * marked apart from the rows that generated a token. Documents without `steps` say so.
 * Above it, how the next token is chosen (views/samplingControls.ts): greedy, or drawn with a
 * temperature, top-k, top-p and seed; each step then shows the drawn token, its probability under
 * the model and under the sampling distribution, beside the model's top-5.
 */
import { shownPromptLength } from '../lib/decoding';
import type { AttnDoc } from '../lib/doc';
import type { DecodingStep } from '../api/types';
import { attentionSource, type AttentionSource } from '../lib/source';
import { sameHover } from '../lib/hover';
import type { Store } from '../lib/store';
import { displayToken, isSpecialToken, quoteToken } from '../lib/tokens';
import type { AppState } from '../app/state';
import { timed } from './common';
import { countRender } from '../app/testHook';
import { createSamplingControls } from './samplingControls';
import { describeSampling } from '../lib/sampling';
import type { ViewSpec } from './spec';

function pct(p: number): string {
  return p >= 0.995 ? '100%' : p < 0.001 ? '<0.1%' : `${(p * 100).toFixed(p < 0.1 ? 1 : 0)}%`;
}

type Role = 'prompt' | 'generated' | 'next' | '';
type Sampled = NonNullable<AttnDoc['sampling']> | null;

/** The panel: title, subtitle and step buttons, the sampling controls, the empty note, the strip and the detail. */
function buildPanel(container: HTMLElement, store: Store<AppState>) {
  container.classList.add('decode-view');
  container.dataset.testid = 'decode-steps';
  const head = document.createElement('div');
  head.className = 'insight-head';
  const title = document.createElement('h2');
  title.textContent = 'Decoding, step by step';
  const sub = document.createElement('p');
  sub.className = 'hint';
  const nav = document.createElement('div');
  nav.className = 'tl-controls';
  const prev = document.createElement('button');
  prev.className = 'btn small';
  prev.textContent = '◀';
  prev.title = 'Previous step';
  prev.dataset.testid = 'decode-prev';
  const next = document.createElement('button');
  next.className = 'btn small';
  next.textContent = '▶';
  next.title = 'Next step';
  next.dataset.testid = 'decode-next';
  nav.append(prev, next);
  head.append(title, sub, nav);
  const strip = document.createElement('div');
  strip.className = 'ds-strip';
  strip.dataset.testid = 'decode-strip';
  const detail = document.createElement('div');
  detail.className = 'ds-detail';
  const empty = document.createElement('div');
  empty.className = 'insight-status';
  const controls = document.createElement('div');
  createSamplingControls(controls, store);
  container.append(head, controls, empty, strip, detail);
  return { sub, prev, next, strip, detail, empty };
}

/** The subtitle: how the next token is chosen, and whose attention rows are shown. */
function subtitle(cross: boolean, prompt: number | null, sampled: Sampled, layer: number, h: number): string {
  const picks = sampled
    ? `draws the next token from its probabilities (${describeSampling(sampled)})`
    : 'picks the most probable next token';
  return (
    (cross
      ? `${sampled ? 'Sampling' : 'Greedy decoding'} reads what it has produced so far and ${picks}.`
      : `A decoder-only model reads the prompt${prompt !== null ? ` (${prompt} token${prompt === 1 ? '' : 's'})` : ''}, then each token it produced, and ${picks}; on the prompt rows that pick is only its guess.`) +
    ` Attention rows of layer ${layer} · head ${h} (focus another head in the model view).`
  );
}

/** One step of the strip: its token, the chosen token's probability as a bar, its role; click shows it. */
function stepButton(st: DecodingStep, t: number, r: Role, tgt: string[], store: Store<AppState>): HTMLButtonElement {
  const b = document.createElement('button');
  b.className = `ds-step${st.t === t ? ' current' : ''}${r ? ` ${r}` : ''}`;
  b.dataset.testid = `decode-step-${st.t}`;
  if (r) b.dataset.role = r;
  // the chosen token's own probability (a drawn token need not be the most probable)
  const p0 = st.p ?? st.top[0]?.p ?? 0;
  const did = r === 'prompt' ? `guessed ${quoteToken(st.token)} (${pct(p0)}); the prompt goes on with ${quoteToken(tgt[st.t + 1] ?? '')}`
    : r === 'next' ? `would produce ${quoteToken(st.token)} (${pct(p0)}) next`
    : `${typeof st.p_sampled === 'number' ? 'drew' : 'produced'} ${quoteToken(st.token)} (${pct(p0)})`;
  b.title = `Step ${st.t}${r === 'prompt' ? ' (prompt)' : r === 'generated' ? ' (generated)' : ''}: read ${quoteToken(tgt[st.t] ?? '')}, ${did}`;
  const tok = document.createElement('span');
  tok.className = `ds-tok${isSpecialToken(st.token) ? ' special' : ''}`;
  tok.textContent = displayToken(st.token);
  const bar = document.createElement('i');
  bar.className = 'ds-conf';
  bar.style.width = `${(p0 * 100).toFixed(1)}%`;
  const n = document.createElement('small');
  n.textContent = `t=${st.t}`;
  b.append(n, tok, bar);
  if (r) {
    const tag = document.createElement('small');
    tag.className = 'ds-role';
    tag.textContent = r;
    b.append(tag);
  }
  b.addEventListener('click', () => store.set({ step: st.t }));
  return b;
}

/** One guess of the top list: its token, a bar and its probability. */
function topItem(token: string, p: number, className: string): HTMLLIElement {
  const li = document.createElement('li');
  li.dataset.testid = 'decode-top-item';
  if (className) li.className = className;
  const tk = document.createElement('span');
  tk.className = `ds-tok${isSpecialToken(token) ? ' special' : ''}`;
  tk.textContent = displayToken(token);
  const bar = document.createElement('span');
  bar.className = 'ds-pbar';
  const fill = document.createElement('i');
  fill.style.width = `${(p * 100).toFixed(1)}%`;
  bar.append(fill);
  const v = document.createElement('span');
  v.className = 'ds-p';
  v.textContent = pct(p);
  v.dataset.p = String(p);
  li.append(tk, bar, v);
  return li;
}

/** The top-5 guesses of a step, the chosen one marked; a drawn token outside them is listed after them. */
function topList(st: DecodingStep): HTMLOListElement {
  const top = document.createElement('ol');
  top.className = 'ds-top';
  top.dataset.testid = 'decode-top';
  for (const p of st.top) top.append(topItem(p.token, p.p, p.token === st.token ? 'chosen' : ''));
  const own = st.top.some((p) => p.token === st.token);
  // a drawn token outside the top 5: listed after them, so the pick is always in view
  if (!own && typeof st.p === 'number') top.append(topItem(st.token, st.p, 'chosen outside'));
  return top;
}

/** The sentence under the guesses: what was drawn or picked, and how probable it was. */
function chosenLine(st: DecodingStep, r: Role, sampled: Sampled): HTMLParagraphElement {
  const chosen = document.createElement('p');
  chosen.className = 'ds-chosen';
  chosen.dataset.testid = 'decode-chosen';
  chosen.dataset.token = st.token;
  if (typeof st.p === 'number') chosen.dataset.p = String(st.p);
  if (typeof st.p_sampled === 'number') {
    chosen.dataset.pSampled = String(st.p_sampled);
    chosen.textContent = `Drew ${quoteToken(st.token)}: ${pct(st.p ?? 0)} under the model, ${pct(st.p_sampled)} under the sampling distribution (${describeSampling(sampled)}).`;
  } else if (r !== 'prompt' && r !== 'next' && typeof st.p === 'number') {
    chosen.textContent = `${sampled ? 'Chose' : 'Picked the most probable,'} ${quoteToken(st.token)}: ${pct(st.p)} under the model.`;
  }
  return chosen;
}

/** Step t's column: the tokens read so far (prompt and generated ones told apart), then the guesses. */
function readColumn(st: DecodingStep, t: number, tgt: string[], prompt: number | null, r: Role, sampled: Sampled): HTMLElement {
  const read = document.createElement('div');
  read.className = 'ds-col';
  const h1 = document.createElement('h3');
  h1.textContent = `Step ${t}: the decoder has read`;
  const chips = document.createElement('div');
  chips.className = 'ds-read';
  chips.dataset.testid = 'decode-read';
  tgt.slice(0, t + 1).forEach((tok, i) => {
    const c = document.createElement('span');
    const from = prompt === null ? '' : i < prompt ? ' from-prompt' : ' from-generated';
    c.className = `tok${isSpecialToken(tok) ? ' special' : ''}${i === t ? ' last' : ''}${from}`;
    if (prompt !== null) c.title = i < prompt ? 'prompt' : 'generated';
    c.textContent = displayToken(tok);
    chips.append(c);
  });
  const h2 = document.createElement('h3');
  h2.textContent = r === 'prompt' ? `and guesses (the prompt goes on with ${quoteToken(tgt[t + 1] ?? '')})` : r === 'next' ? 'and would predict next' : 'and predicts';
  read.append(h1, chips, h2, chosenLine(st, r, sampled), topList(st));
  return read;
}

/** Row t of one head of `src` as a bar per key token (masked keys marked); hovering a bar hovers its token. */
function attentionRow(store: Store<AppState>, label: string, id: string, src: AttentionSource, layer: number, h: number, t: number, toks: string[], side: 'src' | 'tgt', what: string): HTMLElement {
  const col = document.createElement('div');
  col.className = 'ds-col';
  col.dataset.testid = `decode-row-${id}`;
  const h3 = document.createElement('h3');
  h3.textContent = `${label}: ${what}`;
  const bars = document.createElement('div');
  bars.className = 'ds-bars';
  const row = src.row(layer, h, t);
  toks.forEach((tok, k) => {
    const masked = src.causal && k > t;
    const w = masked ? 0 : row[k]!;
    const b = document.createElement('div');
    b.className = `ds-bar${masked ? ' masked' : ''}`;
    // as wide as its label (a BPE token such as '␣attention' is more than one glyph)
    b.style.setProperty('--w', `${Math.max(24, Math.round(displayToken(tok).length * 7.2) + 6)}px`);
    b.dataset.w = String(w);
    b.title = masked ? `${quoteToken(tok)}: not produced yet (masked)` : `${quoteToken(tok)}: ${w.toFixed(3)}`;
    const fill = document.createElement('i');
    fill.style.height = `${(w * 100).toFixed(1)}%`;
    const lab = document.createElement('span');
    lab.className = isSpecialToken(tok) ? 'special' : '';
    lab.textContent = displayToken(tok);
    b.append(fill, lab);
    b.addEventListener('pointerenter', () => {
      const hv = { type: 'token' as const, side, index: k };
      if (!sameHover(store.get().hover, hv)) store.set({ hover: hv });
    });
    b.addEventListener('pointerleave', () => store.set({ hover: null }));
    bars.append(b);
  });
  col.append(h3, bars);
  return col;
}

export function createDecodeSteps(container: HTMLElement, store: Store<AppState>) {
  const { sub, prev, next, strip, detail, empty } = buildPanel(container, store);
  const stepOf = (s: AppState) => Math.min(Math.max(0, s.step), (s.doc?.steps?.length ?? 1) - 1);
  prev.addEventListener('click', () => store.set({ step: Math.max(0, stepOf(store.get()) - 1) }));
  next.addEventListener('click', () => store.set({ step: Math.min((store.get().doc?.steps?.length ?? 1) - 1, stepOf(store.get()) + 1) }));

  function render() {
    timed('steps', () => {
      countRender('steps');
      renderNow();
    });
  }

  function renderNow() {
    const s = store.get();
    const doc = s.doc;
    const steps = doc?.steps ?? null;
    const dec = doc ? attentionSource(doc, 'decoder_self') : null;
    const cross = doc ? attentionSource(doc, 'cross') : null;
    strip.replaceChildren();
    detail.replaceChildren();
    if (!doc) return;
    if (!steps || !dec || !steps.length) {
      empty.textContent = !dec
        ? 'This model has no decoder: nothing is decoded.'
        : 'This document has no decoding steps (it was exported before they were added). Run it through the server to see them.';
      sub.textContent = '';
      return;
    }
    empty.textContent = '';
    // an overview (a long text) has no rows to show: views/longNotes.ts covers the panel with why
    if (!dec.exact || (cross && !cross.exact)) return;
    const t = stepOf(s);
    const layer = Math.min(s.layer, dec.layers - 1);
    const h = Math.min(s.head, dec.heads - 1);
    const tgt = doc.tokens.tgt;
    // decoder-only: rows before the last prompt token only guess the next prompt token
    const prompt = cross ? null : shownPromptLength(doc);
    const role = (i: number): Role =>
      prompt === null ? '' : i < prompt - 1 ? 'prompt' : i < tgt.length - 1 ? 'generated' : 'next';
    const sampled = doc.sampling ?? null;
    sub.textContent = subtitle(!!cross, prompt, sampled, layer, h);
    strip.append(...steps.map((st) => stepButton(st, t, role(st.t), tgt, store)));
    detail.append(
      readColumn(steps[t]!, t, tgt, prompt, role(t), sampled),
      attentionRow(store, 'Decoder self-attention (masked)', 'decoder-self', dec, layer, h, t, tgt, 'tgt', cross ? 'looks back at what it has produced' : 'looks back at the prompt and what it has produced'),
    );
    detail.classList.toggle('no-cross', !cross);
    if (cross) detail.append(attentionRow(store, 'Cross-attention', 'cross', cross, Math.min(s.layer, cross.layers - 1), Math.min(s.head, cross.heads - 1), t, doc.tokens.src, 'src', 'looks at the source'));
  }

  store.subscribe((s, p) => {
    if (s.insight !== 'steps') return;
    if (s.insight !== p.insight || s.doc !== p.doc || s.step !== p.step || s.layer !== p.layer || s.head !== p.head) render();
  });
  if (store.get().insight === 'steps') render();
}

export const spec: ViewSpec = {
  id: 'steps',
  place: { tab: 'steps', label: 'Decoding', title: 'Decoding step by step (greedy or sampled): what the decoder looked at and its top-5 guesses' },
  needs: { feature: 'steps' },
  url: ['step'],
  create: createDecodeSteps,
};
