import { describe, expect, it } from 'vitest';
import { expectedAlignment, taskOrigins, TASKS } from './alignment';
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

describe('expected alignment of the shift and swap tasks (same rule as attnviz.data.expected_origins)', () => {
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
  it('lists the tasks of the trainer (attnviz.data.TASK_NAMES)', () => {
    expect([...TASKS]).toEqual(['copy', 'reverse', 'sort', 'shift', 'swap']);
    expect(taskOrigins('recall', [...'a1b2:a', '<eos>'], '1')).toBeNull();
  });
});
