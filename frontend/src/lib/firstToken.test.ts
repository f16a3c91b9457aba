import { describe, expect, it } from 'vitest';
import type { AttnDoc, AttnTensor } from './doc';
import { dropFirstToken, withoutFirstKey } from './firstToken';

function tensor(rows: number[][], layers = 1, heads = 1, causal = false): AttnTensor {
  const nq = rows.length / (layers * heads);
  const nk = rows[0]!.length;
  return { kind: causal ? 'decoder_self' : 'encoder_self', layers, heads, nq, nk, data: Float32Array.from(rows.flat()), causal };
}

describe('withoutFirstKey', () => {
  it('zeroes key 0 and renormalises each row over the remaining keys', () => {
    const t = withoutFirstKey(tensor([
      [0.9, 0.05, 0.05],
      [0.5, 0.3, 0.2],
      [0.0, 0.25, 0.75],
    ]));
    const rows = [0, 1, 2].map((q) => Array.from(t.data.slice(q * 3, q * 3 + 3)));
    expect(rows[0]![0]).toBe(0);
    expect(rows[0]![1]).toBeCloseTo(0.5, 6);
    expect(rows[0]![2]).toBeCloseTo(0.5, 6);
    expect(rows[1]![1]).toBeCloseTo(0.6, 6);
    expect(rows[1]![2]).toBeCloseTo(0.4, 6);
    expect(rows[2]).toEqual([0, 0.25, 0.75]);
    for (const r of rows) expect(r.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
  });

  it('leaves a row that could only see the first token at 0 (a masked decoder row 0)', () => {
    const t = withoutFirstKey(tensor([[1, 0], [0.7, 0.3]], 1, 1, true));
    expect(Array.from(t.data)).toEqual([0, 0, 0, 1]);
  });

  it('works head by head across layers and does not change its input', () => {
    const src = tensor([[0.5, 0.5], [0.2, 0.8], [0.9, 0.1], [1, 0]], 2, 1);
    const before = Array.from(src.data);
    const t = withoutFirstKey(src);
    expect(Array.from(t.data)).toEqual([0, 1, 0, 1, 0, 1, 0, 0]);
    expect(Array.from(src.data)).toEqual(before);
    expect(t.nq).toBe(2);
    expect(t.nk).toBe(2);
  });

  it('a single key has nothing left', () => {
    expect(Array.from(withoutFirstKey(tensor([[1]])).data)).toEqual([0]);
  });
});

describe('dropFirstToken', () => {
  it('renormalises every kind and keeps the tokens', () => {
    const doc = {
      tokens: { src: ['<s>', 'a'], tgt: [] },
      kinds: { encoder_self: tensor([[0.8, 0.2], [0.4, 0.6]]) },
    } as unknown as AttnDoc;
    const out = dropFirstToken(doc);
    expect(out.tokens).toBe(doc.tokens);
    expect(Array.from(out.kinds.encoder_self!.data)).toEqual([0, 1, 0, 1]);
    expect(out).not.toBe(doc);
  });

  it('returns an overview as it is', () => {
    const doc = { overview: { handle: 'h' }, kinds: {} } as unknown as AttnDoc;
    expect(dropFirstToken(doc)).toBe(doc);
  });
});
