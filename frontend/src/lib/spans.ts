/**
 * Spans and words: several tokens read as one (BertViz #125, SAVIS's sentences).
 *
 * A group of tokens becomes one row and one column of every matrix it is on:
 * - as a KEY its column is the SUM of the group's columns: how much attention the group receives
 *   as a whole (a row still sums to 1 over the keys);
 * - as a QUERY its row is the MEAN of the group's rows: what the group looks at on average, so the
 *   values stay in 0..1 (a sum of queries would reach the group's size).
 * The same rule merges the pieces of a word ("group sub-words into words"): WordPiece `##`
 * continuations, GPT-2 byte-level BPE (`Ġ` starts a word) and SentencePiece (`▁` starts a word),
 * both shown as `␣` in the server's documents.
 *
 * Groups are contiguous runs of positions of the document as received (`rawDoc`), so a span in
 * the URL means the same tokens whether special tokens are hidden or words grouped.
 */
import type { AttentionKind } from '../api/types';
import { ATTENTION_KINDS } from '../api/types';
import { keySide, querySide, type AttnDoc, type AttnTensor, type Side } from './doc';
import { isHideable } from './special';
import { isSpecialToken } from './tokens';
import type { ParamSpec } from './url';

/** Tokens [from, to) of one side of the document as received. */
export interface Span {
  side: Side;
  from: number;
  to: number;
}

/** URL parameter `span=src:2-5` (side, then a half-open range of positions); absent = none. */
export function spanParam(): ParamSpec<Span | null> {
  return {
    default: null,
    parse: (r) => {
      const m = /^(src|tgt):(\d+)-(\d+)$/.exec(r);
      return m && +m[3]! > +m[2]! ? { side: m[1] as Side, from: +m[2]!, to: +m[3]! } : undefined;
    },
    format: (v) => (v ? `${v.side}:${v.from}-${v.to}` : ''),
    equals: (a, b) => (a === null || b === null ? a === b : a.side === b.side && a.from === b.from && a.to === b.to),
  };
}

/**
 * How a tokenizer marks words, read from its tokens (null: no sub-word marks, e.g. characters).
 * `space`: the server's documents show GPT-2's `Ġ` and SentencePiece's `▁` as the visible space
 * `␣` (backend hf.py display_token); a token that starts with it (or with a space) starts a word.
 */
export type WordScheme = 'wordpiece' | 'bpe' | 'sentencepiece' | 'space';

const STARTS: Record<Exclude<WordScheme, 'wordpiece'>, RegExp> = { bpe: /^Ġ/u, sentencepiece: /^▁/u, space: /^[␣ ]/u };

export function wordScheme(tokens: readonly string[]): WordScheme | null {
  if (tokens.some((t) => t.length > 2 && t.startsWith('##'))) return 'wordpiece';
  if (tokens.some((t) => t.startsWith('Ġ'))) return 'bpe';
  if (tokens.some((t) => t.startsWith('▁'))) return 'sentencepiece';
  if (tokens.some((t) => /^[␣ ]./u.test(t))) return 'space';
  return null;
}

export const SCHEME_LABEL: Record<WordScheme, string> = {
  wordpiece: 'WordPiece: “##” pieces join the word before',
  bpe: 'BPE: a word starts at “Ġ” (a space)',
  sentencepiece: 'SentencePiece: a word starts at “▁” (a space)',
  space: 'BPE / SentencePiece: a word starts at a space “␣” (GPT-2’s Ġ, SentencePiece’s ▁)',
};

const PUNCT = /^[\p{P}\p{S}]+$/u;
const SPACE_ONLY = /^[ĠĊ▁␣↵⇥␍\s]+$/u;

/**
 * The words of a token list: contiguous groups of positions, each token in exactly one. A special
 * token, a punctuation token and a whitespace-only token are words of their own; otherwise a token
 * continues the word before unless it starts one (WordPiece: it does not begin with `##`; BPE and
 * SentencePiece: it begins with `Ġ` / `▁`). Without sub-word marks every token is its own word.
 */
