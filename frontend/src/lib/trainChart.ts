/**
 * The live training chart's geometry: loss and accuracy against optimizer steps, as two SVG path
 * strings (two elements however long the run). Loss is scaled to the largest loss seen, accuracy
 * to 0–1; the x axis spans the job's total steps so the curve grows left to right.
 */

export interface TrainPoint {
  step: number;
  loss: number;
  accuracy: number;
}

export interface ChartPaths {
  loss: string;
  accuracy: string;
  /** the loss at the top of the chart */
  maxLoss: number;
}

/** The induction task's held-out scores at a snapshot (its `metrics`), each in 0–1. */
export interface ScorePoint {
  step: number;
  /** held-out in-context accuracy on the repeated half */
  inContext: number;
  /** the best layer-2+ head's induction score */
  induction: number;
}

const fmt = (v: number) => (Math.round(v * 10) / 10).toString();

/** Path strings of the in-context accuracy and best induction score per snapshot, on the same axes as {@link chartPaths}. */
export function scorePaths(points: readonly ScorePoint[], totalSteps: number, width: number, height: number): { inContext: string; induction: string } {
  const finite = points.filter((p) => Number.isFinite(p.inContext) && Number.isFinite(p.induction));
  const lastStep = finite.length ? finite[finite.length - 1]!.step : 0;
  const span = Math.max(1, totalSteps, lastStep);
  const x = (step: number) => fmt((step / span) * width);
  const y = (v: number) => fmt(height - Math.min(1, Math.max(0, v)) * height);
  const path = (value: (p: ScorePoint) => number) => finite.map((p, i) => `${i ? 'L' : 'M'}${x(p.step)},${y(value(p))}`).join('');
  return { inContext: path((p) => p.inContext), induction: path((p) => p.induction) };
}

export function chartPaths(points: readonly TrainPoint[], totalSteps: number, width: number, height: number): ChartPaths {
  const finite = points.filter((p) => Number.isFinite(p.loss) && Number.isFinite(p.accuracy));
  const maxLoss = finite.reduce((m, p) => Math.max(m, p.loss), 0) || 1;
  const lastStep = finite.length ? finite[finite.length - 1]!.step : 0;
  const span = Math.max(1, totalSteps, lastStep);
  const x = (step: number) => fmt((step / span) * width);
  const y = (v: number) => fmt(height - Math.min(1, Math.max(0, v)) * height);
  const path = (value: (p: TrainPoint) => number) =>
    finite.map((p, i) => `${i ? 'L' : 'M'}${x(p.step)},${y(value(p))}`).join('');
  return { loss: path((p) => p.loss / maxLoss), accuracy: path((p) => p.accuracy), maxLoss };
}
