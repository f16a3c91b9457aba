/**
 * Lessons in the page (`?lesson=<id>&step=<n>`, the Lessons menu): the lesson panel — a
 * non-modal dialog placed where it does not cover the element it highlights — and the running of
 * a lesson: each step sets the view it names (src/lessons/*.json, lib/lesson.ts), a question step
 * greys the weights until the student has clicked their guess (a cell, a key token, a head, or an
 * answer), then says whether it was right and why, from the weights the page shows.
 */
import '../lessons.css';
import { isEmbedded } from '../app/embedded';
import { findLesson, LESSONS } from '../lessons';
import { ablationKey, parseAblation } from '../lib/ablate';
import { heldoutSurvives } from '../lib/heldout';
import { keySide } from '../lib/doc';
import { resolveRunAlias } from '../lib/examples';
import { bestHead, fill, gradeEpoch, HIGHLIGHTS, nextCheckpoint, placePanel, redirectLesson, rowArgmax, STATE_KEYS, type Lesson, type LessonStep, type Question } from '../lib/lesson';
import type { Store } from '../lib/store';
import { displayToken } from '../lib/tokens';
import { parseParams } from '../lib/url';
import { SELECTORS } from '../lib/selectors';
import { URL_SPECS, type AppState, type UrlState } from '../app/state';
import { current } from './common';
import type { ViewSpec } from './spec';

interface Answer {
  correct: boolean | null; // null = skipped
  text: string;
  /** the option that was right, when the page worked it out (an ablation question) */
  option?: number;
}

const el = <K extends keyof HTMLElementTagNameMap>(tag: K, cls: string, text = ''): HTMLElementTagNameMap[K] => {
  const e = document.createElement(tag);
  e.className = cls;
  if (text) e.textContent = text;
  return e;
};

function checkpointExists(s: AppState, name: string): boolean {
  return !!s.checkpoints?.runs.some((r) => r.checkpoints.some((c) => c.name === name && c.usable));
}

/**
 * The store patch that shows `step`: the keys it names, every other view key back to its default
 * (a step shows what it says, whatever the step before opened); ckpt / text only when named. A run
 * or checkpoint the server lacks (or a saved page, which has one document) is reported, not set.
 */
export function stepPatch(step: LessonStep, s: AppState): { patch: Partial<AppState>; missing: string | null } {
  const named = new URLSearchParams(step.state);
  const all = parseParams(URL_SPECS, `?${step.state}`);
  const patch: Partial<Record<keyof UrlState, unknown>> = { diff: null };
  for (const k of STATE_KEYS) {
    if (k === 'ckpt' || k === 'text') continue;
    patch[k] = named.has(k) ? all[k] : URL_SPECS[k].default;
  }
  let missing: string | null = null;
  const wantCkpt = named.has('ckpt') ? all.ckpt : null;
  const wantText = named.has('text') ? all.text : null;
  if (isEmbedded()) {
    const doc = s.rawDoc;
    const sameText = wantText === null || doc?.input === wantText;
    const sameCkpt = wantCkpt === null || doc?.checkpoint === wantCkpt || doc?.checkpoint?.startsWith(`${wantCkpt}/`);
    if (!sameText || !sameCkpt) missing = `This step needs the server: it runs ${wantCkpt ?? 'the model'} on “${wantText ?? s.text}”, and this saved page holds one document.`;
  } else {
    if (wantCkpt !== null) {
      const ckpt = resolveRunAlias(s.checkpoints, wantCkpt) ?? wantCkpt;
      if (checkpointExists(s, ckpt)) patch.ckpt = ckpt;
      else missing = `This step needs the run “${wantCkpt}”, which this server does not have (make demo trains the demo runs).`;
    }
    if (wantText !== null && !missing) patch.text = wantText;
  }
  return { patch: { ...(patch as Partial<AppState>), hover: null }, missing };
}

/**
 * The first screen when the URL names no view: the first lesson's first step (the copy diagonal),
 * a pattern worth seeing, instead of encoder layer 0 head 0; null when its run is not here.
 */
export function landingPatch(s: AppState, search: string): Partial<AppState> | null {
  const named = new URLSearchParams(search);
  if (s.lesson || STATE_KEYS.some((k) => named.has(k))) return null;
  const first = LESSONS[0]?.steps[0];
  if (!first) return null;
  const { patch, missing } = stepPatch(first, s);
  return missing ? null : patch;
}

