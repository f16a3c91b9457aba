/**
 * Attention over training: the same input through every epoch of the selected run, fetched in ONE
 * /api/timeline request (float16, cached per run + text). A scrubber and a play button swap the
 * shown document (model view, focus heatmap, arcs, output) to that epoch's without any request;
 * small multiples show the focused head at every epoch with its accuracy.
 */
import { fetchTimeline as fetchRun, type TimelineEpoch } from '../app/data';
import type { CheckpointMetrics, Weighting } from '../api/types';
import { matrixToRgba } from '../lib/color';
import { KIND_LABEL } from '../lib/doc';
import { attentionSource } from '../lib/source';
import type { Store } from '../lib/store';
import { showDocPatch, type AppState } from '../app/state';
import { timed } from './common';
import { findCheckpoint } from './inputBar';
import { publish, countRender } from '../app/testHook';
import type { ViewSpec } from './spec';


const PLAY_MS = 700;

function accuracy(m: CheckpointMetrics): number | null {
  const a = m.sequence_accuracy ?? m.token_accuracy ?? m.in_context_accuracy;
  return typeof a === 'number' ? a : null;
}
function accText(m: CheckpointMetrics): string {
  const seq = m.sequence_accuracy;
  const tok = m.token_accuracy;
  const ctx = m.in_context_accuracy;
  // the induction task: held-out in-context accuracy and the best induction score (the phase change)
  if (typeof ctx === 'number') {
    const ind = m.best_induction;
    return `in-context ${(ctx * 100).toFixed(0)}%${typeof ind === 'number' ? ` · induct ${ind.toFixed(2)}` : ''}`;
  }
  if (typeof seq === 'number') return `seq acc ${(seq * 100).toFixed(0)}%`;
  if (typeof tok === 'number') return `token acc ${(tok * 100).toFixed(0)}%`;
  return '';
}

/** Run of a checkpoint name: from the listing, else its directory ('.' at the top level). */
export function runOf(s: AppState, ckpt: string): string {
  const info = findCheckpoint(s, ckpt);
  if (info) return info.run;
  const i = ckpt.lastIndexOf('/');
  return i < 0 ? '.' : ckpt.slice(0, i);
}

/** The panel: title, subtitle, play / scrubber / label, the status line and the strip of cards. */
function buildPanel(container: HTMLElement) {
  container.classList.add('timeline-view');
  container.dataset.testid = 'timeline-view';
  const head = document.createElement('div');
  head.className = 'insight-head';
  const title = document.createElement('h2');
  title.textContent = 'Attention over training';
  const sub = document.createElement('p');
  sub.dataset.testid = 'timeline-sub';
  sub.className = 'hint';
  const controls = document.createElement('div');
  controls.className = 'tl-controls';
  const play = document.createElement('button');
  play.className = 'btn small';
  play.dataset.testid = 'timeline-play';
  const scrub = document.createElement('input');
  scrub.type = 'range';
  scrub.min = '0';
  scrub.step = '1';
  scrub.dataset.testid = 'timeline-scrubber';
  scrub.setAttribute('aria-label', 'Epoch');
  const label = document.createElement('output');
  label.className = 'tl-label';
  label.dataset.testid = 'timeline-label';
  controls.append(play, scrub, label);
  head.append(title, sub, controls);
  const status = document.createElement('div');
  status.className = 'insight-status';
  status.dataset.testid = 'timeline-status';
  const strip = document.createElement('div');
  strip.className = 'tl-strip';
  strip.dataset.testid = 'timeline-multiples';
  container.append(head, status, strip);
  return { sub, play, scrub, label, status, strip };
}

/** What the subtitle says of the shown head and the epochs (and snapshots) it is drawn at. */
function subtitle(s: AppState, epochs: TimelineEpoch[]): string {
  if (!epochs.length) return '';
  return `${KIND_LABEL[s.kind]}, layer ${s.layer} · head ${s.head}, at each of ${epochs.filter((e) => !e.snapshot).length} epochs${
    epochs.some((e) => e.snapshot) ? ` and ${epochs.filter((e) => e.snapshot).length} snapshots between them` : ''
  }. Scrub or play to watch the pattern form.${
    // the small multiples draw each epoch's head as computed; the views above merge it
    s.doc?.merged ? ' The small multiples show every token on its own (the span and word grouping apply above).' : ''
  }${
    // each epoch's own greedy output, so epochs compare on equal terms; a draw is one model's
    s.doc?.sampling ? ' Each epoch decodes greedily (the sampling settings apply to the text above).' : ''
  }`;
}

