/**
 * The in-memory attention document. Every kind is ONE Float32Array in C order [L, H, Tq, Tk]
 * (no nested JS arrays), whatever the wire encoding was (nested JSON, base64 float16, uint8).
 */
import type { AttentionDocument, AttentionKind, CompactWeights, DecodingStep, DocumentFile, EncodedWeights, Encoding, HeldOut, Sampling, Weighting } from '../api/types';
import { ATTENTION_KINDS } from '../api/types';
import { base64ToBytes } from './base64';
import { DocumentError } from './documentError';
import { decodeFloat16 } from './float16';
import { decodeSampling } from './sampling';
import { decodeUint8 } from './uint8';
import { decodeOverviewKinds, type OverviewRun, type Pooled, type TileSource } from './tiled';

export type Side = 'src' | 'tgt';

export interface AttnTensor {
  kind: AttentionKind;
  layers: number;
  heads: number;
  nq: number;
  nk: number;
  /** [L, H, nq, nk], row-major */
  data: Float32Array;
  /** decoder self-attention: cells with k > q are masked (future positions) */
  causal: boolean;
  /** an overview's kind (lib/tiled.ts): `data` holds [L, H, pq, pk] block maxima, not the weights */
  pooled?: Pooled;
}

export interface AttnDoc {
  schemaVersion: 1;
  checkpoint: string | null;
  model: DocumentFile['model'];
  input: string;
  output: string | null;
  expected: string | null;
  tokens: { src: string[]; tgt: string[] };
  kinds: Partial<Record<AttentionKind, AttnTensor>>;
  warnings: string[];
  /** top predictions per decoding step; null when the document has none (older exporters) */
  steps: DecodingStep[] | null;
  /**
   * How the weights came over the wire (the coarsest of the kinds): the values shown are the
   * decoded ones, so a uint8 document shows weights rounded to 1/255 (the UI says so).
   */
  encoding: Encoding;
  /** the tokens the model marks special (`special_tokens` of the document), when it says so */
  specialTokens: string[] | null;
  /** which weights it holds: the softmax α, or α·‖v W^O‖ renormalised (`value_norm`) */
  weighting: Weighting;
  /** induction checkpoints: held-out in-context accuracy with and without the switched-off heads */
  heldout?: HeldOut | null;
  /** how the output was sampled (settings and seed); null = greedy */
  sampling?: Sampling | null;
  /**
   * Set on a document with special tokens hidden (lib/special.ts): the original token lists and
   * which of their positions were kept, so per-position facts (the expected alignment) map back;
   * `steps` are the original steps (the shown ones follow the kept target rows).
   */
  /** an overview document (a long text): the run whose tiles the server computes (lib/tiled.ts) */
  overview?: OverviewRun;
  hidden?: { tokens: { src: string[]; tgt: string[] }; kept: { src: number[]; tgt: number[] }; steps?: DecodingStep[] | null };
  /** Set on a document whose words or span are merged (lib/spans.ts): the tokens as received and
   *  the positions behind each shown one (merged before special tokens are hidden) */
  merged?: { tokens: { src: string[]; tgt: string[] }; groups: { src: number[][]; tgt: number[][] } };
  /** The document as received, less its weights (`attentions`, `overview`): a download writes
   *  these back, so a field this page does not know (a newer server's) is kept, not dropped. */
  received?: Record<string, unknown>;
}

export const KIND_LABEL: Record<AttentionKind, string> = {
  encoder_self: 'Encoder self-attention',
  decoder_self: 'Decoder self-attention (masked)',
  cross: 'Cross-attention',
};

/** Short kind names for chips and menus (the tabs use KIND_LABEL). */
export const KIND_SHORT: Record<AttentionKind, string> = {
  encoder_self: 'encoder self',
  decoder_self: 'decoder self',
  cross: 'cross',
};

/** Which token list the queries / keys of a kind come from. */
export function querySide(kind: AttentionKind): Side {
  return kind === 'encoder_self' ? 'src' : 'tgt';
}
export function keySide(kind: AttentionKind): Side {
  return kind === 'decoder_self' ? 'tgt' : 'src';
}

export function availableKinds(doc: AttnDoc): AttentionKind[] {
  return ATTENTION_KINDS.filter((k) => doc.kinds[k]);
}

/** A zero-copy view on one (layer, head) matrix. */
export function headMatrix(t: AttnTensor, layer: number, head: number): Float32Array {
  const size = t.nq * t.nk;
  const off = (layer * t.heads + head) * size;
  return t.data.subarray(off, off + size);
}

export function weightAt(t: AttnTensor, layer: number, head: number, q: number, k: number): number {
  return t.data[((layer * t.heads + head) * t.nq + q) * t.nk + k]!;
}

