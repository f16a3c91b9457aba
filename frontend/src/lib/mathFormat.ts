/** Pure helpers of the step-through view: number formats, the q·k expansion, tints. */

/** A matrix entry for people: 2 decimals, a real minus sign, −∞ for masked scores. */
export function fmtNum(v: number, digits = 2): string {
  if (v === -Infinity) return '−∞';
  if (!Number.isFinite(v)) return String(v);
  const s = v.toFixed(digits);
  return (/^-0\.0*$/.test(s) ? s.slice(1) : s).replace('-', '−');
}

/** `(−0.40)` for negatives inside a sum, `1.20` otherwise. */
function factor(v: number): string {
  const s = fmtNum(v);
  return v < 0 && s !== fmtNum(0) ? `(${s})` : s;
}

export interface DotProduct {
  /** "0.31×1.20 + 0.12×(−0.40) + …" (at most `maxTerms` terms, then "… n more") */
  terms: string;
  dot: number;
  scaled: number;
  /** the full line: "q·k = 0.31×1.20 + … = 4.10; ÷√16 = 1.03" */
  text: string;
}

/** q·k written out term by term, then ÷√d_k, or × `scale` when the model scales otherwise (T5: 1). */
export function dotProduct(q: readonly number[], k: readonly number[], maxTerms = 8, scale: number | null = null): DotProduct {
  const n = Math.min(q.length, k.length);
  let dot = 0;
  const parts: string[] = [];
  for (let i = 0; i < n; i++) {
    dot += q[i]! * k[i]!;
    if (i < maxTerms) parts.push(`${factor(q[i]!)}×${factor(k[i]!)}`);
  }
  if (n > maxTerms) parts.push(`… ${n - maxTerms} more`);
  const terms = parts.join(' + ');
  const s = scale ?? 1 / Math.sqrt(n);
  const scaled = dot * s;
  const how = isInvSqrt(s, n) ? `÷√${n}` : s === 1 ? 'not scaled' : `×${fmtNum(s, 4)}`;
  return { terms, dot, scaled, text: `q·k = ${terms} = ${fmtNum(dot)}; ${how}${s === 1 ? '' : ` = ${fmtNum(scaled)}`}` };
}

/** Is `scale` the paper's 1/√d_k (to float32 precision)? */
export function isInvSqrt(scale: number, dk: number): boolean {
  return Math.abs(scale * Math.sqrt(dk) - 1) < 1e-5;
}

/** Largest |value| of a matrix, ignoring infinities and the cells `skip` names (≥ 1e-9 so it can divide). */
export function maxAbs(m: readonly (readonly number[])[], skip?: (i: number, j: number) => boolean): number {
  let mx = 1e-9;
  m.forEach((row, i) => row.forEach((v, j) => {
    if (Number.isFinite(v) && Math.abs(v) > mx && !skip?.(i, j)) mx = Math.abs(v);
  }));
  return mx;
}

/** Background tint of a signed value: warm for positive, cool for negative, alpha ∝ |v| / scale. */
export function signedTint(v: number, scale: number): { bg: string; dark: boolean } {
  if (!Number.isFinite(v)) return { bg: 'transparent', dark: false };
  const a = Math.min(1, Math.abs(v) / scale) * 0.85;
  const rgb = v >= 0 ? '214, 96, 77' : '67, 147, 195';
  return { bg: `rgba(${rgb}, ${a.toFixed(3)})`, dark: a > 0.6 };
}

/** Tint of a weight in [0, 1] (one hue, like ink on paper). */
export function weightTint(w: number): { bg: string; dark: boolean } {
  const a = Math.max(0, Math.min(1, w)) * 0.9;
  return { bg: `rgba(94, 60, 153, ${a.toFixed(3)})`, dark: a > 0.5 };
}

/** Column indices to show for a width-d matrix: all up to `limit`, else the first `limit`. */
export function shownColumns(d: number, limit = 16): { cols: number[]; hidden: number } {
  const n = Math.min(d, limit);
  return { cols: Array.from({ length: n }, (_, i) => i), hidden: d - n };
}

/** Rows a math table shows at most: at 174 tokens every row made the view ~34,000 px tall. */
export const MATH_ROWS_SHOWN = 24;

/** The rows [start, end) a table of `n` rows shows: all of them when they fit, else `limit`
 *  consecutive rows with `focus` (the chosen query, or the key it weighs most) near the middle. */
export function rowWindow(n: number, focus: number, limit = MATH_ROWS_SHOWN): [number, number] {
  if (n <= limit) return [0, n];
  const f = Math.min(Math.max(0, focus), n - 1);
  const start = Math.max(0, Math.min(n - limit, f - Math.floor(limit / 2)));
  return [start, start + limit];
}
