/**
 * API types: the ONLY module the rest of the app imports HTTP/document types from.
 *
 * Hand-written from docs/api.md. `npm run gen:api` generates src/api/schema.d.ts from the
 * server's docs/openapi.json, and schema-compat.ts proves at type-check time that what the server
 * sends is assignable to these types (a drift fails `npm run typecheck`). Switching to the
 * generated types is a change to this file only, e.g.
 *   export type CheckpointsResponse = components['schemas']['CheckpointList'];
 */

import type { components } from './schema';

export type AttentionKind = 'encoder_self' | 'decoder_self' | 'cross';
export const ATTENTION_KINDS: readonly AttentionKind[] = ['encoder_self', 'decoder_self', 'cross'];

export type Encoding = 'json' | 'float16' | 'uint8';

/** `attention`: the softmax weights α; `value_norm`: α_ij·‖v_j W^O_h‖, rows renormalised (Kobayashi et al. 2020) */
export type Weighting = 'attention' | 'value_norm';
export const WEIGHTINGS: readonly Weighting[] = ['attention', 'value_norm'];

export interface HealthResponse {
  status: string;
  version: string;
  checkpoints: number;
}

export interface CheckpointMetrics {
  loss?: number | null;
  token_accuracy?: number | null;
  sequence_accuracy?: number | null;
  [name: string]: number | null | undefined;
}

export interface ModelConfig {
  d_model: number;
  n_heads: number;
  n_layers: number;
  d_ff?: number;
  dropout?: number;
  max_len?: number;
  vocab_size?: number;
  [name: string]: unknown;
}

/** `toy`: a checkpoint trained by attnviz; `huggingface`: a pretrained encoder directory */
export type ModelKind = 'toy' | 'huggingface';
/** the model family: what the views can expect of its documents */
export type ModelFamily = 'toy' | 'toy-decoder' | 'encoder' | 'decoder' | 'encoder-decoder';
/** what a model can serve; a view is offered only where its feature is listed */
export type Feature = 'attention' | 'generate' | 'steps' | 'math' | 'ablate' | 'timeline' | 'special_tokens';

export interface CheckpointInfo {
  name: string;
  run: string;
  kind?: ModelKind;
  family?: ModelFamily;
  supports?: Feature[];
  epoch: number | null;
  usable: boolean;
  error: string | null;
  task: string | null;
  created_at: string | null;
  metrics: CheckpointMetrics | null;
  config: ModelConfig | null;
  max_text_len: number | null;
  /** the vocabulary's characters, when the server reports them: lets the UI flag bad input before a round trip */
  characters?: string | null;
  max_input_len?: number | null;
}

export interface RunInfo {
  name: string;
  kind?: ModelKind;
  family?: ModelFamily;
  task: string | null;
  checkpoints: CheckpointInfo[];
}

export interface CheckpointsResponse {
  checkpoint_dir: string;
  runs: RunInfo[];
}

/** How a generating model picks each token (greedy unless temperature > 0); an encoder refuses them. */
export interface SamplingRequest {
  /** 0 or absent: greedy; above 0 (at most 5): softmax(logits / temperature) is sampled */
  temperature?: number | null;
  /** draw from the k most probable tokens only; 0 or absent: all */
  top_k?: number | null;
  /** nucleus: the fewest most probable tokens whose mass reaches p (0 < p ≤ 1) */
  top_p?: number | null;
  /** the draw's seed (0 … 2^31−1): the same request and seed give the same tokens */
  seed?: number | null;
}

/** A sampled document's `sampling`: the settings and the seed used. */
export interface Sampling {
  temperature: number;
  top_k: number;
  top_p: number;
  seed: number;
}

export interface AttentionRequest extends SamplingRequest {
  checkpoint: string;
  text: string;
  /** decimals, 0–8 (only meaningful for encoding "json") */
  precision?: number;
  encoding?: Encoding;
  /** heads switched off for the whole run (greedy decoding included) */
  ablate?: AblateHead[];
  /** `full` (every weight; 413 past the response budget), `overview` (thumbnails, statistics and a
   *  handle for tiles), or `auto` (the default: full when it fits) */
  detail?: 'auto' | 'full' | 'overview';
  /** which weights the document holds (default `attention`) */
  weighting?: Weighting;
}

/** POST /api/attention/tile: rows q0..q1−1, columns k0..k1−1 of one head of an overview's run. */
export interface TileRequest {
  handle: string;
  kind: AttentionKind;
  layer: number;
  head: number;
  q0: number;
  q1: number;
  k0: number;
  k1: number;
  /** most cells returned: a larger region comes as block maxima */
  max_cells?: number;
  encoding?: 'float16' | 'uint8';
  /** the overview's weighting (default `attention`) */
  weighting?: Weighting;
}

