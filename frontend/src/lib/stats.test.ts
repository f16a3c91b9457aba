import { describe, expect, it } from 'vitest';
import { expectedAlignment, matchOrigins, noAlignmentReason, sourceChars, taskOrigins } from './alignment';
import { color as d3color } from 'd3';
import { compareTokens, diffColor, diffDomain, diffMatrices, diffToRgba, divergingT } from './diff';
import { decodeDocument } from './doc';
import { formatHeadRef, parseHeadRef, refMatrix, refProblem, sameRef } from './headRef';
import { attentionSource } from './source';
import { attentionRollout, layerMeans, rolloutFromMeans } from './rollout';
import { antiLength, compareStat, headStats, stackStats, statDefs, statValue, type HeadStats, type StatsContext } from './stats';
import reference from './__fixtures__/stats_reference.json';

const ctx = (over: Partial<StatsContext> = {}): StatsContext => ({ causal: false, kTokens: [], offset: 1, expected: null, ...over });
const eye = (n: number) => Float32Array.from({ length: n * n }, (_, i) => (Math.floor(i / n) === i % n ? 1 : 0));
const uniform = (nq: number, nk: number) => new Float32Array(nq * nk).fill(1 / nk);
const perm = (p: number[]) => {
  const n = p.length;
  const m = new Float32Array(n * n);
  p.forEach((j, i) => (m[i * n + j] = 1));
  return m;
};

