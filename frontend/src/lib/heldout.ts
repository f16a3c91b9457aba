/** The output panel's "Copying" line for an induction checkpoint: the held-out in-context accuracy
 *  with the switched-off heads and with all heads on, the change in points, and chance. */
import type { HeldOut } from '../api/types';

const pct = (v: number) => `${(v * 100).toFixed(1)}%`;

/** `off`: heads are switched off (the figures can coincide when they do not matter). Within twice
 *  chance counts as "near chance": guessing among 26 letters gets about 4 %. */
export function heldoutText(h: HeldOut, off: boolean): string {
  const tail = `chance ${pct(h.chance)}; ${h.sequences} sequences`;
  if (!off) return `held-out in-context accuracy ${pct(h.baseline)} with all heads on (${tail})`;
  const points = (h.baseline - h.in_context_accuracy) * 100;
  const change = Math.abs(points) < 0.05 ? 'no change' : `${Math.abs(points).toFixed(1)} points ${points > 0 ? 'lower' : 'higher'}`;
  const near = h.in_context_accuracy < 2 * h.chance ? ', near chance' : '';
  return (
    `held-out in-context accuracy ${pct(h.in_context_accuracy)} with the switched-off heads, ${pct(h.baseline)} ` +
    `with all heads on: ${change}${near} (${tail})`
  );
}

/** An ablation lesson question on an induction checkpoint (no one right output to compare): the
 *  copying "survives" when the heads off cost less than half of what training gained over chance. */
export function heldoutSurvives(h: HeldOut): boolean {
  return h.baseline - h.in_context_accuracy < (h.baseline - h.chance) / 2;
}
