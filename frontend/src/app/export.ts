/**
 * Downloads: PNG / SVG of the focused view (drawn by its spec's `export`, views/spec.ts), JSON of
 * the current document.
 */
import { documentJson } from '../lib/doc';
import { docViewString, type AppState } from './state';

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

/** Download `kind` of what `s` shows; `focusedSvg` draws the focused view (views/index.ts). */
export async function download(kind: 'png' | 'svg' | 'json', s: AppState, focusedSvg: (s: AppState) => string | null): Promise<void> {
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
