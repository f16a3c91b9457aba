/** Shared bits of the insight views (statistics, aggregates, diff) used by the other views. */
import { interpolateYlOrRd } from 'd3';
import type { AttentionKind } from '../api/types';
import { expectedAlignment } from '../lib/alignment';
import type { AttnDoc } from '../lib/doc';
import type { HeatmapGeom } from '../lib/geometry';
import { hasRollout, type HeadRef } from '../lib/headRef';
import type { AppState } from '../app/state';

/** The focused matrix as a reference (rollout falls back to the mean where it does not exist). */
export function focusRef(s: Pick<AppState, 'layer' | 'head' | 'agg'>, t: Parameters<typeof hasRollout>[0]): HeadRef {
  const agg = s.agg === 'rollout' && !hasRollout(t) ? 'mean' : s.agg;
  return { layer: s.layer, head: s.head, agg };
}

/** Outline the task's expected cells (one per query row) on a heatmap drawn with geometry g. */
export function drawAlignment(ctx: CanvasRenderingContext2D, g: HeatmapGeom, doc: AttnDoc, kind: AttentionKind, nq = g.nq): number {
  const exp = expectedAlignment(doc, kind);
  if (!exp) return 0;
  const c = g.cell;
  const inset = c >= 6 ? 1 : 0;
  let n = 0;
  ctx.save();
  for (const [stroke, width] of [['rgba(255,255,255,0.95)', c >= 6 ? 3 : 2], ['#e4007c', c >= 6 ? 1.5 : 1]] as const) {
    ctx.strokeStyle = stroke;
    ctx.lineWidth = width;
    ctx.beginPath();
    for (let q = 0; q < Math.min(nq, exp.length); q++) {
      const k = exp[q]!;
      if (k < 0 || k >= g.nk) continue;
      ctx.rect(g.x0 + k * c + inset, g.y0 + q * c + inset, Math.max(1, c - 2 * inset), Math.max(1, c - 2 * inset));
      n++;
    }
    ctx.stroke();
  }
  ctx.restore();
  return n / 2;
}

/** Frame colour for a statistic value already scaled to [0, 1] (low = pale yellow, high = dark red). */
export function statColor(v01: number): string {
  if (!Number.isFinite(v01)) return '#c9ced6';
  return interpolateYlOrRd(0.12 + 0.88 * Math.max(0, Math.min(1, v01)));
}

/** Number formats of the statistics. */
export function formatStat(v: number, key: string): string {
  if (!Number.isFinite(v)) return '–';
  if (key === 'distance') return v.toFixed(1);
  return v.toFixed(2);
}