export function isMasked(t: AttnTensor, q: number, k: number): boolean {
  return t.causal && k > q;
}

function isCompact(w: EncodedWeights): w is CompactWeights {
  return !Array.isArray(w) && typeof w === 'object' && w !== null && 'dtype' in w;
}


function decodeCompact(w: CompactWeights, kind: string): { shape: number[]; data: Float32Array } {
  const shape = w.shape;
  if (!Array.isArray(shape) || shape.length !== 4 || !shape.every((n) => Number.isInteger(n) && n >= 0)) {
    throw new DocumentError(`attentions.${kind}.shape must be four non-negative integers [layers, heads, queries, keys].`);
  }
  const n = shape.reduce((a, b) => a * b, 1);
  const bytes = base64ToBytes(w.data);
  let data: Float32Array;
  if (w.dtype === 'float16') {
    data = decodeFloat16(bytes);
  } else if (w.dtype === 'uint8') {
    const scale = typeof w.scale === 'number' ? w.scale : 1 / 255;
    data = decodeUint8(bytes, scale, typeof w.compand === 'string' ? w.compand : null);
  } else {
    throw new DocumentError(`attentions.${kind}.dtype "${String((w as { dtype: unknown }).dtype)}" is not supported (float16 or uint8).`);
  }
  if (data.length !== n) {
    throw new DocumentError(`attentions.${kind} holds ${data.length} values but its shape [${shape.join(', ')}] needs ${n}.`);
  }
  return { shape, data };
}

function decodeNested(w: unknown, kind: string): { shape: number[]; data: Float32Array } {
  const bad = (where: string) => new DocumentError(`attentions.${kind}${where} is not a [layer][head][query][key] list of numbers.`);
  if (!Array.isArray(w) || w.length === 0) throw bad('');
  const L = w.length;
  const l0 = w[0];
  if (!Array.isArray(l0) || l0.length === 0) throw bad('[0]');
  const H = l0.length;
  const h0 = l0[0];
  if (!Array.isArray(h0)) throw bad('[0][0]');
  const Q = h0.length;
  const K = Q ? (Array.isArray(h0[0]) ? h0[0].length : -1) : 0;
  if (K < 0) throw bad('[0][0][0]');
  const data = new Float32Array(L * H * Q * K);
  let o = 0;
  for (let l = 0; l < L; l++) {
    const layer = w[l];
    if (!Array.isArray(layer) || layer.length !== H) throw new DocumentError(`attentions.${kind}[${l}] should have ${H} heads.`);
    for (let h = 0; h < H; h++) {
      const m = layer[h];
      if (!Array.isArray(m) || m.length !== Q) throw new DocumentError(`attentions.${kind}[${l}][${h}] should have ${Q} query rows.`);
      for (let q = 0; q < Q; q++) {
        const row = m[q];
        if (!Array.isArray(row) || row.length !== K) throw new DocumentError(`attentions.${kind}[${l}][${h}][${q}] should have ${K} weights.`);
        for (let k = 0; k < K; k++) {
          const v = row[k];
          if (typeof v !== 'number') throw new DocumentError(`attentions.${kind}[${l}][${h}][${q}][${k}] is not a number.`);
          data[o++] = v;
        }
      }
    }
  }
  return { shape: [L, H, Q, K], data };
}

function stringList(x: unknown, where: string): string[] {
  if (!Array.isArray(x) || !x.every((t) => typeof t === 'string')) throw new DocumentError(`${where} must be a list of strings.`);
  return x as string[];
}

/** The run behind an overview document: where its tiles come from (lib/tiled.ts). */
function overviewRun(ov: Record<string, unknown>, d: Record<string, unknown>): OverviewRun {
  const source: TileSource = ov.source === 'kernel' || ov.source === 'file' ? ov.source : 'server';
  return {
    handle: typeof ov.handle === 'string' ? ov.handle : null,
    checkpoint: typeof d.checkpoint === 'string' ? d.checkpoint : '',
    text: typeof d.input === 'string' ? d.input : '',
    source,
    ...(d.weighting === 'value_norm' ? { weighting: 'value_norm' as const } : {}),
    ...(typeof ov.max_bytes === 'number' ? { maxBytes: ov.max_bytes } : {}),
  };
}

