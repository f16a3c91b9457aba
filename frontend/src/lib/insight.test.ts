import { describe, expect, it } from 'vitest';
import { ablationKey, clampAblation, parseAblation, toggleHead } from './ablate';
import { dotProduct, fmtNum, isInvSqrt, MATH_ROWS_SHOWN, rowWindow, shownColumns } from './mathFormat';
import { decodeDocument } from './doc';
import { formatParams, parseParams } from './url';
import { URL_SPECS } from '../app/state';

describe('ablation in the URL', () => {
  it('parses, sorts and dedupes kind:layer.head lists', () => {
    expect(parseAblation('cross:0.1,encoder_self:1.2,cross:0.1')).toEqual([
      { kind: 'encoder_self', layer: 1, head: 2 },
      { kind: 'cross', layer: 0, head: 1 },
    ]);
    expect(parseAblation('')).toEqual([]);
    expect(parseAblation('cross:0')).toBeUndefined();
    expect(parseAblation('self:0.1')).toBeUndefined();
  });
  it('round-trips through the URL specs and toggles', () => {
    const s = parseParams(URL_SPECS, '?ablate=cross:0.1,encoder_self:1.2&insight=math&mq=3');
    expect(s.insight).toBe('math');
    expect(s.mq).toBe(3);
    expect(ablationKey(s.ablate)).toBe('encoder_self:1.2,cross:0.1');
    expect(formatParams(URL_SPECS, s)).toBe('?insight=math&mq=3&ablate=encoder_self%3A1.2%2Ccross%3A0.1');
    const off = toggleHead(s.ablate, { kind: 'cross', layer: 0, head: 1 });
    expect(ablationKey(off)).toBe('encoder_self:1.2');
    expect(ablationKey(toggleHead(off, { kind: 'decoder_self', layer: 0, head: 0 }))).toBe('encoder_self:1.2,decoder_self:0.0');
    expect(clampAblation(s.ablate, 1, 4)).toEqual([{ kind: 'cross', layer: 0, head: 1 }]);
    expect(parseParams(URL_SPECS, '?ablate=bad').ablate).toEqual([]);
  });
});

describe('step-through formatting', () => {
  it('shows every row of a short table and a window around the focus of a long one', () => {
    expect(rowWindow(10, 3)).toEqual([0, 10]);
    expect(rowWindow(174, 0)).toEqual([0, MATH_ROWS_SHOWN]);
    expect(rowWindow(174, 100)).toEqual([100 - MATH_ROWS_SHOWN / 2, 100 + MATH_ROWS_SHOWN / 2]);
    expect(rowWindow(174, 173)).toEqual([174 - MATH_ROWS_SHOWN, 174]);
    for (const f of [0, 5, 50, 150, 173]) {
      const [a, b] = rowWindow(174, f);
      expect(b - a).toBe(MATH_ROWS_SHOWN);
      expect(a <= f && f < b).toBe(true);
    }
  });
  it('writes q·k term by term, then ÷√d_k', () => {
    const d = dotProduct([0.31, -0.5, 2, 1], [1.2, 0.4, 1, -1]);
    expect(d.dot).toBeCloseTo(0.372 - 0.2 + 2 - 1);
    expect(d.scaled).toBeCloseTo(d.dot / 2);
    expect(d.text).toBe('q·k = 0.31×1.20 + (−0.50)×0.40 + 2.00×1.00 + 1.00×(−1.00) = 1.17; ÷√4 = 0.59');
  });
  it('elides long sums but keeps the full total', () => {
    const q = Array.from({ length: 64 }, () => 1);
    const d = dotProduct(q, q, 3);
    expect(d.terms).toBe('1.00×1.00 + 1.00×1.00 + 1.00×1.00 + … 61 more');
    expect(d.dot).toBe(64);
    expect(d.text.endsWith('= 64.00; ÷√64 = 8.00')).toBe(true);
  });
  it("uses the model's own scale: none for T5, √d_k only when it is 1/√d_k", () => {
    const q = [1, 2, 3, 4];
    expect(dotProduct(q, q, 8, 1).text.endsWith('= 30.00; not scaled')).toBe(true);
    expect(dotProduct(q, q, 8, 0.5).text.endsWith('; ÷√4 = 15.00')).toBe(true);
    expect(dotProduct(q, q, 8, 0.1).text.endsWith('; ×0.1000 = 3.00')).toBe(true);
    expect(isInvSqrt(1 / Math.sqrt(64), 64)).toBe(true);
    expect(isInvSqrt(1, 64)).toBe(false);
  });
  it('formats numbers and columns', () => {
    expect(fmtNum(-Infinity)).toBe('−∞');
    expect(fmtNum(-0.001)).toBe('0.00');
    expect(fmtNum(-1.234)).toBe('−1.23');
    expect(shownColumns(64)).toEqual({ cols: Array.from({ length: 16 }, (_, i) => i), hidden: 48 });
    expect(shownColumns(8).hidden).toBe(0);
  });
});

describe('documents with and without steps', () => {
  const base = {
    schema_version: 1,
    checkpoint: 'copy/ckpt_epoch1.pt',
    model: {},
    input: 'a',
    output: 'a',
    tokens: { src: ['a', '<eos>'], tgt: ['<bos>', 'a'] },
    attentions: { encoder_self: [[[[0.5, 0.5], [0.5, 0.5]]]] },
  };
  it('keeps well-formed steps', () => {
    const steps = [{ t: 0, token: 'a', top: [{ token: 'a', p: 0.9 }] }, { t: 1, token: '<eos>', top: [{ token: '<eos>', p: 0.8 }] }];
    expect(decodeDocument({ ...base, steps }).steps).toEqual(steps);
  });
  it('opens documents without steps (older exporters) and drops malformed ones', () => {
    expect(decodeDocument(base).steps).toBeNull();
    expect(decodeDocument({ ...base, steps: [{ t: 'x' }] }).steps).toBeNull();
  });
});
