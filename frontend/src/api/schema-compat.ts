/**
 * Compile-time contract check: every response type generated from the server's OpenAPI schema
 * (schema.d.ts, `npm run gen:api`) must be assignable to the hand-written type the app consumes,
 * and every request the app sends must be acceptable to the server. No runtime code.
 */
import type { components } from './schema';
import type {
  ApiErrorBody,
  AttentionDocument,
  AttentionRequest,
  CheckpointInfo,
  CheckpointsResponse,
  CompactWeights,
  HealthResponse,
  MathRequest,
  MathResponse,
  SamplingRequest,
  TileRequest,
  TileResponse,
  TimelineRequest,
  TimelineResponse,
  TrainLimits,
  TrainRequest,
  TrainStatus,
} from './types';

type S = components['schemas'];
type Assignable<From, To> = [From] extends [To] ? true : false;
const ok = <T extends true>(): T => true as T;

export const schemaCompat = [
  ok<Assignable<S['HealthResponse'], HealthResponse>>(),
  ok<Assignable<S['TrainStatus'], TrainStatus>>(),
  ok<Assignable<S['TrainLimits'], TrainLimits>>(),
  ok<Assignable<Required<TrainRequest>, S['TrainRequest']>>(), // the schema lists defaults as required
  ok<Assignable<S['CheckpointList'], CheckpointsResponse>>(),
  ok<Assignable<S['CheckpointInfo'], CheckpointInfo>>(),
  ok<Assignable<S['AttentionDocument'], AttentionDocument>>(),
  ok<Assignable<S['CompactWeights'], CompactWeights>>(),
  ok<Assignable<S['ErrorResponse'], ApiErrorBody>>(),
  ok<Assignable<S['MathResponse'], MathResponse>>(),
  // requests: what we send must satisfy the server's schema (defaults aside)
  ok<Assignable<Required<Pick<AttentionRequest, 'checkpoint' | 'text'>>, Pick<S['AttentionRequest'], 'checkpoint' | 'text'>>>(),
  ok<Assignable<NonNullable<AttentionRequest['encoding']>, S['AttentionRequest']['encoding']>>(),
  ok<Assignable<MathRequest, Pick<S['MathRequest'], keyof MathRequest>>>(),
  ok<Assignable<SamplingRequest, Pick<S['AttentionRequest'], keyof SamplingRequest>>>(),
  ok<Assignable<S['TimelineResponse'], TimelineResponse>>(),
  ok<Assignable<Pick<TimelineRequest, 'run' | 'text'>, Pick<S['TimelineRequest'], 'run' | 'text'>>>(),
  ok<Assignable<NonNullable<AttentionRequest['ablate']>, S['AttentionRequest']['ablate']>>(),
  // long inputs: detail, tiles
  ok<Assignable<NonNullable<AttentionRequest['detail']>, S['AttentionRequest']['detail']>>(),
  ok<Assignable<NonNullable<AttentionRequest['weighting']>, S['AttentionRequest']['weighting']>>(),
  ok<Assignable<S['TileResponse'], TileResponse>>(),
  ok<Assignable<Omit<TileRequest, 'max_cells' | 'encoding' | 'weighting'>, Omit<S['TileRequest'], 'max_cells' | 'encoding' | 'weighting'>>>(),
  ok<Assignable<NonNullable<TileRequest['weighting']>, NonNullable<S['TileRequest']['weighting']>>>(),
] as const;
