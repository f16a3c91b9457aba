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
import { createClient } from './api/client';
import type { TileRequest, TileResponse } from './api/types';
import { decodeCompactArray, type OverviewRun, type Tile } from './lib/tiled';
import type { AblateHead, CheckpointInfo, CheckpointMetrics, CheckpointsResponse, MathRequest, MathResponse, Sampling, SamplingRequest, TrainRequest } from './api/types';
import { decodeDocument, type AttnDoc } from './lib/doc';
import { requestEncoding } from './lib/wireEncoding';
import { embeddedSource, embeddedTrainingBlock } from './embedded';
import { ApiError } from './api/client';

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
): Promise<{ doc: AttnDoc; arrivedAt: number; decodedAt: number }> {
  const raw = await source.attention({ checkpoint, text, encoding: requestEncoding(info, text), ...(ablate.length ? { ablate } : {}), ...sampling }, signal);
  // the page's load timings (test/bench hook) split the wait at the answer's arrival and its decoding
  const arrivedAt = performance.now();
  performance.mark('attnviz:data');
  const doc = decodeDocument(raw);
  if (doc.overview) doc.overview.ablate = ablate;
  return { doc, arrivedAt, decodedAt: performance.now() };
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
  let used: string | null = null;
  const ask = async () => {
    used = run.handle;
    if (!used) throw new ApiError('The server did not keep this run (it is larger than its store): tiles are not available; a shorter text shows every weight.', 0, 'no_handle');
    return server.tile({ ...req, handle: used, encoding: 'float16' }, signal);
  };
  let r: TileResponse;
  try {
    r = await ask();
  } catch (e) {
    if (!(e instanceof ApiError) || e.code !== 'unknown_handle') throw e;
    // the views' tiles that fail together (heatmap, arcs) wait for one new overview, not one each
    if (run.handle === used) {
      let renewal = renewals.get(run);
      if (!renewal) {
        renewal = server
          .attention({ checkpoint: run.checkpoint, text: run.text, detail: 'overview', encoding: 'uint8', ...(run.ablate?.length ? { ablate: run.ablate } : {}), ...sameDraw(doc.sampling) })
          .then((again) => {
            run.handle = (again as { overview?: { handle?: string | null } }).overview?.handle ?? null;
          })
          .finally(() => renewals.delete(run));
        renewals.set(run, renewal);
      }
      await renewal;
    }
    r = await ask();
  }
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
      const key = JSON.stringify(req);
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
export function cachedDocument(checkpoint: string, text: string, sampling: SamplingRequest = {}): Promise<AttnDoc> {
  const key = `${checkpoint}\n${text}\n${JSON.stringify(sampling)}`;
  let p = documents.get(key);
  if (!p) {
    p = source.attention({ checkpoint, text, encoding: 'float16', ...sampling }).then(decodeDocument);
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
/** Every usable epoch of `run` on `text`, decoded; cached per run + text. */
export function fetchTimeline(run: string, text: string): Promise<TimelineEpoch[]> {
  const key = `${run}\n${text}`;
  let p = timelines.get(key);
  if (!p) {
    // a run trained with snapshots steps through them too
    p = source.timeline({ run, text, encoding: 'float16', snapshots: true }).then((r) =>
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
