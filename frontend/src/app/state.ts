/** App state: the URL-mirrored part (UrlState, one ParamSpec each) plus session-only fields. */
import type { AblateHead, AttentionKind, CheckpointsResponse, InvalidCharacter, Weighting } from '../api/types';
import { ATTENTION_KINDS, WEIGHTINGS } from '../api/types';
import { availableKinds, type AttnDoc } from '../lib/doc';
import type { Hover } from '../lib/hover';
import { formatParams, param, parseParams, type Specs } from '../lib/url';
import { ablationParam } from '../lib/ablate';
import { AGGS, headRefParam, type Agg, type HeadRef } from '../lib/headRef';
import { hideSpecialTokens } from '../lib/special';
import { dropFirstToken } from '../lib/firstToken';
import { groupDoc, spanParam, type Grouping, type Span } from '../lib/spans';
import { docSamplingKey, MAX_SEED, MAX_TEMPERATURE } from '../lib/sampling';

/** Views that can take the focus slot (downloads act on it); `stats` and `diff` also open their
 *  panel (insight.ts), so `view=stats` / `view=diff` links show what they name. */
export const VIEWS = ['heatmap', 'arcs', 'stats', 'diff'] as const;
export type ViewName = (typeof VIEWS)[number];

export interface UrlState {
  /** checkpoint name, e.g. "copy/ckpt_epoch3.pt" */
  ckpt: string;
  text: string;
  kind: AttentionKind;
  layer: number;
  head: number;
  /** the focused view */
  view: ViewName;
  /** heads drawn in the arc view; null = all */
  heads: number[] | null;
  /** attention mass kept per query in the arc view */
  mass: number;
  /** presenter mode (reserved: large fonts, input + focus views only) */
  present: boolean;
  // ---- insight views: attention over training, the math, decoding steps, ablation ----
  /** the open insight panel */
  insight: InsightName;
  /** query row stepped through in the math view */
  mq: number;
  /** decoding step shown in the decoding view */
  step: number;
  /** heads switched off, e.g. `cross:0.1,encoder_self:1.2` */
  ablate: AblateHead[];
  /** hide special tokens ([CLS], [SEP], <bos>, <eos>) and renormalise the rows */
  hidespecial: boolean;
  /** drop key 0 (the first token, the usual sink) and renormalise the rows (lib/firstToken.ts) */
  nofirst: boolean;
  /** the weights shown: the softmax α, or α·‖v W^O‖ renormalised (asked of the server: data.ts) */
  weighting: Weighting;
  // ---- sampling (generating models; lib/sampling.ts, views/samplingControls.ts) ----
  /** temperature; 0 = greedy decoding */
  temp: number;
  /** top-k; 0 = all tokens */
  topk: number;
  /** top-p (nucleus); 1 = all tokens */
  topp: number;
  /** the draw's seed; -1 = none yet (picked when sampling starts) */
  seed: number;
  // ---- insight views: head statistics, aggregates, diff (see src/insight.ts) ----
  /** focused matrix: the real head, or the mean / rollout of `layer` (URL agg=mean|rollout) */
  agg: Agg;
  /** right-hand panel: token arcs or the head-statistics table */
  aside: 'arcs' | 'stats';
  /** stats table sort: a StatKey, "layer", "-" prefix = descending; "" = layer, head order */
  sort: string;
  /** k of the offset-k line score */
  offset: number;
  /** model view: statistic that colours the thumbnail frames ("" = none) */
  mvstat: string;
  /** model view: order the heads of each layer by `mvstat` */
  mvorder: boolean;
  /** model view enlarged to the whole views area */
  mvzoom: boolean;
  /** outline the task's expected alignment in the focus heatmap */
  align: boolean;
  /** diff view: the B side ("L.H", "L.mean", "L.rollout"); null = no diff */
  diff: HeadRef | null;
  /** diff view: B from another checkpoint (same text); "" = the same document */
  diffckpt: string;
  // ---- lessons (views/lessonPanel.ts; lib/lessonUrl.ts: the URL calls lstep `step`) ----
  /** the open lesson's id; "" = none */
  lesson: string;
  /** its step, 1-based as the panel counts them; 0 = none */
  lstep: number;
  /** a long text's focus heatmap (views/tiledHeatmap.ts): the query rows shown; null = all */
  vq: [number, number] | null;
  /** … and the key columns shown; null = all */
  vk: [number, number] | null;
  // ---- spans, words and a second text (lib/spans.ts, views/spanBar.ts, views/compareBar.ts) ----
  /** tokens read as one: keys summed, queries averaged (positions of the document as received) */
  span: Span | null;
  /** group sub-word pieces into words (WordPiece `##`, BPE `Ġ`, SentencePiece `▁`) */
  words: boolean;
  /** a second text on the same model, compared with the first in the diff view; "" = none */
  text2: string;
}