/** The panel's elements, built once and kept (hidden) for the page's life. */
function buildPanel() {
  const panel = el('section', 'lesson-panel');
  panel.setAttribute('role', 'dialog');
  panel.setAttribute('aria-modal', 'false');
  panel.dataset.testid = 'lesson-panel';
  panel.hidden = true;
  const head = el('header', 'lesson-head');
  const lessonTitle = el('div', 'lesson-name');
  const progress = el('div', 'lesson-progress');
  progress.dataset.testid = 'lesson-progress';
  const close = el('button', 'lesson-close', '×');
  close.setAttribute('aria-label', 'Close lesson');
  close.title = 'Close the lesson (the view stays)';
  head.append(lessonTitle, progress, close);
  const stepTitle = el('h3', 'lesson-step-title');
  const prose = el('p', 'lesson-prose');
  prose.dataset.testid = 'lesson-prose';
  const notice = el('p', 'lesson-notice');
  notice.dataset.testid = 'lesson-notice';
  notice.hidden = true;
  const qBox = el('div', 'lesson-question');
  qBox.dataset.testid = 'lesson-question';
  const qPrompt = el('p', 'lesson-q-prompt');
  const qOptions = el('div', 'lesson-q-options');
  qOptions.setAttribute('role', 'group');
  qOptions.setAttribute('aria-label', 'Answers');
  const qGo = el('button', 'btn lesson-q-go');
  qGo.dataset.testid = 'lesson-answer-here';
  const feedback = el('p', 'lesson-feedback');
  feedback.dataset.testid = 'lesson-feedback';
  feedback.setAttribute('aria-live', 'polite');
  qBox.append(qPrompt, qOptions, qGo, feedback);
  const nav = el('nav', 'lesson-nav');
  const back = el('button', 'btn', 'Back');
  back.dataset.testid = 'lesson-back';
  const skip = el('button', 'btn lesson-skip', 'Skip (unanswered)');
  skip.dataset.testid = 'lesson-skip';
  skip.title = 'Show the answer without answering (the step is marked skipped)';
  const next = el('button', 'btn primary', 'Next');
  next.dataset.testid = 'lesson-next';
  nav.append(back, skip, next);
  panel.append(head, stepTitle, prose, notice, qBox, nav);
  document.body.append(panel);
  return { panel, lessonTitle, progress, close, stepTitle, prose, notice, qBox, qPrompt, qOptions, qGo, feedback, nav, back, skip, next };
}

/** The panel and the open lesson run: what every function below works on. */
interface LessonRun {
  store: Store<AppState>;
  ui: ReturnType<typeof buildPanel>;
  /** answers of the open lesson run, per step index (kept when going Back) */
  answers: Map<number, Answer>;
  shownFor: string;
  lastHighlight: Element | null;
  /** the shown step could not be set up here (a run or the server missing): no question is asked */
  stepMissing: boolean;
  /**
   * A question whose reveal changes the view (the next epoch, heads switched off): the student's
   * pick (null = skipped), waiting for the document the reveal asked for, then graded on it.
   */
  pending: { i: number; ready: (s: AppState) => boolean; grade: (s: AppState) => Answer } | null;
}

type EpochQuestion = Extract<Question, { type: 'epoch' }>;

const lesson = (s: AppState): Lesson | null => (s.lesson ? findLesson(s.lesson) : null);
const stepOf = (s: AppState): { l: Lesson; i: number; step: LessonStep } | null => {
  const l = lesson(s);
  if (!l) return null;
  const i = Math.min(Math.max(1, s.lstep || 1), l.steps.length) - 1;
  return { l, i, step: l.steps[i]! };
};
const asking = (r: LessonRun, s: AppState): boolean => {
  const st = stepOf(s);
  return !!st?.step.question && !r.answers.has(st.i) && !r.stepMissing && r.pending?.i !== st.i;
};

function go(store: Store<AppState>, lstep: number) {
  const s = store.get();
  const l = lesson(s);
  if (!l) return;
  store.set({ lstep: Math.min(Math.max(1, lstep), l.steps.length) });
}

