/**
 * Boot: one store (the single source of state) mirrored to the URL, the views (views/index.ts)
 * subscribed to it, the API controller, file open / drag and drop, and the test/bench hook.
 */
import './styles.css';
import { ApiError } from './api/client';
import type { CheckpointsResponse } from './api/types';
import { fetchCheckpoints, fetchDocument } from './app/data';
import { decodeDocument, type AttnDoc } from './lib/doc';
import { DocumentError } from './lib/documentError';
import { createStore } from './lib/store';
import { userMessage } from './lib/errors';
import { describeInvalid, findInvalid } from './lib/text';
import { formatParams, paramsChanged, parseParams } from './lib/url';
import { docViewPatch, initialState, normalizeForDoc, showDocPatch, shownDoc, URL_SPECS, type AppState, type ViewName } from './app/state';
import { findCheckpoint } from './views/inputBar';
import { focusedSvg, VIEWS } from './views';
import { mountViews } from './views/spec';
import { landingPatch } from './views/lessonPanel';
import { moveFocus } from './views/modelView';
import { resolveRunAlias } from './lib/examples';
import { installPerf, isSkeleton } from './perf';
import { createThrottle } from './lib/throttle';
import { ablationKey } from './lib/ablate';
import { generates, isSampling, newSeed, samplingKey, samplingRequest } from './lib/sampling';
import { installInsight } from './insight';
import { lessonSearchIn, lessonSearchOut } from './lib/lessonUrl';
import { installTestHook, timeHovers, timings, type LoadTimings } from './app/testHook';
import { bootEmbedded } from './app/embedded'; // [embedded] single-file page

// Wire encoding (runNow): float16, ~2 bytes per weight instead of ~7 characters of JSON, no big
// JSON.parse, and 3 significant digits are more than a colour scale can show; large documents (a
// pretrained encoder past ~170 tokens) come as uint8, 1 byte per weight (lib/wireEncoding.ts).
// The decoder accepts every encoding, so a server answering "json" still works.
// typing: the first keystroke after a pause runs at once; keys that follow within the window are
// coalesced into one run when the typist pauses (superseded requests are aborted in runNow)
const TYPING_WINDOW_MS = 120;
let lastEdit = -Infinity;
const DEFAULT_TEXT = 'hello';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

const store = createStore<AppState>(initialState(parseParams(URL_SPECS, lessonSearchIn(location.search))));
// the listing the served page carries (src/data.ts), or else asked for before the views are built,
// so the answer comes back while they are; loadCheckpoints takes it
let bootList: Promise<CheckpointsResponse> | null = fetchCheckpoints();
bootList.catch(() => undefined); // handled in loadCheckpoints