/** One epoch's card: the focused head at that epoch (when the first epoch has the kind), its accuracy and output. */
function epochCard(e: TimelineEpoch, index: number, s: AppState, drawn: boolean, onClick: () => void): HTMLButtonElement {
  const card = document.createElement('button');
  card.className = 'tl-card';
  card.dataset.testid = e.snapshot ? `timeline-snapshot-${e.step}` : `timeline-multiple-${e.epoch}`;
  card.dataset.epoch = String(e.epoch);
  card.dataset.index = String(index);
  card.addEventListener('click', onClick);
  const et = attentionSource(e.doc, s.kind);
  const c = document.createElement('canvas');
  if (et && drawn) {
    const layer = Math.min(s.layer, et.layers - 1);
    const h = Math.min(s.head, et.heads - 1);
    c.width = et.nk;
    c.height = et.nq;
    c.getContext('2d')!.putImageData(new ImageData(matrixToRgba(et.matrix(layer, h), et.nq, et.nk, et.causal), et.nk, et.nq), 0, 0);
  }
  const cap = document.createElement('div');
  cap.className = 'tl-cap';
  const ep = document.createElement('b');
  ep.textContent = e.snapshot ? `step ${e.step}` : `epoch ${e.epoch}`;
  const acc = document.createElement('span');
  acc.className = 'tl-acc';
  acc.dataset.testid = 'timeline-accuracy';
  acc.textContent = accText(e.metrics);
  const bar = document.createElement('i');
  bar.className = 'tl-bar';
  bar.style.width = `${((accuracy(e.metrics) ?? 0) * 100).toFixed(1)}%`;
  const out = document.createElement('code');
  out.className = `tl-out ${e.doc.expected === null ? '' : e.doc.output === e.doc.expected ? 'ok' : 'bad'}`;
  out.textContent = e.doc.output ?? '';
  out.title = `Output at epoch ${e.epoch}`;
  cap.append(ep, acc, bar, out);
  card.append(c, cap);
  return card;
}

/** Show epoch `e` everywhere: the timeline's own document, no request (unless heads are ablated).
 *  Returns the milliseconds it took (0: nothing shown). */
function showEpoch(store: Store<AppState>, e: TimelineEpoch | undefined, loadedKey: string): number {
  const s = store.get();
  if (!e || loadedKey !== `${runOf(s, s.ckpt)}\n${s.text}\n${s.weighting}`) return 0; // the text changed: wait for its timeline
  const t0 = performance.now();
  if (s.ablate.length) {
    store.set({ ckpt: e.checkpoint }); // the ablated model must run again: the app fetches it
  } else if (s.doc !== e.doc) {
    store.set({ ckpt: e.checkpoint, ...showDocPatch(s, e.doc, 'api') });
  }
  return performance.now() - t0;
}

function setStatus(status: HTMLElement, text: string, kind: '' | 'loading' | 'error') {
  status.textContent = text;
  status.className = kind ? `insight-status ${kind}` : 'insight-status';
}

/** "epoch 3 / 5 · seq acc 90%", or "step 40 (after epoch 1) / 5" for a snapshot. */
function selectionLabel(epochs: TimelineEpoch[], i: number): string {
  const e = epochs[i];
  const where = e?.snapshot ? `step ${e.step} (after epoch ${e.epoch})` : `epoch ${e?.epoch}`;
  const lastEpoch = Math.max(...epochs.map((x) => x.epoch));
  return e ? `${where} / ${lastEpoch}${accText(e.metrics) ? ` · ${accText(e.metrics)}` : ''}` : '';
}

/** The selected card scrolled into the strip's view (sideways only: the page does not move). */
function revealCurrent(strip: HTMLElement) {
  const card = strip.querySelector<HTMLElement>('.tl-card.current');
  if (!card) return;
  const box = strip.getBoundingClientRect();
  const r = card.getBoundingClientRect();
  if (r.left < box.left) strip.scrollLeft -= box.left - r.left + 8;
  else if (r.right > box.right) strip.scrollLeft += r.right - box.right + 8;
}

/**
 * Fetches the timeline of the shown run and text (one request for every epoch; none while the
 * same one is loaded or on its way) and hands the epochs to `loaded`; the status line says what
 * it is doing or what went wrong.
 */
function createLoader(store: Store<AppState>, status: HTMLElement, loaded: (epochs: TimelineEpoch[]) => void) {
  let loadedKey = '';
  let wanted = '';
  let requests = 0;
  function fetchTimeline(run: string, text: string, weighting: Weighting): Promise<TimelineEpoch[]> {
    requests++;
    return fetchRun(run, text, weighting);
  }
  function load() {
    const s = store.get();
    if (s.insight !== 'timeline' || !s.ckpt || !s.text) return;
    // only a listed checkpoint names its run (a link's `ckpt=sort` resolves once the listing arrives)
    if (!findCheckpoint(s, s.ckpt)) return;
    const run = runOf(s, s.ckpt);
    const key = `${run}\n${s.text}\n${s.weighting}`;
    if (key === loadedKey || key === wanted) return;
    wanted = key;
    setStatus(status, `Running every epoch of “${run}” on “${s.text}”…`, 'loading');
    fetchTimeline(run, s.text, s.weighting).then(
      (list) => {
        if (wanted !== key) return;
        loadedKey = key;
        wanted = '';
        setStatus(status, '', '');
        loaded(list);
      },
      (e: Error) => {
        if (wanted !== key) return;
        wanted = '';
        setStatus(status, e.message, 'error');
      },
    );
  }
  return { load, loadedKey: () => loadedKey, requests: () => requests };
}

