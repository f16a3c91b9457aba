import { describe, expect, it } from 'vitest';
import { heldoutSurvives, heldoutText } from './heldout';

describe('the output panel\'s held-out copying line', () => {
  const h = { in_context_accuracy: 0.041, baseline: 0.953, chance: 1 / 26, sequences: 256 };
  it('with heads off: both accuracies, the drop in points, and near chance when within twice chance', () => {
    expect(heldoutText(h, true)).toBe(
      'held-out in-context accuracy 4.1% with the switched-off heads, 95.3% with all heads on: 91.2 points lower, near chance (chance 3.8%; 256 sequences)',
    );
  });
  it('a head that barely matters: the small drop, no "near chance"', () => {
    expect(heldoutText({ ...h, in_context_accuracy: 0.87 }, true)).toContain('with all heads on: 8.3 points lower (chance');
    expect(heldoutText({ ...h, in_context_accuracy: 0.96 }, true)).toContain('0.7 points higher (chance');
    expect(heldoutText({ ...h, in_context_accuracy: 0.953 }, true)).toContain('with all heads on: no change (chance');
  });
  it('with every head on: the baseline alone', () => {
    expect(heldoutText(h, false)).toBe('held-out in-context accuracy 95.3% with all heads on (chance 3.8%; 256 sequences)');
  });
});

describe('an ablation question on held-out in-context accuracy', () => {
  const h = { in_context_accuracy: 0.041, baseline: 0.953, chance: 1 / 26, sequences: 256 };
  it('survives while the heads off cost less than half of the gain over chance', () => {
    expect(heldoutSurvives(h)).toBe(false); // the one induction head: 95 % -> 4 %
    expect(heldoutSurvives({ ...h, in_context_accuracy: 0.14 })).toBe(false); // the previous-token head
    expect(heldoutSurvives({ ...h, in_context_accuracy: 0.87 })).toBe(true); // one of four induction heads
    expect(heldoutSurvives({ ...h, in_context_accuracy: 0.953 })).toBe(true);
  });
  it('the boundary: exactly half of the gain lost counts as lost', () => {
    const half = h.baseline - (h.baseline - h.chance) / 2;
    expect(heldoutSurvives({ ...h, in_context_accuracy: half + 1e-6 })).toBe(true);
    expect(heldoutSurvives({ ...h, in_context_accuracy: half - 1e-6 })).toBe(false);
  });
});
