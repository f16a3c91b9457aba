import { quoteToken } from './tokens';

/** A weight for people: 0.62, 0.05, 4.1e-3, 0. */
export function formatWeight(w: number): string {
  if (!Number.isFinite(w)) return String(w);
  if (w === 0) return '0';
  if (Math.abs(w) >= 0.01) return w.toFixed(2);
  return w.toExponential(1);
}

/** "'h' → 'e': 0.62", or "'h' → 'e': masked" for future positions of the decoder. */
export function describeCell(qTok: string, kTok: string, w: number, masked: boolean): string {
  return `${quoteToken(qTok)} → ${quoteToken(kTok)}: ${masked ? 'masked' : formatWeight(w)}`;
}

/** 1st, 2nd, 3rd, 4th, 11th, 12th, 13th, 21st, 22nd, 103rd, 111th */
export function ordinal(n: number): string {
  const teen = n % 100 >= 11 && n % 100 <= 13;
  const suffix = teen ? 'th' : ['th', 'st', 'nd', 'rd'][n % 10] ?? 'th';
  return `${n}${suffix}`;
}
