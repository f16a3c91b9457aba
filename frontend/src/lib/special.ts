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

/** The special-token test for `doc`: its own list when it has one, else the shape of the token. */
export function specialTest(doc: Pick<AttnDoc, 'specialTokens'>): (t: string) => boolean {
  if (!doc.specialTokens) return isSpecialToken;
  const names = new Set(doc.specialTokens);
  return (t) => names.has(t);
}

/** Indices of the tokens kept on one side (all of them if every token is special). */
export function keptIndices(tokens: readonly string[], isSpecial: (t: string) => boolean = isSpecialToken): number[] {
  const kept = tokens.flatMap((t, i) => (isSpecial(t) ? [] : [i]));
  return kept.length ? kept : tokens.map((_, i) => i);
}

export function hasSpecialTokens(doc: AttnDoc): boolean {
  const isSpecial = specialTest(doc);
  return doc.tokens.src.some(isSpecial) || doc.tokens.tgt.some(isSpecial);
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
  const isSpecial = specialTest(doc);
  const keep: Record<Side, number[]> = { src: keptIndices(doc.tokens.src, isSpecial), tgt: keptIndices(doc.tokens.tgt, isSpecial) };
  const kinds: Partial<Record<AttentionKind, AttnTensor>> = {};
  for (const kind of ATTENTION_KINDS) {
    const t = doc.kinds[kind];
    if (t) kinds[kind] = renormalizedSubmatrix(t, keep[querySide(kind)], keep[keySide(kind)]);
  }
  return {
    ...doc,
    tokens: { src: keep.src.map((i) => doc.tokens.src[i]!), tgt: keep.tgt.map((i) => doc.tokens.tgt[i]!) },
    kinds,
  };
}