/** The region a tile request named, and its weights. */
export interface TileResponse extends Omit<TileRequest, 'max_cells' | 'encoding'> {
  /** [bq, bk]: [1, 1] = exact weights, else block maxima */
  block: number[];
  weights: CompactWeights;
}

/** POST /api/attention/topk: the k strongest keys of queries q0..q1−1 of one head. */
export interface TopkRequest {
  handle: string;
  kind: AttentionKind;
  layer: number;
  head: number;
  k?: number;
  q0?: number;
  q1?: number;
  /** the overview's weighting (default `attention`) */
  weighting?: Weighting;
}

export interface TopkResponse {
  handle: string;
  kind: AttentionKind;
  layer: number;
  head: number;
  k: number;
  q0: number;
  q1: number;
  /** [query][rank]: key index, largest weight first */
  indices: number[][];
  /** [query][rank]: the exact weight */
  weights: number[][];
}

export interface AblateHead {
  kind: AttentionKind;
  layer: number;
  head: number;
}

/** One decoding step: `tokens.tgt[0..t]` was read, `token` was produced (greedy or drawn). */
export interface DecodingStep {
  t: number;
  token: string;
  /** the model's probability of `token` (softmax of the logits); absent in older documents */
  p?: number | null;
  /** sampled documents, generated rows: its probability under the sampling distribution it was drawn from */
  p_sampled?: number | null;
  /** most probable next tokens, most probable first */
  top: { token: string; p: number }[];
}

/** POST /api/timeline: every usable epoch of a run on one text. */
export interface TimelineRequest {
  run: string;
  text: string;
  precision?: number;
  encoding?: Encoding;
  /** also the run's intermediate snapshots (`<run>/snapshots/step{S}.pt`), in training order */
  snapshots?: boolean;
  /** every epoch's weights, as the attention request's (default `attention`) */
  weighting?: Weighting;
}

export interface TimelineResponse {
  run: string;
  text: string;
  epochs: {
    epoch: number;
    /** optimizer steps behind these weights (null for runs trained before steps were recorded) */
    step?: number | null;
    /** an intermediate snapshot, not an epoch's checkpoint */
    snapshot?: boolean;
    checkpoint: string;
    metrics: CheckpointMetrics;
    document: AttentionDocument;
  }[];
}

// ---- training from the page (/api/train; docs/api.md "Training") ----
/** The toy tasks, as the server's schema lists them (attnviz.data is the one list). */
export type TrainTask = components['schemas']['TrainRequest']['task'];
export type TrainState = 'queued' | 'running' | 'done' | 'cancelled' | 'failed';

export interface TrainRequest {
  task: TrainTask;
  epochs: number;
  n_layers: number;
  n_heads: number;
  d_model: number;
  /** absent: the task's own (5e-3; induction 3e-3) */
  lr?: number;
  seed?: number;
  name?: string | null;
}

export interface TrainStatus {
  id: string;
  run: string;
  state: TrainState;
  epoch: number;
  step: number;
  total_steps: number | null;
  metrics: Record<string, number>;
  detail: string | null;
  spec: { task: string; epochs: number; n_layers: number; n_heads: number; d_model: number; lr: number; seed: number; name: string };
  created_at: string;
  events: number;
  worker_pid?: number | null;
}

export interface TrainLimits {
  allowed: boolean;
  reason: string | null;
  setting: string;
  tasks: TrainTask[];
  /** each task's learning rate when a request names none (absent from an older server) */
  default_lr?: Partial<Record<TrainTask, number>>;
  max_layers: number;
  max_heads: number;
  max_d_model: number;
  max_epochs: number;
  max_seconds: number;
  snapshot_every: number;
  run_prefix: string;
  /** a training process is started and waiting (GET /api/train/limits starts one) */
  worker_ready?: boolean;
  current: TrainStatus | null;
}

/** Payloads of the server-sent events of GET /api/train/{id}/events (event name → data). */
export interface TrainEvents {
  progress: { step: number; epoch: number; loss: number; accuracy: number; total_steps: number | null };
  /** `metrics`: the induction task's held-out scores at that step (in_context_accuracy, best_induction, ...) */
  snapshot: { step: number; epoch: number; checkpoint: string; metrics?: Record<string, number> };
  epoch: { epoch: number; step: number; checkpoint: string; metrics: Record<string, number> };
  done: { run: string; epochs_done: number; checkpoints: string[]; metrics?: Record<string, number> };
  cancelled: { run: string; epochs_done: number; checkpoints: string[]; reason?: string };
  failed: { run: string; epochs_done: number; checkpoints: string[]; detail?: string | null };
}

