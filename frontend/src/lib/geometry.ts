/** Pure layout maths shared by the canvas views and the SVG export. */

export interface HeatmapGeom {
  nq: number;
  nk: number;
  /** cell size in CSS px (square cells) */
  cell: number;
  /** top-left of the matrix inside the drawing */
  x0: number;
  y0: number;
  width: number;
  height: number;
}

/**
 * Fit an nq × nk matrix of square cells into width × height after label margins.
 * Cells are clamped to [minCell, maxCell].
 */
export function heatmapGeometry(
  nq: number,
  nk: number,
  width: number,
  height: number,
  margin: { left: number; top: number; right?: number; bottom?: number },
  minCell = 1,
  maxCell = 36,
): HeatmapGeom {
  const aw = Math.max(0, width - margin.left - (margin.right ?? 0));
  const ah = Math.max(0, height - margin.top - (margin.bottom ?? 0));
  const raw = Math.min(nk ? aw / nk : maxCell, nq ? ah / nq : maxCell);
  const cell = Math.max(minCell, Math.min(maxCell, raw));
  return { nq, nk, cell, x0: margin.left, y0: margin.top, width: cell * nk, height: cell * nq };
}

/** The (q, k) cell under a point, or null outside the matrix. */
export function cellAt(g: HeatmapGeom, x: number, y: number): { q: number; k: number } | null {
  const k = Math.floor((x - g.x0) / g.cell);
  const q = Math.floor((y - g.y0) / g.cell);
  if (x < g.x0 || y < g.y0 || k < 0 || q < 0 || k >= g.nk || q >= g.nq) return null;
  return { q, k };
}

/** Show every `stride`-th label so labels are at least `minPx` apart. */
export function labelStride(cellPx: number, minPx = 11): number {
  if (cellPx >= minPx) return 1;
  return Math.ceil(minPx / Math.max(cellPx, 1e-6));
}

/** Model view: size of the thumbnails so `layers` rows × `heads` columns fit the width. */
export function thumbSize(heads: number, width: number, gap: number, rowLabel: number, min = 18, max = 96): number {
  const s = Math.floor((width - rowLabel - gap * Math.max(0, heads - 1)) / Math.max(1, heads));
  return Math.max(min, Math.min(max, s));
}

export interface ArcGeom {
  nq: number;
  nk: number;
  row: number;
  top: number;
  xq: number;
  xk: number;
  height: number;
}

/** The arc view's column layout: padding above the first token, and the row height's range (CSS px). */
export const ARC_TOP = 6;
export const ARC_MIN_ROW = 4;
export const ARC_MAX_ROW = 22;

/** Token-arc view: queries in a column on the left (x = xq), keys on the right (x = xk). */
export function arcGeometry(nq: number, nk: number, width: number, availHeight: number, labelW: number, top = 8, minRow = ARC_MIN_ROW, maxRow = ARC_MAX_ROW): ArcGeom {
  const n = Math.max(nq, nk, 1);
  const row = Math.max(minRow, Math.min(maxRow, (availHeight - 2 * top) / n));
  return { nq, nk, row, top, xq: labelW, xk: Math.max(labelW + 40, width - labelW), height: row * n + 2 * top };
}

/** y of the centre of token i in a column of `count` tokens (columns are centred vertically). */
export function arcY(g: ArcGeom, i: number, count: number): number {
  const n = Math.max(g.nq, g.nk);
  const offset = ((n - count) * g.row) / 2;
  return g.top + offset + (i + 0.5) * g.row;
}

/** Token index under y in a column of `count` tokens, or -1. */
export function arcTokenAt(g: ArcGeom, y: number, count: number): number {
  const n = Math.max(g.nq, g.nk);
  const offset = ((n - count) * g.row) / 2;
  const i = Math.floor((y - g.top - offset) / g.row);
  return i >= 0 && i < count ? i : -1;
}