// ---- layout state: empty state, loading veil, focused view, presenter mode (reserved) ----
function renderChrome(s: AppState) {
  const views = $('views');
  views.classList.toggle('has-doc', !!s.doc);
  views.classList.toggle('loading', s.status === 'loading');
  views.setAttribute('aria-busy', String(s.status === 'loading'));
  // the document drawn (a skeleton is not one), on the DOM so tests wait for what is shown
  const drawn = s.rawDoc ? s.doc : null;
  views.dataset.state = s.status === 'loading' || s.status === 'error' ? s.status : drawn ? 'ready' : 'idle';
  views.dataset.input = drawn?.input ?? '';
  views.dataset.checkpoint = drawn?.checkpoint ?? '';
  views.dataset.ablate = drawn ? s.docAblate : '';
  views.dataset.sampling = drawn ? s.docSampling : '';
  $('output-panel').classList.toggle('loading', s.status === 'loading');
  document.body.classList.toggle('present', s.present);
  views.classList.toggle('mv-zoom', s.mvzoom);
  for (const el of views.querySelectorAll<HTMLElement>('[data-view]')) el.classList.toggle('is-focused', el.dataset.view === s.view);
  const empty = $('empty-state');
  // an open insight panel (training a first model on an empty server) is never covered by it
  empty.style.display = s.doc || s.insight !== 'none' ? 'none' : '';
  if (!s.doc) {
    let title = 'Pick a checkpoint and type some text';
    let body = 'The attention of every layer and head appears here. You can also open an attention document exported by the CLI (drag it onto the page).';
    if (s.checkpointsStatus === 'loading') {
      title = 'Loading checkpoints…';
      body = '';
    } else if (s.checkpointsStatus === 'error') {
      title = 'No server';
      body = `${s.checkpointsError ?? 'The attnviz server cannot be reached.'} Open an exported attention document instead (file picker or drag and drop).`;
    } else if (!(s.checkpoints?.runs ?? []).some((r) => r.checkpoints.some((c) => c.usable))) {
      title = 'No checkpoints yet';
      body = `Nothing usable in ${s.checkpoints?.checkpoint_dir ?? 'the checkpoint directory'}. Train one with “python -m attnviz.train --epochs 3 --save_dir checkpoints/copy” (or “make run”), then reload — or open an exported attention document.`;
    } else if (s.status === 'error') {
      title = 'Nothing to show yet';
      body = 'Fix the input above and run again.';
    }
    empty.innerHTML = '';
    const card = document.createElement('div');
    card.className = 'empty-card';
    const h = document.createElement('h2');
    h.textContent = title;
    const p = document.createElement('p');
    p.textContent = body;
    const b = document.createElement('button');
    b.className = 'btn';
    b.textContent = 'Open attention document…';
    b.addEventListener('click', () => fileInput.click());
    card.append(h, p, b);
    empty.append(card);
  }
}
store.subscribe((s, p) => {
  if (
    s.doc !== p.doc || s.rawDoc !== p.rawDoc || s.docAblate !== p.docAblate || s.docSampling !== p.docSampling || s.status !== p.status || s.view !== p.view || s.present !== p.present || s.mvzoom !== p.mvzoom ||
    s.checkpointsStatus !== p.checkpointsStatus || s.checkpoints !== p.checkpoints || s.insight !== p.insight
  ) renderChrome(s);
});

// ---- views (views/index.ts): their containers made in index.html's slots, then each view ----
performance.mark('attnviz:boot');
timeHovers(store, () => {
  mountViews(VIEWS, store, { run: () => void runNow(), openFile: () => fileInput.click(), focusedSvg });
  installInsight(store, { views: $('views') });
});
performance.mark('attnviz:mounted');

// hide / show special tokens or the first token, group words, merge a span: derive the shown document again (hovers index the old token lists)
store.subscribe((s, p) => {
  if ((s.hidespecial === p.hidespecial && s.words === p.words && s.span === p.span && s.nofirst === p.nofirst) || !s.rawDoc) return;
  const doc = shownDoc(s.rawDoc, s.hidespecial, { words: s.words, span: s.span }, s.nofirst);
  if (doc !== s.doc) store.set({ doc, hover: null, ...normalizeForDoc(s, doc) });
});

// ---- URL mirror ----
// the URL mirrors the state, at most every URL_SYNC_MS (a scrub or a slider drag changes it every frame)
const URL_SYNC_MS = 100;
const urlSync = createThrottle(() => {
  const q = lessonSearchOut(formatParams(URL_SPECS, store.get(), lessonSearchIn(location.search)));
  if (q !== location.search) history.replaceState(null, '', `${location.pathname}${q}${location.hash}`);
}, URL_SYNC_MS);
store.subscribe((s, p) => {
  if (paramsChanged(URL_SPECS, s, p)) urlSync.request();
});
window.addEventListener('pagehide', () => urlSync.flush());
window.addEventListener('popstate', () => {
  const u = parseParams(URL_SPECS, lessonSearchIn(location.search));
  const s = store.get();
  store.set({ ...u, ...(s.doc ? normalizeForDoc(u, s.doc) : {}) });
});

