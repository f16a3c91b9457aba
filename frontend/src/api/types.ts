/**
 * API types: the ONLY module the rest of the app imports HTTP/document types from.
 *
 * Every type the server defines is its OpenAPI schema's: src/api/schema.d.ts is generated from
 * docs/openapi.json (`npm run gen:api`, which `npm run lint` checks for drift), and docs/openapi.json
 * from the pydantic models in backend/attnviz/server/schemas.py. A field is added there, once; a
 * type that is wrong here is fixed there. Only what the page alone makes is written by hand below
 * (client-side error codes, the server-sent training events, the `view` a download adds).
 *
 * The generator runs with `--default-non-nullable false`: a field with a default is optional, as
 * the client may leave it out of a request and an older document may lack it.
 */

import type { components } from './schema';

type S = components['schemas'];

// ---- enums -------------------------------------------------------------------------------------

export type AttentionKind = S['AblateHead']['kind'];
/** The kinds in the order views list them (attnviz.document.KINDS). */
export const ATTENTION_KINDS = ['encoder_self', 'decoder_self', 'cross'] as const satisfies readonly AttentionKind[];

export type Encoding = S['AttentionDocument']['encoding'];

/** `attention`: the softmax weights α; `value_norm`: α_ij·‖v_j W^O_h‖, rows renormalised (Kobayashi et al. 2020) */
export type Weighting = NonNullable<S['AttentionDocument']['weighting']>;
export const WEIGHTINGS = ['attention', 'value_norm'] as const satisfies readonly Weighting[];

// both lists name every value of their type: a value added to the schema fails the type check here
type Covers<All, Listed> = [Exclude<All, Listed>] extends [never] ? true : false;
type Holds<T extends true> = T;
export type ListsCoverTheirTypes = [
  Holds<Covers<AttentionKind, (typeof ATTENTION_KINDS)[number]>>,
  Holds<Covers<Weighting, (typeof WEIGHTINGS)[number]>>,
];

// ---- health and checkpoints --------------------------------------------------------------------

export type HealthResponse = S['HealthResponse'];
export type CheckpointMetrics = NonNullable<S['CheckpointInfo']['metrics']>;
export type ModelConfig = S['ModelConfigInfo'];
/** `toy`: a checkpoint trained by attnviz; `huggingface`: a pretrained model */
export type ModelKind = NonNullable<S['CheckpointInfo']['kind']>;
/** the model family: what the views can expect of its documents */
export type ModelFamily = NonNullable<S['CheckpointInfo']['family']>;
/** what a model can serve; a view is offered only where its feature is listed */
export type Feature = NonNullable<S['CheckpointInfo']['supports']>[number];
export type CheckpointInfo = S['CheckpointInfo'];
export type RunInfo = S['RunInfo'];
export type CheckpointsResponse = S['CheckpointList'];

// ---- the attention document --------------------------------------------------------------------

/** The attention document, schema version 1 (docs/api.md), plus the API's extras. */
export type AttentionDocument = S['AttentionDocument'];
/** Detail `overview` (a long text): every field of a full document but `attentions`, and `overview`. */
export type OverviewDocument = S['OverviewDocument'];
/**
 * A document as the page writes it (JSON and HTML downloads): the server's, every field of it, but
 * one opened from a file may have no checkpoint or a model without its width (`attnviz.document_from`
 * writes `checkpoint: null`, docs/api.md), and it names the view it was looked at in (a URL query
 * string, `kind=cross&layer=1`) that a saved file opens on.
 */