/** The scrubber's range, the subtitle and one card per epoch (`pick`: a card was clicked). */
function drawCards(p: ReturnType<typeof buildPanel>, s: AppState, epochs: TimelineEpoch[], pick: (e: TimelineEpoch) => void) {
  p.scrub.max = String(Math.max(0, epochs.length - 1));
  p.scrub.disabled = epochs.length < 2;
  p.play.disabled = epochs.length < 2;
  const first = !!epochs[0]?.doc.kinds[s.kind];
  p.sub.textContent = subtitle(s, epochs);
  p.strip.replaceChildren(...epochs.map((e, i) => epochCard(e, i, s, first, () => pick(e))));
}

/**
 * Play: the next epoch every PLAY_MS from epoch `i` (from the first when `i` is the last), `stop`
 * after the last. Returns the interval's id.
 */
function playFrom(i: number, count: () => number, scrubTo: (i: number) => void, stop: () => void): number {
  if (i >= count() - 1) i = -1;
  const id = window.setInterval(() => {
    i++;
    scrubTo(i);
    if (i >= count() - 1) stop();
  }, PLAY_MS);
  if (i < 0) {
    i = 0;
    scrubTo(0);
  }
  return id;
}

export function createTimelineView(container: HTMLElement, store: Store<AppState>) {
  const p = buildPanel(container);
  const { play, scrub, label, status, strip } = p;
  let epochs: TimelineEpoch[] = [];
  let timer: number | undefined;
  let playing: number | undefined;
  const loader = createLoader(store, status, (list) => {
    epochs = list;
    renderAll();
  });
  const load = loader.load;

  function currentIndex(s: AppState): number {
    const i = epochs.findIndex((e) => e.checkpoint === s.ckpt);
    return i < 0 ? epochs.length - 1 : i;
  }

  function scrubTo(i: number): number {
    return showEpoch(store, epochs[Math.max(0, Math.min(epochs.length - 1, i))], loader.loadedKey());
  }

  function renderAll() {
    timed('timeline', () => {
      countRender('timeline');
      drawCards(p, store.get(), epochs, (e) => scrubTo(epochs.indexOf(e)));
      updateSelection();
    });
  }

  function updateSelection() {
    const i = currentIndex(store.get());
    scrub.value = String(i);
    label.textContent = selectionLabel(epochs, i);
    for (const el of strip.children) (el as HTMLElement).classList.toggle('current', (el as HTMLElement).dataset.index === String(i));
    revealCurrent(strip);
    play.textContent = playing !== undefined ? '❚❚ Pause' : '▶ Play';
  }

  function stop() {
    if (playing !== undefined) clearInterval(playing);
    playing = undefined;
    updateSelection();
  }
  play.addEventListener('click', () => {
    if (playing !== undefined) return stop();
    playing = playFrom(currentIndex(store.get()), () => epochs.length, scrubTo, stop);
    updateSelection();
  });
  scrub.addEventListener('input', () => {
    const i = +scrub.value;
    stop();
    scrubTo(i);
  });

  store.subscribe((s, prev) => {
    if (s.insight !== prev.insight && s.insight !== 'timeline') stop();
    if (s.insight !== 'timeline') return;
    if (s.insight !== prev.insight || s.checkpoints !== prev.checkpoints || runOf(s, s.ckpt) !== runOf(prev, prev.ckpt) || s.weighting !== prev.weighting) load();
    else if (s.text !== prev.text) {
      clearTimeout(timer);
      timer = window.setTimeout(load, 400);
    }
    if (!epochs.length) return;
    if (s.kind !== prev.kind || s.layer !== prev.layer || s.head !== prev.head || s.insight !== prev.insight || !s.doc?.merged !== !prev.doc?.merged) renderAll();
    else if (s.ckpt !== prev.ckpt) updateSelection();
  });
  load();

  publish('timeline', {
    scrubTo,
    timelineEpochs: () => epochs.map((e) => e.epoch),
    get timelineRequests() {
      return loader.requests();
    },
  });
}

export const spec: ViewSpec = {
  id: 'timeline',
  place: { tab: 'timeline', label: 'Training', title: 'The same input through every epoch of this run' },
  needs: { feature: 'timeline' },
  create: createTimelineView,
};
