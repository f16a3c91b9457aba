/**
 * Input bar: checkpoint (run, then epoch), the text, Run; errors with the offending characters
 * highlighted in the input itself (a mirrored backdrop behind a transparent-background input).
 */
import * as d3 from 'd3';
import type { CheckpointInfo, RunInfo } from '../api/types';
import { errorHeading } from '../lib/errors';
import { checkpointInfo } from '../lib/features';
import type { Store } from '../lib/store';
import { lowerCaseFix, segmentInvalid } from '../lib/text';
import type { AppState } from '../app/state';
import type { ViewSpec } from './spec';

export function findCheckpoint(s: AppState, name: string): CheckpointInfo | null {
  return checkpointInfo(s.checkpoints, name);
}

interface RunGroup {
  id: string;
  label: string;
  runs: RunInfo[];
}

function runLabel(d: RunInfo): string {
  if (d.kind === 'huggingface') {
    const c = d.checkpoints[0];
    const cfg = c?.config;
    const shape = cfg ? ` · ${cfg.n_layers}L × ${cfg.n_heads}H` : '';
    return `${d.name}${c?.usable ? shape : ' · unusable'}`;
  }
  return d.task && d.task !== d.name ? `${d.name} (${d.task})` : d.name;
}

function epochLabel(c: CheckpointInfo): string {
  const acc = c.metrics?.sequence_accuracy ?? c.metrics?.token_accuracy;
  const e = c.epoch === null ? c.name.split('/').pop()! : `epoch ${c.epoch}`;
  // a percentage: a cut-off "acc 0.99" read as "acc 0" on a projector
  return c.usable ? (acc !== null && acc !== undefined ? `${e} · ${Math.round(acc * 100)}%` : e) : `${e} · unusable`;
}

type Sel<E extends d3.BaseType> = d3.Selection<E, unknown, null, undefined>;

/** The run select, then the epoch select (a run's checkpoints). */
function buildSelects(root: Sel<HTMLElement>, store: Store<AppState>) {
  const ck = root.append('div').attr('class', 'field ckpt-field');
  const runSel = ck
    .append('select')
    .attr('aria-label', 'Run')
    .attr('data-testid', 'run-select')
    .on('change', function () {
      const run = (store.get().checkpoints?.runs ?? []).find((r) => r.name === (this as HTMLSelectElement).value);
      const usable = run?.checkpoints.filter((c) => c.usable) ?? [];
      const pick = usable[usable.length - 1] ?? run?.checkpoints[run.checkpoints.length - 1];
      if (pick) store.set({ ckpt: pick.name });
    });
  const epochSel = ck
    .append('select')
    .attr('aria-label', 'Epoch')
    .attr('data-testid', 'epoch-select')
    .on('change', function () {
      store.set({ ckpt: (this as HTMLSelectElement).value });
    });
  return { runSel, epochSel };
}

function syncScroll(backdrop: Sel<HTMLDivElement>, input: Sel<HTMLInputElement>) {
  backdrop.property('scrollLeft', (input.node() as HTMLInputElement).scrollLeft);
}

/** The text input over its backdrop (where invalid characters are marked). */
function buildTextField(root: Sel<HTMLElement>, store: Store<AppState>, opts: { onRun(): void }) {
  const tf = root.append('div').attr('class', 'field text-field');
  const backdrop = tf.append('div').attr('class', 'backdrop').attr('aria-hidden', 'true');
  const input = tf
    .append('input')
    .attr('type', 'text')
    .attr('spellcheck', 'false')
    .attr('autocomplete', 'off')
    .attr('placeholder', 'Type or paste text…')
    .attr('aria-label', 'Input text')
    .attr('data-testid', 'text-input')
    .on('input', function () {
      store.set({ text: (this as HTMLInputElement).value });
    })
    .on('scroll', () => syncScroll(backdrop, input))
    .on('keydown', (e: KeyboardEvent) => {
      if (e.key === 'Enter') opts.onRun();
    });
  return { tf, backdrop, input };
}

