/**
 * The one data path: every request for data (checkpoint list, attention documents, the timeline,
 * the math of one head) goes through here, with its cache, its cancellation and the choice of
 * wire encoding; views read the store or call these and draw.
 *
 * The source is the server, or, on a page that carries its documents inside it (an offline HTML
 * file, a notebook output), that page's embedded data (src/embedded.ts): the same four calls, and
 * no view knows which. Training is always the server's; a single-file page refuses it here,
 * without a request.
 */
import { createClient } from '../api/client';
import type { TileRequest, TileResponse, TopkRequest, TopkResponse, Weighting } from '../api/types';
import { decodeCompactArray, fileTile, isPooled, type OverviewRun, type Tile } from '../lib/tiled';
import type { AblateHead, ApiErrorCode, CheckpointInfo, CheckpointMetrics, CheckpointsResponse, ClientErrorCode, MathRequest, MathResponse, Sampling, SamplingRequest, TrainRequest } from '../api/types';
import { decodeDocument, type AttnDoc } from '../lib/doc';
import { requestEncoding } from '../lib/wireEncoding';
import { embeddedSource, embeddedTrainingBlock } from './embedded';
import { ApiError } from '../api/client';

/** What a data source answers; the HTTP client (src/api/client.ts) is the default one. */
export type DataSource = Pick<ReturnType<typeof createClient>, 'checkpoints' | 'attention' | 'math' | 'timeline'>;

const server = createClient();
const source: DataSource = embeddedSource() ?? server;

/** Training from the page: always the server's; a page without one is refused before any request. */
const noTraining = embeddedTrainingBlock();
const refused = () => Promise.reject(new ApiError(noTraining!, 0, 'needs_server'));
export const training = {
  limits: () => (noTraining ? refused() : server.trainLimits()),
  start: (req: TrainRequest) => (noTraining ? refused() : server.train(req)),
  cancel: (id: string) => (noTraining ? refused() : server.cancelTrain(id)),
  eventsUrl: (id: string) => server.trainEventsUrl(id),
};

/**
 * The listing the server wrote into the page it served (backend/attnviz/server/frontend.py):
 * the boot needs no round trip for it. Taken once; asking again goes to the server.
 */
function takePageListing(): CheckpointsResponse | null {
  const el = document.getElementById('attnviz-checkpoints');
  if (!el) return null;
  el.remove();
  try {
    return JSON.parse(el.textContent ?? '') as CheckpointsResponse;
  } catch {
    return null; // a page cut short in transit: ask the server
  }
}

export function fetchCheckpoints(signal?: AbortSignal): Promise<CheckpointsResponse> {
  const listed = source === server ? takePageListing() : null;
  return listed ? Promise.resolve(listed) : source.checkpoints(signal);
}

/** The request fields that repeat a document's draw (its `sampling`, seed included); {} when greedy. */
export function sameDraw(d: Sampling | null | undefined): SamplingRequest {
  return d ? { temperature: d.temperature, top_k: d.top_k, top_p: d.top_p, seed: d.seed } : {};
}

/** How a second document compared with `shown` (diff view: another text) is decoded: with the
 *  same draw settings and seed when it runs on the same checkpoint, so a sampled A is not
 *  compared with a greedy B; another checkpoint decodes greedily. */
export function compareDraw(shown: AttnDoc | null, checkpoint: string): SamplingRequest {
  return shown && shown.checkpoint === checkpoint ? sameDraw(shown.sampling) : {};
}

/**
 * The document of `text` on checkpoint `info.name` (heads in `ablate` switched off; `sampling`:
 * how a generating model picks its tokens, lib/sampling.ts), decoded. The
 * encoding is chosen here: float16, uint8 for large documents (lib/wireEncoding.ts). Not cached:
 * the caller (main.ts) cancels a superseded one through `signal`.
 */
export async function fetchDocument(
  checkpoint: string,
  info: CheckpointInfo | null,
  text: string,
  ablate: AblateHead[],
  signal?: AbortSignal,
  sampling: SamplingRequest = {},
  weighting: Weighting = 'attention',
): Promise<{ doc: AttnDoc; arrivedAt: number; decodedAt: number }> {
  const raw = await source.attention(
    { checkpoint, text, encoding: requestEncoding(info, text), ...(ablate.length ? { ablate } : {}), ...sampling, ...weighted(weighting) },
    signal,
  );
  // the page's load timings (test/bench hook) split the wait at the answer's arrival and its decoding
  const arrivedAt = performance.now();
  performance.mark('attnviz:data');
  const doc = decodeDocument(raw);
  if (doc.overview) {
    doc.overview.ablate = ablate;
    doc.overview.draw = sameDraw(doc.sampling);
  }
  return { doc, arrivedAt, decodedAt: performance.now() };
}

/** The request's `weighting`, left out when it is the default (so requests stay as they were). */
function weighted(weighting: Weighting): { weighting?: Weighting } {
  return weighting === 'attention' ? {} : { weighting };
}

/** Overviews being asked for again after a 404 `unknown_handle`, one per run (fetchTile). */
const renewals = new WeakMap<OverviewRun, Promise<void>>();