// ---- documents ----
function setDoc(raw: AttnDoc, source: 'api' | 'file', fileName: string | null = null, docAblate = '') {
  const patch = showDocPatch(store.get(), raw, source, fileName, docAblate);
  const doc = patch.doc!;
  if (source === 'file') {
    // the URL then names the same checkpoint and text, so a link reproduces it through the server
    if (doc.checkpoint) patch.ckpt = doc.checkpoint;
    patch.text = doc.input;
    patch.weighting = doc.weighting; // the weights the file holds
  }
  store.set(patch);
}

/** What an error clears: the previous result does not belong to the text that failed. */
const NO_DOC = { doc: null, rawDoc: null, hover: null, docSource: null, fileName: null, docAblate: '' } satisfies Partial<AppState>;

let inflight: AbortController | null = null;
let timer: number | undefined;

/** Flag characters outside the checkpoint's vocabulary before any round trip (when the server lists it). */
function precheck(): boolean {
  const s = store.get();
  const vocab = findCheckpoint(s, s.ckpt)?.characters;
  if (!vocab) return true;
  const bad = findInvalid(s.text, vocab);
  if (!bad.length) return true;
  inflight?.abort();
  store.set({ ...NO_DOC, status: 'error', error: { message: describeInvalid(bad, vocab), code: 'unknown_characters', invalidCharacters: bad, text: s.text } });
  return false;
}

/** The sampling a request for `s` carries (lib/sampling.ts): none when greedy or the model generates nothing. */
function drawOf(s: AppState) {
  const gen = generates(findCheckpoint(s, s.ckpt));
  return { request: samplingRequest(s, gen), key: samplingKey(s, gen) };
}

async function runNow() {
  clearTimeout(timer);
  const { ckpt, text, ablate, weighting } = store.get();
  if (!ckpt || !text || !precheck()) return;
  if (isSampling(store.get()) && store.get().seed < 0) {
    // sampling from a link without a seed: pick one first, so the URL reproduces this draw (the change runs it)
    store.set({ seed: newSeed() });
    return;
  }
  const sampling = drawOf(store.get()).request;
  inflight?.abort();
  const ac = new AbortController();
  inflight = ac;
  try {
    const pending = fetchDocument(ckpt, findCheckpoint(store.get(), ckpt), text, ablate, ac.signal, sampling, weighting);
    // after the request is on its way: what loading sets off (perf/'s skeleton) does not delay it
    store.set({ status: 'loading' });
    const { doc, arrivedAt: t0, decodedAt: t1 } = await pending;
    if (ac.signal.aborted) return;
    setDoc(doc, 'api', null, ablationKey(ablate));
    recordLoad(t0, t1, performance.now());
  } catch (e) {
    if (ac.signal.aborted || (e as Error).name === 'AbortError') return;
    const err = e instanceof ApiError ? e : null;
    const code = err?.code ?? 'error';
    store.set({
      // the old result is not this text's: it goes (views, output, downloads) rather than mislead
      ...NO_DOC,
      status: 'error',
      error: {
        message: userMessage(code, (e as Error).message, ckpt),
        code,
        invalidCharacters: err?.invalidCharacters ?? [],
        text,
      },
    });
  } finally {
    if (inflight === ac) inflight = null;
  }
}

function recordLoad(t0: number, t1: number, t2: number) {
  performance.mark('attnviz:render');
  performance.measure('attnviz:decode', { start: t0, end: t1 });
  performance.measure('attnviz:render', { start: t1, end: t2 });
  // next frame's rAF, then a task queued from it: runs once that frame's style, layout and paint are done
  return new Promise<LoadTimings>((resolve) =>
    requestAnimationFrame(() => {
      const ch = new MessageChannel();
      ch.port1.onmessage = () => {
        const t3 = performance.now();
        performance.mark('attnviz:paint');
        performance.measure('attnviz:first-paint', { start: t0, end: t3 });
        timings.load = { decodeMs: t1 - t0, renderMs: t2 - t1, frameMs: t3 - t2, totalMs: t3 - t0 };
        resolve(timings.load);
      };
      ch.port2.postMessage(null);
    }),
  );
}