// ---- applying a step: once the checkpoint list is known (a run name resolves through it) ----
function apply(r: LessonRun, s: AppState) {
  const { store, ui } = r;
  const st = stepOf(s);
  // a saved page compares the step with its one document; a served one needs the run list
  if (!st || (isEmbedded() ? !s.rawDoc : s.checkpointsStatus === 'loading')) return;
  const key = `${st.l.id}#${st.i}`;
  if (key === r.shownFor) return;
  r.shownFor = key;
  if (s.lstep !== st.i + 1) return store.set({ lstep: st.i + 1 });
  const { patch, missing: lacks } = stepPatch(st.step, s);
  // an epoch / ablation question reveals by asking the server for another document
  const qt = st.step.question?.type;
  const missing = lacks ?? (isEmbedded() && (qt === 'epoch' || qt === 'ablate') ? `This question needs the server: it ${qt === 'epoch' ? 'loads the next epoch' : 'switches heads off'}, and this saved page holds one document.` : null);
  r.stepMissing = !!missing;
  ui.notice.textContent = missing ?? '';
  ui.notice.hidden = !missing;
  // a saved page's patch holds only view keys; a server without the run keeps the current view
  if (!missing || isEmbedded()) store.set(patch);
  return undefined;
}

// ---- questions ----
function answer(r: LessonRun, correct: boolean, vars: Record<string, string | number>) {
  const s = r.store.get();
  const st = stepOf(s);
  const q = st?.step.question;
  if (!st || !q || r.answers.has(st.i)) return;
  r.answers.set(st.i, { correct, text: fill(correct ? q.right : q.wrong, vars) });
  render(r, r.store.get());
  r.ui.next.focus();
}

function say(r: LessonRun, text: string) {
  r.ui.feedback.textContent = text;
  r.ui.feedback.dataset.correct = '';
}

/** The shown matrix of the focused head, if the step's document is drawn. */
function shown(s: AppState) {
  const cur = current(s);
  if (!cur || !s.rawDoc || s.status !== 'ready') return null;
  return { cur, m: cur.src.matrix(s.layer, s.head) };
}

function pickCell(r: LessonRun, q: number, k: number) {
  const { store, answers } = r;
  const s = store.get();
  const st = stepOf(s);
  const qn = st?.step.question;
  if (st && qn?.type === 'epoch' && !answers.has(st.i)) return pickEpoch(r, q, k);
  if (!st || qn?.type !== 'cell' || answers.has(st.i)) return;
  const sh = shown(s);
  if (!sh) return say(r, 'The weights are still being computed; try again in a moment.');
  const { cur, m } = sh;
  if (qn.row >= cur.t.nq) return say(r, `This text has no row ${qn.row}.`);
  if (q !== qn.row) return say(r, `That cell is in row ${displayToken(cur.qTokens[q] ?? '')}; the question is about row ${displayToken(cur.qTokens[qn.row] ?? '')}.`);
  const best = rowArgmax(m, cur.t.nk, qn.row);
  const w = (k2: number) => m[qn.row * cur.t.nk + k2]!;
  store.set({ hover: { type: 'cell', q: qn.row, k: best } });
  answer(r, w(k) >= w(best) - 1e-6, {
    query: displayToken(cur.qTokens[qn.row]!),
    answer: displayToken(cur.kTokens[best]!),
    weight: w(best).toFixed(2),
    picked: displayToken(cur.kTokens[k]!),
    pickedWeight: w(k).toFixed(2),
    layer: s.layer,
    head: s.head,
  });
}

function pickHead(r: LessonRun, layer: number, h: number) {
  const { store } = r;
  const s = store.get();
  const st = stepOf(s);
  const qn = st?.step.question;
  if (!st || qn?.type !== 'head' || r.answers.has(st.i)) return;
  const sh = shown(s);
  if (!sh) return say(r, 'The weights are still being computed; try again in a moment.');
  const want = Number(new URLSearchParams(st.step.state).get('layer') ?? '0');
  if (layer !== want) return say(r, `The question is about layer ${want}: pick one of its heads.`);
  const t = sh.cur.src;
  const mats = Array.from({ length: t.heads }, (_, i) => t.matrix(layer, i));
  const { head: best, scores } = bestHead(mats, t.nq, t.nk, qn.score);
  // after the click that picked it, which focuses the picked head: the reveal shows the answer
  setTimeout(() => store.set({ layer, head: best }), 0);
  answer(r, h === best, { answerHead: best, pickedHead: h, score: scores[best]!.toFixed(2), pickedScore: scores[h]!.toFixed(2), layer });
}

/** A checkpoint's name as an epoch: "runs/copy/epoch3.pt" → "epoch 3". */
const epochLabel = (c: string) => c.replace(/^.*\/(ckpt_)?/, '').replace(/\.pt$/, '').replace(/^epoch(\d+)$/, 'epoch $1');

