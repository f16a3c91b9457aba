import { describe, expect, it } from 'vitest';
import { expectedAlignment, recallOrigins, taskOrigins } from './alignment';
import { decodeDocument } from './doc';

const doc = (task: string, input: string, output: string) => {
  const src = [...input, '<eos>'];
  const tgt = ['<bos>', ...output];
  const mk = (nq: number, nk: number) => [[Array.from({ length: nq }, () => Array.from({ length: nk }, () => 1 / nk))]];
  return decodeDocument({
    schema_version: 1, checkpoint: null, model: { task }, input, output, expected: output,
    tokens: { src, tgt },
    attentions: { encoder_self: mk(src.length, src.length), decoder_self: mk(tgt.length, tgt.length), cross: mk(tgt.length, src.length) },
    warnings: [],
  });
};

describe('expected alignment of the shift, swap and recall tasks (same rule as attnviz.data.expected_origins)', () => {
  it('shift: two positions back, none for the filler', () => {
    const src = [...'abcdef', '<eos>'];
    expect(Array.from(taskOrigins('shift', src, '--abcd')!)).toEqual([-1, -1, 0, 1, 2, 3, 6]);
    expect(Array.from(expectedAlignment(doc('shift', 'abcd', '--ab'), 'encoder_self')!)).toEqual([-1, -1, 0, 1, 4]); // <eos> ↔ <eos>
  });
  it('swap: each row looks at its pair partner (a zig-zag), an odd last one at itself', () => {
    expect(Array.from(taskOrigins('swap', [...'abcdef', '<eos>'], 'badcfe')!)).toEqual([1, 0, 3, 2, 5, 4, 6]);
    expect(Array.from(taskOrigins('swap', [...'abcde', '<eos>'], 'badce')!)).toEqual([1, 0, 3, 2, 4, 5]);
    expect(Array.from(expectedAlignment(doc('swap', 'abc', 'bac'), 'cross')!)).toEqual([1, 0, 2, 3]); // <eos> ↔ <eos>
    expect(Array.from(expectedAlignment(doc('swap', 'abc', 'bac'), 'encoder_self')!)).toEqual([1, 0, 2, 3]);
  });
  it('recall: each output row looks at the value after its key', () => {
    // a1b2c3:ca → values at 5 (3) and 1 (1); then <eos> ↔ source <eos> (position 9)
    expect(Array.from(taskOrigins('recall', [...'a1b2c3:ca', '<eos>'], '31')!)).toEqual([5, 1, 9]);
    expect(Array.from(recallOrigins([...'a1b2:z']).origins)).toEqual([-1]); // a missing key
    expect(recallOrigins([...'abc']).sep).toBe(-1);
    expect(Array.from(expectedAlignment(doc('recall', 'a1b2:b', '2'), 'cross')!)).toEqual([3, 6]);
  });
  it('recall, encoder self-attention: the query key looks at the value it recalls (the induction step)', () => {
    expect(Array.from(expectedAlignment(doc('recall', 'a1b2:ba', '21'), 'encoder_self')!)).toEqual([-1, -1, -1, -1, -1, 3, 1, -1]);
  });
});