describe('head statistics on hand-made matrices', () => {
  it('identity: diagonal 1, entropy 0, distance 0', () => {
    const s = headStats(eye(5), 5, 5, ctx({ offset: 1 }));
    expect(s.diagonal).toBe(1);
    expect(s.entropy).toBe(0);
    expect(s.entropyNorm).toBe(0);
    expect(s.distance).toBe(0);
    expect(s.offset).toBe(0);
    expect(s.anti).toBeCloseTo(1 / 5, 12); // only the centre cell of the anti-diagonal
    expect(s.agreement).toBeNaN(); // no expected alignment given
  });
  it('uniform: entropy ln n, normalised 1', () => {
    const s = headStats(uniform(6, 6), 6, 6, ctx());
    expect(s.entropy).toBeCloseTo(Math.log(6), 6);
    expect(s.entropyNorm).toBeCloseTo(1, 6);
    expect(s.diagonal).toBeCloseTo(1 / 6, 6);
    // mean |i-j| over a uniform 6x6 = (1/6)·Σ_i mean_j |i-j| = 35/18
    expect(s.distance).toBeCloseTo(70 / 36, 5);
  });
  it('causal uniform rows (masked decoder): normalised entropy 1 per row', () => {
    const n = 5;
    const m = new Float32Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) m[i * n + j] = 1 / (i + 1);
    const s = headStats(m, n, n, ctx({ causal: true }));
    expect(s.entropyNorm).toBeCloseTo(1, 6); // row 0 (one allowed key) left out
    const mean = [1, 2, 3, 4, 5].reduce((a, k) => a + Math.log(k), 0) / 5;
    expect(s.entropy).toBeCloseTo(mean, 6);
    expect(s.offset).toBeNaN(); // offset +1 is always masked
  });
  it('anti-diagonal permutation: anti 1; with <eos> the end token is excluded', () => {
    expect(headStats(perm([4, 3, 2, 1, 0]), 5, 5, ctx()).anti).toBe(1);
    // reverse task: query i -> key n-2-i, <eos> row -> <eos>
    const m = perm([3, 2, 1, 0, 4]);
    const s = headStats(m, 5, 5, ctx({ kTokens: ['a', 'b', 'c', 'd', '<eos>'] }));
    expect(antiLength(5, ['a', 'b', 'c', 'd', '<eos>'])).toBe(4);
    expect(s.anti).toBe(1);
    expect(s.special['<eos>']).toBeCloseTo(1 / 5, 12);
    expect(s.diagonal).toBeCloseTo(1 / 5, 12);
  });
  it('offset lines: -1 previous token, +1 next token', () => {
    const prev = perm([0, 0, 1, 2]); // row 0 attends itself
    expect(headStats(prev, 4, 4, ctx({ offset: -1 })).offset).toBe(1);
    expect(headStats(prev, 4, 4, ctx({ offset: 1 })).offset).toBe(0);
    expect(headStats(perm([1, 2, 3, 3]), 4, 4, ctx({ offset: 1 })).offset).toBe(1);
  });
  it('non-square cross-attention: lines stop at the matrix edge', () => {
    // 3 queries × 5 keys, each query on its own diagonal cell
    const m = new Float32Array(15);
    for (let i = 0; i < 3; i++) m[i * 5 + i] = 1;
    expect(headStats(m, 3, 5, ctx()).diagonal).toBe(1);
    // 5 queries × 3 keys: rows 3, 4 have no diagonal cell and are left out
    const m2 = new Float32Array(15);
    for (let i = 0; i < 5; i++) m2[i * 3 + Math.min(i, 2)] = 1;
    expect(headStats(m2, 5, 3, ctx()).diagonal).toBe(1);
  });
  it('agreement: mean mass on the expected key over rows that have one', () => {
    const m = new Float32Array([0.5, 0.5, 0, 0.2, 0.8, 0, 0, 0, 1]);
    const s = headStats(m, 3, 3, ctx({ expected: Int32Array.from([0, 1, -1]) }));
    expect(s.agreement).toBeCloseTo((0.5 + 0.8) / 2, 6);
  });
  it('induction and previous-token scores: 1 for the head that does it, NaN without a repeat', () => {
    // <bos> a b c a b: rows 4 (a) and 5 (b) repeat; an induction head reads what followed: 2 (b) and 3 (c)
    const toks = ['<bos>', 'a', 'b', 'c', 'a', 'b'];
    const n = toks.length;
    const induction = perm([0, 0, 0, 0, 2, 3]);
    const previous = perm([0, 0, 1, 2, 3, 4]);
    const self = ctx({ causal: true, kTokens: toks, self: true });
    expect(headStats(induction, n, n, self).induction).toBe(1);
    expect(headStats(previous, n, n, self).induction).toBe(0);
    expect(headStats(previous, n, n, self).prev).toBe(1);
    expect(headStats(induction, n, n, self).prev).toBeCloseTo(1 / 5, 6); // only row 1's <bos> is also the previous token
    expect(headStats(induction, n, n, ctx({ causal: true, kTokens: toks })).induction).toBeNaN(); // not self-attention
    const noRepeat = ['<bos>', 'a', 'b', 'c', 'd', 'e'];
    expect(headStats(induction, n, n, ctx({ causal: true, kTokens: noRepeat, self: true })).induction).toBeNaN();
    // the follower of the latest usable earlier occurrence counts; the query itself and its previous token never do
    const twice = ['<bos>', 'a', 'x', 'a', 'y', 'a', 'a'];
    const m = twice.length;
    const both = new Float32Array(m * m);
    both[3 * m + 2] = 1;
    both[5 * m + 2] = 1; // the third a: x (2) counts; y (4) is its previous token, not a look-up
    both[6 * m + 4] = 1; // the last a: y (4), after the latest usable a (3); not 6 (itself) nor 5 (its previous token)
    for (const i of [0, 1, 2, 4]) both[i * m] = 1;
    expect(headStats(both, m, m, ctx({ causal: true, kTokens: twice, self: true })).induction).toBe(1);
    // a run of one letter under even (untrained) attention: one key per row, so about 1 / keys, not the run's mass
    const run = ['<bos>', 'k', 'k', 'k', 'k', 'k', 'k', 'k'];
    const even = Float32Array.from({ length: 64 }, (_, x) => (x % 8 <= Math.floor(x / 8) ? 1 / (Math.floor(x / 8) + 1) : 0));
    expect(headStats(even, 8, 8, ctx({ causal: true, kTokens: run, self: true })).induction).toBeCloseTo((1 / 5 + 1 / 6 + 1 / 7 + 1 / 8) / 4, 6);
    const onSelf = perm([0, 0, 0, 0, 0, 0, 6]);
    expect(headStats(onSelf, m, m, ctx({ causal: true, kTokens: twice, self: true })).induction).toBe(0);
  });
  it('stat keys, values and NaN-last sorting', () => {
    const defs = statDefs(-1, ['<eos>']);
    expect(defs.map((d) => d.key)).toContain('mass:<eos>');
    expect(defs.find((d) => d.key === 'offset')!.label).toBe('Off -1');
    const s: HeadStats = { entropy: 1, entropyNorm: 0.5, distance: 2, diagonal: 0.1, offset: 0, anti: 0, agreement: NaN, prev: 0, induction: NaN, special: { '<eos>': 0.3 } };
    expect(statValue(s, 'mass:<eos>')).toBe(0.3);
    expect(statValue(s, 'mass:<bos>')).toBeNaN();
    expect([NaN, 1, 3, 2].sort((a, b) => compareStat(a, b, true))).toEqual([3, 2, 1, NaN]);
    expect([NaN, 1, 3, 2].sort((a, b) => compareStat(a, b, false))).toEqual([1, 2, 3, NaN]);
  });
});