export function wordGroups(tokens: readonly string[], special: readonly string[] | null = null, scheme = wordScheme(tokens)): number[][] {
  const groups: number[][] = [];
  let prevAlone = true;
  tokens.forEach((t, i) => {
    const alone = isHideable(t, special) || PUNCT.test(t) || SPACE_ONLY.test(t);
    let starts = true;
    if (scheme && !alone && !prevAlone) {
      starts = scheme === 'wordpiece' ? !t.startsWith('##') : STARTS[scheme].test(t);
    }
    if (starts || !groups.length) groups.push([i]);
    else groups[groups.length - 1]!.push(i);
    prevAlone = alone;
  });
  return groups;
}

/** One label for several tokens: WordPiece `##` pieces glued on, BPE / SentencePiece pieces
 *  concatenated (their marks are their spaces), whole words or characters as written. */
export function joinTokens(tokens: readonly string[]): string {
  if (tokens.length <= 1) return tokens[0] ?? '';
  const marked = tokens.some((t) => /^[Ġ▁␣ ]/u.test(t));
  // a character-level text (the toy models), its <bos> / <eos> included, is written as it reads
  const chars = tokens.every((t) => Array.from(t).length <= 1 || isSpecialToken(t));
  let out = tokens[0]!;
  for (const t of tokens.slice(1)) {
    if (t.startsWith('##')) out += t.slice(2);
    else if (marked || chars) out += t;
    else out += ` ${t}`;
  }
  return out;
}

/** Every position alone (no merging): [[0], [1], …]. */
export function singletons(n: number): number[][] {
  return Array.from({ length: n }, (_, i) => [i]);
}

/**
 * Groups of `n` positions with `span` [from, to) made one (widened to whole groups of `base`
 * when it cuts one, so a span never splits a word that is shown merged).
 */
export function withSpan(base: number[][], from: number, to: number): number[][] {
  const out: number[][] = [];
  let merged: number[] | null = null;
  for (const g of base) {
    const inside = g.some((i) => i >= from && i < to);
    if (!inside) out.push(g);
    else if (!merged) out.push((merged = [...g]));
    else merged.push(...g);
  }
  return out;
}

/**
 * One [nq, nk] matrix merged by groups: entry (g, h) = mean over the queries i of `qGroups[g]` of
 * the sum over the keys j of `kGroups[h]` of m[i, j] (keys summed, queries averaged).
 */
export function mergeMatrix(m: ArrayLike<number>, nk: number, qGroups: readonly (readonly number[])[], kGroups: readonly (readonly number[])[]): Float32Array {
  const out = new Float32Array(qGroups.length * kGroups.length);
  for (let g = 0; g < qGroups.length; g++) {
    const rows = qGroups[g]!;
    const inv = rows.length ? 1 / rows.length : 0;
    for (let h = 0; h < kGroups.length; h++) {
      let s = 0;
      for (const i of rows) for (const j of kGroups[h]!) s += m[i * nk + j]!;
      out[g * kGroups.length + h] = s * inv;
    }
  }
  return out;
}

/** Sum of the rows `rows` of a [nq, nk] matrix (length nk); its mean is this over rows.length. */
export function sumRows(m: ArrayLike<number>, nk: number, rows: readonly number[]): Float32Array {
  const out = new Float32Array(nk);
  for (const i of rows) for (let j = 0; j < nk; j++) out[j] = out[j]! + m[i * nk + j]!;
  return out;
}

/** Sum over the columns `cols` of each row of a [nq, nk] matrix (length nq). */
export function sumColumns(m: ArrayLike<number>, nq: number, nk: number, cols: readonly number[]): Float32Array {
  const out = new Float32Array(nq);
  for (let i = 0; i < nq; i++) for (const j of cols) out[i] = out[i]! + m[i * nk + j]!;
  return out;
}