export const INSIGHTS = ['none', 'timeline', 'math', 'steps', 'train', 'arch'] as const; // 'train': views/trainPanel.ts (issue 16); 'arch': views/architecture.ts
export type InsightName = (typeof INSIGHTS)[number];

export const URL_SPECS: Specs<UrlState> = {
  ckpt: param.string(''),
  text: param.string(''),
  kind: param.oneOf(ATTENTION_KINDS, 'encoder_self'),
  layer: param.int(0),
  head: param.int(0),
  view: param.oneOf(VIEWS, 'heatmap'),
  heads: param.intList(),
  mass: param.float(0.9, 0.05, 1),
  present: param.bool(false),
  insight: param.oneOf(INSIGHTS, 'none'),
  mq: param.int(0),
  step: param.int(0),
  ablate: ablationParam(),
  hidespecial: param.bool(false),
  nofirst: param.bool(false),
  weighting: param.oneOf(WEIGHTINGS, 'attention'),
  temp: param.float(0, 0, MAX_TEMPERATURE),
  topk: param.int(0, 0, 1 << 20),
  topp: param.float(1, 0.0001, 1),
  seed: param.int(-1, -1, MAX_SEED),
  // ---- insight views ----
  agg: param.oneOf(AGGS, 'none'),
  aside: param.oneOf(['arcs', 'stats'] as const, 'arcs'),
  sort: param.string(''),
  offset: param.int(-1, -64, 64),
  mvstat: param.string(''),
  mvorder: param.bool(false),
  mvzoom: param.bool(false),
  align: param.bool(false),
  diff: headRefParam(),
  diffckpt: param.string(''),
  lesson: param.string(''),
  lstep: param.int(0, 0, 999),
  vq: param.range(),
  vk: param.range(),
  span: spanParam(),
  words: param.bool(false),
  text2: param.string(''),
};

/**
 * The view an exported JSON document remembers (its optional `view` field, a query string like
 * the URL's): opening the file shows it as it was exported, not the default view.
 */
const DOC_VIEW_KEYS = ['kind', 'layer', 'head', 'agg', 'view', 'aside', 'hidespecial', 'nofirst', 'heads', 'mass', 'mvzoom', 'words', 'span'] as const;
type DocViewKey = (typeof DOC_VIEW_KEYS)[number];
const DOC_VIEW_SPECS = Object.fromEntries(DOC_VIEW_KEYS.map((k) => [k, URL_SPECS[k]])) as Specs<Pick<UrlState, DocViewKey>>;

export function docViewString(s: UrlState): string {
  return formatParams(DOC_VIEW_SPECS, s).replace(/^\?/, '');
}

/** The view fields a document's `view` string names (only those it names). */
export function docViewPatch(view: unknown): Partial<UrlState> {
  if (typeof view !== 'string' || !view) return {};
  const named = new URLSearchParams(view);
  const all = parseParams(DOC_VIEW_SPECS, `?${view}`);
  return Object.fromEntries(DOC_VIEW_KEYS.filter((k) => named.has(k)).map((k) => [k, all[k]]));
}

export interface UiError {
  message: string;
  code: string;
  invalidCharacters: InvalidCharacter[];
  /** the text the error refers to, so highlights don't drift while the user edits */
  text?: string;
}

export type Status = 'idle' | 'loading' | 'ready' | 'error';

