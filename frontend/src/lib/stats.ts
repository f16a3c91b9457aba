/**
 * Head statistics. One attention matrix A (nq × nk, rows sum to 1); "allowed" keys of row i are all
 * nk keys, or k ≤ i for the causal (masked) decoder self-attention. Every statistic is a mean over
 * query rows:
 *
 * - entropy (nats, natural log): H_i = −Σ_j A_ij ln A_ij (0 ln 0 = 0);
 * - normalised entropy: H_i / ln(n_i), n_i = number of allowed keys of row i, so a uniform row is 1
 *   whatever its length (masked decoder rows are fair); rows with n_i = 1 have no choice and are
 *   left out of this mean;
 * - mean attention distance: Σ_j A_ij |i − j| (positions as indices; cross-attention compares the
 *   target query index with the source key index);
 * - line scores, the mass on the one cell of a line in row i, averaged over the rows whose cell lies
 *   inside the matrix and is not masked (NaN when no row has one):
 *   diagonal (i, i); offset-k (i, i + k), k = −1 is "previous token", +1 "next token";
 *   anti-diagonal (i, n − 1 − i) with n = nk − 1 when the last key is an end token (<eos> / [SEP],
 *   which is excluded) and n = nk otherwise — for src length ≠ tgt length the lines simply stop at
 *   the matrix edge;
 * - special-token mass: Σ_{j : key j is <bos> / <eos> / [CLS] / [SEP]} A_ij, one figure per token present;
 * - agreement with the task's expected alignment (see alignment.ts): the mass on the expected key,
 *   averaged over rows that have one (NaN when none);
 * - previous-token score: the mass on (i, i − 1), averaged over the rows i ≥ 1 (the offset −1 line,
 *   whatever offset the page shows);
 * - induction score (self-attention only, Olsson et al. 2022): for a query token that occurred
 *   earlier, the mass on the key j + 1 after its latest earlier occurrence j (the token that
 *   followed it then), averaged over such rows (NaN when no token repeats; special tokens never
 *   count as repeats). Occurrences whose follower is the query itself or its previous token
 *   (j ≥ i − 2: runs like `ooo`) are skipped: those are the diagonal and the previous-token line.
 *   One key per row, so a head spreading its attention evenly scores about 1 / (keys allowed).
 *   A head that copies in context ("…A B … A → B") scores near 1; the backend's held-out score
 *   (attnviz/induction.py) is the same measure on the repeated half of its sequences.
 */

export const SPECIAL_KEYS = ['<bos>', '<eos>', '[CLS]', '[SEP]'] as const;
const END_TOKENS = new Set(['<eos>', '[SEP]']);

export interface HeadStats {
  entropy: number;
  entropyNorm: number;
  distance: number;
  diagonal: number;
  offset: number;
  anti: number;
  agreement: number;
  prev: number;
  induction: number;
  /** token → mean mass on the keys holding it (only tokens of SPECIAL_KEYS present) */
  special: Record<string, number>;
}

export interface StatsContext {
  causal: boolean;
  /** key tokens (special-token mass, end token excluded from the anti-diagonal); may be empty */
  kTokens: readonly string[];
  /** k of the offset-k line */
  offset: number;
  /** expected key per query row (−1 = none), or null */
  expected: Int32Array | null;
  /** queries and keys are the same sequence (kTokens): enables the induction score */
  self?: boolean;
}

const ALL_SPECIALS = new Set<string>([...SPECIAL_KEYS, '<pad>']);

/** For each position i, the position j + 1 after the latest earlier occurrence j ≤ i − 3 of token i
 * (empty when there is none or it is a special token); null when `tokens` cannot be the query side. */
function inductionTargets(tokens: readonly string[], n: number): number[][] | null {
  if (tokens.length !== n) return null;
  const seen = new Map<string, number[]>();
  return tokens.map((tok, i) => {
    if (ALL_SPECIALS.has(tok)) return [];
    const before = seen.get(tok) ?? [];
    const usable = before.filter((j) => j + 1 < i - 1);
    const out = usable.length ? [usable[usable.length - 1]! + 1] : [];
    seen.set(tok, [...before, i]);
    return out;
  });
}

/** Key length of the anti-diagonal (the trailing end token excluded). */
export function antiLength(nk: number, kTokens: readonly string[]): number {
  return kTokens.length === nk && nk > 0 && END_TOKENS.has(kTokens[nk - 1]!) ? nk - 1 : nk;
}

