/**
 * Attention over training: the same input through every epoch of the selected run, fetched in ONE
 * /api/timeline request (float16, cached per run + text). A scrubber and a play button swap the
 * shown document (model view, focus heatmap, arcs, output) to that epoch's without any request;
 * small multiples show the focused head at every epoch with its accuracy.
 */
import { fetchTimeline as fetchRun, type TimelineEpoch } from '../data';
import type { CheckpointMetrics, Weighting } from '../api/types';
import { matrixToRgba } from '../lib/color';
import { headMatrix, KIND_LABEL } from '../lib/doc';
import type { Store } from '../lib/store';
import { showDocPatch, type AppState } from '../state';
import { countRender, timed } from './common';
import { findCheckpoint } from './inputBar';
import { publish } from '../testHook';
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

export function createTimelineView(container: HTMLElement, store: Store<AppState>) {
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

  let epochs: TimelineEpoch[] = [];
  let loadedKey = '';
  let wanted = '';
  let timer: number | undefined;
  let playing: number | undefined;
  let requests = 0;

  function fetchTimeline(run: string, text: string, weighting: Weighting): Promise<TimelineEpoch[]> {
    requests++;
    return fetchRun(run, text, weighting);
  }

  function currentIndex(s: AppState): number {
    const i = epochs.findIndex((e) => e.checkpoint === s.ckpt);
    return i < 0 ? epochs.length - 1 : i;
  }

  /** Show epoch i everywhere: the timeline's own document, no request (unless heads are ablated). */
  function scrubTo(i: number): number {
    const e = epochs[Math.max(0, Math.min(epochs.length - 1, i))];
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

  function load() {
    const s = store.get();
    if (s.insight !== 'timeline' || !s.ckpt || !s.text) return;
    // only a listed checkpoint names its run (a link's `ckpt=sort` resolves once the listing arrives)
    if (!findCheckpoint(s, s.ckpt)) return;
    const run = runOf(s, s.ckpt);
    const key = `${run}\n${s.text}\n${s.weighting}`;
    if (key === loadedKey || key === wanted) return;
    wanted = key;
    status.textContent = `Running every epoch of “${run}” on “${s.text}”…`;
    status.className = 'insight-status loading';
    fetchTimeline(run, s.text, s.weighting).then(
      (list) => {
        if (wanted !== key) return;
        epochs = list;
        loadedKey = key;
        wanted = '';
        status.textContent = '';
        status.className = 'insight-status';
        renderAll();
      },
      (e: Error) => {
        if (wanted !== key) return;
        wanted = '';
        status.textContent = e.message;
        status.className = 'insight-status error';
      },
    );
  }

  function renderAll() {
    timed('timeline', () => {
      countRender('timeline');
      const s = store.get();
      scrub.max = String(Math.max(0, epochs.length - 1));
      scrub.disabled = epochs.length < 2;
      play.disabled = epochs.length < 2;
      const t = epochs[0]?.doc.kinds[s.kind];
      sub.textContent = epochs.length
        ? `${KIND_LABEL[s.kind]}, layer ${s.layer} · head ${s.head}, at each of ${epochs.filter((e) => !e.snapshot).length} epochs${
            epochs.some((e) => e.snapshot) ? ` and ${epochs.filter((e) => e.snapshot).length} snapshots between them` : ''
          }. Scrub or play to watch the pattern form.${
            // the small multiples draw each epoch's head as computed; the views above merge it
            s.doc?.merged ? ' The small multiples show every token on its own (the span and word grouping apply above).' : ''
          }${
            // each epoch's own greedy output, so epochs compare on equal terms; a draw is one model's
            s.doc?.sampling ? ' Each epoch decodes greedily (the sampling settings apply to the text above).' : ''
          }`
        : '';
      const cards = epochs.map((e) => {
        const card = document.createElement('button');
        card.className = 'tl-card';
        card.dataset.testid = e.snapshot ? `timeline-snapshot-${e.step}` : `timeline-multiple-${e.epoch}`;
        card.dataset.epoch = String(e.epoch);
        card.dataset.index = String(epochs.indexOf(e));
        card.addEventListener('click', () => scrubTo(epochs.indexOf(e)));
        const et = e.doc.kinds[s.kind];
        const c = document.createElement('canvas');
        if (et && t) {
          const layer = Math.min(s.layer, et.layers - 1);
          const h = Math.min(s.head, et.heads - 1);
          c.width = et.nk;
          c.height = et.nq;
          c.getContext('2d')!.putImageData(new ImageData(matrixToRgba(headMatrix(et, layer, h), et.nq, et.nk, et.causal), et.nk, et.nq), 0, 0);
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
      });
      strip.replaceChildren(...cards);
      updateSelection();
    });
  }

  function updateSelection() {
    const s = store.get();
    const i = currentIndex(s);
    scrub.value = String(i);
    const e = epochs[i];
    const where = e?.snapshot ? `step ${e.step} (after epoch ${e.epoch})` : `epoch ${e?.epoch}`;
    const lastEpoch = Math.max(...epochs.map((x) => x.epoch));
    label.textContent = e ? `${where} / ${lastEpoch}${accText(e.metrics) ? ` · ${accText(e.metrics)}` : ''}` : '';
    for (const el of strip.children) (el as HTMLElement).classList.toggle('current', (el as HTMLElement).dataset.index === String(i));
    revealCurrent();
    play.textContent = playing !== undefined ? '❚❚ Pause' : '▶ Play';
  }

  /** The selected card scrolled into the strip's view (sideways only: the page does not move). */
  function revealCurrent() {
    const card = strip.querySelector<HTMLElement>('.tl-card.current');
    if (!card) return;
    const box = strip.getBoundingClientRect();
    const r = card.getBoundingClientRect();
    if (r.left < box.left) strip.scrollLeft -= box.left - r.left + 8;
    else if (r.right > box.right) strip.scrollLeft += r.right - box.right + 8;
  }

  function stop() {
    if (playing !== undefined) clearInterval(playing);
    playing = undefined;
    updateSelection();
  }
  play.addEventListener('click', () => {
    if (playing !== undefined) return stop();
    let i = currentIndex(store.get());
    if (i >= epochs.length - 1) i = -1;
    playing = window.setInterval(() => {
      i++;
      scrubTo(i);
      if (i >= epochs.length - 1) stop();
    }, PLAY_MS);
    if (i < 0) {
      i = 0;
      scrubTo(0);
    }
    updateSelection();
  });
  scrub.addEventListener('input', () => {
    const i = +scrub.value;
    stop();
    scrubTo(i);
  });

  store.subscribe((s, p) => {
    if (s.insight !== p.insight && s.insight !== 'timeline') stop();
    if (s.insight !== 'timeline') return;
    if (s.insight !== p.insight || s.checkpoints !== p.checkpoints || runOf(s, s.ckpt) !== runOf(p, p.ckpt) || s.weighting !== p.weighting) load();
    else if (s.text !== p.text) {
      clearTimeout(timer);
      timer = window.setTimeout(load, 400);
    }
    if (!epochs.length) return;
    if (s.kind !== p.kind || s.layer !== p.layer || s.head !== p.head || s.insight !== p.insight || !s.doc?.merged !== !p.doc?.merged) renderAll();
    else if (s.ckpt !== p.ckpt) updateSelection();
  });
  load();

  publish('timeline', {
    scrubTo,
    timelineEpochs: () => epochs.map((e) => e.epoch),
    get timelineRequests() {
      return requests;
    },
  });
}

export const spec: ViewSpec = {
  id: 'timeline',
  place: { tab: 'timeline', label: 'Training', title: 'The same input through every epoch of this run' },
  needs: { feature: 'timeline' },
  create: createTimelineView,
};
