import { describe, expect, it } from 'vitest';
import { ARC_CAP, headArcs, layerArcs, MIN_ARC_WEIGHT, pruneRowByMass } from './arcs';
import { headMatrix } from './doc';
import { memorySource } from './source';

/** The definition: sort the weights ≥ minWeight (largest first, ties by index), take them until `mass` or `limit`. */
function reference(row: number[], mass: number, minWeight: number, limit: number): number[] {
  const idx = row.flatMap((v, i) => (v >= minWeight && v > 0 ? [i] : [])).sort((a, b) => row[b]! - row[a]! || a - b);
  const total = row.reduce((s, v) => s + (v > 0 ? v : 0), 0);
  const out: number[] = [];
  let acc = 0;
  for (const i of idx) {
    if ((mass < 1 && acc >= mass * total - 1e-9) || out.length >= limit) break;
    out.push(i);
    acc += row[i]!;
  }
  return out;
}

describe('pruneRowByMass with a small per-row limit (one pass, no sort)', () => {
  it('matches the sorted definition on random rows, ties included', () => {
    let seed = 11;
    const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
    for (let trial = 0; trial < 400; trial++) {
      const n = 1 + Math.floor(rnd() * 60);
      const row = Array.from({ length: n }, () => (rnd() < 0.3 ? 0 : Math.round(rnd() * 20) / 20));
      const limit = 1 + Math.floor(rnd() * 8);
      const mass = [0.5, 0.9, 1][trial % 3]!;
      expect(pruneRowByMass(row, mass, 0.02, limit)).toEqual(reference(row, mass, 0.02, limit));
    }
  });

  it('keeps the largest weight of a 512-key row at limit 1', () => {
    const row = new Float32Array(512).fill(0.001);
    row[300] = 0.4;
    row[7] = 0.4; // a tie: the lower index wins
    row[100] = 0.1;
    expect(pruneRowByMass(row, 0.9, 0.02, 1)).toEqual([7]);
    expect(pruneRowByMass(row, 0.9, 0.02, 3)).toEqual([7, 300, 100]);
  });
});

describe('line cap', () => {
  const tensor = (n: number, strong = -1) => {
    const data = new Float32Array(12 * n * n);
    for (let h = 0; h < 12; h++) {
      for (let q = 0; q < n; q++) data[(h * n + q) * n + ((q + h) % n)] = h === strong ? 0.95 : 0.1 + (0.8 * ((q * 7 + h) % 97)) / 97;
    }
    return { kind: 'encoder_self' as const, layers: 1, heads: 12, nq: n, nk: n, data, causal: false };
  };
  const heads = [...Array(12).keys()];

  it('keeps every line at 128 tokens × 12 heads', () => {
    const r = layerArcs(memorySource(tensor(128)), 0, heads, 0.9);
    expect(r.arcs.length).toBe(128 * 12);
    expect(r.total).toBe(128 * 12);
  });

  it('at 512 tokens keeps the strongest ⌊ARC_CAP / 12⌋ lines of every head, even beside a peaked head', () => {
    const quota = Math.floor(ARC_CAP / 12);
    const r = layerArcs(memorySource(tensor(512, 3)), 0, heads, 0.9);
    expect(r.total).toBe(512 * 12);
    expect(r.arcs.length).toBe(12 * quota);
    for (const h of heads) {
      const mine = r.arcs.filter((a) => a.head === h);
      expect(mine.length).toBe(quota);
      const all = layerArcs(memorySource(tensor(512, 3)), 0, [h], 0.9, undefined, Infinity).arcs;
      const weakestKept = Math.min(...mine.map((a) => a.w));
      expect(all.filter((a) => a.w > weakestKept).length).toBeLessThanOrEqual(quota);
    }
  });
});

describe('layer arcs with a small per-row limit (row tops cached per tensor)', () => {
  it('equal the arcs of each head computed afresh, whatever the mass, causal or not', () => {
    let seed = 5;
    const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
    for (const causal of [false, true]) {
      const n = 60;
      const data = new Float32Array(2 * 12 * n * n).map(() => (rnd() < 0.6 ? 0 : rnd()));
      const t = { kind: causal ? ('decoder_self' as const) : ('encoder_self' as const), layers: 2, heads: 12, nq: n, nk: n, data, causal };
      const heads = [...Array(12).keys()];
      const src = memorySource(t);
      for (const mass of [0.5, 0.9, 0.7, 1, 0.9]) {
        const { arcs, perRow } = layerArcs(src, 1, heads, mass, 600, Infinity);
        expect(perRow).toBe(1);
        const fresh = heads.flatMap((h) => headArcs(headMatrix(t, 1, h), n, n, h, mass, causal, MIN_ARC_WEIGHT, perRow));
        expect(arcs).toEqual(fresh);
      }
    }
  });
});
