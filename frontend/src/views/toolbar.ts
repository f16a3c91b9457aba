/** The toolbar: open a document, download the focused view (PNG, SVG) or the document (JSON, one HTML file). */
import { downloadSingleFile } from '../app/embedded';
import { download, downloadBlob } from '../app/export';
import type { Store } from '../lib/store';
import { docViewString, type AppState } from '../app/state';
import type { App, ViewSpec } from './spec';

export function createToolbar(el: HTMLElement, store: Store<AppState>, app: Pick<App, 'openFile' | 'focusedSvg'>) {
  const mk = (label: string, testid: string, title: string, fn: () => void) => {
    const b = document.createElement('button');
    b.className = 'btn';
    b.textContent = label;
    b.title = title;
    b.dataset.testid = testid;
    b.addEventListener('click', fn);
    el.append(b);
    return b;
  };
  mk('Open…', 'open-file', 'Open an attention document exported by the CLI', () => app.openFile());
  const sep = document.createElement('span');
  sep.className = 'sep';
  el.append(sep);
  const dl = [
    mk('PNG', 'download-png', 'Download the focused view as PNG', () => void download('png', store.get(), app.focusedSvg)),
    mk('SVG', 'download-svg', 'Download the focused view as SVG', () => void download('svg', store.get(), app.focusedSvg)),
    mk('JSON', 'download-json', 'Download the current attention document (schema v1)', () => void download('json', store.get(), app.focusedSvg)),
    // [embedded] one self-contained HTML file of this document (src/embedded.ts)
    mk('HTML', 'download-html', 'Download this document as one HTML file that opens offline, without the server', () =>
      void downloadSingleFile(store.get().rawDoc, downloadBlob, docViewString(store.get())).catch((e: Error) =>
        store.set({ error: { message: e.message, code: 'download', invalidCharacters: [] } }))),
  ];
  const titles = dl.map((b) => b.title);
  // an overview (a long text) holds thumbnails, not the document: nothing of it to download
  const upd = (s: AppState) =>
    dl.forEach((b, i) => {
      b.disabled = !s.rawDoc || !!s.rawDoc.overview;
      b.title = s.rawDoc?.overview ? 'Not for a long text: the page holds an overview (pooled heads, tiles on demand), not every weight' : titles[i]!;
    });
  store.subscribe((s, p) => s.rawDoc !== p.rawDoc && upd(s));
  upd(store.get());
}

export const spec: ViewSpec = { id: 'toolbar', place: { slot: 'topbar', order: 1, tag: 'div', id: 'toolbar', className: 'toolbar' }, create: (el, store, { app }) => createToolbar(el, store, app) };
