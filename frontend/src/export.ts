/** Downloads: PNG / SVG of the focused view, JSON of the current document. */
import { layerArcs } from './lib/arcs';
import { KIND_LABEL, keySide, querySide, toJsonDocument, type AttnDoc } from './lib/doc';
import { arcsSvg, heatmapSvg } from './lib/svgExport';
import { docViewString, type AppState } from './state';
import { current, SIDE_LABEL } from './views/common';
import { shownHeads } from './views/arcView';
import { focusRef } from './views/insightCommon';
import { refLabel, refMatrix } from './lib/headRef';
import { weightingNote } from './views/weightingToggle';

export function downloadBlob(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 5000);
}

function baseName(s: AppState): string {
  const task = (s.doc?.model.task as string | undefined) ?? 'attention';
  const weighting = s.doc?.weighting === 'value_norm' ? '_value_norm' : '';
  return `attnviz_${task}${weighting}_${s.kind}_L${s.layer}${s.agg === 'none' ? `H${s.head}` : s.agg}`.replace(/[^\w.-]+/g, '_');
}

/** The focused view as a standalone SVG string (heatmap or arcs). */
export function focusedSvg(s: AppState): string | null {
  const cur = current(s);
  if (!cur) return null;
  const { t, qTokens, kTokens, kind } = cur;
  if (s.view === 'arcs') {
    const heads = shownHeads(s, t);
    const { arcs } = layerArcs(cur.src, s.layer, heads, s.mass);
    arcs.sort((a, b) => a.w - b.w);
    return arcsSvg({ arcs, qTokens, kTokens, heads, title: `${KIND_LABEL[kind]} · layer ${s.layer} · ${Math.round(s.mass * 100)}% mass${weightingNote(cur.doc, s.nofirst, true)}` });
  }
  return heatmapSvg({
    matrix: refMatrix(t, focusRef(s, t)) ?? new Float32Array(t.nq * t.nk),
    nq: t.nq,
    nk: t.nk,
    causal: t.causal,
    qTokens,
    kTokens,
    title: `${KIND_LABEL[kind]} · ${s.agg === 'none' ? `layer ${s.layer} · head ${s.head}` : refLabel(focusRef(s, t))}${weightingNote(cur.doc, s.nofirst, true)}`,
    qAxis: `query (${SIDE_LABEL[querySide(kind)]})`,
    kAxis: `key (${SIDE_LABEL[keySide(kind)]})`,
  });
}

export async function svgToPng(svg: string, scale = 2): Promise<Blob> {
  const url = URL.createObjectURL(new Blob([svg], { type: 'image/svg+xml' }));
  try {
    const img = new Image();
    img.decoding = 'async';
    img.src = url;
    await img.decode();
    const c = document.createElement('canvas');
    c.width = Math.round(img.naturalWidth * scale);
    c.height = Math.round(img.naturalHeight * scale);
    const ctx = c.getContext('2d')!;
    ctx.scale(scale, scale);
    ctx.drawImage(img, 0, 0);
    return await new Promise<Blob>((res, rej) => c.toBlob((b) => (b ? res(b) : rej(new Error('PNG encoding failed'))), 'image/png'));
  } finally {
    URL.revokeObjectURL(url);
  }
}

export async function download(kind: 'png' | 'svg' | 'json', s: AppState): Promise<void> {
  if (!s.doc) return;
  const name = baseName(s);
  if (kind === 'json') {
    // the document as received (special tokens included) and the view it was looked at in
    downloadBlob(new Blob([documentJson(s.rawDoc ?? s.doc, docViewString(s))], { type: 'application/json' }), `${name.replace(/_L\d+H\d+$/, '')}.json`);
    return;
  }
  const svg = focusedSvg(s);
  if (!svg) return;
  const file = `${name}_${s.view}`;
  if (kind === 'svg') downloadBlob(new Blob([svg], { type: 'image/svg+xml' }), `${file}.svg`);
  else downloadBlob(await svgToPng(svg), `${file}.png`);
}

export function documentJson(doc: AttnDoc, view = ''): string {
  return JSON.stringify(view ? { ...toJsonDocument(doc), view } : toJsonDocument(doc));
}
