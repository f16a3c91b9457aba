/** Standalone SVG documents of the focus views (for download; the screen draws on canvas). */
import type { Arc } from './arcs';
import { headColor, MASKED_FILL, MASKED_HATCH, weightColor } from './color';
import { arcGeometry, arcY, labelStride } from './geometry';
import { displayToken } from './tokens';
import { arcAlpha, arcLineWidth, STRONG_WIDTH } from './raster';

export function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}

const FONT = `font-family="system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"`;

export interface HeatmapSvgInput {
  matrix: Float32Array;
  nq: number;
  nk: number;
  causal: boolean;
  qTokens: string[];
  kTokens: string[];
  title: string;
  qAxis: string;
  kAxis: string;
}

export function heatmapSvg(inp: HeatmapSvgInput): string {
  const { matrix, nq, nk, causal } = inp;
  const cell = Math.max(4, Math.min(28, Math.floor(720 / Math.max(nq, nk, 1))));
  const left = 92;
  const top = 110;
  const w = left + nk * cell + 90;
  const h = top + nq * cell + 30;
  const stride = labelStride(cell, 11);
  const fs = Math.min(12, Math.max(8, cell * 0.75));
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" ${FONT}>`,
    `<defs><pattern id="masked" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">` +
      `<rect width="6" height="6" fill="${MASKED_FILL}"/><line x1="0" y1="0" x2="0" y2="6" stroke="${MASKED_HATCH}" stroke-width="1.5"/></pattern></defs>`,
    `<rect width="${w}" height="${h}" fill="#fff"/>`,
    `<text x="16" y="24" font-size="15" font-weight="600" fill="#111">${escapeXml(inp.title)}</text>`,
    `<text x="${left + (nk * cell) / 2}" y="44" font-size="11" fill="#555" text-anchor="middle">${escapeXml(inp.kAxis)} →</text>`,
    `<text transform="translate(14 ${top + (nq * cell) / 2}) rotate(-90)" font-size="11" fill="#555" text-anchor="middle">${escapeXml(inp.qAxis)} →</text>`,
  );
  parts.push(`<g shape-rendering="crispEdges">`);
  for (let q = 0; q < nq; q++) {
    for (let k = 0; k < nk; k++) {
      const masked = causal && k > q;
      const fill = masked ? 'url(#masked)' : weightColor(matrix[q * nk + k]!);
      parts.push(`<rect x="${left + k * cell}" y="${top + q * cell}" width="${cell}" height="${cell}" fill="${fill}"/>`);
    }
  }
  parts.push(`</g>`);
  for (let k = 0; k < nk; k += stride) {
    const x = left + (k + 0.5) * cell;
    parts.push(`<text transform="translate(${x} ${top - 6}) rotate(-60)" font-size="${fs}" fill="#222">${escapeXml(displayToken(inp.kTokens[k] ?? ''))}</text>`);
  }
  for (let q = 0; q < nq; q += stride) {
    const y = top + (q + 0.5) * cell;
    parts.push(`<text x="${left - 6}" y="${y}" font-size="${fs}" fill="#222" text-anchor="end" dominant-baseline="central">${escapeXml(displayToken(inp.qTokens[q] ?? ''))}</text>`);
  }
  // legend
  const lx = left + nk * cell + 24;
  const lh = Math.min(160, nq * cell);
  parts.push(`<defs><linearGradient id="lg" x1="0" y1="1" x2="0" y2="0">`);
  for (let i = 0; i <= 10; i++) parts.push(`<stop offset="${i / 10}" stop-color="${weightColor(i / 10)}"/>`);
  parts.push(`</linearGradient></defs>`, `<rect x="${lx}" y="${top}" width="12" height="${lh}" fill="url(#lg)"/>`);
  parts.push(`<text x="${lx + 16}" y="${top + 8}" font-size="10" fill="#444">1</text><text x="${lx + 16}" y="${top + lh}" font-size="10" fill="#444">0</text>`);
  if (causal) parts.push(`<rect x="${lx}" y="${top + lh + 12}" width="12" height="12" fill="url(#masked)"/><text x="${lx + 16}" y="${top + lh + 22}" font-size="10" fill="#444">masked</text>`);
  parts.push(`</svg>`);
  return parts.join('\n');
}

export interface ArcsSvgInput {
  arcs: Arc[];
  qTokens: string[];
  kTokens: string[];
  title: string;
  heads: number[];
}

export function arcsSvg(inp: ArcsSvgInput): string {
  const nq = inp.qTokens.length;
  const nk = inp.kTokens.length;
  const width = 460;
  const g = arcGeometry(nq, nk, width, Math.max(nq, nk) * 16 + 16, 110, 8, 6, 18);
  const top = 64;
  const h = top + g.height + 12;
  const fs = Math.min(12, Math.max(7, g.row * 0.75));
  const stride = labelStride(g.row, 9);
  const p: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${h}" viewBox="0 0 ${width} ${h}" ${FONT}>`,
    `<rect width="${width}" height="${h}" fill="#fff"/>`,
    `<text x="12" y="22" font-size="15" font-weight="600" fill="#111">${escapeXml(inp.title)}</text>`,
  ];
  inp.heads.forEach((hd, i) => {
    p.push(`<rect x="${12 + i * 34}" y="34" width="10" height="10" fill="${headColor(hd)}"/><text x="${25 + i * 34}" y="43" font-size="10" fill="#333">H${hd}</text>`);
  });
  p.push(`<g transform="translate(0 ${top})">`);
  for (const a of inp.arcs) {
    const y1 = arcY(g, a.q, nq);
    const y2 = arcY(g, a.k, nk);
    const x1 = g.xq + 6;
    const x2 = g.xk - 6;
    const dx = (x2 - x1) / 3; // same smoothstep curve as the on-screen rasteriser
    const alpha = arcAlpha(a.w);
    // widths as on screen: 1 px, STRONG_WIDTH for the strong lines
    p.push(`<path d="M${x1} ${y1.toFixed(1)}C${x1 + dx} ${y1.toFixed(1)} ${x2 - dx} ${y2.toFixed(1)} ${x2} ${y2.toFixed(1)}" fill="none" stroke="${headColor(a.head)}" stroke-opacity="${alpha.toFixed(3)}" stroke-width="${arcLineWidth(alpha, 1, STRONG_WIDTH)}"/>`);
  }
  for (let i = 0; i < nq; i += stride) p.push(`<text x="${g.xq - 4}" y="${arcY(g, i, nq).toFixed(1)}" font-size="${fs}" text-anchor="end" dominant-baseline="central" fill="#222">${escapeXml(displayToken(inp.qTokens[i]!))}</text>`);
  for (let i = 0; i < nk; i += stride) p.push(`<text x="${g.xk + 4}" y="${arcY(g, i, nk).toFixed(1)}" font-size="${fs}" dominant-baseline="central" fill="#222">${escapeXml(displayToken(inp.kTokens[i]!))}</text>`);
  p.push(`</g></svg>`);
  return p.join('\n');
}
