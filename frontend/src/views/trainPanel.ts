/**
 * Train a model from the page and watch its attention form (insight tab "Train", `?insight=train`).
 *
 * Data in: the server's limits (GET /api/train/limits), the job's server-sent events. Drawing out:
 * a form within those limits, a loss/accuracy chart (two SVG paths), and — on every snapshot —
 * the current text run through the newest snapshot, shown like any document (the model view and
 * the focused head redraw). A superseded snapshot request is aborted. When the job ends, the
 * checkpoint list is refreshed and its last epoch selected: an ordinary run in the picker.
 * A reloaded page re-attaches to the running (or latest) job from the limits' `current`.
 */
import '../trainPanel.css';
import { ApiError } from '../api/client';
import { fetchCheckpoints, fetchDocument, training } from '../data';
import type { TrainEvents, TrainLimits, TrainStatus, TrainTask } from '../api/types';
import type { Store } from '../lib/store';
import { chartPaths, scorePaths, type ScorePoint, type TrainPoint } from '../lib/trainChart';
import { showDocPatch, type AppState } from '../state';
import { publish, type TrainHook } from '../testHook';
import type { ViewSpec } from './spec';

const SAMPLE: Record<string, string> = {
  copy: 'hello world',
  reverse: 'attention',
  sort: 'transformer',
  shift: 'look back',
  swap: 'zig zag',
  // random letters, then "kfmwaxqz" repeated from its start: an induction head continues the copy
  induction: 'pjdkfmwaxqzkfmwa',
};
/** Before the server's limits arrive (or from an older server): the trainer's usual rate. */
const DEFAULT_LR = 0.005;
/** the heads a task's recipe proposes: induction one per layer, so one head does the copying (with
 *  more, every layer-2 head learns it and switching one off costs little) */
const TASK_HEADS: Record<string, number> = { induction: 1 };
const DEFAULT_HEADS = 4;
/** the epochs a task's recipe needs (induction: 3 of 250 steps, the phase change comes near step 250) */
const TASK_EPOCHS: Record<string, number> = { induction: 3 };
const DEFAULT_EPOCHS = 4;
/** Every task the server lists has a label (a new one fails the type check until it gets one). */
const TASK_LABEL: Record<TrainTask, string> = {
  copy: 'copy',
  reverse: 'reverse',
  sort: 'sort',
  shift: 'shift (2 back)',
  swap: 'swap (pairs)',
  induction: 'induction (decoder-only)',
};
const CHART_W = 320;
const CHART_H = 120;
const SVG = 'http://www.w3.org/2000/svg';
const TERMINAL = ['done', 'cancelled', 'failed'] as const;

interface NumberField {
  key: 'n_layers' | 'n_heads' | 'd_model' | 'epochs' | 'lr' | 'seed';
  label: string;
  value: number;
  min: number;
  max: (l: TrainLimits) => number;
  /** the input's step; 'any' where a multiple of a step would be arbitrary */
  step: number | 'any';
}

const FIELDS: NumberField[] = [
  { key: 'n_layers', label: 'Layers', value: 2, min: 1, max: (l) => l.max_layers, step: 1 },
  { key: 'n_heads', label: 'Heads', value: DEFAULT_HEADS, min: 1, max: (l) => l.max_heads, step: 1 },
  { key: 'd_model', label: 'd_model', value: 64, min: 4, max: (l) => l.max_d_model, step: 4 },
  { key: 'epochs', label: 'Epochs', value: DEFAULT_EPOCHS, min: 1, max: (l) => l.max_epochs, step: 1 },
  { key: 'lr', label: 'Learning rate', value: DEFAULT_LR, min: 0.0001, max: () => 0.1, step: 'any' },
  { key: 'seed', label: 'Seed', value: 0, min: 0, max: () => 2 ** 31 - 1, step: 1 },
];

function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls?: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

/** Whether `text` repeats some 3 characters (an induction head has something to copy). */
function hasRepeat(text: string): boolean {
  const seen = new Set<string>();
  for (let i = 0; i + 3 <= text.length; i++) {
    const g = text.slice(i, i + 3);
    if (seen.has(g)) return true;
    seen.add(g);
  }
  return false;
}

