/**
 * Lessons as data (src/lessons/*.json, docs/lessons.md): the format, its validator, and the pure
 * parts of running one — the answer of a question computed from the weights the page holds (never
 * a cell written in the file), the explanation with its blanks filled, and where the lesson panel
 * goes so it never covers what it highlights.
 */
import { SELECTORS } from './selectors';

/** The page's elements a step may highlight (name → selector); lessons name them, never select. */
export const HIGHLIGHTS = {
  'focus-heatmap': SELECTORS.focusHeatmap,
  'model-view': SELECTORS.modelViewGrid,
  'arc-view': SELECTORS.arcView,
  output: SELECTORS.output,
  tokens: '[data-testid=tokens-src]',
  'kind-tabs': '#kind-tabs',
  'insight-panel': SELECTORS.insightPanel,
  architecture: '[data-testid=architecture]',
  'epoch-select': '[data-testid=epoch-select]',
  'text-input': SELECTORS.textInput,
  'model-view-stat': '.mv-stat',
} as const;
export type HighlightName = keyof typeof HIGHLIGHTS;

/** The view state keys a step may name (its `state`, a query string like the page's URL). */
export const STATE_KEYS = ['ckpt', 'text', 'kind', 'layer', 'head', 'view', 'insight', 'aside', 'agg', 'align', 'mq', 'step', 'ablate', 'hidespecial', 'mvzoom', 'heads', 'mvstat', 'offset'] as const;

/** Which head of the step's layer a `head` question asks for: the one scoring highest. */
export type HeadScore = 'diagonal' | 'anti-diagonal';

export type Question =
  | {
      /** click the cell (or the key token) that row `row` of the focused head reads most */
      type: 'cell';
      prompt: string;
      /** query row (0-based, as the heatmap shows it) */
      row: number;
      /** the key the lesson's prose expects in the demo run (tests/lessons checks it there; the page grades from the weights) */
      expect?: number;
      right: string;
      wrong: string;
    }
  | {
      /** click the head of the focused layer that scores highest on `score` */
      type: 'head';
      prompt: string;
      score: HeadScore;
      /** the head the prose expects in the demo run (checked by tests/lessons, not used to grade) */
      expect?: number;
      right: string;
      wrong: string;
    }
  | {
      /**
       * "after training one more epoch, which cell lights up?": click the cell of row `row` expected
       * brightest after training; the page then moves to the run's next saved epoch and grades on ITS
       * weights (a row whose queries do not depend on the output: encoder self-attention, or
       * cross-attention rows whose target tokens the two epochs share)
       */
      type: 'epoch';
      prompt: string;
      row: number;
      /** the key the prose expects at the next epoch of the demo run (checked by tests/lessons, not used to grade) */
      expect?: number;
      right: string;
      wrong: string;
    }
  | {
      /**
       * "switch these heads off: will the output stay right?": `options` [stays right, goes wrong];
       * the page switches `ablate` off (the URL's format) and grades on the output it gets back (an
       * induction checkpoint: on its held-out in-context accuracy, lib/heldout.ts heldoutSurvives)
       */
      type: 'ablate';
      prompt: string;
      ablate: string;
      options: [string, string];
      /** the option the prose expects in the demo run (checked by tests/lessons, not used to grade) */
      expect?: number;
      right: string;
      wrong: string;
    }
  | {
      /** pick one of `options`; `answer` is its index (for facts of the model's definition, e.g. the causal mask) */
      type: 'choice';
      prompt: string;
      options: string[];
      answer: number;
      /** grey the weights until answered (a choice about what the weights show); cell and head questions always do */
      hides?: boolean;
      right: string;
      wrong: string;
    };

export interface LessonStep {
  title: string;
  /** the view: a query string in the page's URL language (ckpt may name a run, e.g. `ckpt=copy`) */
  state: string;
  /** the element pointed at (a name of HIGHLIGHTS) */
  highlight: HighlightName;
  /** other elements the prose sends the student to (names of HIGHLIGHTS), kept clear of the panel
   *  before anything else when there is room */
  clear?: HighlightName[];
  prose: string;
  question?: Question;
}