/** What the epoch question's pick was made on: the row's weights and tokens, at `from`. */
interface EpochSeen {
  before: Float32Array;
  nk: number;
  qTokens: string[];
  layer: number;
  head: number;
  from: string;
  to: string;
}

/** The epoch question's grading, on the next epoch's document once it is shown (k = null: skipped). */
function epochGrade(store: Store<AppState>, qn: EpochQuestion, k: number | null, seen: EpochSeen): (s: AppState) => Answer {
  const { before, nk, qTokens, layer, head } = seen;
  return (s2) => {
    const now = shown(s2)!;
    const after = now.cur.src.matrix(layer, head);
    const g = gradeEpoch(before, after, nk, qn.row, k ?? 0);
    store.set({ layer, head, hover: { type: 'cell', q: qn.row, k: g.best } });
    const tok = (i: number) => displayToken(now.cur.kTokens[i] ?? '');
    // the row's query is the same token sequence in both epochs only if they wrote the same output up to it
    const same = now.cur.qTokens.slice(0, qn.row + 1).join('\u0000') === qTokens.join('\u0000');
    const vars = {
      query: displayToken(now.cur.qTokens[qn.row] ?? ''),
      answer: tok(g.best),
      weight: g.weight.toFixed(2),
      weightBefore: g.weightBefore.toFixed(2),
      was: tok(g.was),
      wasWeight: g.wasWeight.toFixed(2),
      picked: k === null ? '' : tok(k),
      pickedWeight: g.pickedWeight.toFixed(2),
      pickedBefore: g.pickedBefore.toFixed(2),
      before: epochLabel(seen.from),
      after: epochLabel(seen.to),
      layer,
      head,
    };
    const note = same ? '' : ` (The two epochs wrote different outputs before this row, so its query is not the same token sequence.)`;
    if (k === null) return { correct: null, text: `At ${vars.after} row ${vars.query} reads ${vars.answer} most (${vars.weight}; at ${vars.before}: ${vars.weightBefore}, when its brightest was ${vars.was} at ${vars.wasWeight}).${note}` };
    return { correct: g.correct, text: fill(g.correct ? qn.right : qn.wrong, vars) + note };
  };
}

/**
 * The epoch question: the pick on this epoch's row, then the next saved epoch is loaded and the
 * pick graded on its weights (k = null: skipped, the answer only).
 */
function pickEpoch(r: LessonRun, q: number | null, k: number | null) {
  const { store } = r;
  const s = store.get();
  const st = stepOf(s);
  const qn = st?.step.question;
  if (!st || qn?.type !== 'epoch' || r.answers.has(st.i) || r.pending) return;
  const sh = shown(s);
  if (!sh) return say(r, 'The weights are still being computed; try again in a moment.');
  const { cur, m } = sh;
  if (qn.row >= cur.t.nq) return say(r, `This text has no row ${qn.row}.`);
  if (q !== null && q !== qn.row) return say(r, `That cell is in row ${displayToken(cur.qTokens[q] ?? '')}; the question is about row ${displayToken(cur.qTokens[qn.row] ?? '')}.`);
  const from = s.ckpt;
  const input = s.rawDoc!.input;
  const to = nextCheckpoint(s.checkpoints, from);
  if (!to) return say(r, `${from} is the last saved epoch of its run: pick an earlier epoch to ask what one more epoch of training changes.`);
  const seen = { before: Float32Array.from(m), nk: cur.t.nk, qTokens: cur.qTokens.slice(0, qn.row + 1), layer: s.layer, head: s.head, from, to };
  r.pending = {
    i: st.i,
    ready: (s2) => s2.status === 'ready' && s2.ckpt === to && s2.rawDoc?.checkpoint === to && s2.rawDoc.input === input,
    grade: epochGrade(store, qn, k, seen),
  };
  say(r, `Your pick: ${displayToken(cur.kTokens[k ?? 0] ?? '')}. Training one more epoch: loading ${epochLabel(to)}…`);
  if (k === null) r.ui.feedback.textContent = `Loading ${epochLabel(to)}…`;
  store.set({ ckpt: to });
  settle(r, store.get());
}

/**
 * The ablation question: the heads of `ablate` are switched off and the pick graded on the
 * output the model then writes (right = it still equals the expected output), or for an
 * induction checkpoint on the held-out in-context accuracy (heldoutSurvives).
 */
