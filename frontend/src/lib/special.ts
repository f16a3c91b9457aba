/**
 * Hide special tokens (`[CLS]`, `[SEP]`, `<bos>`, `<eos>`…) from a document and renormalise.
 *
 * Pretrained encoders park much of their attention on `[CLS]` / `[SEP]` (a "no-op" sink), which
 * washes out everything else. Hiding them drops those query rows and key columns, then divides each
 * remaining row by its remaining sum, so rows again sum to 1 over the visible keys: the weights
 * become "attention among the real tokens". A row whose visible keys all have weight 0 (e.g. a
 * masked decoder row that could only see `<bos>`) stays 0.
 *
 * A document that names its model's special tokens (`special_tokens`, from the server's Hugging
 * Face models: `<|endoftext|>`, `</s>`, `<pad>`…) hides exactly those; otherwise the shape test
 * of lib/tokens.ts decides (so a byte token such as `<0xE2>` is kept when the list is known).
 */
import type { AttentionKind } from '../api/types';
import { ATTENTION_KINDS } from '../api/types';
import { keySide, querySide, type AttnDoc, type AttnTensor, type Side } from './doc';
import { isSpecialToken } from './tokens';

/** `[UNK]` / `<unk>` stand for real text the vocabulary lacks: they are never hidden. */
const UNKNOWN = new Set(['[UNK]', '<unk>', '<UNK>']);

/** Is `t` one of the tokens "hide special tokens" drops (the document's own list when it has one)? */
export function isHideable(t: string, special: readonly string[] | null = null): boolean {
  if (UNKNOWN.has(t)) return false;
  return special ? special.includes(t) : isSpecialToken(t);
}

/** Indices of the tokens kept on one side (all of them if every token is special). */
export function keptIndices(tokens: readonly string[], special: readonly string[] | null = null): number[] {
  const kept = tokens.flatMap((t, i) => (isHideable(t, special) ? [] : [i]));
  return kept.length ? kept : tokens.map((_, i) => i);
}

export function hasSpecialTokens(doc: AttnDoc): boolean {
  const h = (t: string) => isHideable(t, doc.specialTokens);
  return doc.tokens.src.some(h) || doc.tokens.tgt.some(h);
}

/** `t` restricted to the kept query rows and key columns, each row renormalised to sum to 1. */
export function renormalizedSubmatrix(t: AttnTensor, qKeep: readonly number[], kKeep: readonly number[]): AttnTensor {
  const nq = qKeep.length;
  const nk = kKeep.length;
  const out = new Float32Array(t.layers * t.heads * nq * nk);
  let o = 0;
  for (let lh = 0; lh < t.layers * t.heads; lh++) {
    const base = lh * t.nq * t.nk;
    for (const q of qKeep) {
      const row = base + q * t.nk;
      let sum = 0;
      for (const k of kKeep) sum += t.data[row + k]!;
      const inv = sum > 0 ? 1 / sum : 0;
      for (const k of kKeep) out[o++] = t.data[row + k]! * inv;
    }
  }
  return { ...t, nq, nk, data: out };
}

/** The document without its special tokens (a new object; `doc` is not changed). */
export function hideSpecialTokens(doc: AttnDoc): AttnDoc {
  if (!hasSpecialTokens(doc)) return doc;
  const keep: Record<Side, number[]> = { src: keptIndices(doc.tokens.src, doc.specialTokens), tgt: keptIndices(doc.tokens.tgt, doc.specialTokens) };
  const kinds: Partial<Record<AttentionKind, AttnTensor>> = {};
  for (const kind of ATTENTION_KINDS) {
    const t = doc.kinds[kind];
    if (t) kinds[kind] = renormalizedSubmatrix(t, keep[querySide(kind)], keep[keySide(kind)]);
  }
  return {
    ...doc,
    tokens: { src: keep.src.map((i) => doc.tokens.src[i]!), tgt: keep.tgt.map((i) => doc.tokens.tgt[i]!) },
    kinds,
    // a step belongs to its target row: kept rows keep theirs, renumbered to the shown positions
    steps: doc.steps && doc.steps.length === doc.tokens.tgt.length ? keep.tgt.map((i, t) => ({ ...doc.steps![i]!, t })) : doc.steps,
    hidden: { tokens: doc.tokens, kept: keep, steps: doc.steps },
  };
}