// auto-run: when checkpoint, text, ablation or sampling change and differ from what is shown
const drawChanged = (s: AppState, p: AppState) => s.temp !== p.temp || s.topk !== p.topk || s.topp !== p.topp || s.seed !== p.seed;
store.subscribe((s, p) => {
  if (s.ckpt === p.ckpt && s.text === p.text && s.ablate === p.ablate && !drawChanged(s, p) && s.weighting === p.weighting) return;
  // an opened file names its checkpoint and text (for links); it is shown as it is, not re-run
  if (s.doc !== p.doc && s.docSource === 'file') return;
  if (s.docSource === 'file' && s.ckpt === p.ckpt && s.text === p.text && s.ablate === p.ablate) return;
  if (
    s.doc && !isSkeleton(s) && s.doc.checkpoint === s.ckpt && s.doc.input === s.text && s.docAblate === ablationKey(s.ablate) &&
    s.docSampling === drawOf(s).key && s.doc.weighting === s.weighting
  ) return;
  clearTimeout(timer);
  if (!s.text && s.error) {
    // an emptied input drops the error about the text it held
    inflight?.abort();
    store.set({ error: null, status: s.rawDoc ? 'ready' : 'idle' });
  }
  if (!s.ckpt || !s.text) return;
  if (!precheck()) return;
  if (s.error?.code === 'unknown_characters') store.set({ error: null, status: s.rawDoc ? 'ready' : 'idle' });
  const now = performance.now();
  const burst = s.text !== p.text && now - lastEdit < TYPING_WINDOW_MS;
  if (s.text !== p.text) lastEdit = now;
  timer = window.setTimeout(runNow, burst && s.ckpt === p.ckpt && s.ablate === p.ablate && s.weighting === p.weighting ? TYPING_WINDOW_MS : 0);
});

async function openFile(file: File) {
  try {
    const raw = JSON.parse(await file.text()) as unknown;
    const doc = decodeDocument(raw);
    // the view the document was exported from (kind, layer, head…), then the document itself
    store.set(docViewPatch((raw as { view?: unknown }).view));
    setDoc(doc, 'file', file.name);
  } catch (e) {
    const msg = e instanceof DocumentError ? e.message : e instanceof SyntaxError ? `${file.name} is not valid JSON (${e.message}).` : String(e);
    store.set({ error: { message: `${file.name}: ${msg}`, code: 'file', invalidCharacters: [] } });
  }
}

const fileInput = document.createElement('input');
fileInput.type = 'file';
fileInput.accept = '.json,application/json';
fileInput.hidden = true;
fileInput.setAttribute('data-testid', 'file-input');
fileInput.addEventListener('change', () => {
  const f = fileInput.files?.[0];
  if (f) void openFile(f);
  fileInput.value = '';
});
document.body.append(fileInput);

let dragDepth = 0;
window.addEventListener('dragenter', (e) => {
  if (!e.dataTransfer?.types.includes('Files')) return;
  dragDepth++;
  document.body.classList.add('dragging');
});
window.addEventListener('dragleave', () => {
  dragDepth = Math.max(0, dragDepth - 1);
  if (!dragDepth) document.body.classList.remove('dragging');
});
window.addEventListener('dragover', (e) => e.preventDefault());
window.addEventListener('drop', (e) => {
  e.preventDefault();
  dragDepth = 0;
  document.body.classList.remove('dragging');
  const f = e.dataTransfer?.files?.[0];
  if (f) void openFile(f);
});