export function createTrainPanel(container: HTMLElement, store: Store<AppState>) {
  container.classList.add('train-panel');
  container.dataset.testid = 'train-panel';
  container.dataset.redraws = '0';
  const head = el('div', 'insight-head');
  head.append(
    el('h2', undefined, 'Train a model'),
    el('p', 'hint', 'Pick a task and a size, press Train, and watch the attention of the current text form while the loss falls.'),
  );
  const notice = el('p', 'train-notice');
  notice.dataset.testid = 'train-notice';
  const form = el('form', 'train-form');
  form.hidden = true;
  form.noValidate = true; // validate() says what is wrong in the page, not in a bubble that vanishes
  const taskSel = el('select');
  taskSel.dataset.testid = 'train-task';
  const taskLab = el('label', undefined, 'Task ');
  taskLab.append(taskSel);
  form.append(taskLab);
  const inputs = new Map<NumberField['key'], HTMLInputElement>();
  for (const f of FIELDS) {
    const lab = el('label', undefined, `${f.label} `);
    const inp = el('input');
    inp.type = 'number';
    inp.value = String(f.value);
    inp.min = String(f.min);
    inp.step = String(f.step);
    inp.required = true;
    inp.dataset.testid = `train-${f.key}`;
    lab.append(inp);
    form.append(lab);
    inputs.set(f.key, inp);
  }
  // what is wrong with the form, in words that stay (the browser's bubble vanishes in a second)
  const formError = el('p', 'train-form-error');
  formError.dataset.testid = 'train-form-error';
  formError.setAttribute('aria-live', 'polite');
  /** Checks every field (and that the heads divide d_model), says the first problem, clears a
   *  refusal of an earlier value once the form is fixed; true when it may be sent. */
  const validate = (): boolean => {
    const dm = inputs.get('d_model')!;
    const nh = inputs.get('n_heads')!;
    dm.setCustomValidity('');
    if (dm.validity.valid && nh.validity.valid && Number(dm.value) % Number(nh.value) !== 0) {
      dm.setCustomValidity(`d_model (${dm.value}) must be divisible by the number of heads (${nh.value}): each head gets d_model / heads dimensions.`);
    }
    const bad = FIELDS.find((f) => !inputs.get(f.key)!.validity.valid);
    formError.textContent = bad ? `${bad.label}: ${inputs.get(bad.key)!.validationMessage}` : '';
    for (const f of FIELDS) inputs.get(f.key)!.setAttribute('aria-invalid', String(bad?.key === f.key));
    if (!bad && refusedForm) {
      refusedForm = false;
      status.textContent = '';
      status.className = 'insight-status';
    }
    return !bad;
  };
  /** the status shows the server's refusal of the form's values (a 422), not a job's failure */
  let refusedForm = false;
  form.addEventListener('input', () => validate());
  const startBtn = el('button', 'btn primary', 'Train');
  startBtn.type = 'submit';
  startBtn.dataset.testid = 'train-start';
  const cancelBtn = el('button', 'btn', 'Cancel');
  cancelBtn.type = 'button';
  cancelBtn.dataset.testid = 'train-cancel';
  cancelBtn.disabled = true;
  form.append(startBtn, cancelBtn, formError);

  const status = el('div', 'insight-status');
  status.dataset.testid = 'train-status';
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', `0 0 ${CHART_W} ${CHART_H}`);
  svg.setAttribute('class', 'train-chart');
  // stretched to the panel's width at a fixed height (the strokes do not scale), so the whole panel fits at 1280×720
  svg.setAttribute('preserveAspectRatio', 'none');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', 'Training loss and accuracy');
  svg.dataset.testid = 'train-chart';
  svg.dataset.points = '0';
  const frame = document.createElementNS(SVG, 'rect');
  frame.setAttribute('width', String(CHART_W));
  frame.setAttribute('height', String(CHART_H));
  frame.setAttribute('class', 'train-frame');
  const lossPath = document.createElementNS(SVG, 'path');
  lossPath.setAttribute('class', 'train-loss');
  const accPath = document.createElementNS(SVG, 'path');
  accPath.setAttribute('class', 'train-acc');
  // the induction task: held-out in-context accuracy and the best head's induction score, per snapshot
  const ctxPath = document.createElementNS(SVG, 'path');
  ctxPath.setAttribute('class', 'train-ctx');
  const indPath = document.createElementNS(SVG, 'path');
  indPath.setAttribute('class', 'train-ind');
  svg.append(frame, lossPath, accPath, ctxPath, indPath);
  const legend = el('div', 'train-legend');
  const lossKey = el('span', 'train-key loss', 'loss');
  const accKey = el('span', 'train-key acc', 'accuracy');
  const ctxKey = el('span', 'train-key ctx', 'in-context accuracy');
  ctxKey.dataset.testid = 'train-in-context';
  const indKey = el('span', 'train-key ind', 'best induction score');
  indKey.dataset.testid = 'train-induction';
  ctxKey.hidden = indKey.hidden = true;
  legend.append(lossKey, accKey, ctxKey, indKey);
  const chartBox = el('div', 'train-chart-box');
  chartBox.hidden = true; // shown once the server says it trains
  chartBox.append(svg, legend);
  container.append(head, notice, form, status, chartBox);

  const hook: TrainHook = { redraws: 0, snapshotLatency: [], firstRedraw: null, events: 0 };
  publish('train', hook);

  let limits: TrainLimits | null = null;
  let job: TrainStatus | null = null;
  let source: EventSource | null = null;
  let points: TrainPoint[] = [];
  let scores: ScorePoint[] = [];
  let totalSteps = 0;
  let pressedAt: number | null = null;
  let inflight: AbortController | null = null;
  let queued: { checkpoint: string; receivedAt: number } | null = null;
  let chartQueued = false;

  const setRunning = (running: boolean) => {
    startBtn.disabled = running || !limits?.allowed;
    cancelBtn.disabled = !running;
    container.dataset.state = job?.state ?? 'idle';
  };

  function drawChart() {
    chartQueued = false;
    const p = chartPaths(points, totalSteps, CHART_W, CHART_H);
    lossPath.setAttribute('d', p.loss);
    accPath.setAttribute('d', p.accuracy);
    svg.dataset.points = String(points.length);
    const sp = scorePaths(scores, totalSteps, CHART_W, CHART_H);
    ctxPath.setAttribute('d', sp.inContext);
    indPath.setAttribute('d', sp.induction);
    svg.dataset.scores = String(scores.length);
    const lastScore = scores[scores.length - 1];
    ctxKey.hidden = indKey.hidden = !lastScore;
    if (lastScore) {
      ctxKey.textContent = `in-context accuracy ${(lastScore.inContext * 100).toFixed(1)}%`;
      indKey.textContent = `best induction score ${lastScore.induction.toFixed(2)}`;
    }
    const last = points[points.length - 1];
    // the step count moves with the chart (drawn once a frame), not only at each epoch's end
    if (job && !TERMINAL.includes(job.state as (typeof TERMINAL)[number]) && !status.classList.contains('error')) status.textContent = describe(job);
    if (last) {
      lossKey.textContent = `loss ${last.loss.toFixed(3)} (top ${p.maxLoss.toFixed(2)})`;
      accKey.textContent = `accuracy ${(last.accuracy * 100).toFixed(1)}%`;
    }
  }
  const queueChart = () => {
    if (chartQueued) return;
    chartQueued = true;
    requestAnimationFrame(drawChart);
  };

  /** Run the current text through `checkpoint` and show it. One request at a time: snapshots that
   * arrive meanwhile are coalesced into the newest, sent when it returns, so a server slower than
   * the snapshots still redraws steadily (aborting would starve it: no answer would ever arrive). */
  async function redraw(checkpoint: string, receivedAt: number) {
    if (inflight) {
      queued = { checkpoint, receivedAt };
      return;
    }
    const ac = new AbortController();
    inflight = ac;
    const s = store.get();
    const text = s.text || SAMPLE[job?.spec.task ?? 'copy'] || 'hello';
    try {
      const { doc } = await fetchDocument(checkpoint, null, text, [], ac.signal);
      if (ac.signal.aborted) return;
      const now = store.get();
      store.set({ ckpt: checkpoint, ...(now.text ? {} : { text }), ...showDocPatch({ ...now, text }, doc, 'api') });
      requestAnimationFrame(() => {
        const t = performance.now();
        hook.redraws++;
        hook.snapshotLatency.push(t - receivedAt);
        if (hook.firstRedraw === null && pressedAt !== null) hook.firstRedraw = t - pressedAt;
        container.dataset.redraws = String(hook.redraws);
      });
    } catch (e) {
      if (ac.signal.aborted || (e as Error).name === 'AbortError') return;
      status.textContent = `Cannot draw the snapshot: ${(e as Error).message}`;
      status.className = 'insight-status error';
    } finally {
      if (inflight === ac) inflight = null;
      const next = queued;
      queued = null;
      if (next && !ac.signal.aborted) void redraw(next.checkpoint, next.receivedAt);
    }
  }

  function describe(s: TrainStatus, extra = ''): string {
    const acc = s.metrics.sequence_accuracy;
    const ctx = s.metrics.in_context_accuracy;
    const metric =
      typeof acc === 'number'
        ? ` · held-out exact ${(acc * 100).toFixed(1)}%`
        : typeof ctx === 'number'
          ? ` · held-out in-context ${(ctx * 100).toFixed(1)}%`
          : '';
    const steps = s.total_steps ? ` · step ${s.step} / ${s.total_steps}` : '';
    return `${s.run}: ${s.state}, epoch ${s.epoch} / ${s.spec.epochs}${steps}${metric}${extra}`;
  }

  async function finish(kind: (typeof TERMINAL)[number], data: TrainEvents[(typeof TERMINAL)[number]], live: boolean) {
    source?.close();
    source = null;
    // the finished run's last epoch is shown next: a snapshot still on its way must not replace it
    inflight?.abort();
    queued = null;
    if (!job) return;
    job = { ...job, state: kind, epoch: data.epochs_done };
    const why = kind === 'failed' ? ` — ${(data as TrainEvents['failed']).detail ?? ''}` : kind === 'cancelled' ? ` (${(data as TrainEvents['cancelled']).reason ?? 'cancelled'})` : '';
    status.textContent = describe(job, why);
    status.className = `insight-status ${kind === 'failed' ? 'error' : ''}`;
    setRunning(false);
    if (!live) return;
    try {
      const list = await fetchCheckpoints();
      const last = data.checkpoints[data.checkpoints.length - 1];
      // the run is now an ordinary run: listed in the picker, its last epoch selected
      store.set({ checkpoints: list, ...(last ? { ckpt: last } : {}) });
    } catch (e) {
      status.textContent += ` (could not refresh the checkpoint list: ${(e as Error).message})`;
    }
  }

  /** Follow job `s`; `live` = redraw its snapshots and select its run at the end (not for a finished job's replay). */
  function attach(s: TrainStatus, live = true) {
    source?.close();
    job = s;
    points = [];
    scores = [];
    totalSteps = s.total_steps ?? 0;
    status.textContent = describe(s);
    status.className = 'insight-status';
    setRunning(!TERMINAL.includes(s.state as (typeof TERMINAL)[number]));
    const es = new EventSource(training.eventsUrl(s.id));
    source = es;
    const on = <K extends keyof TrainEvents>(name: K, fn: (d: TrainEvents[K]) => void) =>
      es.addEventListener(name, (ev) => {
        if (source !== es) return;
        hook.events++;
        fn(JSON.parse((ev as MessageEvent<string>).data) as TrainEvents[K]);
      });
    on('progress', (d) => {
      points.push({ step: d.step, loss: d.loss, accuracy: d.accuracy });
      if (d.total_steps) totalSteps = d.total_steps;
      if (job) job = { ...job, step: d.step };
      queueChart();
    });
    on('snapshot', (d) => {
      if (job) job = { ...job, step: Math.max(job.step, d.step) };
      const m = d.metrics;
      if (m && typeof m.in_context_accuracy === 'number' && typeof m.best_induction === 'number') {
        scores.push({ step: d.step, inContext: m.in_context_accuracy, induction: m.best_induction });
        queueChart();
      }
      if (live) void redraw(d.checkpoint, performance.now());
    });
    on('epoch', (d) => {
      if (!job) return;
      job = { ...job, epoch: d.epoch, metrics: d.metrics };
      status.textContent = describe(job);
    });
    for (const kind of TERMINAL) on(kind, (d) => void finish(kind, d, live));
    es.onerror = () => {
      // the browser reconnects by itself (Last-Event-ID resumes); say so only if it gave up
      if (es.readyState === EventSource.CLOSED && source === es) {
        status.textContent = 'Lost the connection to the training job; reload the page to re-attach.';
        status.className = 'insight-status error';
      }
    };
  }

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (!limits?.allowed) return;
    if (!validate()) {
      FIELDS.map((f) => inputs.get(f.key)!).find((i) => !i.validity.valid)?.focus();
      return;
    }
    const num = (k: NumberField['key']) => Number(inputs.get(k)!.value);
    pressedAt = performance.now();
    hook.firstRedraw = null;
    if (taskSel.value === 'induction') {
      // a text with a repeat to copy, and the model view coloured by the heads' induction scores
      const now = store.get();
      store.set({ ...(hasRepeat(now.text) ? {} : { text: SAMPLE.induction! }), ...(now.mvstat ? {} : { mvstat: 'induction' }) });
    }
    startBtn.disabled = true;
    status.textContent = 'Starting…';
    status.className = 'insight-status loading';
    training
      .start({
        task: taskSel.value as TrainTask,
        n_layers: num('n_layers'),
        n_heads: num('n_heads'),
        d_model: num('d_model'),
        epochs: num('epochs'),
        lr: num('lr'),
        seed: num('seed'),
      })
      .then(attach, (e: Error) => {
        status.textContent = e.message;
        status.className = 'insight-status error';
        refusedForm = e instanceof ApiError && e.status === 422;
        startBtn.disabled = false;
        // another job is running (409 training_busy): follow it instead
        if (e instanceof ApiError && e.code === 'training_busy') void training.limits().then((l) => l.current && attach(l.current));
      });
  });
  cancelBtn.addEventListener('click', () => {
    if (!job) return;
    cancelBtn.disabled = true;
    training.cancel(job.id).catch((e: Error) => {
      status.textContent = e.message;
      status.className = 'insight-status error';
    });
  });

  /** The learning rate the server would use for the selected task (its recipe's). */
  const taskLr = () => limits?.default_lr?.[taskSel.value as TrainTask] ?? DEFAULT_LR;
  // a field the person typed in keeps its value when the task changes; the others follow the recipe
  type Proposed = 'epochs' | 'lr' | 'n_heads';
  const edited = new Set<Proposed>();
  for (const key of ['epochs', 'lr', 'n_heads'] as const) inputs.get(key)!.addEventListener('input', () => edited.add(key));
  /** the task's recipe: its learning rate, heads and epochs (for the fields not typed in) */
  const applyTaskDefaults = () => {
    const propose = (key: Proposed, value: number) => {
      if (!edited.has(key)) inputs.get(key)!.value = String(value);
    };
    propose('epochs', TASK_EPOCHS[taskSel.value] ?? DEFAULT_EPOCHS);
    propose('lr', taskLr());
    propose('n_heads', TASK_HEADS[taskSel.value] ?? DEFAULT_HEADS);
  };
  taskSel.addEventListener('change', () => {
    applyTaskDefaults();
    validate();
  });

  function applyLimits(l: TrainLimits) {
    limits = l;
    if (!l.allowed) {
      notice.textContent = l.reason ?? `Training is switched off on this server (${l.setting}).`;
      notice.className = 'train-notice off';
      notice.dataset.testid = 'train-disabled';
      form.hidden = true;
      return;
    }
    notice.textContent = `Up to ${l.max_layers} layers · ${l.max_heads} heads · d_model ${l.max_d_model} · ${l.max_epochs} epochs; a snapshot every ${l.snapshot_every} steps; saved as “${l.run_prefix}/…”.`;
    taskSel.replaceChildren(
      ...l.tasks.map((t) => {
        const o = el('option', undefined, TASK_LABEL[t] ?? t);
        o.value = t;
        return o;
      }),
    );
    const task = store.get().doc?.model.task;
    if (typeof task === 'string' && (l.tasks as readonly string[]).includes(task)) taskSel.value = task;
    applyTaskDefaults();
    for (const f of FIELDS) inputs.get(f.key)!.max = String(f.max(l));
    form.hidden = false;
    chartBox.hidden = false;
    setRunning(false);
    if (l.current) attach(l.current, !TERMINAL.includes(l.current.state as (typeof TERMINAL)[number]));
  }

  // fetched when the panel is first opened (the server then also readies a worker for Train)
  let asked = false;
  const ask = () => {
    if (asked || store.get().insight !== 'train') return;
    asked = true;
    notice.textContent = 'Asking the server whether it trains…';
    training.limits().then(applyLimits, (e: Error) => {
      asked = false;
      notice.textContent = `Training is not available: ${e.message}`;
      notice.className = 'train-notice off';
    });
  };
  store.subscribe((s, p) => {
    if (s.insight !== p.insight) ask();
  });
  ask();
}

// training is the server's to allow (the panel says why not), not a feature of the shown model; it opens
// beside the focused head so that head is seen redrawn from each snapshot
export const spec: ViewSpec = {
  id: 'train',
  place: { tab: 'train', label: 'Train', title: 'Train a model here and watch its attention form, live', beside: true },
  create: createTrainPanel,
};
