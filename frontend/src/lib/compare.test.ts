import { describe, expect, it } from 'vitest';
import { alignTexts, diffMatrices } from './diff';

describe('comparing two texts', () => {
  it('texts of the same tokens but one edited position align, and say where', () => {
    const a = ['<bos>', 'h', 'e', 'l', 'l', 'o', '<eos>'];
    const b = ['<bos>', 'h', 'a', 'l', 'l', 'o', '<eos>'];
    const r = alignTexts(a, a, b, b, true);
    expect(r.aligned).toBe(true);
    expect(r.editedK).toEqual([2]);
    expect(r.message).toBe("The texts align (7 tokens each), edited at 2 'e' → 'a': A − B cell by cell.");
  });

  it('texts of different lengths do not align: side by side only', () => {
    const a = ['h', 'e', 'y'];
    const b = ['h', 'e', 'y', 'o'];
    const r = alignTexts(a, a, b, b, true);
    expect(r.aligned).toBe(false);
    expect(r.message).toMatch(/^The two texts do not align \(A has 3 tokens, B 4\).*Shown side by side only\.$/);
  });

  it('cross-attention: the query side (outputs) must align too', () => {
    const r = alignTexts(['x', 'y'], ['a', 'b'], ['x'], ['a', 'c'], false);
    expect(r.aligned).toBe(false);
    expect(r.message).toContain('A has 2 query tokens, B 1');
    const ok = alignTexts(['x', 'y'], ['a', 'b'], ['x', 'z'], ['a', 'c'], false);
    expect([ok.aligned, ok.editedQ, ok.editedK]).toEqual([true, [1], [1]]);
  });

  it('the difference of aligned texts is cell by cell', () => {
    const a = Float32Array.from([0.5, 0.5, 0.2, 0.8]);
    const b = Float32Array.from([0.4, 0.6, 0.2, 0.8]);
    const d = diffMatrices(a, 2, b, 2, 2, 2);
    expect(Array.from(d.d).map((v) => +v.toFixed(6))).toEqual([0.1, -0.1, 0, 0]);
  });
});