interface RefCase {
  name: string;
  layers: number;
  heads: number;
  nq: number;
  nk: number;
  causal: boolean;
  kTokens: string[];
  offset: number;
  expected: number[];
  data: number[];
  means: number[];
  rollout?: number[];
  stats: { entropy: number; entropyNorm: number | null; distance: number; diagonal: number | null; offset: number | null; anti: number | null; agreement: number | null; special: Record<string, number> }[];
}

describe('against numpy (frontend/scripts/make_stats_fixtures.py)', () => {
  const cases = (reference as { cases: RefCase[] }).cases;
  const close = (a: number, b: number | null, what: string) => {
    if (b === null) expect(a, what).toBeNaN();
    else expect(Math.abs(a - b), `${what}: ${a} vs ${b}`).toBeLessThan(1e-6);
  };
  it('has cases', () => expect(cases.length).toBeGreaterThanOrEqual(4));
  for (const c of cases) {
    it(c.name, () => {
      const data = Float32Array.from(c.data);
      const means = layerMeans(data, c.layers, c.heads, c.nq, c.nk);
      c.means.forEach((v, i) => close(means[i]!, v, `mean[${i}]`));
      if (c.rollout) {
        const r = attentionRollout(data, c.layers, c.heads, c.nq);
        c.rollout.forEach((v, i) => close(r[i]!, v, `rollout[${i}]`));
      }
      const stats = stackStats(data, c.layers, c.heads, c.nq, c.nk, { causal: c.causal, kTokens: c.kTokens, offset: c.offset, expected: Int32Array.from(c.expected) });
      c.stats.forEach((ref, i) => {
        const s = stats[i]!;
        for (const k of ['entropy', 'entropyNorm', 'distance', 'diagonal', 'offset', 'anti', 'agreement'] as const) close(s[k], ref[k], `head ${i} ${k}`);
        expect(Object.keys(s.special).sort()).toEqual(Object.keys(ref.special).sort());
        for (const [tok, v] of Object.entries(ref.special)) close(s.special[tok]!, v, `head ${i} mass ${tok}`);
      });
    });
  }
});

describe('rollout', () => {
  it('identity attention rolls out to the identity; uniform stays uniform', () => {
    const n = 4;
    const idStack = new Float32Array(2 * n * n);
    idStack.set(eye(n), 0);
    idStack.set(eye(n), n * n);
    const r = rolloutFromMeans(idStack, 2, n);
    expect(Array.from(r.subarray(n * n))).toEqual(Array.from(eye(n)));
    const u = rolloutFromMeans(new Float32Array(n * n).fill(1 / n), 1, n);
    expect(u[0]).toBeCloseTo(0.5 + 0.5 / n, 6);
    expect(u[1]).toBeCloseTo(0.5 / n, 6);
  });
  it('rows stay stochastic', () => {
    const c = (reference as { cases: RefCase[] }).cases[0]!;
    const r = attentionRollout(Float32Array.from(c.data), c.layers, c.heads, c.nq);
    for (let i = 0; i < c.layers * c.nq; i++) {
      let s = 0;
      for (let j = 0; j < c.nk; j++) s += r[i * c.nk + j]!;
      expect(s).toBeCloseTo(1, 5);
    }
  });
});

