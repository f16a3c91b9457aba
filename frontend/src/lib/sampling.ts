/**
 * Sampling settings (URL keys `temp`, `topk`, `topp`, `seed`) ⇄ the request's `temperature`,
 * `top_k`, `top_p`, `seed`. Greedy (temp 0) sends none of them, so an encoder, which refuses them,
 * is never asked, and a greedy document is the same request as before sampling existed. Pure, so
 * the URL spec, the data path and the views share one definition.
 */
import type { CheckpointInfo, Sampling, SamplingRequest } from '../api/types';
import { supportedFeatures } from './features';

export interface SamplingState {
  /** 0 = greedy */
  temp: number;
  /** 0 = all tokens */
  topk: number;
  /** 1 = all tokens */
  topp: number;
  /** -1 = none yet (the page picks one when sampling starts, so the URL reproduces the draw) */
  seed: number;
}

export const MAX_TEMPERATURE = 5;
export const MAX_SEED = 2 ** 31 - 1;
export const GREEDY: SamplingState = { temp: 0, topk: 0, topp: 1, seed: -1 };

export function isSampling(s: SamplingState): boolean {
  return s.temp > 0;
}

/** Does the model generate (so sampling applies)? An unlisted one (no listing yet) is asked as set. */
export function generates(info: CheckpointInfo | null): boolean {
  return info ? supportedFeatures(info).has('generate') : true;
}

/** The request fields for `s` ({} when greedy or the model generates nothing). */
export function samplingRequest(s: SamplingState, generates: boolean): SamplingRequest {
  if (!generates || !isSampling(s)) return {};
  const out: SamplingRequest = { temperature: s.temp };
  if (s.topk > 0) out.top_k = s.topk;
  if (s.topp < 1) out.top_p = s.topp;
  if (s.seed >= 0) out.seed = s.seed;
  return out;
}

/** One string per distinct request ('' = greedy): what a shown document was computed with. */
export function samplingKey(s: SamplingState, generates: boolean): string {
  const r = samplingRequest(s, generates);
  return r.temperature === undefined ? '' : `${r.temperature}|${r.top_k ?? 0}|${r.top_p ?? 1}|${r.seed ?? -1}`;
}

/** The key of a document's `sampling` (absent: greedy), comparable with samplingKey. */
export function docSamplingKey(d: Sampling | null | undefined): string {
  return d ? `${d.temperature}|${d.top_k}|${d.top_p}|${d.seed}` : '';
}

/** A fresh seed for a new draw (Math.random: a seed need not be secret, only new). */
export function newSeed(): number {
  return Math.floor(Math.random() * (MAX_SEED + 1));
}

/** "T 1.2 · top-k 5 · top-p 0.9 · seed 42", or "greedy". */
export function describeSampling(d: Sampling | null | undefined): string {
  if (!d) return 'greedy';
  const parts = [`T ${d.temperature}`];
  if (d.top_k > 0) parts.push(`top-k ${d.top_k}`);
  if (d.top_p < 1) parts.push(`top-p ${d.top_p}`);
  parts.push(`seed ${d.seed}`);
  return parts.join(' · ');
}

/** A document's `sampling`, kept only when well-formed. */
export function decodeSampling(x: unknown): Sampling | null {
  if (typeof x !== 'object' || x === null) return null;
  const d = x as Record<string, unknown>;
  const keys = ['temperature', 'top_k', 'top_p', 'seed'] as const;
  return keys.every((k) => typeof d[k] === 'number' && Number.isFinite(d[k])) ? (d as unknown as Sampling) : null;
}
