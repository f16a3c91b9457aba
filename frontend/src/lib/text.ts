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

/**
 * "Text has 2 characters outside the vocabulary: …" plus, when the vocabulary is known, what works
 * ("This model reads lower-case letters, digits, space and .,!?'-:;()") and "use lower case" when
 * every bad letter has a lower-case twin the model reads.
 */
export function describeInvalid(list: readonly InvalidCharacter[], vocabulary?: string | null): string {
  const n = list.length;
  const shown = list.slice(0, 8).map((c) => `${quoteChar(c.char)} at position ${c.position}`);
  let out = `Text has ${n} character${n === 1 ? '' : 's'} outside the vocabulary: ${shown.join(', ')}${n > 8 ? ', …' : ''}.`;
  if (!vocabulary) return out;
  const ok = new Set(Array.from(vocabulary));
  if (n && list.every((c) => c.char !== c.char.toLowerCase() && ok.has(c.char.toLowerCase()))) out += ' Use lower case.';
  return `${out} ${describeVocabulary(vocabulary)}`;
}

const CHAR_NAMES: Record<string, string> = {
  '\t': 'a tab',
  '\n': 'a line break',
  '\r': 'a carriage return',
  '\u00a0': 'a no-break space',
  '\u200b': 'a zero-width space',
  '\ufeff': 'a byte-order mark',
};

/** A character as a message shows it: 'é' in quotes, one that would not show (a control, format or
 * space character other than ' ', a combining mark) by name or code point: "U+0000". */
export function quoteChar(ch: string): string {
  const code = `U+${(ch.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;
  const name = CHAR_NAMES[ch];
  if (name) return `${name} (${code})`;
  return ch !== ' ' && /^[\p{C}\p{Z}\p{M}]$/u.test(ch) ? code : `'${ch}'`;
}

/** The text in lower case when that is all it takes for the model to read it (one capital letter
 *  in a lower-case model), else null: the error message offers it as a one-click fix. */
export function lowerCaseFix(text: string, vocabulary: string | null | undefined): string | null {
  if (!vocabulary) return null;
  const lower = text.toLowerCase();
  return lower !== text && findInvalid(lower, vocabulary).length === 0 ? lower : null;
}

/** What a character vocabulary holds, in words: "This model reads lower-case letters, digits, space and .,!?". */
export function describeVocabulary(vocabulary: string): string {
  const chars = new Set(Array.from(vocabulary));
  const has = (s: string) => Array.from(s).every((c) => chars.has(c));
  const parts: string[] = [];
  const taken = new Set<string>();
  const group = (set: string, name: string) => {
    if (!has(set)) return;
    parts.push(name);
    for (const c of set) taken.add(c);
  };
  group('abcdefghijklmnopqrstuvwxyz', 'lower-case letters');
  group('ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'upper-case letters');
  group('0123456789', 'digits');
  if (chars.has(' ')) {
    parts.push('space');
    taken.add(' ');
  }
  const rest = [...chars].filter((c) => !taken.has(c) && c.trim() !== '' && c.length === 1);
  if (rest.length) parts.push(rest.length > 40 ? `${rest.length} other symbols` : rest.join(''));
  if (!parts.length) return '';
  const list = parts.length > 1 ? `${parts.slice(0, -1).join(', ')} and ${parts[parts.length - 1]}` : parts[0];
  return `This model reads ${list}.`;
}

/** `text` cut to at most `max` characters (code points) with an ellipsis: a quoted user text
 *  (a second text from the URL can be any length) must not run off its box. */
export function clipText(text: string, max = 60): string {
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('')}…`;
}