export interface Lesson {
  id: string;
  title: string;
  summary: string;
  minutes: number;
  steps: LessonStep[];
}

const isStr = (v: unknown): v is string => typeof v === 'string' && v.trim() !== '';

/** Every problem of a lesson file (empty = valid). `ids` are the lesson ids already seen. */
export function validateLesson(raw: unknown, where = 'lesson'): string[] {
  const errs: string[] = [];
  const o = raw as Record<string, unknown>;
  if (typeof raw !== 'object' || raw === null) return [`${where}: not an object`];
  if (!isStr(o.id) || !/^[a-z0-9-]+$/.test(o.id)) errs.push(`${where}: id must be lower-case letters, digits and dashes`);
  for (const k of ['title', 'summary'] as const) if (!isStr(o[k])) errs.push(`${where}: ${k} is missing`);
  if (typeof o.minutes !== 'number' || !(o.minutes > 0)) errs.push(`${where}: minutes must be a positive number`);
  if (!Array.isArray(o.steps) || o.steps.length === 0) return [...errs, `${where}: steps must be a non-empty list`];
  o.steps.forEach((st: unknown, i: number) => {
    const at = `${where} step ${i + 1}`;
    const s = st as Record<string, unknown>;
    if (typeof st !== 'object' || st === null) return errs.push(`${at}: not an object`);
    for (const k of ['title', 'prose'] as const) if (!isStr(s[k])) errs.push(`${at}: ${k} is missing`);
    if (typeof s.state !== 'string') errs.push(`${at}: state must be a query string`);
    else for (const k of new URLSearchParams(s.state).keys()) if (!(STATE_KEYS as readonly string[]).includes(k)) errs.push(`${at}: state key "${k}" is not one a step may set`);
    if (!(typeof s.highlight === 'string' && s.highlight in HIGHLIGHTS)) errs.push(`${at}: highlight must be one of ${Object.keys(HIGHLIGHTS).join(', ')}`);
    if (s.clear !== undefined && !(Array.isArray(s.clear) && s.clear.every((c) => typeof c === 'string' && c in HIGHLIGHTS))) {
      errs.push(`${at}: clear must be a list of ${Object.keys(HIGHLIGHTS).join(', ')}`);
    }
    const extra = Object.keys(s).filter((k) => !['title', 'state', 'highlight', 'clear', 'prose', 'question'].includes(k));
    if (extra.length) errs.push(`${at}: unknown field(s) ${extra.join(', ')}`);
    if (s.question !== undefined) errs.push(...validateQuestion(s.question, at));
    return undefined;
  });
  return errs;
}

function validateQuestion(raw: unknown, at: string): string[] {
  const q = raw as Record<string, unknown>;
  const errs: string[] = [];
  if (typeof raw !== 'object' || raw === null) return [`${at}: question is not an object`];
  for (const k of ['prompt', 'right', 'wrong'] as const) if (!isStr(q[k])) errs.push(`${at}: question.${k} is missing`);
  if (q.right === q.wrong) errs.push(`${at}: question.right and question.wrong must differ`);
  if (q.expect !== undefined && (!Number.isInteger(q.expect) || (q.expect as number) < 0)) errs.push(`${at}: question.expect must be an index ≥ 0`);
  const known = ['type', 'prompt', 'right', 'wrong', 'row', 'score', 'expect', 'options', 'answer', 'hides', 'ablate'];
  if (q.hides !== undefined && typeof q.hides !== 'boolean') errs.push(`${at}: question.hides must be true or false`);
  const extra = Object.keys(q).filter((k) => !known.includes(k));
  if (extra.length) errs.push(`${at}: unknown question field(s) ${extra.join(', ')}`);
  if (q.type === 'cell' || q.type === 'epoch') {
    if (!Number.isInteger(q.row) || (q.row as number) < 0) errs.push(`${at}: question.row must be a row index ≥ 0`);
  } else if (q.type === 'head') {
    if (q.score !== 'diagonal' && q.score !== 'anti-diagonal') errs.push(`${at}: question.score must be diagonal or anti-diagonal`);
  } else if (q.type === 'choice') {
    if (!Array.isArray(q.options) || q.options.length < 2 || !q.options.every(isStr)) errs.push(`${at}: question.options needs two or more answers`);
    else if (!Number.isInteger(q.answer) || (q.answer as number) < 0 || (q.answer as number) >= q.options.length) errs.push(`${at}: question.answer must index options`);
  } else if (q.type === 'ablate') {
    if (!isStr(q.ablate) || !/^[a-z_]+:\d+\.\d+(,[a-z_]+:\d+\.\d+)*$/.test(q.ablate)) errs.push(`${at}: question.ablate must list heads as kind:layer.head, comma-separated`);
    if (!Array.isArray(q.options) || q.options.length !== 2 || !q.options.every(isStr)) errs.push(`${at}: question.options must be two answers: [stays right, goes wrong]`);
  } else errs.push(`${at}: question.type must be cell, head, epoch, ablate or choice`);
  return errs;
}

