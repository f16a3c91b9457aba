/**
 * The task's expected alignment: for each query row, the one key the task says it should look at.
 *
 * Output position t of a task "comes from" a source position origin[t]:
 * - copy: origin[t] = t (the diagonal);
 * - reverse: origin[t] = n − 1 − t, n = number of source characters (the anti-diagonal, <eos> excluded);
 * - sort: the source position holding output character t; equal characters are matched in order
 *   (the k-th occurrence of a character in the output ↔ its k-th occurrence in the source), which is
 *   exactly the stable argsort of the source;
 * - shift: origin[t] = t − 2 (the input two positions back; the first two outputs are the filler “-”
 *   and have none): the diagonal moved two keys to the left;
 * - swap (`abcde` → `badce`): origin[t] = t xor 1, the pair partner (an odd last character: itself):
 *   a zig-zag along the diagonal;
 * - the output's end (position n, where the decoder must predict <eos>) comes from the source <eos>
 *   when the source ends with one.
 *
 * Per attention kind (query row → expected key):
 * - cross (tgt queries × src keys): decoder query t (token tgt[t]) predicts output t, so its expected
 *   key is origin[t];
 * - encoder_self (src × src): source query i ↔ origin[i], the same permutation read inside the source
 *   (copy: diagonal; reverse: anti-diagonal; shift: two back; swap: zig-zag);
 * - decoder_self: the task says nothing about it → no expected alignment (null).
 * Rows without an expected key (−1) are left out of the agreement.
 */
import type { AttentionKind, TrainTask } from '../api/types';
import type { AttnDoc } from './doc';

/** How far back the shift task looks (attnviz.data.SHIFT). */
export const SHIFT = 2;

/** origin[t] for the n source characters `chars`, from the task's correct output `expected`. */
type Origins = (n: number, chars: readonly string[], expected: string | null) => Int32Array;

const byCodePoint = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Every task the server trains (the list is the API schema's, so a new backend task fails the type
 * check until it is given a rule here); null: the task has no input → output alignment (induction
 * is the decoder-only model's: decoder self-attention only).
 */
const ORIGINS: Record<TrainTask, Origins | null> = {
  copy: (n) => Int32Array.from({ length: n }, (_, t) => t),
  reverse: (n) => Int32Array.from({ length: n }, (_, t) => n - 1 - t),
  sort: (_n, chars, expected) => matchOrigins(chars, expected !== null ? [...expected] : [...chars].sort(byCodePoint)),
  shift: (n) => Int32Array.from({ length: n }, (_, t) => (t >= SHIFT ? t - SHIFT : -1)),
  swap: (n) => Int32Array.from({ length: n }, (_, t) => ((t ^ 1) < n ? t ^ 1 : t)),
  induction: null,
};

export type Task = TrainTask;
/** The tasks with an expected alignment, in the server's order. */
export const TASKS: readonly Task[] = (Object.keys(ORIGINS) as Task[]).filter((t) => ORIGINS[t] !== null);

function rulesOf(task: string | undefined): Origins | null {
  return task !== undefined && Object.hasOwn(ORIGINS, task) ? ORIGINS[task as Task] : null;
}

const END_TOKENS = new Set(['<eos>', '[SEP]']);

/** Source tokens without a trailing end token (<eos> / [SEP]). */
export function sourceChars(src: readonly string[]): string[] {
  return src.length && END_TOKENS.has(src[src.length - 1]!) ? src.slice(0, -1) : [...src];
}

/**
 * Stable matching of output characters to source positions: the k-th occurrence of c in `output`
 * ↔ the k-th occurrence of c in `source`; −1 when the source has no such occurrence.
 */
export function matchOrigins(source: readonly string[], output: readonly string[]): Int32Array {
  const slots = new Map<string, number[]>();
  source.forEach((c, i) => {
    const l = slots.get(c);
    if (l) l.push(i);
    else slots.set(c, [i]);
  });
  const used = new Map<string, number>();
  const out = new Int32Array(output.length).fill(-1);
  output.forEach((c, t) => {
    const l = slots.get(c);
    const k = used.get(c) ?? 0;
    if (l && k < l.length) out[t] = l[k]!;
    used.set(c, k + 1);
  });
  return out;
}

/**
 * origin[t] for output positions t = 0..n (n = source characters; position n is the <eos>), or null
 * for an unknown task. `expected` is the task's correct output (the document's `expected` field);
 * for sort it must be given, or the characters are sorted by code point as a fallback.
 */
export function taskOrigins(task: string | undefined, src: readonly string[], expected: string | null): Int32Array | null {
  const rule = rulesOf(task);
  if (!rule) return null;
  const chars = sourceChars(src);
  const n = chars.length;
  const origin = rule(n, chars, expected);
  const full = new Int32Array(n + 1).fill(-1);
  full.set(origin.subarray(0, n));
  if (src.length === n + 1) full[n] = n; // the output's <eos> ↔ the source <eos>
  return full;
}

/** Expected key per query row of `kind` (−1 = none), or null when the kind / task has none. */
export function expectedAlignment(doc: AttnDoc, kind: AttentionKind): Int32Array | null {
  const t = doc.kinds[kind];
  if (!t || kind === 'decoder_self') return null;
  // merged words or a span (lib/spans.ts): one row stands for several positions, none is expected
  if (doc.merged) return null;
  const task = doc.model.task as string | undefined;
  // with special tokens hidden, positions shift: compute on the original tokens, then map back
  const src = doc.hidden?.tokens.src ?? doc.tokens.src;
  const origin = taskOrigins(task, src, doc.expected);
  if (!origin) return null;
  const qKept = doc.hidden ? (kind === 'encoder_self' ? doc.hidden.kept.src : doc.hidden.kept.tgt) : null;
  const kPos = doc.hidden ? new Map(doc.hidden.kept.src.map((orig, i) => [orig, i])) : null;
  const out = new Int32Array(t.nq).fill(-1);
  for (let q = 0; q < t.nq; q++) {
    const oq = qKept ? qKept[q]! : q;
    const ok = oq < origin.length ? origin[oq]! : -1;
    const k = kPos ? (kPos.get(ok) ?? -1) : ok;
    out[q] = k >= 0 && k < t.nk ? k : -1;
  }
  return out;
}

/** Why a kind has no expected alignment (for the UI), or null when it has one. */
export function noAlignmentReason(doc: AttnDoc, kind: AttentionKind): string | null {
  const task = doc.model.task as string | undefined;
  if (!rulesOf(task)) return `No expected alignment: the task ${task ? `“${task}” ` : ''}is not ${TASKS.slice(0, -1).join(', ')} or ${TASKS.at(-1)}.`;
  if (kind === 'decoder_self') return 'No expected alignment for decoder self-attention (the task defines output ↔ source only).';
  return null;
}
