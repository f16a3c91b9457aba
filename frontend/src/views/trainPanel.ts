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
import { fetchCheckpoints, fetchDocument, training } from '../app/data';
import type { TrainEvents, TrainLimits, TrainStatus, TrainTask } from '../api/types';
import type { Store } from '../lib/store';
import { chartPaths, scorePaths, type ScorePoint, type TrainPoint } from '../lib/trainChart';
import { showDocPatch, type AppState } from '../app/state';
import { publish, type TrainHook } from '../app/testHook';
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

/** The form: the task, one number field per FIELDS entry, Train and Cancel, and what is wrong with it. */
function buildForm() {
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
  const startBtn = el('button', 'btn primary', 'Train');
  startBtn.type = 'submit';
  startBtn.dataset.testid = 'train-start';
  const cancelBtn = el('button', 'btn', 'Cancel');
  cancelBtn.type = 'button';
  cancelBtn.dataset.testid = 'train-cancel';
  cancelBtn.disabled = true;
  form.append(startBtn, cancelBtn, formError);
  return { form, taskSel, inputs, formError, startBtn, cancelBtn };
}

function svgEl(tag: string, cls: string): SVGElement {
  const e = document.createElementNS(SVG, tag);
  e.setAttribute('class', cls);
  return e;
}

/** The loss/accuracy chart (and the induction task's two scores) with its legend. */
function buildChart() {
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
  const lossPath = svgEl('path', 'train-loss');
  const accPath = svgEl('path', 'train-acc');
  // the induction task: held-out in-context accuracy and the best head's induction score, per snapshot
  const ctxPath = svgEl('path', 'train-ctx');
  const indPath = svgEl('path', 'train-ind');
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
  return { chartBox, svg, lossPath, accPath, ctxPath, indPath, lossKey, accKey, ctxKey, indKey };
}

type Proposed = 'epochs' | 'lr' | 'n_heads';
type Terminal = (typeof TERMINAL)[number];

/** The panel's elements and the job it follows: what every function below works on. */
interface Panel {
  store: Store<AppState>;
  container: HTMLElement;
  notice: HTMLParagraphElement;
  status: HTMLDivElement;
  ui: ReturnType<typeof buildForm>;
  chart: ReturnType<typeof buildChart>;
  hook: TrainHook;
  limits: TrainLimits | null;
  job: TrainStatus | null;
  source: EventSource | null;
  points: TrainPoint[];
  scores: ScorePoint[];
  totalSteps: number;
  pressedAt: number | null;
  inflight: AbortController | null;
  queued: { checkpoint: string; receivedAt: number } | null;
  chartQueued: boolean;
  /** the status shows the server's refusal of the form's values (a 422), not a job's failure */
  refusedForm: boolean;
  /** a field the person typed in keeps its value when the task changes; the others follow the recipe */
  edited: Set<Proposed>;
}

function setStatus(p: Panel, text: string, cls = 'insight-status') {
  p.status.textContent = text;
  p.status.className = cls;
}

/** Checks every field (and that the heads divide d_model), says the first problem, clears a
 *  refusal of an earlier value once the form is fixed; true when it may be sent. */
function validate(p: Panel): boolean {
  const { inputs, formError } = p.ui;
  const dm = inputs.get('d_model')!;
  const nh = inputs.get('n_heads')!;
  dm.setCustomValidity('');
  if (dm.validity.valid && nh.validity.valid && Number(dm.value) % Number(nh.value) !== 0) {
    dm.setCustomValidity(`d_model (${dm.value}) must be divisible by the number of heads (${nh.value}): each head gets d_model / heads dimensions.`);
  }
  const bad = FIELDS.find((f) => !inputs.get(f.key)!.validity.valid);
  formError.textContent = bad ? `${bad.label}: ${inputs.get(bad.key)!.validationMessage}` : '';
  for (const f of FIELDS) inputs.get(f.key)!.setAttribute('aria-invalid', String(bad?.key === f.key));
  if (!bad && p.refusedForm) {
    p.refusedForm = false;
    setStatus(p, '');
  }
  return !bad;
}