function mergeTensor(t: AttnTensor, qGroups: number[][], kGroups: number[][]): AttnTensor {
  const nq = qGroups.length;
  const nk = kGroups.length;
  const size = t.nq * t.nk;
  const data = new Float32Array(t.layers * t.heads * nq * nk);
  for (let lh = 0; lh < t.layers * t.heads; lh++) data.set(mergeMatrix(t.data.subarray(lh * size, (lh + 1) * size), t.nk, qGroups, kGroups), lh * nq * nk);
  return { ...t, nq, nk, data };
}

const isIdentity = (groups: number[][]) => groups.every((g) => g.length === 1);

/**
 * The document with each side's groups merged (a new object; `doc` is not changed). Decoding
 * steps belong to single target rows: they are kept only when the target side is not merged.
 */
export function mergeDoc(doc: AttnDoc, groups: Record<Side, number[][]>): AttnDoc {
  if (isIdentity(groups.src) && isIdentity(groups.tgt)) return doc;
  const kinds: Partial<Record<AttentionKind, AttnTensor>> = {};
  for (const kind of ATTENTION_KINDS) {
    const t = doc.kinds[kind];
    if (t) kinds[kind] = mergeTensor(t, groups[querySide(kind)], groups[keySide(kind)]);
  }
  const label = (side: Side) => groups[side].map((g) => joinTokens(g.map((i) => doc.tokens[side][i]!)));
  return {
    ...doc,
    tokens: { src: label('src'), tgt: label('tgt') },
    kinds,
    steps: isIdentity(groups.tgt) ? doc.steps : null,
    merged: { tokens: doc.tokens, groups },
  };
}

export interface Grouping {
  /** group sub-words into words */
  words: boolean;
  span: Span | null;
}

/** The groups of each side of `doc` (as received) for `g`; a span out of range is ignored. */
export function groupsFor(doc: AttnDoc, g: Grouping): Record<Side, number[][]> {
  const side = (s: Side): number[][] => {
    const toks = doc.tokens[s];
    let groups = g.words ? wordGroups(toks, doc.specialTokens) : singletons(toks.length);
    if (g.span && g.span.side === s && g.span.to <= toks.length && g.span.to - g.span.from > 0) groups = withSpan(groups, g.span.from, g.span.to);
    return groups;
  };
  return { src: side('src'), tgt: side('tgt') };
}

/** `doc` (as received) with words and the span merged; an overview (a long text) is kept whole. */
export function groupDoc(doc: AttnDoc, g: Grouping): AttnDoc {
  if (doc.overview || (!g.words && !g.span)) return doc;
  return mergeDoc(doc, groupsFor(doc, g));
}

/**
 * The positions of the document as received behind token `i` of side `side` of the shown one
 * (which may have special tokens hidden, lib/special.ts, after its groups were merged here).
 */
export function rawPositions(shown: AttnDoc, side: Side, i: number): number[] {
  const merged = shown.hidden ? shown.hidden.kept[side][i] : i;
  if (merged === undefined) return [];
  return shown.merged ? [...(shown.merged.groups[side][merged] ?? [])] : [merged];
}

/** The inverse of `rawPositions`: the token of the shown document that holds position `pos` of
 *  the document as received (null: a hidden special token, or past the end). */
export function shownIndex(shown: AttnDoc, side: Side, pos: number): number | null {
  const merged = shown.merged ? shown.merged.groups[side].findIndex((g) => g.includes(pos)) : pos;
  if (merged < 0) return null;
  if (!shown.hidden) return merged < shown.tokens[side].length ? merged : null;
  const i = shown.hidden.kept[side].indexOf(merged);
  return i < 0 ? null : i;
}

/** The span after shift-clicking raw positions `pos` of `side`: the hull of the old span (same
 *  side) and them; a click on exactly the current span clears it. */
export function extendSpan(cur: Span | null, side: Side, pos: readonly number[]): Span | null {
  if (!pos.length) return cur;
  const from = Math.min(...pos);
  const to = Math.max(...pos) + 1;
  if (!cur || cur.side !== side) return { side, from, to };
  if (cur.from === from && cur.to === to) return null;
  return { side, from: Math.min(cur.from, from), to: Math.max(cur.to, to) };
}
