import type { InvalidCharacter } from '../api/types';

export interface TextSegment {
  text: string;
  invalid: boolean;
}

/**
 * Split `text` into runs of valid / invalid characters. Positions are code-point indices
 * (what the server reports), so astral characters such as emoji count as one.
 */
export function segmentInvalid(text: string, invalid: readonly InvalidCharacter[]): TextSegment[] {
  const bad = new Set(invalid.map((c) => c.position));
  const chars = Array.from(text);
  const out: TextSegment[] = [];
  chars.forEach((ch, i) => {
    const isBad = bad.has(i);
    const last = out[out.length - 1];
    if (last && last.invalid === isBad) last.text += ch;
    else out.push({ text: ch, invalid: isBad });
  });
  return out;
}

/** Per-character comparison of the model's output with the expected one. */
export function diffChars(output: string, expected: string): { ch: string; ok: boolean }[] {
  const a = Array.from(output);
  const b = Array.from(expected);
  return a.map((ch, i) => ({ ch, ok: b[i] === ch }));
}

/** Characters of `text` (by code point) not in `vocabulary`, like the server's 422 reports them. */
export function findInvalid(text: string, vocabulary: string): InvalidCharacter[] {
  const ok = new Set(Array.from(vocabulary));
  const out: InvalidCharacter[] = [];
  Array.from(text).forEach((char, position) => {
    if (!ok.has(char)) out.push({ char, position });
  });
  return out;
}

export function describeInvalid(list: readonly InvalidCharacter[]): string {
  const n = list.length;
  const shown = list.slice(0, 8).map((c) => `'${c.char}' at position ${c.position}`);
  return `Text has ${n} character${n === 1 ? '' : 's'} outside the vocabulary: ${shown.join(', ')}${n > 8 ? ', …' : ''}.`;
}