function pickAblate(r: LessonRun, i: number | null) {
  const { store } = r;
  const s = store.get();
  const st = stepOf(s);
  const qn = st?.step.question;
  if (!st || qn?.type !== 'ablate' || r.answers.has(st.i) || r.pending) return;
  const heads = parseAblation(qn.ablate) ?? [];
  const key = ablationKey(heads);
  r.pending = {
    i: st.i,
    ready: (s2) => s2.status === 'ready' && s2.docAblate === key && !!s2.rawDoc,
    grade: (s2) => {
      const d = s2.rawDoc!;
      const h = d.heldout;
      // an induction checkpoint has no one right output: graded on its held-out in-context accuracy
      const stays = h ? heldoutSurvives(h) : d.expected !== null && d.expected !== undefined && d.output === d.expected;
      const ans = stays ? 0 : 1;
      const pc = (v: number) => `${(v * 100).toFixed(0)} %`;
      const vars = {
        output: d.output ?? '', expected: d.expected ?? '', answer: qn.options[ans], picked: i === null ? '' : qn.options[i]!, heads: key,
        accuracy: h ? pc(h.in_context_accuracy) : '', baseline: h ? pc(h.baseline) : '', chance: h ? pc(h.chance) : '',
      };
      const what = h
        ? `the held-out in-context accuracy is ${vars.accuracy} (${vars.baseline} with all heads on, chance ${vars.chance})`
        : `the model writes “${vars.output}” (expected “${vars.expected}”)`;
      if (i === null) return { correct: null, option: ans, text: `${qn.options[ans]}: with ${key} off ${what}.` };
      return { correct: i === ans, option: ans, text: fill(i === ans ? qn.right : qn.wrong, vars) };
    },
  };
  say(r, `Switching ${key} off…`);
  store.set({ ablate: heads });
  settle(r, store.get());
}

/** A pending reveal whose document has arrived: graded (from the subscription and at once). */
function settle(r: LessonRun, s: AppState) {
  if (!r.pending) return;
  const st = stepOf(s);
  if (!st || st.i !== r.pending.i) {
    r.pending = null; // the student moved on before the reveal came
    return;
  }
  if (s.status === 'error') {
    // the reveal's document failed (the server went away, a run was deleted): the pick can be made again
    r.pending = null;
    render(r, s);
    say(r, `The answer could not be loaded (${s.error?.message ?? 'error'}): go Back and Next to try again.`);
    return;
  }
  if (!r.pending.ready(s)) return;
  const p = r.pending;
  r.pending = null;
  r.answers.set(p.i, p.grade(s));
  render(r, r.store.get());
  r.ui.next.focus();
}

function pickChoice(r: LessonRun, i: number) {
  const s = r.store.get();
  const st = stepOf(s);
  const qn = st?.step.question;
  if (!st || qn?.type !== 'choice' || r.answers.has(st.i)) return;
  answer(r, i === qn.answer, { answer: qn.options[qn.answer]!, picked: qn.options[i]! });
}

/** Clicks and keys where the student answers (capture: seen before the views act on them). */
function listenForAnswers(r: LessonRun) {
  const { store } = r;
  document.addEventListener(
    'click',
    (e) => {
      const s = store.get();
      if (!asking(r, s)) return;
      const t = e.target as Element;
      const hm = t.closest(SELECTORS.focusHeatmap);
      if (hm && s.hover?.type === 'cell') return pickCell(r, s.hover.q, s.hover.k);
      const chip = t.closest('.chips .tok');
      const cur = current(s);
      if (chip && cur && chip.parentElement?.dataset.testid === `tokens-${keySide(cur.kind)}`) {
        const st = stepOf(s);
        const qn = st?.step.question;
        if (qn?.type === 'cell' || qn?.type === 'epoch') return pickCell(r, qn.row, Array.prototype.indexOf.call(chip.parentElement.children, chip));
      }
      // the thumbnail's button (its canvas has a test id of its own)
      const mv = t.closest<HTMLElement>('#model-view button[data-testid^=model-view-]');
      const m = mv?.dataset.testid?.match(/^model-view-(\d+)-(\d+)$/);
      if (m) pickHead(r, Number(m[1]), Number(m[2]));
      return undefined;
    },
    true,
  );
  document.addEventListener(
    'keydown',
    (e) => {
      const s = store.get();
      if (!asking(r, s) || (e.key !== 'Enter' && e.key !== ' ')) return;
      const t = e.target as Element;
      if (t.closest(SELECTORS.focusHeatmap) && s.hover?.type === 'cell') {
        e.preventDefault();
        pickCell(r, s.hover.q, s.hover.k);
      }
    },
    true,
  );
}

