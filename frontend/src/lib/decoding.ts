/**
 * Which decoding steps produced a token: a decoder-only document's `tokens.tgt` is prompt +
 * generated, and `steps` has one row per token, prompt rows included (there `token` is only the
 * model's best guess). The document does not say where the prompt ends, so it is found here.
 */
import type { DecodingStep } from '../api/types';
import type { AttnDoc } from './doc';
import { isHideable } from './special';

/** Text of tokens as `output` writes it, whitespace dropped (decoders' clean-up moves spaces). */
function squeeze(tokens: readonly string[], special: readonly string[] | null): string {
  return tokens.filter((t) => !isHideable(t, special)).join('').replace(/[␣↵⇥␍\s]/g, '');
}

/**
 * Index in `tgt` of the first generated token of a decoder-only document (`tgt.length` when
 * nothing was generated), or null when it cannot be told. Generated tokens are the trailing ones
 * each predicted greedily by the row before (`steps[t - 1].token === tgt[t]`); a prompt token
 * that happens to be the model's guess too is told apart by the text: the tokens before the
 * boundary spell `input`, or else those after it spell `output` (byte tokens spell neither).
 */
export function promptLength(
  tgt: readonly string[],
  steps: readonly DecodingStep[] | null,
  input: string | null,
  output: string | null,
  special: readonly string[] | null = null,
): number | null {
  if (!steps || steps.length !== tgt.length) return null;
  let first = tgt.length;
  while (first > 1 && steps[first - 2]?.token === tgt[first - 1]) first--;
  const spells = (text: string | null, part: (p: number) => readonly string[]) => {
    if (text === null) return null;
    const want = text.replace(/\s/g, '');
    for (let p = first; p <= tgt.length; p++) if (squeeze(part(p), special) === want) return p;
    return null;
  };
  return spells(input, (p) => tgt.slice(0, p)) ?? spells(output, (p) => tgt.slice(p));
}

/**
 * The boundary for the document as shown: decoder-only documents only (an encoder-decoder's
 * target is all generated after its start token); with special tokens hidden the boundary found
 * on the full document is mapped to the kept positions.
 */
export function shownPromptLength(doc: AttnDoc): number | null {
  if (doc.kinds.cross || doc.tokens.src.length || !doc.kinds.decoder_self || doc.merged) return null;
  const tgt = doc.hidden?.tokens.tgt ?? doc.tokens.tgt;
  const steps = doc.hidden ? (doc.hidden.steps ?? null) : doc.steps;
  const p = promptLength(tgt, steps, doc.input, doc.output, doc.specialTokens);
  if (p === null || !doc.hidden) return p;
  const kept = doc.hidden.kept.tgt;
  const i = kept.findIndex((k) => k >= p);
  return i < 0 ? kept.length : i;
}