describe('expected alignment', () => {
  it('matches output characters to source positions, ties in order (stable sort)', () => {
    expect(Array.from(matchOrigins([...'banana'], [...'aaabnn']))).toEqual([1, 3, 5, 0, 2, 4]);
    expect(Array.from(matchOrigins([...'ab'], [...'abz']))).toEqual([0, 1, -1]);
    expect(sourceChars(['a', 'b', '<eos>'])).toEqual(['a', 'b']);
  });
  it('per task: copy diagonal, reverse anti-diagonal, sort stable; <eos> → <eos>', () => {
    const src = ['h', 'e', 'l', 'l', 'o', '<eos>'];
    expect(Array.from(taskOrigins('copy', src, 'hello')!)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(Array.from(taskOrigins('reverse', src, 'olleh')!)).toEqual([4, 3, 2, 1, 0, 5]);
    expect(Array.from(taskOrigins('sort', src, 'ehllo')!)).toEqual([1, 0, 2, 3, 4, 5]);
    expect(Array.from(taskOrigins('sort', src, null)!)).toEqual([1, 0, 2, 3, 4, 5]); // code-point fallback
    expect(taskOrigins('translate', src, null)).toBeNull();
  });
  const doc = (task: string, input: string, output: string, expected: string) => {
    const src = [...input, '<eos>'];
    const tgt = ['<bos>', ...output];
    const mk = (nq: number, nk: number) => [[Array.from({ length: nq }, () => Array.from({ length: nk }, () => 1 / nk))]];
    return decodeDocument({
      schema_version: 1, checkpoint: null, model: { task }, input, output, expected,
      tokens: { src, tgt },
      attentions: { encoder_self: mk(src.length, src.length), decoder_self: mk(tgt.length, tgt.length), cross: mk(tgt.length, src.length) },
      warnings: [],
    });
  };
  it('cross: decoder query t expects the source of output t; decoder self has none', () => {
    const d = doc('sort', 'cabba', 'aabbc', 'aabbc');
    // sorted "cabba" = a(1) a(4) b(2) b(3) c(0); query 5 (last char) predicts <eos> → source <eos> (5)
    expect(Array.from(expectedAlignment(d, 'cross')!)).toEqual([1, 4, 2, 3, 0, 5]);
    expect(Array.from(expectedAlignment(d, 'encoder_self')!)).toEqual([1, 4, 2, 3, 0, 5]);
    expect(expectedAlignment(d, 'decoder_self')).toBeNull();
    expect(noAlignmentReason(d, 'decoder_self')).toMatch(/decoder self-attention/);
    expect(noAlignmentReason(doc('translate', 'ab', 'ab', 'ab'), 'cross')).toMatch(/not copy, reverse, sort, shift or swap/);
    // a model that stopped early: fewer queries, expected keys beyond are simply not asked for
    const short = doc('reverse', 'abc', 'c', 'cba');
    expect(Array.from(expectedAlignment(short, 'cross')!)).toEqual([2, 1]);
  });
  it("a source's stats: agreement 1 when the head follows the expected alignment", () => {
    const d = doc('copy', 'abc', 'abc', 'abc');
    const t = d.kinds.cross!;
    t.data.fill(0);
    for (let q = 0; q < 4; q++) t.data[q * 4 + q] = 1;
    expect(attentionSource(d, 'cross')!.stats(1)[0]!.agreement).toBe(1);
    expect(attentionSource(d, 'cross')!.stats(1)).toBe(attentionSource(d, 'cross')!.stats(1)); // cached
    expect(attentionSource(d, 'decoder_self')!.stats(1)[0]!.agreement).toBeNaN();
  });
});

describe('head references', () => {
  it('parse / format round trip', () => {
    for (const s of ['0.3', '2.mean', '1.rollout']) expect(formatHeadRef(parseHeadRef(s)!)).toBe(s);
    expect(parseHeadRef('x')).toBeUndefined();
    expect(parseHeadRef('1.')).toBeUndefined();
    expect(parseHeadRef('-1.2')).toBeUndefined();
    expect(sameRef(parseHeadRef('1.mean')!, { layer: 1, head: 5, agg: 'mean' })).toBe(true);
    expect(sameRef(parseHeadRef('1.2')!, parseHeadRef('1.3')!)).toBe(false);
  });
  it('resolves heads, means and rollout; says why not', () => {
    const d = decodeDocument({
      schema_version: 1, input: 'ab', tokens: { src: ['a', 'b'], tgt: ['<bos>'] },
      attentions: {
        encoder_self: [[[[1, 0], [0, 1]], [[0, 1], [1, 0]]]],
        cross: [[[[0.5, 0.5]], [[1, 0]]]],
      },
    });
    const enc = d.kinds.encoder_self!;
    expect(Array.from(refMatrix(enc, { layer: 0, head: 1, agg: 'none' })!)).toEqual([0, 1, 1, 0]);
    expect(Array.from(refMatrix(enc, { layer: 0, head: 0, agg: 'mean' })!)).toEqual([0.5, 0.5, 0.5, 0.5]);
    expect(Array.from(refMatrix(enc, { layer: 0, head: 0, agg: 'rollout' })!)).toEqual([0.75, 0.25, 0.25, 0.75]);
    expect(refMatrix(d.kinds.cross!, { layer: 0, head: 0, agg: 'rollout' })).toBeNull();
    expect(refProblem(d.kinds.cross!, { layer: 0, head: 0, agg: 'rollout' })).toMatch(/encoder self-attention only/);
    expect(refProblem(enc, { layer: 3, head: 0, agg: 'none' })).toMatch(/no layer 3/);
    expect(refProblem(enc, { layer: 0, head: 7, agg: 'none' })).toMatch(/no head 7/);
  });
});

describe('diff', () => {
  it('A − B over the common shape, symmetric domain', () => {
    const a = new Float32Array([1, 0, 0, 1]);
    const b = new Float32Array([0.5, 0.5, 0.25, 0.75]);
    const r = diffMatrices(a, 2, b, 2, 2, 2);
    expect(Array.from(r.d)).toEqual([0.5, -0.5, -0.25, 0.25]);
    expect(r.maxAbs).toBe(0.5);
    expect(diffDomain(0.5)).toBe(0.5);
    expect(diffDomain(0.01)).toBe(0.05);
    expect(diffDomain(0.3)).toBe(0.5);
    expect(divergingT(0, 1)).toBe(0.5);
    expect(divergingT(1, 1)).toBe(1);
    expect(divergingT(-2, 1)).toBe(0);
  });
  it('colours A larger orange and B larger purple, as the legend says', () => {
    const orange = d3color(diffColor(0.5, 0.5))!.rgb();
    const purple = d3color(diffColor(-0.5, 0.5))!.rgb();
    expect(orange.r).toBeGreaterThan(orange.b);
    expect(purple.b).toBeGreaterThan(purple.r);
  });
  it('diffs the top-left block of different shapes', () => {
    const a = new Float32Array([1, 2, 3, 4, 5, 6]); // 2 × 3
    const b = new Float32Array([1, 1, 1, 1]); // 2 × 2
    expect(Array.from(diffMatrices(a, 3, b, 2, 2, 2).d)).toEqual([0, 1, 3, 4]);
  });
  it('white at 0, masked neutral above the diagonal', () => {
    const px = diffToRgba(new Float32Array([0, 0, 0, 0]), 2, 2, 1, true);
    expect(px[0]! + px[1]! + px[2]!).toBeGreaterThan(700); // near white
    expect(Array.from(px.slice(4, 7))).toEqual([226, 228, 233]);
  });
  it('says when the token sequences differ', () => {
    const same = compareTokens(['a', 'b'], ['a', 'b'], ['a', 'b'], ['a', 'b']);
    expect(same.same).toBe(true);
    expect(same.message).toBe('');
    const c = compareTokens(['<bos>', 'a', 'b'], ['x', '<eos>'], ['<bos>', 'a', 'c', 'd'], ['x', '<eos>']);
    expect(c.same).toBe(false);
    expect(c.qFrom).toBe(2);
    expect(c.kFrom).toBe(-1);
    expect([c.nq, c.nk]).toEqual([3, 2]);
    expect(c.message).toMatch(/query tokens differ from position 2.*common 3 × 2 shape/);
  });
});