// focused view: clicking into a focus panel makes it the focused one (download target)
for (const el of document.querySelectorAll<HTMLElement>('[data-view]')) {
  el.addEventListener('pointerdown', () => store.set({ view: el.dataset.view as ViewName }));
  el.addEventListener('focusin', () => store.set({ view: el.dataset.view as ViewName }));
}

// global keys: arrows move layer / head unless typing, or a view already handled the key
// (the model view's grid moves the focus itself; moving again here would skip a head)
document.addEventListener('keydown', (e) => {
  if (e.defaultPrevented) return;
  // Escape leaves presenter mode from anywhere (a menu that Escape closed has prevented it)
  if (e.key === 'Escape' && store.get().present) {
    store.set({ present: false });
    e.preventDefault();
    return;
  }
  const t = e.target as HTMLElement;
  if (t.closest('input, select, textarea, [contenteditable], .hm-wrap')) return;
  if (e.altKey || e.ctrlKey || e.metaKey) return;
  if (moveFocus(store, e.key)) e.preventDefault();
});

// ---- checkpoints ----
async function loadCheckpoints() {
  store.set({ checkpointsStatus: 'loading' });
  try {
    const first = bootList;
    bootList = null;
    const list = await (first ?? fetchCheckpoints());
    performance.mark('attnviz:checkpoints');
    const s = store.get();
    const patch: Partial<AppState> = { checkpoints: list, checkpointsStatus: 'ready', checkpointsError: null };
    // `?ckpt=copy` names a run: its last usable epoch (lesson links survive retraining)
    const alias = resolveRunAlias(list, s.ckpt);
    if (alias) patch.ckpt = alias;
    // a bare URL opens the first lesson step's view (views/lessonPanel.ts), else the first run
    const landing = !s.ckpt && !s.doc ? landingPatch({ ...s, checkpoints: list }, location.search) : null;
    if (landing) Object.assign(patch, landing);
    else if (!s.ckpt && !s.doc) {
      const run = list.runs.find((r) => r.checkpoints.some((c) => c.usable));
      const usable = run?.checkpoints.filter((c) => c.usable) ?? [];
      if (usable.length) {
        patch.ckpt = usable[usable.length - 1]!.name;
        if (!s.text) patch.text = DEFAULT_TEXT;
      }
    }
    store.set(patch);
  } catch (e) {
    store.set({ checkpointsStatus: 'error', checkpointsError: (e as Error).message });
  }
}

// ---- test / bench hook (src/testHook.ts) ----
const hook = installTestHook(store, {
  loadDocument(raw, fileName) {
    const t0 = performance.now();
    performance.mark('attnviz:data');
    const doc = decodeDocument(raw);
    const t1 = performance.now();
    setDoc(doc, 'file', fileName);
    return recordLoad(t0, t1, performance.now());
  },
  urlPending: () => urlSync.pending(),
  urlIdle: () => urlSync.idle(),
});

renderChrome(store.get());
// subscribed after the views: a skeleton it puts in the store reaches them as any document
const perf = installPerf(store, document.querySelector<HTMLElement>('.glyph-warmup')!);
// [embedded] a single-file page shows its own document and asks no server (src/embedded.ts)
const embeddedBoot = bootEmbedded((raw) => {
  const doc = decodeDocument(raw);
  // the view it was saved from (Download HTML), where the file's own URL does not name another
  const named = new URLSearchParams(location.search);
  const saved = Object.entries(docViewPatch((raw as { view?: unknown }).view)).filter(([k]) => !named.has(k));
  store.set(Object.fromEntries(saved) as Partial<AppState>);
  setDoc(doc, 'api');
  store.set({ ckpt: doc.checkpoint ?? '', text: doc.input, weighting: doc.weighting });
}, loadCheckpoints);
void (embeddedBoot ?? loadCheckpoints()).finally(() => {
  hook.markReady();
  perf.booted();
  const s = store.get();
  if (s.ckpt && s.text && !s.doc) void runNow();
});