/** The catalogue, checked: throws with every problem (a broken lesson file fails the build's tests, not a class). */
export function checkCatalogue(raws: unknown[]): Lesson[] {
  const errs = raws.flatMap((r, i) => validateLesson(r, `lesson #${i + 1} (${(r as { id?: string })?.id ?? '?'})`));
  const ids = raws.map((r) => (r as Lesson).id);
  const dup = ids.filter((id, i) => ids.indexOf(id) !== i);
  if (dup.length) errs.push(`duplicate lesson id(s): ${dup.join(', ')}`);
  if (errs.length) throw new Error(errs.join('\n'));
  return raws as Lesson[];
}

// ---- old lesson ids ----

/**
 * Lessons that were split: an old id's step n opens `to[n-1]` at its first step (the one `insights`
 * lesson had a step per insight view; each view is a lesson of its own now), so old links keep
 * pointing at what they showed.
 */
export const LESSON_REDIRECTS: Readonly<Record<string, readonly string[]>> = {
  insights: ['math', 'timeline', 'ablation', 'decoding'],
};

/** Where an old lesson link goes (null: `id` is not an old id). */
export function redirectLesson(id: string, step: number): { lesson: string; lstep: number } | null {
  const to = LESSON_REDIRECTS[id];
  if (!to) return null;
  return { lesson: to[Math.min(Math.max(1, step || 1), to.length) - 1]!, lstep: 1 };
}

// ---- answers, from the weights shown ----

/** The key index row `q` of an [nq, nk] matrix reads most (first of ties). */
export function rowArgmax(m: ArrayLike<number>, nk: number, q: number): number {
  let best = 0;
  for (let k = 1; k < nk; k++) if (m[q * nk + k]! > m[q * nk + best]!) best = k;
  return best;
}

/**
 * How diagonal (or anti-diagonal) an [nq, nk] matrix is: the mean weight on the line k = q (anti:
 * k = nk-2-q, ending on the key before the last, <eos>), over the rows where that key exists.
 */
export function lineScore(m: ArrayLike<number>, nq: number, nk: number, score: HeadScore): number {
  let sum = 0;
  let n = 0;
  for (let q = 0; q < nq; q++) {
    // the anti-diagonal of a reversal ends on the key before <eos> (the last key): row 0 reads key nk-2
    const k = score === 'diagonal' ? q : nk - 2 - q;
    if (k < 0 || k >= nk) continue;
    sum += m[q * nk + k]!;
    n++;
  }
  return n ? sum / n : 0;
}

/** The best-scoring head of a layer (`heads` matrices) and every head's score. */
export function bestHead(mats: ArrayLike<number>[], nq: number, nk: number, score: HeadScore): { head: number; scores: number[] } {
  const scores = mats.map((m) => lineScore(m, nq, nk, score));
  let head = 0;
  scores.forEach((v, i) => {
    if (v > scores[head]!) head = i;
  });
  return { head, scores };
}

interface EpochList {
  runs: { checkpoints: { name: string; usable: boolean; epoch?: number | null }[] }[];
}

