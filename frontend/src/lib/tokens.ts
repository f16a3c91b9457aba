/** How tokens are shown: whitespace made visible, special tokens recognisable. */

const VISIBLE: Record<string, string> = { ' ': '␣', '\n': '↵', '\t': '⇥', '\r': '␍', '': '∅' };

export function displayToken(t: string): string {
  if (t in VISIBLE) return VISIBLE[t]!;
  if (/^\s+$/.test(t)) return t.replace(/ /g, '␣').replace(/\n/g, '↵').replace(/\t/g, '⇥');
  return t;
}

/** `<bos>`, `<eos>`, `<pad>`, `[CLS]`, `[SEP]`… */
export function isSpecialToken(t: string): boolean {
  return /^<[^<>]+>$/.test(t) || /^\[[A-Z]+\]$/.test(t);
}

/** Quoted for sentences and ARIA labels: 'h', '␣', '<eos>'. */
export function quoteToken(t: string): string {
  return `'${displayToken(t)}'`;
}
