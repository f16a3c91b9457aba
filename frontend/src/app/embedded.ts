/**
 * The single-file page ("embedded document" mode). A page written by attnviz.save_html /
 * attnviz.show / `attnviz html` / the Download HTML button carries its document in
 * `<script type="application/json" id="attnviz-document">` and, optionally, what the server views
 * need (`id="attnviz-data"`: the checkpoint listing, timelines, math step-throughs). Such a page
 * makes no request at all: `embeddedSource` answers the data module's calls from that data, or
 * says in place that the view needs the server.
 */
import './embedded.css';
import { ApiError } from '../api/client';
import type { AttentionDocument, CheckpointsResponse, MathRequest, MathResponse, TimelineResponse } from '../api/types';
import type { DataSource } from './data';
import { compactDocument, DATA_ID, DOCUMENT_ID, embedDocument } from '../lib/embedHtml';
import type { AttnDoc } from '../lib/doc';
import { SELECTORS } from '../lib/selectors';

export interface EmbeddedData {
  checkpoints?: CheckpointsResponse | null;
  timeline?: TimelineResponse[];
  math?: { request: MathRequest; response: MathResponse }[];
}

// Read before any view touches the DOM (module scripts run after parsing, this module before
// main.ts's body): the pristine page is the template of "Download HTML" from a file. A clone
// shares the page's strings; it is serialised only when a file is downloaded (the page holds
// megabytes of weights: serialising them at boot delays the first paint).
const pristineRoot = document.getElementById(DOCUMENT_ID) ? (document.documentElement.cloneNode(true) as HTMLElement) : null;
const pristine = pristineRoot !== null;

function readJson<T>(id: string): T | null {
  const el = document.getElementById(id);
  if (!el?.textContent) return null;
  return JSON.parse(el.textContent) as T;
}

const embeddedDoc: unknown = pristine ? readJson<unknown>(DOCUMENT_ID) : null;
const data: EmbeddedData = (pristine ? readJson<EmbeddedData>(DATA_ID) : null) ?? {};

if (pristine && location.protocol === 'about:') {
  // a notebook's <iframe srcdoc> has no URL to mirror the state into (replaceState would throw)
  const replace = history.replaceState.bind(history);
  history.replaceState = (...args: Parameters<History['replaceState']>) => {
    try {
      replace(...args);
    } catch {
      /* about:srcdoc */
    }
  };
}

/** Is this page a single file carrying its own document? */
export function isEmbedded(): boolean {
  return pristine;
}

/** The embedded (raw, still encoded) document, or null on the served app. */
export function embeddedDocument(): unknown {
  return embeddedDoc;
}

const NEEDS_SERVER =
  'This view needs the attnviz server: this page is a saved file that does not include it ' +
  '(attnviz html --with timeline / --with math embeds the training timeline and the math).';

/**
 * The page's data source on a single-file page (data.ts uses it instead of the server): answers
 * from what the file embeds, or rejects with a `needs_server` error saying the view needs the
 * server. Never a request. Null on the served app.
 */
export function embeddedSource(): DataSource | null {
  if (!isEmbedded()) return null;
  const answer = <T>(x: T | null | undefined): Promise<T> =>
    x === undefined || x === null ? Promise.reject(new ApiError(NEEDS_SERVER, 0, 'needs_server')) : Promise.resolve(x);
  return {
    checkpoints: () => answer(data.checkpoints),
    // an embedded timeline holds attention weights (attnviz html --with timeline)
    timeline: (req) => answer((req.weighting ?? 'attention') === 'attention' ? data.timeline?.find((t) => t.run === req.run && t.text === req.text) : null),
    math: (req) =>
      answer(
        data.math?.find(({ request: r }) =>
          r.checkpoint === req.checkpoint && r.text === req.text && r.kind === req.kind && r.layer === req.layer && r.head === req.head,
        )?.response,
      ),
    attention: (req) => {
      if (req.ablate?.length) return answer<AttentionDocument>(null);
      // the file holds one weighting (the toggle offers only it); another needs the server
      const weighting = req.weighting ?? 'attention';
      const doc = embeddedDoc as AttentionDocument | null;
      // another draw than the file's (a sampled link opened on it) needs the model
      const draw = (d: { temperature?: number | null; top_k?: number | null; top_p?: number | null; seed?: number | null } | null | undefined) =>
        d?.temperature ? `${d.temperature}|${d.top_k ?? 0}|${d.top_p ?? 1}|${d.seed ?? -1}` : '';
      if (draw(req) && draw(req) !== draw(doc?.sampling)) return answer<AttentionDocument>(null);
      if (doc && doc.checkpoint === req.checkpoint && doc.input === req.text && (doc.weighting ?? 'attention') === weighting) return answer(doc);
      if (weighting !== 'attention') return answer<AttentionDocument>(null);
      for (const t of data.timeline ?? []) {
        const e = t.text === req.text ? t.epochs.find((x) => x.checkpoint === req.checkpoint) : undefined;
        if (e) return answer(e.document);
      }
      return answer<AttentionDocument>(null);
    },
  };
}