/** The run's next usable saved epoch after checkpoint `current` (null: it is the last, or unknown). */
export function nextCheckpoint(list: EpochList | null, current: string): string | null {
  for (const r of list?.runs ?? []) {
    if (!r.checkpoints.some((c) => c.name === current)) continue;
    const usable = r.checkpoints.filter((c) => c.usable || c.name === current);
    // by epoch when every file has one, else in the server's order
    if (usable.every((c) => typeof c.epoch === 'number')) usable.sort((a, b) => a.epoch! - b.epoch!);
    const i = usable.findIndex((c) => c.name === current);
    return usable[i + 1]?.name ?? null;
  }
  return null;
}

/**
 * An epoch question graded: row `q` of the weights before (`before`, the epoch the student saw)
 * and after training on (`after`), the key `picked`: right when it is (one of) the brightest of
 * the row after; the brightest before and after, for the explanation.
 */
export function gradeEpoch(before: ArrayLike<number>, after: ArrayLike<number>, nk: number, q: number, picked: number) {
  const best = rowArgmax(after, nk, q);
  const was = rowArgmax(before, nk, q);
  const a = (k: number) => after[q * nk + k]!;
  const b = (k: number) => before[q * nk + k]!;
  return { correct: a(picked) >= a(best) - 1e-6, best, was, weight: a(best), weightBefore: b(best), wasWeight: b(was), pickedWeight: a(picked), pickedBefore: b(picked) };
}

/** `{name}` blanks of an explanation filled (unknown names stay as written, so a typo shows). */
export function fill(text: string, vars: Record<string, string | number>): string {
  return text.replace(/\{(\w+)\}/g, (all, k: string) => (k in vars ? String(vars[k]) : all));
}

// ---- placement ----

export interface Rect {
  left: number;
  top: number;
  width: number;
  height: number;
}

function overlap(a: Rect, b: Rect): number {
  const w = Math.min(a.left + a.width, b.left + b.width) - Math.max(a.left, b.left);
  const h = Math.min(a.top + a.height, b.top + b.height) - Math.max(a.top, b.top);
  return w > 0 && h > 0 ? w * h : 0;
}

/**
 * Where the lesson panel (`w` × `h`) goes in the viewport (`vw` × `vh`): never over `target` (the
 * highlighted element, null = none) when any spot allows it, and over as little of `avoid` (what
 * the step is about: the heatmap, an open insight panel) as it can, and before anything else over
 * none of `clear` (what the step's prose sends the student to). Spots: beside the target,
 * above / below it, the viewport's corners; `covers` is the area of the target it covers.
 */
export function placePanel(
  target: Rect | null,
  w: number,
  h: number,
  vw: number,
  vh: number,
  avoid: Rect[] = [],
  clear: Rect[] = [],
  margin = 12,
): { left: number; top: number; covers: number } {
  const clampX = (x: number) => Math.max(margin, Math.min(vw - w - margin, x));
  const clampY = (y: number) => Math.max(margin, Math.min(vh - h - margin, y));
  const cands = [
    { left: vw - w - margin, top: vh - h - margin },
    { left: margin, top: vh - h - margin },
    { left: vw - w - margin, top: margin },
    { left: margin, top: margin },
  ];
  if (target) {
    const t = target;
    cands.unshift(
      { left: t.left + t.width + margin, top: clampY(t.top) },
      { left: t.left - w - margin, top: clampY(t.top) },
      { left: clampX(t.left), top: t.top + t.height + margin },
      { left: clampX(t.left), top: t.top - h - margin },
    );
  }
  let best = { ...cands[cands.length - 4]!, covers: Infinity };
  let bestScore = Infinity;
  for (const c of cands) {
    const inside = c.left >= 0 && c.top >= 0 && c.left + w <= vw && c.top + h <= vh;
    if (!inside) continue;
    const box = { left: c.left, top: c.top, width: w, height: h };
    const covers = target ? overlap(box, target) : 0;
    const score = covers * 1e6 + clear.reduce((a, r) => a + 1e3 * overlap(box, r), 0) + avoid.reduce((a, r) => a + overlap(box, r), 0);
    if (score < bestScore) {
      bestScore = score;
      best = { ...c, covers };
    }
  }
  return best;
}
