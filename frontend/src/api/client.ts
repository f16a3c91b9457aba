import type {
  ApiErrorBody,
  ApiErrorCode,
  ClientErrorCode,
  AttentionDocument,
  AttentionRequest,
  CheckpointsResponse,
  HealthResponse,
  InvalidCharacter,
  MathRequest,
  MathResponse,
  TileRequest,
  TileResponse,
  TopkRequest,
  TopkResponse,
  TimelineRequest,
  TimelineResponse,
  TrainLimits,
  TrainRequest,
  TrainStatus,
} from './types';

/** An error a person can act on; `code` is the server's stable code or a client-side one. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: ApiErrorCode | ClientErrorCode;
  readonly invalidCharacters: InvalidCharacter[];
  constructor(message: string, status: number, code: ApiErrorCode | ClientErrorCode, invalidCharacters: InvalidCharacter[] = []) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.invalidCharacters = invalidCharacters;
  }
}

function isErrorBody(x: unknown): x is ApiErrorBody {
  return typeof x === 'object' && x !== null && typeof (x as ApiErrorBody).detail === 'string';
}

/** Turn a non-2xx response into an ApiError (server error shape, FastAPI default, or anything else). */
export async function errorFromResponse(res: Response, what: string): Promise<ApiError> {
  let body: unknown = null;
  try {
    body = await res.json();
  } catch {
    /* not JSON, e.g. a static file server's HTML 404 */
  }
  if (isErrorBody(body)) {
    return new ApiError(body.detail, res.status, body.code ?? 'http_error', body.invalid_characters ?? []);
  }
  // FastAPI's default 422 shape is {detail: [...]}
  if (typeof body === 'object' && body !== null && Array.isArray((body as { detail?: unknown }).detail)) {
    return new ApiError(`The server rejected the request to ${what} (validation error).`, res.status, 'validation_error');
  }
  const code = res.status === 404 ? 'not_found' : 'http_error';
  return new ApiError(`The server answered ${res.status} ${res.statusText || ''} to ${what}.`.replace(/\s+\./, '.'), res.status, code);
}

export interface ClientOptions {
  baseUrl?: string;
  fetchImpl?: typeof fetch;
}

export function createClient(opts: ClientOptions = {}) {
  const base = opts.baseUrl ?? '';
  const f = opts.fetchImpl ?? ((...a: Parameters<typeof fetch>) => fetch(...a));

  async function request<T>(path: string, what: string, init?: RequestInit): Promise<T> {
    let res: Response;
    try {
      res = await f(base + path, init);
    } catch (e) {
      if ((e as Error)?.name === 'AbortError') throw e;
      throw new ApiError(`Cannot reach the attnviz server (${what}). Is it running? You can still open an exported attention document.`, 0, 'network');
    }
    if (!res.ok) throw await errorFromResponse(res, what);
    try {
      return (await res.json()) as T;
    } catch {
      throw new ApiError(`The server's answer to ${what} is not JSON.`, res.status, 'bad_response');
    }
  }

  const post = (body: unknown, signal?: AbortSignal): RequestInit => ({
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: JSON.stringify(body),
    signal,
  });

  return {
    health: () => request<HealthResponse>('/api/health', 'check health'),
    checkpoints: (signal?: AbortSignal) =>
      request<CheckpointsResponse>('/api/checkpoints', 'list the checkpoints', { signal }),
    attention: (req: AttentionRequest, signal?: AbortSignal) =>
      request<AttentionDocument>('/api/attention', 'run the model', post(req, signal)),
    tile: (req: TileRequest, signal?: AbortSignal) =>
      request<TileResponse>('/api/attention/tile', 'compute a tile of the attention', post(req, signal)),
    topk: (req: TopkRequest, signal?: AbortSignal) =>
      request<TopkResponse>('/api/attention/topk', 'find the strongest keys', post(req, signal)),
    math: (req: MathRequest, signal?: AbortSignal) =>
      request<MathResponse>('/api/attention/math', 'compute the attention math', post(req, signal)),
    timeline: (req: TimelineRequest, signal?: AbortSignal) =>
      request<TimelineResponse>('/api/timeline', 'run every epoch of the run', post(req, signal)),
    // training from the page; its event stream is an EventSource on trainEventsUrl(id)
    trainLimits: () => request<TrainLimits>('/api/train/limits', 'ask whether training is allowed'),
    train: (req: TrainRequest) => request<TrainStatus>('/api/train', 'start training', post(req)),
    trainStatus: (id: string) => request<TrainStatus>(`/api/train/${encodeURIComponent(id)}`, 'ask how training goes'),
    cancelTrain: (id: string) =>
      request<TrainStatus>(`/api/train/${encodeURIComponent(id)}`, 'cancel training', { method: 'DELETE' }),
    trainEventsUrl: (id: string) => `${base}/api/train/${encodeURIComponent(id)}/events`,
  };
}

export type ApiClient = ReturnType<typeof createClient>;