/** Held-out in-context accuracy of an induction checkpoint (shares of the predictable tokens, 0–1). */
export interface HeldOut {
  /** with the request's `ablate` heads switched off */
  in_context_accuracy: number;
  /** with every head on */
  baseline: number;
  /** guessing */
  chance: number;
  sequences: number;
}

/** [layer][head][query][key] */
export type NestedWeights = number[][][][];

export interface CompactWeights {
  dtype: 'float16' | 'uint8';
  /** [layers, heads, queries, keys] */
  shape: number[];
  /** only for uint8: weight = (value * scale)² with `compand: "sqrt"`, else value * scale */
  scale?: number | null;
  /** only for uint8: "sqrt" = square-root companded (absent in older, linear documents) */
  compand?: 'sqrt' | null;
  /** base64 of little-endian values, C order */
  data: string;
}

export type EncodedWeights = NestedWeights | CompactWeights;

export interface ModelInfo {
  task?: string | null;
  epoch?: number | null;
  n_layers?: number;
  n_heads?: number;
  d_model?: number;
  [name: string]: unknown;
}

/** The attention document, schema version 1 (docs/api.md), plus the API's extras. */
export interface AttentionDocument {
  schema_version: 1;
  checkpoint: string | null;
  model: ModelInfo;
  input: string;
  output: string | null;
  /** `src` is absent in a decoder-only model's document (tokens.tgt and decoder_self only) */
  tokens: { src?: string[] | null; tgt?: string[] | null };
  /** optional: the tokens the model's tokenizer marks special ([CLS], [SEP], <|endoftext|>…) */
  special_tokens?: string[] | null;
  attentions: Partial<Record<AttentionKind, EncodedWeights | null>>;
  warnings?: string[];
  /** API extra: the task's correct output, or null */
  expected?: string | null;
  /** API extra: how `attentions` is encoded */
  encoding?: Encoding;
  /** which weights it holds; absent in older documents (= `attention`) */
  weighting?: Weighting;
  /** optional: top predictions per greedy decoding step (absent in older documents) */
  steps?: DecodingStep[] | null;
  /** API extra, induction checkpoints: in-context accuracy on held-out sequences with the `ablate` heads off */
  heldout?: HeldOut | null;
  /** present when the output was sampled: the settings and the seed used (absent: greedy) */
  sampling?: Sampling | null;
  /** optional, front end only: the view it was exported from, a URL query string (`kind=cross&layer=1`) */
  view?: string;
}

export interface InvalidCharacter {
  char: string;
  /** 0-based code point index into the submitted text */
  position: number;
}

/** Every code the server can send: generated from the enum in its OpenAPI schema (ErrorResponse.code). */
export type ApiErrorCode = components['schemas']['ErrorResponse']['code'];

/** Codes the page makes itself, for failures that never reached (or never needed) the server. */
/** Errors the page makes itself (no server said them): the network, a bad answer, a view that needs a
 *  server or a kernel it does not have. */
export type ClientErrorCode = 'network' | 'bad_response' | 'needs_server' | 'not_overview' | 'no_handle' | 'no_kernel' | 'kernel_error';

export interface ApiErrorBody {
  detail: string;
  code: ApiErrorCode;
  invalid_characters?: InvalidCharacter[] | null;
  errors?: unknown[] | null;
}

/** POST /api/attention/math (step-through view, not used yet) */
export interface MathRequest extends SamplingRequest {
  checkpoint: string;
  text: string;
  kind: AttentionKind;
  layer: number;
  head: number;
}

export interface MathTensor<T = number> {
  shape: number[];
  data: T[][];
}

export interface MathResponse {
  checkpoint?: string;
  input?: string;
  output?: string;
  kind: AttentionKind;
  layer: number;
  head: number;
  d_k: number;
  query_tokens: string[];
  key_tokens: string[];
  tensors: {
    q: MathTensor;
    k: MathTensor;
    v: MathTensor;
    scores: MathTensor;
    mask: MathTensor<boolean>;
    weights: MathTensor;
    output: MathTensor;
    /** T5 only: the relative position bias already added into `scores` */
    position_bias?: MathTensor | null;
  };
  /** Hugging Face models: the factor on QKᵀ (1/√d_k; T5: 1); `scores` = scale·QKᵀ (+ position_bias) */
  scale?: number | null;
  /** Hugging Face models: rotary position embedding was applied to Q and K */
  rope?: boolean | null;
  /** Hugging Face models: the key/value head this query head reads, and how many a layer has (GQA) */
  kv_head?: number | null;
  n_kv_heads?: number | null;
  /** Hugging Face models: largest |weights − the model's own attention weights| */
  max_abs_diff?: number | null;
}
