import { describe, expect, it } from 'vitest';
import { promptLength } from './decoding';

const step = (t: number, token: string) => ({ t, token, top: [{ token, p: 0.9 }] });

describe('promptLength', () => {
  it('tells a prompt token the model also guessed from a generated one by the output text', () => {
    // prompt 'the ␣cat ␣mat' (the model guessed '␣mat' after '␣cat' too), then it generated '␣mat ␣mat'
    const tgt = ['the', '␣cat', '␣mat', '␣mat', '␣mat'];
    const steps = [step(0, 'x'), step(1, '␣mat'), step(2, '␣mat'), step(3, '␣mat'), step(4, '␣mat')];
    expect(promptLength(tgt, steps, null, ' mat mat')).toBe(3);
    expect(promptLength(tgt, steps, null, ' mat mat mat')).toBe(2);
    // the prompt's own text decides first
    expect(promptLength(tgt, steps, 'the cat mat', ' mat')).toBe(3);
  });
  it('nothing generated: the whole target is prompt', () => {
    expect(promptLength(['a', 'b'], [step(0, 'c'), step(1, 'd')], 'a b', '')).toBe(2);
  });
  it('drops the special tokens output leaves out', () => {
    const tgt = ['<s>', '␣hi', '␣yo', '</s>'];
    expect(promptLength(['hi', '␣yo', '<|endoftext|>'], [step(0, '␣yo'), step(1, '<|endoftext|>'), step(2, 'x')], null, ' yo', ['<|endoftext|>'])).toBe(1);
    expect(promptLength(tgt, null, 'hi', 'x')).toBeNull();
  });
  it('byte tokens: the prompt text still tells, else null', () => {
    const tgt = ['<s>', '␣hi', '<0x91>', '<0x1A>'];
    const steps = [step(0, 'x'), step(1, '<0x91>'), step(2, '<0x1A>'), step(3, 'z')];
    expect(promptLength(tgt, steps, 'hi', '', ['<s>'])).toBe(2);
    expect(promptLength(['a', 'b'], [step(0, 'b'), step(1, 'z')], 'q', 'q')).toBeNull();
  });
});