/** Validate and decode a schema-v1 document (any encoding) into an AttnDoc. Throws DocumentError. */
export function decodeDocument(raw: unknown): AttnDoc {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new DocumentError('An attention document must be a JSON object.');
  const d = raw as Partial<AttentionDocument> & Record<string, unknown>;
  if (d.schema_version !== 1) {
    throw new DocumentError(`Unsupported schema_version ${JSON.stringify(d.schema_version)}: this viewer reads attention documents of schema version 1.`);
  }
  if (typeof d.tokens !== 'object' || d.tokens === null) throw new DocumentError('The document has no "tokens" object.');
  // a decoder-only document has no source side (tokens.tgt and decoder_self only)
  const src = d.tokens.src === undefined || d.tokens.src === null ? [] : stringList(d.tokens.src, 'tokens.src');
  const tgt = d.tokens.tgt === undefined || d.tokens.tgt === null ? [] : stringList(d.tokens.tgt, 'tokens.tgt');
  const ov = (d as { detail?: unknown; overview?: { handle?: unknown } }).detail === 'overview' ? (d as { overview?: { handle?: unknown } }).overview : undefined;
  if (!ov && (typeof d.attentions !== 'object' || d.attentions === null)) throw new DocumentError('The document has no "attentions" object.');

  const tokensOf = (kind: AttentionKind): [number, number] => [(querySide(kind) === 'src' ? src : tgt).length, (keySide(kind) === 'src' ? src : tgt).length];
  let kinds: Partial<Record<AttentionKind, AttnTensor>> = {};
  let encoding: Encoding = 'json';
  if (ov) {
    // a long text: thumbnails and statistics, the weights computed on demand as tiles (lib/tiled.ts)
    kinds = decodeOverviewKinds(ov, tokensOf);
    encoding = (d as { encoding?: Encoding }).encoding === 'float16' ? 'float16' : 'uint8';
  }
  for (const kind of ov ? [] : ATTENTION_KINDS) {
    const w = d.attentions![kind];
    if (w === undefined || w === null) continue;
    if (isCompact(w) && (w.dtype === 'uint8' || (w.dtype === 'float16' && encoding === 'json'))) encoding = w.dtype;
    const { shape, data } = isCompact(w) ? decodeCompact(w, kind) : decodeNested(w, kind);
    const [layers, heads, nq, nk] = shape as [number, number, number, number];
    const qs = querySide(kind) === 'src' ? src : tgt;
    const ks = keySide(kind) === 'src' ? src : tgt;
    if (nq !== qs.length || nk !== ks.length) {
      throw new DocumentError(
        `attentions.${kind} is ${nq}×${nk} but there are ${qs.length} ${querySide(kind)} query tokens and ${ks.length} ${keySide(kind)} key tokens.`,
      );
    }
    kinds[kind] = { kind, layers, heads, nq, nk, data, causal: kind === 'decoder_self' };
  }
  if (!Object.keys(kinds).length) throw new DocumentError('The document holds no attention weights (encoder_self, decoder_self or cross).');
  const warnings = Array.isArray(d.warnings) ? d.warnings.filter((x): x is string => typeof x === 'string') : [];
  for (const t of Object.values(kinds)) {
    const w = rangeWarning(t);
    if (w) warnings.push(w);
  }

  return {
    schemaVersion: 1,
    checkpoint: typeof d.checkpoint === 'string' ? d.checkpoint : null,
    model: typeof d.model === 'object' && d.model !== null ? d.model : {},
    input: typeof d.input === 'string' ? d.input : '',
    output: typeof d.output === 'string' ? d.output : null,
    expected: typeof d.expected === 'string' ? d.expected : null,
    tokens: { src, tgt },
    kinds,
    warnings,
    steps: decodeSteps(d.steps),
    specialTokens: Array.isArray(d.special_tokens) && d.special_tokens.every((t) => typeof t === 'string') ? (d.special_tokens as string[]) : null,
    heldout: decodeHeldOut(d.heldout),
    sampling: decodeSampling(d.sampling),
    encoding,
    weighting: d.weighting === 'value_norm' ? 'value_norm' : 'attention',
    ...(ov ? { overview: overviewRun(ov as Record<string, unknown>, d) } : {}),
    received: withoutWeights(d),
  };
}

/** `d` less what a download re-encodes: the weights (held here they would be a second copy of the
 *  largest part of the document) and the view the page writes afresh. */
function withoutWeights(d: Record<string, unknown>): Record<string, unknown> {
  const { attentions: _attentions, overview: _overview, view: _view, ...rest } = d;
  return rest;
}

/** Attention weights are probabilities: a file holding 5.0 (scores, logits, a bug upstream) opens,
 *  but says so, since its colours are clipped to [0, 1] and its rows no longer mean "shares". */