// ---- drawing ----
/** The panel of a lesson the catalogue does not have. */
function renderNotFound(r: LessonRun, s: AppState) {
  const { panel, lessonTitle, progress, stepTitle, prose, notice, qBox, nav } = r.ui;
  panel.setAttribute('aria-label', 'Lesson not found');
  lessonTitle.textContent = 'Lesson not found';
  progress.textContent = '';
  stepTitle.textContent = `There is no lesson “${s.lesson}”.`;
  prose.textContent = `Open the Lessons menu to pick one (${LESSONS.map((l) => l.id).join(', ')}).`;
  notice.hidden = true;
  qBox.hidden = true;
  nav.hidden = true;
  setHighlight(r, null);
}

/** The question's answers as buttons: a choice's options, or the heads of the step's layer. */
function renderOptions(r: LessonRun, s: AppState, step: LessonStep, q: Question, got: Answer | undefined, waiting: boolean) {
  const { qOptions } = r.ui;
  qOptions.replaceChildren();
  if (q.type === 'choice' || q.type === 'ablate') {
    q.options.forEach((o, j) => {
      const b = el('button', 'btn lesson-option', o);
      b.dataset.testid = `lesson-option-${j}`;
      b.disabled = !!got || waiting;
      b.classList.toggle('is-answer', !!got && j === (q.type === 'choice' ? q.answer : got.option));
      b.addEventListener('click', () => (q.type === 'choice' ? pickChoice(r, j) : pickAblate(r, j)));
      qOptions.append(b);
    });
  }
  if (q.type === 'head') {
    // the heads as answers too: presenter mode hides the model view, and a list is quick by keyboard
    const t = current(s)?.t;
    for (let h = 0; h < (t?.heads ?? 0); h++) {
      const b = el('button', 'btn lesson-option', `Head ${h}`);
      b.dataset.testid = `lesson-head-${h}`;
      b.disabled = !!got;
      b.addEventListener('click', () => pickHead(r, Number(new URLSearchParams(step.state).get('layer') ?? '0'), h));
      qOptions.append(b);
    }
  }
  qOptions.hidden = q.type === 'cell' || q.type === 'epoch';
  qOptions.classList.toggle('heads', q.type === 'head');
}

/** The step's question: greying the weights while it is open, its answers, and the feedback. */
function renderQuestion(r: LessonRun, s: AppState, step: LessonStep, i: number, q: Question | undefined, got: Answer | undefined) {
  const { qPrompt, qGo, feedback } = r.ui;
  const waiting = r.pending?.i === i;
  r.ui.qBox.hidden = !q;
  document.body.classList.toggle('lesson-asking', !!q && !got);
  // greyed until answered: the weights, when they would give the answer away (an epoch question
  // shows this epoch's weights: the answer is in the next one; an ablation one is about the output)
  const hides = q?.type === 'choice' ? !!q.hides : q?.type !== 'epoch' && q?.type !== 'ablate';
  document.body.classList.toggle('lesson-hiding', !!q && !got && hides && !waiting);
  if (q && !got) document.body.dataset.lessonAsk = q.type;
  else document.body.removeAttribute('data-lesson-ask');
  if (!q) return;
  qPrompt.textContent = q.prompt;
  renderOptions(r, s, step, q, got, waiting);
  qGo.hidden = (q.type !== 'cell' && q.type !== 'epoch') || !!got || waiting;
  qGo.textContent = 'Answer in the heatmap (arrows, Enter)';
  if (got || !waiting) {
    feedback.textContent = got ? (got.correct === null ? `Skipped (unanswered). ${got.text}` : got.text) : '';
    feedback.dataset.correct = got ? String(got.correct) : '';
  }
}

function render(r: LessonRun, s: AppState) {
  const { panel, lessonTitle, progress, stepTitle, prose, nav, back, next, skip } = r.ui;
  const st = stepOf(s);
  document.body.classList.toggle('lesson-open', !!s.lesson);
  if (!s.lesson) {
    panel.hidden = true;
    document.body.classList.remove('lesson-asking', 'lesson-hiding');
    document.body.removeAttribute('data-lesson-ask');
    setHighlight(r, null);
    return;
  }
  panel.hidden = false;
  if (!st) return renderNotFound(r, s);
  nav.hidden = false;
  const { l, i, step } = st;
  panel.setAttribute('aria-label', `Lesson: ${l.title}`);
  panel.dataset.lesson = l.id;
  panel.dataset.step = String(i + 1);
  lessonTitle.textContent = l.title;
  progress.textContent = `Step ${i + 1} of ${l.steps.length}`;
  stepTitle.textContent = step.title;
  prose.textContent = step.prose;
  // a question about a view this page cannot show is not asked
  const q = r.stepMissing ? undefined : step.question;
  const got = r.answers.get(i);
  renderQuestion(r, s, step, i, q, got);
  back.disabled = i === 0;
  next.disabled = i === l.steps.length - 1;
  skip.hidden = !q || !!got || r.pending?.i === i;
  // an element the layout hides (the model view in presenter mode) hands over to the heatmap
  const want = document.querySelector(HIGHLIGHTS[step.highlight]);
  setHighlight(r, want?.getClientRects().length ? want : document.querySelector(HIGHLIGHTS['focus-heatmap']));
  place(r);
  requestAnimationFrame(() => place(r)); // again once the views that changed with the step have laid out
}

