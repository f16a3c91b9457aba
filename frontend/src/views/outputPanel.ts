/** Tokens of both sides (hoverable, linked) and the model's output beside the expected one. */
import * as d3 from 'd3';
import { type AttnDoc, availableKinds, type Side } from '../lib/doc';
import { heldoutText } from '../lib/heldout';
import { sameHover, tokenLit } from '../lib/hover';
import { createLitSet } from './litSet';
import type { Store } from '../lib/store';
import { diffChars } from '../lib/text';
import { describeSampling } from '../lib/sampling';
import { displayToken, isSpecialToken } from '../lib/tokens';
import type { AppState } from '../app/state';
import type { ViewSpec } from './spec';

interface Chip {
  side: Side;
  i: number;
  tok: string;
}

type Div = d3.Selection<HTMLDivElement, unknown, null, undefined>;

/** One row of chips per side, each chip hoverable. */
function renderTokenRows(rows: Div, doc: AttnDoc, store: Store<AppState>) {
  // a decoder-only model has no source side: only its tokens (prompt + generated) are listed
  const sides: { side: Side; label: string }[] = doc.tokens.src.length || !doc.tokens.tgt.length ? [{ side: 'src', label: 'Source' }] : [];
  if (doc.tokens.tgt.length) sides.push({ side: 'tgt', label: doc.tokens.src.length ? 'Target' : 'Tokens' });
  const r = rows
    .selectAll<HTMLDivElement, { side: Side; label: string }>('div.token-row')
    .data(sides, (d) => d.side)
    .join((enter) => {
      const e = enter.append('div').attr('class', 'token-row');
      e.append('span').attr('class', 'row-label');
      e.append('div').attr('class', 'chips');
      return e;
    });
  r.select('.row-label').text((d) => d.label);
  r.select('.chips')
    .attr('data-testid', (d) => `tokens-${d.side}`)
    .selectAll<HTMLSpanElement, Chip>('span.tok')
    .data(
      (d) => (d.side === 'src' ? doc.tokens.src : doc.tokens.tgt).map((tok, i) => ({ side: d.side, i, tok })),
      (d) => `${d.side}${d.i}`,
    )
    .join((enter) =>
      enter
        .append('span')
        .attr('class', 'tok')
        .on('pointerenter', (_e, d) => {
          const h = { type: 'token' as const, side: d.side, index: d.i };
          if (!sameHover(store.get().hover, h)) store.set({ hover: h });
        })
        .on('pointerleave', () => store.set({ hover: null })),
    )
    .classed('special', (d) => isSpecialToken(d.tok))
    .attr('title', (d) => `${d.side === 'src' ? 'source' : 'target'} token ${d.i}`)
    .text((d) => displayToken(d.tok));
}

/** The output (or why there is none), beside the expected one, and the held-out copying line. */
function renderResult(result: Div, doc: AttnDoc, s: AppState) {
  result.selectAll('*').remove();
  if (doc.output === null && s.status === 'loading') {
    const out = result.append('div').attr('class', 'out');
    out.append('span').attr('class', 'row-label').text('Output');
    out.append('span').attr('class', 'empty-out').attr('data-testid', 'output-pending').text('running the model…');
  } else if (doc.output === null && !doc.tokens.tgt.length) {
    const out = result.append('div').attr('class', 'out');
    out.append('span').attr('class', 'row-label').text('Output');
    out.append('span').attr('class', 'empty-out encoder-only').attr('data-testid', 'encoder-only').text('encoder-only model: no output');
  }
  if (doc.output !== null) {
    const out = result.append('div').attr('class', 'out');
    out.append('span').attr('class', 'row-label').text('Output');
    const ok = doc.expected === null ? null : doc.output === doc.expected;
    const o = out.append('code').attr('class', 'out-text');
    const diff = doc.expected === null ? Array.from(doc.output).map((ch) => ({ ch, ok: true })) : diffChars(doc.output, doc.expected);
    o.selectAll('span').data(diff).join('span').classed('wrong', (d) => !d.ok).text((d) => displayToken(d.ch));
    if (!doc.output.length) o.append('span').attr('class', 'empty-out').text('(empty)');
    if (ok !== null) {
      out
        .append('span')
        .attr('class', `badge ${ok ? 'ok' : 'bad'}`)
        .attr('data-testid', 'output-verdict')
        .text(ok ? '✓ correct' : '✗ wrong');
      const ex = result.append('div').attr('class', 'out');
      ex.append('span').attr('class', 'row-label').text('Expected');
      ex.append('code').attr('class', 'out-text expected').attr('data-testid', 'expected').text(Array.from(doc.expected!).map(displayToken).join(''));
    }
  }
  if (doc.heldout) {
    // induction checkpoints: what the switched-off heads cost the task, on held-out sequences
    const h = doc.heldout;
    const off = h.in_context_accuracy !== h.baseline || s.ablate.length > 0;
    const line = result.append('div').attr('class', 'out heldout').attr('data-testid', 'heldout');
    line.append('span').attr('class', 'row-label').text('Copying');
    line.append('span').attr('class', 'heldout-text').text(heldoutText(h, off));
  }
}