export type DocumentFile = Omit<AttentionDocument, 'checkpoint' | 'model'> & {
  checkpoint: string | null;
  model: Partial<ModelInfo>;
  view?: string;
};
export type ModelInfo = S['ModelSummary'];
export type Tokens = S['Tokens'];
export type DecodingStep = S['DecodingStep'];
/** A sampled document's `sampling`: the settings and the seed used. */
export type Sampling = S['SamplingInfo'];
/** Held-out in-context accuracy of an induction checkpoint (shares of the predictable tokens, 0–1). */
export type HeldOut = S['HeldOut'];
export type CompactWeights = S['CompactWeights'];
/** One kind's weights: [layer][head][query][key], or compact */
export type EncodedWeights = NonNullable<S['Attentions'][AttentionKind]>;
export type NestedWeights = Exclude<EncodedWeights, CompactWeights>;
/** A compact array of an overview or a tile (block maxima when `reduce` is `max`). */
export type CompactArray = S['CompactArray'];
/** One kind of an overview document (a long text): its thumbnails and per-head statistics. */
export type OverviewKind = S['OverviewKind'];
/** `[layer][head]` statistics of an overview, computed by the server on the exact weights. */
export type OverviewHeadStats = S['HeadStats'];

// ---- requests and their answers ----------------------------------------------------------------

export type AblateHead = S['AblateHead'];
/** How a generating model picks each token (greedy unless temperature > 0); an encoder refuses them. */
export type SamplingRequest = Pick<S['AttentionRequest'], 'temperature' | 'top_k' | 'top_p' | 'seed'>;
export type AttentionRequest = S['AttentionRequest'];
/** POST /api/attention/tile: rows q0..q1−1, columns k0..k1−1 of one head of an overview's run. */
export type TileRequest = S['TileRequest'];
export type TileResponse = S['TileResponse'];
/** POST /api/attention/topk: the k strongest keys of queries q0..q1−1 of one head. */
export type TopkRequest = S['TopkRequest'];
export type TopkResponse = S['TopkResponse'];
/** POST /api/attention/math */
export type MathRequest = S['MathRequest'];
export type MathResponse = S['MathResponse'];
/** POST /api/timeline: every usable epoch of a run on one text. */
export type TimelineRequest = S['TimelineRequest'];
export type TimelineResponse = S['TimelineResponse'];

// ---- training from the page (/api/train; docs/api.md "Training") ----
/** The toy tasks, as the server's schema lists them (attnviz.data is the one list). */
export type TrainTask = S['TrainRequest']['task'];
export type TrainState = S['TrainStatus']['state'];
export type TrainRequest = S['TrainRequest'];
export type TrainStatus = S['TrainStatus'];
export type TrainLimits = S['TrainLimits'];

/** Payloads of the server-sent events of GET /api/train/{id}/events (event name → data): a
 *  text/event-stream, which the OpenAPI schema does not describe (docs/api.md "Training" does). */
export interface TrainEvents {
  progress: { step: number; epoch: number; loss: number; accuracy: number; total_steps: number | null };
  /** `metrics`: the induction task's held-out scores at that step (in_context_accuracy, best_induction, ...) */
  snapshot: { step: number; epoch: number; checkpoint: string; metrics?: Record<string, number> };
  epoch: { epoch: number; step: number; checkpoint: string; metrics: Record<string, number> };
  done: { run: string; epochs_done: number; checkpoints: string[]; metrics?: Record<string, number> };
  cancelled: { run: string; epochs_done: number; checkpoints: string[]; reason?: string };
  failed: { run: string; epochs_done: number; checkpoints: string[]; detail?: string | null };
}

// ---- errors ------------------------------------------------------------------------------------

export type InvalidCharacter = S['InvalidCharacter'];
export type ApiErrorBody = S['ErrorResponse'];
/** Every code the server can send: generated from the enum in its OpenAPI schema (ErrorResponse.code). */
export type ApiErrorCode = ApiErrorBody['code'];

/** Errors the page makes itself (no server said them): the network, a bad answer, a view that needs a
 *  server or a kernel it does not have. */
export type ClientErrorCode = 'network' | 'bad_response' | 'needs_server' | 'not_overview' | 'no_handle' | 'no_kernel' | 'kernel_error';