export interface AppState extends UrlState {
  /**
   * the document shown: `rawDoc`, or `rawDoc` without special tokens when `hidespecial` is on;
   * while the first one is computed, its skeleton (perf/index.ts; `rawDoc` is then null)
   */
  doc: AttnDoc | null;
  /** the document as received (API or file) */
  rawDoc: AttnDoc | null;
  docSource: 'api' | 'file' | null;
  fileName: string | null;
  hover: Hover;
  status: Status;
  error: UiError | null;
  checkpoints: CheckpointsResponse | null;
  checkpointsStatus: 'loading' | 'ready' | 'error';
  checkpointsError: string | null;
  /** ablation key (`ablate` formatted) the shown document was computed with; '' = none */
  docAblate: string;
  /** sampling key (lib/sampling.ts docSamplingKey) of the shown document; '' = greedy */
  docSampling: string;
}

export function initialState(url: UrlState): AppState {
  return {
    ...url,
    doc: null,
    rawDoc: null,
    docSource: null,
    fileName: null,
    hover: null,
    status: 'idle',
    error: null,
    checkpoints: null,
    checkpointsStatus: 'loading',
    checkpointsError: null,
    docAblate: '',
    docSampling: '',
  };
}

/** Clamp kind / layer / head / heads to what the document has (a URL may ask for more). */
export function normalizeForDoc(s: Pick<UrlState, 'kind' | 'layer' | 'head' | 'heads'>, doc: AttnDoc): Partial<UrlState> {
  const kinds = availableKinds(doc);
  const kind = kinds.includes(s.kind) ? s.kind : kinds[0]!;
  const t = doc.kinds[kind]!;
  const layer = Math.min(Math.max(0, s.layer), t.layers - 1);
  const head = Math.min(Math.max(0, s.head), t.heads - 1);
  const heads = s.heads === null ? null : s.heads.filter((h) => h < t.heads);
  const out: Partial<UrlState> = {};
  if (kind !== s.kind) out.kind = kind;
  if (layer !== s.layer) out.layer = layer;
  if (head !== s.head) out.head = head;
  if (heads !== null && heads.length !== s.heads!.length) out.heads = heads.length ? heads : null;
  return out;
}

/** The document the views show: `raw` without key 0 when `nofirst` is on (lib/firstToken.ts), with
 *  its words / span merged (lib/spans.ts), then without special tokens when `hidespecial` is on. */
export function shownDoc(raw: AttnDoc, hide: boolean, grouping: Grouping = { words: false, span: null }, nofirst = false): AttnDoc {
  const grouped = groupDoc(nofirst ? dropFirstToken(raw) : raw, grouping);
  // an overview (a long text) has no weights to renormalise: it is shown whole
  return hide && !raw.overview ? hideSpecialTokens(grouped) : grouped;
}

function sameSpanTokens(a: AttnDoc, b: AttnDoc, span: Span): boolean {
  if (a.input !== b.input) return false;
  const ta = a.tokens[span.side];
  const tb = b.tokens[span.side];
  for (let i = 0; i < span.to; i++) if (ta[i] !== tb[i]) return false;
  return true;
}

/** The store patch that shows document `raw`; every path that loads a document goes through it
 *  (API answer, opened file, a timeline epoch), so `doc` and `rawDoc` never disagree. */
export function showDocPatch(
  s: AppState,
  raw: AttnDoc,
  source: 'api' | 'file',
  fileName: string | null = null,
  docAblate = '',
): Partial<AppState> {
  // a span names positions of the previous document: a new text, or another tokenizer (a new
  // checkpoint on the same text), drops it unless the tokens up to its end are the same (words stay on)
  const span = s.span && s.rawDoc && !sameSpanTokens(s.rawDoc, raw, s.span) ? null : s.span;
  const doc = shownDoc(raw, s.hidespecial, { words: s.words, span }, s.nofirst);
  return {
    span,
    doc,
    rawDoc: raw,
    docSource: source,
    fileName,
    status: 'ready',
    error: null,
    hover: null,
    docAblate,
    docSampling: docSamplingKey(raw.sampling),
    ...normalizeForDoc(s, doc),
  };
}