function setRunning(p: Panel, running: boolean) {
  p.ui.startBtn.disabled = running || !p.limits?.allowed;
  p.ui.cancelBtn.disabled = !running;
  p.container.dataset.state = p.job?.state ?? 'idle';
}

function drawChart(p: Panel) {
  const { svg, lossPath, accPath, ctxPath, indPath, lossKey, accKey, ctxKey, indKey } = p.chart;
  const { points, scores, job, status } = p;
  p.chartQueued = false;
  const c = chartPaths(points, p.totalSteps, CHART_W, CHART_H);
  lossPath.setAttribute('d', c.loss);
  accPath.setAttribute('d', c.accuracy);
  svg.dataset.points = String(points.length);
  const sp = scorePaths(scores, p.totalSteps, CHART_W, CHART_H);
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
  if (job && !TERMINAL.includes(job.state as Terminal) && !status.classList.contains('error')) status.textContent = describe(job);
  if (last) {
    lossKey.textContent = `loss ${last.loss.toFixed(3)} (top ${c.maxLoss.toFixed(2)})`;
    accKey.textContent = `accuracy ${(last.accuracy * 100).toFixed(1)}%`;
  }
}

function queueChart(p: Panel) {
  if (p.chartQueued) return;
  p.chartQueued = true;
  requestAnimationFrame(() => drawChart(p));
}

/** Run the current text through `checkpoint` and show it. One request at a time: snapshots that
 * arrive meanwhile are coalesced into the newest, sent when it returns, so a server slower than
 * the snapshots still redraws steadily (aborting would starve it: no answer would ever arrive). */