function setHighlight(r: LessonRun, target: Element | null) {
  if (r.lastHighlight && r.lastHighlight !== target) r.lastHighlight.removeAttribute('data-lesson-highlight');
  if (target) target.setAttribute('data-lesson-highlight', '');
  r.lastHighlight = target;
}

/** Beside the highlighted element, never over it (lib/lesson.ts placePanel). */
function place(r: LessonRun) {
  const { panel } = r.ui;
  const { lastHighlight } = r;
  if (panel.hidden) return;
  const b = lastHighlight?.getBoundingClientRect();
  const target = b && b.width > 0 && b.height > 0 ? { left: b.left, top: b.top, width: b.width, height: b.height } : null;
  // the boxes of what is shown of `selectors`, the highlight (always kept clear) and what holds it left out
  const boxes = (selectors: readonly string[]) =>
    selectors
      .map((sel) => document.querySelector(sel))
      .filter((e): e is Element => !!e && !e.contains(lastHighlight) && !lastHighlight?.contains(e))
      .map((e) => e.getBoundingClientRect())
      .filter((x) => x.width > 0 && x.height > 0);
  // what a step is about, kept clear when there is room; what its prose points to, first
  const avoid = boxes([SELECTORS.focusHeatmap, SELECTORS.insightPanel, SELECTORS.arcView, SELECTORS.modelViewGrid, SELECTORS.output]);
  const clear = boxes((stepOf(r.store.get())?.step.clear ?? []).map((name) => HIGHLIGHTS[name]));
  const p = placePanel(target, panel.offsetWidth, panel.offsetHeight, window.innerWidth, window.innerHeight, avoid, clear);
  panel.style.left = `${Math.round(p.left)}px`;
  panel.style.top = `${Math.round(p.top)}px`;
}

/** What a skipped question's answer is, from the weights shown (no right / wrong verdict). */
function reveal(store: Store<AppState>, s: AppState, step: LessonStep): string {
  const q = step.question!;
  if (q.type === 'choice') return `The answer: ${q.options[q.answer]}.`;
  if (q.type === 'epoch' || q.type === 'ablate') return ''; // revealed by changing the view (pickEpoch, pickAblate)
  const sh = shown(s);
  if (!sh) return 'The answer shows once the weights are drawn.';
  const { cur, m } = sh;
  if (q.type === 'cell') {
    const best = rowArgmax(m, cur.t.nk, q.row);
    store.set({ hover: { type: 'cell', q: q.row, k: best } });
    return `Row ${displayToken(cur.qTokens[q.row] ?? '')} reads ${displayToken(cur.kTokens[best] ?? '')} most (${m[q.row * cur.t.nk + best]!.toFixed(2)}).`;
  }
  const mats = Array.from({ length: cur.src.heads }, (_, i) => cur.src.matrix(s.layer, i));
  const { head, scores } = bestHead(mats, cur.t.nq, cur.t.nk, q.score);
  store.set({ head });
  return `Head ${head} of layer ${s.layer} (mean ${q.score} weight ${scores[head]!.toFixed(2)}).`;
}