/** The run options: toy runs, then pretrained models in their own group; returns the current run. */
function renderRuns(runSel: Sel<HTMLSelectElement>, s: AppState, cur: CheckpointInfo | null): RunInfo | undefined {
  const runs: RunInfo[] = s.checkpoints?.runs ?? [];
  const runName = cur?.run ?? '';
  // toy runs, then pretrained models in their own group
  const placeholder = runs.length ? 'Choose a run…' : s.checkpointsStatus === 'loading' ? 'Loading…' : s.checkpointsStatus === 'error' ? 'No server' : 'No checkpoints';
  const groups: RunGroup[] = [
    { id: 'toy', label: 'trained here', runs: runs.filter((r) => (r.kind ?? 'toy') === 'toy') },
    { id: 'huggingface', label: 'pretrained', runs: runs.filter((r) => r.kind === 'huggingface') },
  ].filter((g) => g.runs.length) as RunGroup[];
  runSel
    .selectAll<HTMLOptionElement, null>(':scope > option:not(.run)')
    .data(cur ? [] : [null])
    .join('option')
    .attr('value', '')
    .text(placeholder);
  const og = runSel
    .selectAll<HTMLOptGroupElement, RunGroup>('optgroup')
    .data(groups.length > 1 ? groups : [], (d) => d.id)
    .join('optgroup')
    .attr('label', (d) => d.label);
  og.selectAll<HTMLOptionElement, RunInfo>('option')
    .data((d) => d.runs, (d) => d.name)
    .join('option')
    .attr('value', (d) => d.name)
    .property('disabled', (d) => !d.checkpoints.some((c) => c.usable))
    .attr('title', (d) => d.checkpoints.find((c) => c.error)?.error ?? '')
    .text(runLabel);
  // a single group: plain options, no group headers
  runSel
    .selectAll<HTMLOptionElement, RunInfo>(':scope > option.run')
    .data(groups.length === 1 ? groups[0]!.runs : [], (d) => d.name)
    .join('option')
    .attr('class', 'run')
    .attr('value', (d) => d.name)
    .property('disabled', (d) => d.kind === 'huggingface' && !d.checkpoints.some((c) => c.usable))
    .attr('title', (d) => d.checkpoints.find((c) => c.error)?.error ?? '')
    .text(runLabel);
  // the placeholder first
  const ph = runSel.select<HTMLOptionElement>(':scope > option:not(.run)').node();
  if (ph) runSel.node()!.prepend(ph);
  runSel.property('value', runName).property('disabled', !runs.length);
  const run = runs.find((r) => r.name === runName);
  // the select is narrower than a long run name: its whole label on hover
  runSel.attr('title', run ? runLabel(run) : null);
  return run;
}

/** The error under the bar: its heading, the text with the offending characters, and a fix if lower case is one. */
function renderError(error: Sel<HTMLDivElement>, s: AppState, store: Store<AppState>, onRun: () => void) {
  const e = s.error;
  error.style('display', e ? '' : 'none');
  error.selectAll('*').remove();
  if (e) {
    error.append('strong').text(`${errorHeading(e.code)} `);
    error.append('span').text(e.message);
    if (e.invalidCharacters.length && e.text !== undefined) {
      const p = error.append('div').attr('class', 'error-text');
      p.selectAll('span')
        .data(segmentInvalid(e.text, e.invalidCharacters))
        .join('span')
        .classed('bad', (d) => d.invalid)
        .text((d) => d.text);
      const fixed = lowerCaseFix(e.text, findCheckpoint(s, s.ckpt)?.characters);
      if (fixed !== null) {
        error
          .append('button')
          .attr('class', 'btn small')
          .attr('data-testid', 'error-fix-lowercase')
          .text('Lower-case it')
          .on('click', () => {
            store.set({ text: fixed });
            onRun();
          });
      }
    }
  }
}