async function redraw(p: Panel, checkpoint: string, receivedAt: number) {
  if (p.inflight) {
    p.queued = { checkpoint, receivedAt };
    return;
  }
  const { store, hook } = p;
  const ac = new AbortController();
  p.inflight = ac;
  const s = store.get();
  const text = s.text || SAMPLE[p.job?.spec.task ?? 'copy'] || 'hello';
  try {
    const { doc } = await fetchDocument(checkpoint, null, text, [], ac.signal);
    if (ac.signal.aborted) return;
    const now = store.get();
    store.set({ ckpt: checkpoint, ...(now.text ? {} : { text }), ...showDocPatch({ ...now, text }, doc, 'api') });
    requestAnimationFrame(() => {
      const t = performance.now();
      hook.redraws++;
      hook.snapshotLatency.push(t - receivedAt);
      if (hook.firstRedraw === null && p.pressedAt !== null) hook.firstRedraw = t - p.pressedAt;
      p.container.dataset.redraws = String(hook.redraws);
    });
  } catch (e) {
    if (ac.signal.aborted || (e as Error).name === 'AbortError') return;
    setStatus(p, `Cannot draw the snapshot: ${(e as Error).message}`, 'insight-status error');
  } finally {
    if (p.inflight === ac) p.inflight = null;
    const next = p.queued;
    p.queued = null;
    if (next && !ac.signal.aborted) void redraw(p, next.checkpoint, next.receivedAt);
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

async function finish(p: Panel, kind: Terminal, data: TrainEvents[Terminal], live: boolean) {
  p.source?.close();
  p.source = null;
  // the finished run's last epoch is shown next: a snapshot still on its way must not replace it
  p.inflight?.abort();
  p.queued = null;
  if (!p.job) return;
  p.job = { ...p.job, state: kind, epoch: data.epochs_done };
  const why = kind === 'failed' ? ` — ${(data as TrainEvents['failed']).detail ?? ''}` : kind === 'cancelled' ? ` (${(data as TrainEvents['cancelled']).reason ?? 'cancelled'})` : '';
  setStatus(p, describe(p.job, why), `insight-status ${kind === 'failed' ? 'error' : ''}`);
  setRunning(p, false);
  if (!live) return;
  try {
    const list = await fetchCheckpoints();
    const last = data.checkpoints[data.checkpoints.length - 1];
    // the run is now an ordinary run: listed in the picker, its last epoch selected
    p.store.set({ checkpoints: list, ...(last ? { ckpt: last } : {}) });
  } catch (e) {
    p.status.textContent += ` (could not refresh the checkpoint list: ${(e as Error).message})`;
  }
}

/** Follow job `s`; `live` = redraw its snapshots and select its run at the end (not for a finished job's replay). */
function attach(p: Panel, s: TrainStatus, live = true) {
  p.source?.close();
  p.job = s;
  p.points = [];
  p.scores = [];
  p.totalSteps = s.total_steps ?? 0;
  setStatus(p, describe(s));
  setRunning(p, !TERMINAL.includes(s.state as Terminal));
  const es = new EventSource(training.eventsUrl(s.id));
  p.source = es;
  listen(p, es, live);
  es.onerror = () => {
    // the browser reconnects by itself (Last-Event-ID resumes); say so only if it gave up
    if (es.readyState === EventSource.CLOSED && p.source === es) {
      setStatus(p, 'Lost the connection to the training job; reload the page to re-attach.', 'insight-status error');
    }
  };
}

/** The job's events: progress draws the chart, a snapshot redraws the text, the end selects the run. */
function listen(p: Panel, es: EventSource, live: boolean) {
  const on = <K extends keyof TrainEvents>(name: K, fn: (d: TrainEvents[K]) => void) =>
    es.addEventListener(name, (ev) => {
      if (p.source !== es) return;
      p.hook.events++;
      fn(JSON.parse((ev as MessageEvent<string>).data) as TrainEvents[K]);
    });
  on('progress', (d) => {
    p.points.push({ step: d.step, loss: d.loss, accuracy: d.accuracy });
    if (d.total_steps) p.totalSteps = d.total_steps;
    if (p.job) p.job = { ...p.job, step: d.step };
    queueChart(p);
  });
  on('snapshot', (d) => {
    if (p.job) p.job = { ...p.job, step: Math.max(p.job.step, d.step) };
    const m = d.metrics;
    if (m && typeof m.in_context_accuracy === 'number' && typeof m.best_induction === 'number') {
      p.scores.push({ step: d.step, inContext: m.in_context_accuracy, induction: m.best_induction });
      queueChart(p);
    }
    if (live) void redraw(p, d.checkpoint, performance.now());
  });
  on('epoch', (d) => {
    if (!p.job) return;
    p.job = { ...p.job, epoch: d.epoch, metrics: d.metrics };
    p.status.textContent = describe(p.job);
  });
  for (const kind of TERMINAL) on(kind, (d) => void finish(p, kind, d, live));
}

/** Train pressed: check the form, ready the text for the task, start the job and follow it. */
function submit(p: Panel) {
  const { store, hook, ui } = p;
  const { inputs, taskSel, startBtn } = ui;
  if (!p.limits?.allowed) return;
  if (!validate(p)) {
    FIELDS.map((f) => inputs.get(f.key)!).find((i) => !i.validity.valid)?.focus();
    return;
  }
  const num = (k: NumberField['key']) => Number(inputs.get(k)!.value);
  p.pressedAt = performance.now();
  hook.firstRedraw = null;
  if (taskSel.value === 'induction') {
    // a text with a repeat to copy, and the model view coloured by the heads' induction scores
    const now = store.get();
    store.set({ ...(hasRepeat(now.text) ? {} : { text: SAMPLE.induction! }), ...(now.mvstat ? {} : { mvstat: 'induction' }) });
  }
  startBtn.disabled = true;
  setStatus(p, 'Starting…', 'insight-status loading');
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
    .then((s) => attach(p, s), (e: Error) => {
      setStatus(p, e.message, 'insight-status error');
      p.refusedForm = e instanceof ApiError && e.status === 422;
      startBtn.disabled = false;
      // another job is running (409 training_busy): follow it instead
      if (e instanceof ApiError && e.code === 'training_busy') void training.limits().then((l) => l.current && attach(p, l.current));
    });
}

/** The task's recipe: its learning rate (the server's), heads and epochs (for the fields not typed in). */
function applyTaskDefaults(p: Panel) {
  const { inputs, taskSel } = p.ui;
  const propose = (key: Proposed, value: number) => {
    if (!p.edited.has(key)) inputs.get(key)!.value = String(value);
  };
  propose('epochs', TASK_EPOCHS[taskSel.value] ?? DEFAULT_EPOCHS);
  propose('lr', p.limits?.default_lr?.[taskSel.value as TrainTask] ?? DEFAULT_LR);
  propose('n_heads', TASK_HEADS[taskSel.value] ?? DEFAULT_HEADS);
}

function applyLimits(p: Panel, l: TrainLimits) {
  const { notice, ui } = p;
  p.limits = l;
  if (!l.allowed) {
    notice.textContent = l.reason ?? `Training is switched off on this server (${l.setting}).`;
    notice.className = 'train-notice off';
    notice.dataset.testid = 'train-disabled';
    ui.form.hidden = true;
    return;
  }
  notice.textContent = `Up to ${l.max_layers} layers · ${l.max_heads} heads · d_model ${l.max_d_model} · ${l.max_epochs} epochs; a snapshot every ${l.snapshot_every} steps; saved as “${l.run_prefix}/…”.`;
  ui.taskSel.replaceChildren(
    ...l.tasks.map((t) => {
      const o = el('option', undefined, TASK_LABEL[t] ?? t);
      o.value = t;
      return o;
    }),
  );
  const task = p.store.get().doc?.model.task;
  if (typeof task === 'string' && (l.tasks as readonly string[]).includes(task)) ui.taskSel.value = task;
  applyTaskDefaults(p);
  for (const f of FIELDS) ui.inputs.get(f.key)!.max = String(f.max(l));
  ui.form.hidden = false;
  p.chart.chartBox.hidden = false;
  setRunning(p, false);
  if (l.current) attach(p, l.current, !TERMINAL.includes(l.current.state as Terminal));
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
  const ui = buildForm();
  const { form, inputs, taskSel } = ui;
  const chart = buildChart();
  const status = el('div', 'insight-status');
  status.dataset.testid = 'train-status';
  container.append(head, notice, form, status, chart.chartBox);

  const hook: TrainHook = { redraws: 0, snapshotLatency: [], firstRedraw: null, events: 0 };
  publish('train', hook);
  const p: Panel = {
    store, container, notice, status, ui, chart, hook, limits: null, job: null, source: null, points: [], scores: [], totalSteps: 0,
    pressedAt: null, inflight: null, queued: null, chartQueued: false, refusedForm: false, edited: new Set(),
  };

  form.addEventListener('input', () => validate(p));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    submit(p);
  });
  ui.cancelBtn.addEventListener('click', () => {
    if (!p.job) return;
    ui.cancelBtn.disabled = true;
    training.cancel(p.job.id).catch((e: Error) => setStatus(p, e.message, 'insight-status error'));
  });
  for (const key of ['epochs', 'lr', 'n_heads'] as const) inputs.get(key)!.addEventListener('input', () => p.edited.add(key));
  taskSel.addEventListener('change', () => {
    applyTaskDefaults(p);
    validate(p);
  });

  // fetched when the panel is first opened (the server then also readies a worker for Train)
  let asked = false;
  const ask = () => {
    if (asked || store.get().insight !== 'train') return;
    asked = true;
    notice.textContent = 'Asking the server whether it trains…';
    training.limits().then((l) => applyLimits(p, l), (e: Error) => {
      asked = false;
      notice.textContent = `Training is not available: ${e.message}`;
      notice.className = 'train-notice off';
    });
  };
  store.subscribe((s, prev) => {
    if (s.insight !== prev.insight) ask();
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