/**
 * A tile of one head of an overview document (a long text; lib/tiled.ts): the only request for
 * weights at length. The server keeps a run for a while only: a 404 `unknown_handle` asks for the
 * overview again (the same checkpoint, text and ablation), takes its new handle into the
 * document and retries once.
 */
export async function fetchTile(doc: AttnDoc, req: Omit<TileRequest, 'handle' | 'encoding'>, signal?: AbortSignal): Promise<Tile> {
  const run = doc.overview;
  if (!run) throw new ApiError('This document holds every weight: it has no tiles.', 0, 'not_overview');
  if (run.source === 'file') {
    // a saved file: cut from the finer copy it carries (no request at all)
    const t = doc.kinds[req.kind];
    if (!t || !isPooled(t)) throw new ApiError(`This file has no ${req.kind} attention.`, 0, 'out_of_range');
    return fileTile(t, req.layer, req.head, req);
  }
  if (run.source === 'kernel') return decodeTile(await kernelAsk<TileResponse>('tile', { ...req, encoding: 'float16' }, signal));
  // the overview's weighting: its tiles are the same weights as its thumbnails
  return decodeTile(await withHandle(run, (handle) => server.tile({ ...req, handle, encoding: 'float16', ...weighted(run.weighting ?? 'attention') }, signal)));
}

/**
 * `call` with the run's handle; a 404 `unknown_handle` (the server dropped the run) asks for the
 * overview again (the same checkpoint, text and ablation), takes its new handle into the
 * document and calls once more.
 */
async function withHandle<T>(run: OverviewRun, call: (handle: string) => Promise<T>): Promise<T> {
  let used: string | null = null;
  const ask = () => {
    used = run.handle;
    if (!used) throw new ApiError('The server did not keep this run (it is larger than its store): tiles are not available; a shorter text shows every weight.', 0, 'no_handle');
    return call(used);
  };
  try {
    return await ask();
  } catch (e) {
    if (!(e instanceof ApiError) || e.code !== 'unknown_handle') throw e;
    // the views' requests that fail together (heatmap, arcs) wait for one new overview, not one each
    if (run.handle === used) {
      let renewal = renewals.get(run);
      if (!renewal) {
        renewal = server
          .attention({
            checkpoint: run.checkpoint,
            text: run.text,
            detail: 'overview',
            encoding: 'uint8',
            ...(run.ablate?.length ? { ablate: run.ablate } : {}),
            ...(run.draw ?? {}),
            ...weighted(run.weighting ?? 'attention'),
          })
          .then((again) => {
            run.handle = (again as { overview?: { handle?: string | null } }).overview?.handle ?? null;
          })
          .finally(() => renewals.delete(run));
        renewals.set(run, renewal);
      }
      await renewal;
    }
    return ask();
  }
}

function decodeTile(r: TileResponse): Tile {
  const [rows, cols] = r.weights.shape as [number, number];
  return {
    kind: r.kind,
    layer: r.layer,
    head: r.head,
    q0: r.q0,
    q1: r.q1,
    k0: r.k0,
    k1: r.k1,
    block: [r.block[0] ?? 1, r.block[1] ?? 1],
    rows,
    cols,
    data: decodeCompactArray(r.weights, rows * cols, 'tile.weights'),
  };
}

/**
 * The top-k keys of queries q0..q1−1 of one head of an overview's run (the long arcs): the
 * server's or the notebook kernel's answer; a saved file has none (it holds pooled weights).
 */
export async function fetchTopk(doc: AttnDoc, req: Omit<TopkRequest, 'handle'>, signal?: AbortSignal): Promise<TopkResponse> {
  const run = doc.overview;
  if (!run) throw new ApiError('This document holds every weight: it has no top-k.', 0, 'not_overview');
  if (run.source === 'kernel') return kernelAsk<TopkResponse>('topk', req, signal);
  if (run.source === 'file') throw new ApiError('this file holds pooled weights, not the exact ones', 0, 'no_handle');
  return withHandle(run, (handle) => server.topk({ ...req, handle, ...weighted(run.weighting ?? 'attention') }, signal));
}

// ---- the notebook kernel as a tile source (attnviz.show at length) ----
// The page is an <iframe srcdoc> inside the widget's output: it posts {attnviz, id, request} to
// the notebook page, whose widget code sends it to the kernel and posts the kernel's answer back.

const KERNEL_WAIT_MS = 60_000;
const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
let lastId = 0;
let listening = false;