const RANGE_SLACK = 1e-3; // float16 and uint8 rounding of a weight of 1
export function rangeWarning(t: AttnTensor): string | null {
  let bad = 0;
  let worst = 0;
  let at = -1;
  const d = t.data;
  for (let i = 0; i < d.length; i++) {
    const v = d[i]!;
    if (v >= -RANGE_SLACK && v <= 1 + RANGE_SLACK) continue; // NaN fails both tests and is counted
    bad++;
    const off = Number.isFinite(v) ? Math.abs(v - Math.min(1, Math.max(0, v))) : Infinity;
    if (at < 0 || off > worst) [worst, at] = [off, i];
  }
  if (!bad) return null;
  const k = at % t.nk;
  const q = Math.floor(at / t.nk) % t.nq;
  const h = Math.floor(at / (t.nk * t.nq)) % t.heads;
  const l = Math.floor(at / (t.nk * t.nq * t.heads));
  const n = bad === 1 ? '1 weight' : `${bad.toLocaleString('en-US')} weights`;
  return (
    `attentions.${t.kind} holds ${n} outside 0–1 (for example ${d[at]} at layer ${l}, head ${h}, query ${q}, key ${k}): ` +
    'attention weights are probabilities, so these may be scores or logits; colours are clipped to 0–1.'
  );
}

/** Optional `heldout`: kept only when every figure is a number. */
function decodeHeldOut(x: unknown): HeldOut | null {
  if (typeof x !== 'object' || x === null) return null;
  const h = x as Record<string, unknown>;
  const keys = ['in_context_accuracy', 'baseline', 'chance', 'sequences'] as const;
  return keys.every((k) => typeof h[k] === 'number') ? (h as unknown as HeldOut) : null;
}

/** Optional `steps`: kept only when well-formed (a malformed list is dropped, not fatal). */
function decodeSteps(x: unknown): DecodingStep[] | null {
  if (!Array.isArray(x)) return null;
  const ok = x.every(
    (s: unknown) =>
      typeof s === 'object' && s !== null &&
      typeof (s as DecodingStep).t === 'number' && typeof (s as DecodingStep).token === 'string' &&
      Array.isArray((s as DecodingStep).top) &&
      (s as DecodingStep).top.every((p) => typeof p?.token === 'string' && typeof p?.p === 'number'),
  );
  return ok ? (x as DecodingStep[]) : null;
}

/**
 * Back to the schema-v1 JSON form, weights as nested lists (rounded to `decimals`): every field as
 * received (those this page does not know included), the ones it decodes as it shows them.
 */
export function toJsonDocument(doc: AttnDoc, decimals = 6): DocumentFile {
  const p = 10 ** decimals;
  const attentions: AttentionDocument['attentions'] = {};
  for (const kind of ATTENTION_KINDS) {
    const t = doc.kinds[kind];
    if (!t) continue;
    const nested: number[][][][] = [];
    for (let l = 0; l < t.layers; l++) {
      const layer: number[][][] = [];
      for (let h = 0; h < t.heads; h++) {
        const m = headMatrix(t, l, h);
        const rows: number[][] = [];
        for (let q = 0; q < t.nq; q++) {
          const row = new Array<number>(t.nk);
          for (let k = 0; k < t.nk; k++) row[k] = Math.round(m[q * t.nk + k]! * p) / p;
          rows.push(row);
        }
        layer.push(rows);
      }
      nested.push(layer);
    }
    attentions[kind] = nested;
  }
  const received = doc.received ?? {};
  const out: DocumentFile = {
    // the server's fields as it sent them (a field the schema requires is there: it was received)
    ...(received as Omit<DocumentFile, 'attentions'>),
    schema_version: 1,
    checkpoint: doc.checkpoint,
    model: doc.model,
    input: doc.input,
    output: doc.output,
    expected: doc.expected,
    tokens: { ...(received.tokens as object | undefined), ...(doc.tokens.tgt.length ? { src: doc.tokens.src, tgt: doc.tokens.tgt } : { src: doc.tokens.src }) },
    encoding: 'json',
    attentions,
    warnings: doc.warnings,
  };
  // the weights were re-encoded: `precision` says how, where the document said it
  if ('precision' in received) out.precision = decimals;
  if (doc.weighting !== 'attention') out.weighting = doc.weighting;
  if (doc.steps) out.steps = doc.steps;
  if (doc.specialTokens) out.special_tokens = doc.specialTokens;
  if (doc.heldout) out.heldout = doc.heldout;
  if (doc.sampling) out.sampling = doc.sampling;
  return out;
}

/** The JSON download (the toolbar's JSON button): the document and the view it was looked at in. */
export function documentJson(doc: AttnDoc, view = ''): string {
  return JSON.stringify(view ? { ...toJsonDocument(doc), view } : toJsonDocument(doc));
}
