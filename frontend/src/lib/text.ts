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