/** Why training is not offered on a single-file page (null on the served app). */
export function embeddedTrainingBlock(): string | null {
  return isEmbedded() ? 'Training needs the attnviz server (attnviz serve): this page is a saved file with only its document.' : null;
}

/** The single-file template: this page itself when it is one, else the build's dist/embed/index.html. */
async function template(): Promise<string> {
  if (pristineRoot) return `<!doctype html>\n${pristineRoot.outerHTML}`;
  // next to the build's assets/ (where this module is bundled), whatever route the page is at
  const res = await fetch(new URL(/* @vite-ignore */ '../embed/index.html', import.meta.url));
  if (!res.ok) throw new Error(`The single-file template is missing (embed/index.html answered ${res.status}); rebuild the front end with "make frontend".`);
  return res.text();
}

/** One self-contained HTML file showing `doc` (float16 weights), ready to save. */
export async function singleFileHtml(doc: AttnDoc, view = ''): Promise<string> {
  const compact = compactDocument(doc);
  return embedDocument(await template(), view ? { ...compact, view } : compact, pristine ? data : null);
}

/**
 * Boot a single-file page: no checkpoint listing unless embedded, the document shown as if the
 * server had answered it (so the embedded math / timeline apply to it). Null on the served app.
 */
export function bootEmbedded(show: (raw: unknown) => void, loadCheckpoints: () => Promise<void>): Promise<void> | null {
  if (!isEmbedded()) return null;
  document.body.classList.add('embedded');
  // a notebook output is an <iframe srcdoc>: no projector, no file picker there (embedded.css)
  document.body.classList.toggle('notebook', location.protocol === 'about:');
  const input = document.querySelector<HTMLInputElement>(SELECTORS.textInput);
  input?.setAttribute('readonly', '');
  try {
    show(embeddedDoc);
  } catch (e) {
    // a hand-edited file: say what is wrong where the views would be
    const empty = document.getElementById('empty-state');
    if (empty) empty.textContent = `This file's attention document cannot be shown: ${(e as Error).message}`;
    return Promise.resolve();
  }
  // the server views this file does not carry data for say so where they would draw
  const notes: [string, unknown, string][] = [
    ['timeline', data.timeline, 'Attention over training needs the attnviz server: this saved file does not include it (attnviz html --with timeline does).'],
    ['math', data.math, 'The math step-through needs the attnviz server: this saved file does not include it (attnviz html --with math does).'],
  ];
  for (const [name, have, text] of notes) {
    const body = document.querySelector<HTMLElement>(`[data-insight="${name}"]`);
    if (have || !body) continue;
    const p = document.createElement('p');
    p.className = 'embedded-note';
    p.dataset.testid = `embedded-note-${name}`;
    p.textContent = text;
    body.prepend(p);
  }
  return data.checkpoints ? loadCheckpoints() : Promise.resolve();
}

/** The "Download HTML" button: this document as one offline file (client-side, works from a file
 *  too) that opens on the view it was saved from (`view`: kind, layer, head…, as a JSON download). */
export async function downloadSingleFile(doc: AttnDoc | null, save: (blob: Blob, name: string) => void, view = ''): Promise<void> {
  if (!doc) return;
  const html = await singleFileHtml(doc, view);
  const task = typeof doc.model.task === 'string' ? doc.model.task : 'attention';
  save(new Blob([html], { type: 'text/html' }), `attnviz_${task}.html`.replace(/[^\w.-]+/g, '_'));
}