function kernelAsk<T>(what: 'tile' | 'topk', request: object, signal?: AbortSignal): Promise<T> {
  if (window.parent === window) return Promise.reject(new ApiError('This view\'s tiles come from the notebook kernel that showed it, and there is none here.', 0, 'no_kernel'));
  if (!listening) {
    listening = true;
    window.addEventListener('message', (ev: MessageEvent) => {
      const m = ev.data as { attnviz?: unknown; id?: unknown; response?: unknown; error?: { detail?: string; code?: string } } | null;
      if (ev.source !== window.parent || !m || typeof m.attnviz !== 'string' || typeof m.id !== 'number') return;
      const p = pending.get(m.id);
      if (!p) return;
      pending.delete(m.id);
      if (m.error) p.reject(new ApiError(m.error.detail ?? 'The kernel could not answer.', 0, (m.error.code ?? 'kernel_error') as ApiErrorCode | ClientErrorCode));
      else p.resolve(m.response);
    });
  }
  const id = ++lastId;
  return new Promise<T>((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      pending.delete(id);
    };
    const timer = window.setTimeout(() => {
      done();
      reject(new ApiError('The notebook kernel did not answer: run the cell again (a restarted kernel no longer holds the tensors).', 0, 'no_kernel'));
    }, KERNEL_WAIT_MS);
    pending.set(id, {
      resolve: (v) => {
        done();
        resolve(v as T);
      },
      reject: (e) => {
        done();
        reject(e);
      },
    });
    signal?.addEventListener('abort', () => {
      done();
      reject(new DOMException('The request was cancelled.', 'AbortError'));
    });
    window.parent.postMessage({ attnviz: what, id, request }, '*');
  });
}

/**
 * One view's tiles of a long text, the latest asked only: an ask waits `restMs` (a wheel or a drag
 * asks every frame), a newer one cancels the older, the same one twice is asked once.
 */
export function tileFeed(restMs: number, on: { tile(t: Tile): void; error(e: Error): void }) {
  let wanted = '';
  let inflight: AbortController | null = null;
  let timer: number | undefined;
  return {
    /** Ask for `req` of `doc`'s run; false when that tile is already asked for. */
    ask(doc: AttnDoc, req: Omit<TileRequest, 'handle' | 'encoding'>): boolean {
      // the same region of the other weighting is another tile
      const key = `${doc.weighting}\n${JSON.stringify(req)}`;
      if (key === wanted) return false;
      wanted = key;
      clearTimeout(timer);
      inflight?.abort();
      timer = window.setTimeout(() => {
        const ac = new AbortController();
        inflight = ac;
        fetchTile(doc, req, ac.signal).then(
          (t) => {
            if (!ac.signal.aborted && key === wanted) on.tile(t);
          },
          (e: Error) => {
            if (ac.signal.aborted || e.name === 'AbortError') return;
            wanted = '';
            on.error(e);
          },
        );
      }, restMs);
      return true;
    },
    /** The next ask is sent even when it names the same tile. */
    forget(): void {
      wanted = '';
    },
    stop(): void {
      clearTimeout(timer);
      inflight?.abort();
      wanted = '';
    },
  };
}

/** Documents asked for again (a diff's B side, an ablation's intact baseline): a small session cache. */
const documents = new Map<string, Promise<AttnDoc>>();
const DOCUMENTS_KEPT = 8;
export function cachedDocument(checkpoint: string, text: string, weighting: Weighting = 'attention', sampling: SamplingRequest = {}): Promise<AttnDoc> {
  const key = `${checkpoint}\n${text}\n${weighting}\n${JSON.stringify(sampling)}`;
  let p = documents.get(key);
  if (!p) {
    p = source.attention({ checkpoint, text, encoding: 'float16', ...weighted(weighting), ...sampling }).then(decodeDocument);
    p.catch(() => documents.delete(key));
    documents.set(key, p);
    if (documents.size > DOCUMENTS_KEPT) documents.delete(documents.keys().next().value!);
  }
  return p;
}

export interface TimelineEpoch {
  epoch: number;
  /** optimizer steps; an intermediate snapshot (`<run>/snapshots/`) when `snapshot` */
  step: number | null;
  snapshot: boolean;
  checkpoint: string;
  metrics: CheckpointMetrics;
  doc: AttnDoc;
}

const timelines = new Map<string, Promise<TimelineEpoch[]>>();
/** Every usable epoch of `run` on `text`, decoded, weighted as `weighting`; cached per run + text + weighting. */
export function fetchTimeline(run: string, text: string, weighting: Weighting = 'attention'): Promise<TimelineEpoch[]> {
  const key = `${run}\n${text}\n${weighting}`;
  let p = timelines.get(key);
  if (!p) {
    // a run trained with snapshots steps through them too
    p = source.timeline({ run, text, encoding: 'float16', snapshots: true, ...weighted(weighting) }).then((r) =>
      r.epochs.map((e) => ({
        epoch: e.epoch,
        step: e.step ?? null,
        snapshot: e.snapshot ?? false,
        checkpoint: e.checkpoint,
        metrics: e.metrics,
        doc: decodeDocument(e.document),
      })),
    );
    p.catch(() => timelines.delete(key));
    timelines.set(key, p);
  }
  return p;
}

const maths = new Map<string, Promise<MathResponse>>();
/** Q, K, V, scores and weights of one head; cached per checkpoint + text + kind + layer + head + draw. */
export function fetchMath(req: MathRequest): Promise<MathResponse> {
  const key = [req.checkpoint, req.text, req.kind, req.layer, req.head, req.temperature, req.top_k, req.top_p, req.seed].join('\n');
  let p = maths.get(key);
  if (!p) {
    p = source.math(req);
    p.catch(() => maths.delete(key));
    maths.set(key, p);
  }
  return p;
}