/** The model line: task, checkpoint, shape, sampling, and where the document came from. */
function metaText(doc: AttnDoc, s: AppState): string {
  const m = doc.model;
  const parts: string[] = [];
  if (m.task) parts.push(`task ${m.task}`);
  if (typeof m.model_type === 'string') parts.push(`pretrained ${m.model_type}`);
  if (m.epoch !== undefined && m.epoch !== null) parts.push(`epoch ${m.epoch}`);
  const t = doc.kinds[availableKinds(doc)[0]!]!;
  parts.push(`${t.layers} layer${t.layers > 1 ? 's' : ''} × ${t.heads} head${t.heads > 1 ? 's' : ''}`);
  if (m.d_model) parts.push(`d_model ${m.d_model}`);
  if (doc.sampling) parts.push(`sampled: ${describeSampling(doc.sampling)}`);
  if (s.hidespecial && s.rawDoc && s.rawDoc.tokens.src.length !== doc.tokens.src.length) parts.push('special tokens hidden, rows renormalised');
  return parts.join(' · ') + (s.docSource === 'file' ? ` · from file${s.fileName ? ` ${s.fileName}` : ''}` : '');
}

export function createOutputPanel(container: HTMLElement, store: Store<AppState>) {
  const root = d3.select(container).attr('class', 'output-panel').attr('data-testid', 'output-panel');
  const rows = root.append('div').attr('class', 'token-rows');
  const result = root.append('div').attr('class', 'result').attr('data-testid', 'output');
  const metaRow = root.append('div').attr('class', 'meta-row');
  const meta = metaRow.append('div').attr('class', 'meta');
  const warnings = metaRow.append('ul').attr('class', 'warnings').attr('data-testid', 'warnings');

  function render() {
    const s = store.get();
    const doc = s.doc;
    root.classed('no-doc', !doc);
    if (!doc) return;
    renderTokenRows(rows, doc, store);
    renderResult(result, doc, s);
    meta.text(metaText(doc, s));
    warnings.selectAll('li').data(doc.warnings).join('li').text((d) => d).attr('title', (d) => d);
    updateHover();
  }

  const lit = createLitSet();
  function updateHover() {
    const s = store.get();
    const els: Element[] = [];
    rows.selectAll<HTMLDivElement, { side: Side }>('div.token-row').each(function (row) {
      // chips are joined in index order: the i-th is token i
      const chips = this.querySelector('.chips')!.children;
      const h = s.hover;
      const cand = !h ? [] : h.type === 'token' ? [h.index] : [h.q, h.k];
      for (const i of cand) if (chips[i] && tokenLit(h, s.kind, row.side, i)) els.push(chips[i]!);
    });
    lit.set(els);
  }

  store.subscribe((s, p) => {
    if (s.doc !== p.doc || s.docSource !== p.docSource || s.hidespecial !== p.hidespecial) render();
    else if (s.hover !== p.hover || s.kind !== p.kind) updateHover();
  });
  render();
}

export const spec: ViewSpec = { id: 'output-panel', place: { slot: 'output', order: 1, tag: 'section', id: 'output-panel' }, create: createOutputPanel };