// ---- controls ----
function wireControls(r: LessonRun) {
  const { store } = r;
  const { panel, back, next, skip, close, qGo } = r.ui;
  back.addEventListener('click', () => go(store, store.get().lstep - 1));
  next.addEventListener('click', () => {
    const s = store.get();
    if (asking(r, s)) {
      say(r, 'Not answered yet: click your guess first, or press “Skip (unanswered)” to see the answer without answering.');
      skip.focus();
      return;
    }
    go(store, s.lstep + 1);
  });
  skip.addEventListener('click', () => {
    const s = store.get();
    const st = stepOf(s);
    const q = st?.step.question;
    if (!st || !q) return;
    if (q.type === 'epoch') return pickEpoch(r, null, null);
    if (q.type === 'ablate') return pickAblate(r, null);
    r.answers.set(st.i, { correct: null, text: reveal(store, s, st.step) });
    render(r, store.get());
    next.focus();
  });
  close.addEventListener('click', () => store.set({ lesson: '', lstep: 0 }));
  qGo.addEventListener('click', () => document.querySelector<HTMLElement>(SELECTORS.focusHeatmap)?.focus());
  // arrows page through the lesson from inside the panel (the page's arrows move the head)
  panel.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') {
      store.set({ lesson: '', lstep: 0 });
      e.preventDefault();
      return;
    }
    if (e.key !== 'ArrowRight' && e.key !== 'ArrowLeft') return;
    e.preventDefault();
    (e.key === 'ArrowRight' ? next : back).click();
  });
}

export function createLessonPanel(store: Store<AppState>) {
  const r: LessonRun = { store, ui: buildPanel(), answers: new Map(), shownFor: '', lastHighlight: null, stepMissing: false, pending: null };
  listenForAnswers(r);
  const placeNow = () => place(r);
  window.addEventListener('resize', placeNow);
  const ro = new ResizeObserver(placeNow);
  ro.observe(document.body);
  ro.observe(r.ui.panel); // its own height changes with the feedback ("Not answered yet", an explanation)
  wireControls(r);

  store.subscribe((s, p) => {
    if (s.lesson !== p.lesson) {
      r.answers = new Map();
      r.pending = null;
      r.shownFor = '';
      const to = redirectLesson(s.lesson, s.lstep);
      if (to && !findLesson(s.lesson)) return store.set(to);
      if (s.lesson && !s.lstep) return store.set({ lstep: 1 });
    }
    settle(r, s);
    if (s.lesson !== p.lesson || s.lstep !== p.lstep || s.checkpointsStatus !== p.checkpointsStatus || s.rawDoc !== p.rawDoc) apply(r, s);
    if (s.lesson !== p.lesson || s.lstep !== p.lstep || s.doc !== p.doc || s.present !== p.present || s.insight !== p.insight || s.status !== p.status || s.mvzoom !== p.mvzoom) render(r, s);
    return undefined;
  });
  const s0 = store.get();
  const to0 = redirectLesson(s0.lesson, s0.lstep);
  if (to0 && !findLesson(s0.lesson)) store.set(to0);
  else if (s0.lesson && !s0.lstep) store.set({ lstep: 1 });
  apply(r, store.get());
  render(r, store.get());
}

/** The Lessons menu (a native <details>, like Examples): one entry per lesson of the catalogue. */
export function createLessonsMenu(container: HTMLElement, store: Store<AppState>) {
  const details = el('details', 'examples lessons');
  details.dataset.testid = 'lessons';
  const summary = el('summary', 'btn', 'Lessons');
  summary.dataset.testid = 'lessons-button';
  const menu = el('div', 'examples-menu lessons-menu');
  menu.setAttribute('role', 'menu');
  menu.setAttribute('aria-label', 'Lessons');
  for (const l of LESSONS) {
    const b = el('button', 'example');
    b.setAttribute('role', 'menuitem');
    b.dataset.testid = `lesson-${l.id}`;
    b.append(el('span', 'example-text', l.title), el('span', 'example-look', l.summary), el('span', 'example-view', `${l.steps.length} steps · ${l.minutes} min`));
    b.addEventListener('click', () => {
      details.open = false;
      store.set({ lesson: l.id, lstep: 1 });
      document.querySelector<HTMLElement>('[data-testid=lesson-next]')?.focus();
    });
    menu.append(b);
  }
  details.append(summary, menu);
  container.insertBefore(details, container.querySelector('.status'));
  document.addEventListener('pointerdown', (e) => {
    if (details.open && !details.contains(e.target as Node)) details.open = false;
  });
  details.addEventListener('keydown', (e) => {
    if (e.key !== 'Escape' || !details.open) return;
    details.open = false;
    e.preventDefault();
  });
}

export const menuSpec: ViewSpec = { id: 'lessons-menu', place: { in: 'input-bar' }, create: createLessonsMenu };
// the panel floats over the page (document.body) and highlights elements of the other views
export const spec: ViewSpec = { id: 'lesson-panel', place: 'body', url: ['lesson', 'lstep'], create: (_el, store) => createLessonPanel(store) };