/** Statistics of one nq × nk matrix stored row-major at m[off..]. */
export function headStats(m: ArrayLike<number>, nq: number, nk: number, ctx: StatsContext, off = 0): HeadStats {
  const specials: { tok: string; cols: number[] }[] = [];
  for (const tok of SPECIAL_KEYS) {
    const cols: number[] = [];
    ctx.kTokens.forEach((x, j) => x === tok && cols.push(j));
    if (cols.length) specials.push({ tok, cols });
  }
  const specialSum = new Float64Array(specials.length);
  const na = antiLength(nk, ctx.kTokens);
  const k = ctx.offset;
  const exp = ctx.expected;
  const ind = ctx.self && nq === nk ? inductionTargets(ctx.kTokens, nk) : null;
  let indSum = 0;
  let nInd = 0;
  let prev = 0;
  let nPrev = 0;
  let ent = 0;
  let entN = 0;
  let nEntN = 0;
  let dist = 0;
  let diag = 0;
  let nDiag = 0;
  let offs = 0;
  let nOffs = 0;
  let anti = 0;
  let nAnti = 0;
  let agree = 0;
  let nAgree = 0;
  for (let i = 0; i < nq; i++) {
    const row = off + i * nk;
    const allowed = ctx.causal ? Math.min(i + 1, nk) : nk;
    let h = 0;
    let d = 0;
    for (let j = 0; j < allowed; j++) {
      const w = m[row + j]!;
      if (w > 0) h -= w * Math.log(w);
      d += w * (i > j ? i - j : j - i);
    }
    ent += h;
    dist += d;
    if (allowed > 1) {
      entN += h / Math.log(allowed);
      nEntN++;
    }
    if (i < allowed) {
      diag += m[row + i]!;
      nDiag++;
    }
    if (i >= 1 && i - 1 < allowed) {
      prev += m[row + i - 1]!;
      nPrev++;
    }
    const targets = ind?.[i];
    if (targets?.length) {
      for (const j of targets) if (j < allowed) indSum += m[row + j]!;
      nInd++;
    }
    const jo = i + k;
    if (jo >= 0 && jo < allowed) {
      offs += m[row + jo]!;
      nOffs++;
    }
    const ja = na - 1 - i;
    if (ja >= 0 && ja < allowed && ja < na) {
      anti += m[row + ja]!;
      nAnti++;
    }
    if (exp) {
      const je = exp[i] ?? -1;
      if (je >= 0 && je < allowed) {
        agree += m[row + je]!;
        nAgree++;
      }
    }
    for (let s = 0; s < specials.length; s++) {
      for (const j of specials[s]!.cols) if (j < allowed) specialSum[s]! += m[row + j]!;
    }
  }
  const mean = (x: number, n: number) => (n ? x / n : NaN);
  const special: Record<string, number> = {};
  specials.forEach((s, i) => (special[s.tok] = mean(specialSum[i]!, nq)));
  return {
    entropy: mean(ent, nq),
    entropyNorm: mean(entN, nEntN),
    distance: mean(dist, nq),
    diagonal: mean(diag, nDiag),
    offset: mean(offs, nOffs),
    anti: mean(anti, nAnti),
    agreement: mean(agree, nAgree),
    prev: mean(prev, nPrev),
    induction: mean(indSum, nInd),
    special,
  };
}

/** The statistic keys a view can sort or colour by; `mass:<token>` for special-token mass. */
export type StatKey =
  | 'entropy'
  | 'entropyNorm'
  | 'distance'
  | 'diagonal'
  | 'offset'
  | 'anti'
  | 'agreement'
  | 'prev'
  | 'induction'
  | `mass:${string}`;

export interface StatDef {
  key: StatKey;
  label: string;
  /** longer description (column title / tooltip) */
  title: string;
  /** values live in [0, 1] (colour scales fixed) rather than [0, max] */
  unit: boolean;
}

export function statDefs(offset: number, specials: readonly string[]): StatDef[] {
  const k = offset >= 0 ? `+${offset}` : String(offset);
  return [
    { key: 'entropy', label: 'Entropy', title: 'Mean row entropy in nats (natural log)', unit: false },
    { key: 'entropyNorm', label: 'H / Hmax', title: 'Mean row entropy ÷ ln(number of allowed keys): 1 = uniform, 0 = one key', unit: true },
    { key: 'distance', label: 'Distance', title: 'Mean attention distance Σ w·|i − j| (positions)', unit: false },
    { key: 'diagonal', label: 'Diag', title: 'Mean mass on the diagonal (i, i)', unit: true },
    { key: 'offset', label: `Off ${k}`, title: `Mean mass on the offset line (i, i ${k})`, unit: true },
    { key: 'anti', label: 'Anti', title: 'Mean mass on the anti-diagonal (i, n−1−i), trailing <eos> excluded', unit: true },
    ...specials.map((t): StatDef => ({ key: `mass:${t}`, label: t, title: `Mean mass on ${t}`, unit: true })),
    { key: 'agreement', label: 'Align', title: "Agreement with the task's expected alignment: mean mass on the expected key", unit: true },
    { key: 'prev', label: 'Prev', title: 'Previous-token score: mean mass on the token just before (i, i − 1)', unit: true },
    {
      key: 'induction',
      label: 'Induct',
      title: 'Induction score: from a token seen before, the mean mass on the token(s) that followed its earlier occurrence(s)',
      unit: true,
    },
  ];
}

export function statValue(s: HeadStats, key: StatKey): number {
  if (key.startsWith('mass:')) return s.special[key.slice(5)] ?? NaN;
  return s[key as Exclude<StatKey, `mass:${string}`>];
}

/** Stats of every head of an [L, H, nq, nk] stack, index l * H + h. */
export function stackStats(data: Float32Array, layers: number, heads: number, nq: number, nk: number, ctx: StatsContext): HeadStats[] {
  const out: HeadStats[] = [];
  const size = nq * nk;
  for (let i = 0; i < layers * heads; i++) out.push(headStats(data, nq, nk, ctx, i * size));
  return out;
}

/** Compare two stat values for sorting: NaN always last, whatever the direction. */
export function compareStat(a: number, b: number, desc: boolean): number {
  const an = Number.isNaN(a);
  const bn = Number.isNaN(b);
  if (an || bn) return an === bn ? 0 : an ? 1 : -1;
  return desc ? b - a : a - b;
}