export function createInputBar(container: HTMLElement, store: Store<AppState>, opts: { onRun(): void }) {
  const root = d3.select(container).attr('class', 'input-bar');
  const { runSel, epochSel } = buildSelects(root, store);
  const { tf, backdrop, input } = buildTextField(root, store, opts);
  const runBtn = root
    .append('button')
    .attr('class', 'btn primary')
    .attr('data-testid', 'run-button')
    .text('Run')
    .on('click', () => opts.onRun());
  const status = root.append('div').attr('class', 'status').attr('role', 'status').attr('data-testid', 'status');
  const error = d3
    .select(container.parentElement!)
    .append('div')
    .attr('class', 'error-message')
    .attr('role', 'alert')
    .attr('data-testid', 'error-message')
    .style('display', 'none');

  function renderCheckpoints(s: AppState) {
    const cur = findCheckpoint(s, s.ckpt);
    const run = renderRuns(runSel, s, cur);
    epochSel
      .selectAll<HTMLOptionElement, CheckpointInfo>('option')
      .data(run?.checkpoints ?? [], (d) => d.name)
      .join('option')
      .attr('value', (d) => d.name)
      .property('disabled', (d) => !d.usable)
      .attr('title', (d) => d.error ?? '')
      .text(epochLabel);
    const pretrained = run?.kind === 'huggingface';
    epochSel.property('value', cur?.name ?? '').property('disabled', !run).style('display', run && !pretrained ? '' : 'none');
    epochSel.attr('title', cur ? epochLabel(cur) : null);
    const c = cur;
    const maxTokens = typeof c?.config?.max_length === 'number' ? c.config.max_length : null;
    if ((input.node() as HTMLInputElement).readOnly) return; // a saved file's text: renderText titles it
    input
      .attr('maxlength', null)
      .attr(
        'title',
        pretrained && maxTokens ? `Tokenized with the model's own word pieces; up to ${maxTokens} tokens, [CLS] and [SEP] included`
          : c?.max_text_len ? `Trained on inputs up to ${c.max_text_len} characters` : null,
      );
  }

  function renderText(s: AppState) {
    const el = input.node() as HTMLInputElement;
    if (el.value !== s.text) el.value = s.text;
    // a saved file's text, read-only and perhaps wider than its box: the whole of it on hover
    if (el.readOnly) el.title = `“${s.text}”: the text this file was saved with. To run another text, use the attnviz app (attnviz serve) or attnviz.show.`;
    const inv = s.error?.invalidCharacters.length && s.error.text === s.text ? s.error.invalidCharacters : [];
    backdrop
      .selectAll<HTMLSpanElement, { text: string; invalid: boolean }>('span')
      .data(inv.length ? segmentInvalid(s.text, inv) : [])
      .join('span')
      .classed('bad', (d) => d.invalid)
      .text((d) => d.text);
    tf.classed('invalid', inv.length > 0);
    input.attr('aria-invalid', inv.length > 0 ? 'true' : null);
    // reading scrollLeft lays the page out: only when the backdrop shows marks to line up
    if (inv.length) syncScroll(backdrop, input);
  }

  function renderStatus(s: AppState) {
    status.classed('loading', s.status === 'loading').text(s.status === 'loading' ? 'Running the model…' : '');
    runBtn.property('disabled', !s.ckpt || !s.text || s.status === 'loading');
    renderError(error, s, store, () => opts.onRun());
  }

  store.subscribe((s, p) => {
    if (s.checkpoints !== p.checkpoints || s.ckpt !== p.ckpt || s.checkpointsStatus !== p.checkpointsStatus) renderCheckpoints(s);
    if (s.text !== p.text || s.error !== p.error) renderText(s);
    if (s.status !== p.status || s.error !== p.error || s.ckpt !== p.ckpt || s.text !== p.text) renderStatus(s);
  });
  const s0 = store.get();
  renderCheckpoints(s0);
  renderText(s0);
  renderStatus(s0);
}

export const spec: ViewSpec = {
  id: 'input-bar',
  place: { slot: 'input', order: 1, tag: 'div', id: 'input-bar' },
  // the sampling controls (views/samplingControls.ts) are part of it
  url: ['ckpt', 'text', 'temp', 'topk', 'topp', 'seed'],
  create: (el, store, { app }) => createInputBar(el, store, { onRun: app.run }),
};
