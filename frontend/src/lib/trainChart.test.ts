import { describe, expect, it } from 'vitest';
import { chartPaths } from './trainChart';

describe('chartPaths', () => {
  it('scales steps to the width, loss to the largest loss and accuracy to 0–1', () => {
    const p = chartPaths(
      [
        { step: 0, loss: 4, accuracy: 0 },
        { step: 50, loss: 2, accuracy: 0.5 },
        { step: 100, loss: 1, accuracy: 1 },
      ],
      100,
      200,
      100,
    );
    expect(p.maxLoss).toBe(4);
    expect(p.loss).toBe('M0,0L100,50L200,75');
    expect(p.accuracy).toBe('M0,100L100,50L200,0');
  });
  it('drops non-finite points and grows past an unknown total', () => {
    const p = chartPaths([{ step: 10, loss: NaN, accuracy: 0 }, { step: 20, loss: 1, accuracy: 0.2 }], 0, 100, 10);
    expect(p.loss).toBe('M100,0');
    expect(p.accuracy).toBe('M100,8');
    expect(chartPaths([], 10, 100, 10)).toEqual({ loss: '', accuracy: '', maxLoss: 1 });
  });
});
