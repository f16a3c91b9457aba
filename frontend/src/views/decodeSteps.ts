/**
 * Decoding, step by step: at step t the decoder has read `<bos>` and the t tokens it produced so
 * far; its masked self-attention row t and its cross-attention row t (focused layer and head)
 * feed the prediction of the next token, shown as the top-5 probabilities (`steps` of the
 * document). Documents without `steps` say so.
 */
import { weightAt, type AttnTensor } from '../lib/doc';
import { sameHover } from '../lib/hover';
import type { Store } from '../lib/store';
import { displayToken, isSpecialToken, quoteToken } from '../lib/tokens';
import type { AppState } from '../state';
import { countRender, timed } from './common';

function pct(p: number): string {
  return p >= 0.995 ? '100%' : p < 0.001 ? '<0.1%' : `${(p * 100).toFixed(p < 0.1 ? 1 : 0)}%`;
}

export function createDecodeSteps(container: HTMLElement, store: Store<AppState>) {
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
  container.append(head, empty, strip, detail);

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
    const dec = doc?.kinds.decoder_self;
    const cross = doc?.kinds.cross;
    strip.replaceChildren();
    detail.replaceChildren();
    if (!doc) return;
    if (!steps || !dec || !cross) {
      empty.textContent = !dec
        ? 'This model has no decoder: nothing is decoded.'
        : 'This document has no decoding steps (it was exported before they were added). Run it through the server to see them.';
      sub.textContent = '';
      return;
    }
    empty.textContent = '';
    const t = stepOf(s);
    const layer = Math.min(s.layer, dec.layers - 1);
    const h = Math.min(s.head, dec.heads - 1);
    sub.textContent = `Greedy decoding reads what it has produced so far and picks the most probable next token. Attention rows of layer ${layer} · head ${h} (focus another head in the model view).`;

    strip.append(
      ...steps.map((st) => {
        const b = document.createElement('button');
        b.className = `ds-step${st.t === t ? ' current' : ''}`;
        b.dataset.testid = `decode-step-${st.t}`;
        const p0 = st.top[0]?.p ?? 0;
        b.title = `Step ${st.t}: read ${quoteToken(doc.tokens.tgt[st.t] ?? '')}, produced ${quoteToken(st.token)} (${pct(p0)})`;
        const tok = document.createElement('span');
        tok.className = `ds-tok${isSpecialToken(st.token) ? ' special' : ''}`;
        tok.textContent = displayToken(st.token);
        const bar = document.createElement('i');
        bar.className = 'ds-conf';
        bar.style.width = `${(p0 * 100).toFixed(1)}%`;
        const n = document.createElement('small');
        n.textContent = `t=${st.t}`;
        b.append(n, tok, bar);
        b.addEventListener('click', () => store.set({ step: st.t }));
        return b;
      }),
    );

    const st = steps[t]!;
    // read so far → top-5
    const read = document.createElement('div');
    read.className = 'ds-col';
    const h1 = document.createElement('h3');
    h1.textContent = `Step ${t}: the decoder has read`;
    const chips = document.createElement('div');
    chips.className = 'ds-read';
    doc.tokens.tgt.slice(0, t + 1).forEach((tok, i) => {
      const c = document.createElement('span');
      c.className = `tok${isSpecialToken(tok) ? ' special' : ''}${i === t ? ' last' : ''}`;
      c.textContent = displayToken(tok);
      chips.append(c);
    });
    const h2 = document.createElement('h3');
    h2.textContent = 'and predicts';
    const top = document.createElement('ol');
    top.className = 'ds-top';
    top.dataset.testid = 'decode-top';
    for (const p of st.top) {
      const li = document.createElement('li');
      li.dataset.testid = 'decode-top-item';
      li.classList.toggle('chosen', p.token === st.token);
      const tk = document.createElement('span');
      tk.className = `ds-tok${isSpecialToken(p.token) ? ' special' : ''}`;
      tk.textContent = displayToken(p.token);
      const bar = document.createElement('span');
      bar.className = 'ds-pbar';
      const fill = document.createElement('i');
      fill.style.width = `${(p.p * 100).toFixed(1)}%`;
      bar.append(fill);
      const v = document.createElement('span');
      v.className = 'ds-p';
      v.textContent = pct(p.p);
      v.dataset.p = String(p.p);
      li.append(tk, bar, v);
      top.append(li);
    }
    read.append(h1, chips, h2, top);

    detail.append(
      read,
      attentionRow('Decoder self-attention (masked)', 'decoder-self', dec, layer, h, t, doc.tokens.tgt, 'tgt', 'looks back at what it has produced'),
      attentionRow('Cross-attention', 'cross', cross, layer, h, t, doc.tokens.src, 'src', 'looks at the source'),
    );
  }

  function attentionRow(label: string, id: string, tensor: AttnTensor, layer: number, h: number, t: number, toks: string[], side: 'src' | 'tgt', what: string): HTMLElement {
    const col = document.createElement('div');
    col.className = 'ds-col';
    col.dataset.testid = `decode-row-${id}`;
    const h3 = document.createElement('h3');
    h3.textContent = `${label}: ${what}`;
    const bars = document.createElement('div');
    bars.className = 'ds-bars';
    toks.forEach((tok, k) => {
      const masked = tensor.causal && k > t;
      const w = masked ? 0 : weightAt(tensor, layer, h, t, k);
      const b = document.createElement('div');
      b.className = `ds-bar${masked ? ' masked' : ''}`;
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

  store.subscribe((s, p) => {
    if (s.insight !== 'steps') return;
    if (s.insight !== p.insight || s.doc !== p.doc || s.step !== p.step || s.layer !== p.layer || s.head !== p.head) render();
  });
  if (store.get().insight === 'steps') render();
}
