/**
 * "Without the first token": drop key 0 (the first token, where many heads park their attention:
 * the sink) and renormalise each row over the remaining keys.
 *
 * The key column stays in place at 0, so every view keeps its token axes; each row is divided by
 * its mass on keys 1…n, so rows again sum to 1 over what is left. A row that only reached key 0
 * (the first query of a masked decoder) has nothing left and stays 0.
 */
import { ATTENTION_KINDS, type AttentionKind } from '../api/types';
import type { AttnDoc, AttnTensor } from './doc';

/** `t` with key 0 at 0 and each row renormalised over keys 1…nk−1 (a new tensor). */
export function withoutFirstKey(t: AttnTensor): AttnTensor {
  const out = new Float32Array(t.data.length);
  if (t.nk < 2) return { ...t, data: out };
  for (let row = 0; row < t.layers * t.heads * t.nq; row++) {
    const base = row * t.nk;
    let sum = 0;
    for (let k = 1; k < t.nk; k++) sum += t.data[base + k]!;
    const inv = sum > 0 ? 1 / sum : 0;
    for (let k = 1; k < t.nk; k++) out[base + k] = t.data[base + k]! * inv;
  }
  return { ...t, data: out };
}

/** The document with key 0 of every kind dropped and rows renormalised (an overview is returned as is:
 *  it holds no rows, only block maxima and tiles). */
export function dropFirstToken(doc: AttnDoc): AttnDoc {
  if (doc.overview) return doc;
  const kinds: Partial<Record<AttentionKind, AttnTensor>> = {};
  for (const kind of ATTENTION_KINDS) {
    const t = doc.kinds[kind];
    if (t) kinds[kind] = withoutFirstKey(t);
  }
  return { ...doc, kinds };
}
