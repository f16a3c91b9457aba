/**
 * Head ablation in the URL: `ablate=cross:0.1,encoder_self:1.2` (kind:layer.head, sorted, unique)
 * ⇄ a list of {kind, layer, head}. Pure, so the URL spec and the views share one definition.
 */
import type { AblateHead, AttentionKind } from '../api/types';
import { ATTENTION_KINDS } from '../api/types';
import { KIND_SHORT } from './doc';
import type { ParamSpec } from './url';

export type Ablation = readonly AblateHead[];

const KIND_ORDER = new Map(ATTENTION_KINDS.map((k, i) => [k, i]));

export function headKey(h: AblateHead): string {
  return `${h.kind}:${h.layer}.${h.head}`;
}

/** Sorted by kind (encoder, decoder, cross), layer, head; duplicates dropped. */
export function canonical(list: Ablation): AblateHead[] {
  const seen = new Set<string>();
  const out: AblateHead[] = [];
  for (const h of list) {
    const k = headKey(h);
    if (seen.has(k)) continue;
    seen.add(k);
    out.push({ kind: h.kind, layer: h.layer, head: h.head });
  }
  return out.sort((a, b) => KIND_ORDER.get(a.kind)! - KIND_ORDER.get(b.kind)! || a.layer - b.layer || a.head - b.head);
}

/** The URL / cache form: "" when nothing is switched off. */
export function ablationKey(list: Ablation): string {
  return canonical(list).map(headKey).join(',');
}

export function parseAblation(raw: string): AblateHead[] | undefined {
  if (raw.trim() === '') return [];
  const out: AblateHead[] = [];
  for (const part of raw.split(',')) {
    const m = /^(encoder_self|decoder_self|cross):(\d{1,4})\.(\d{1,4})$/.exec(part.trim());
    if (!m) return undefined;
    out.push({ kind: m[1] as AttentionKind, layer: +m[2]!, head: +m[3]! });
  }
  return canonical(out);
}

export function isAblated(list: Ablation, kind: AttentionKind, layer: number, head: number): boolean {
  return list.some((h) => h.kind === kind && h.layer === layer && h.head === head);
}

/** Switch one head off, or back on. */
export function toggleHead(list: Ablation, h: AblateHead): AblateHead[] {
  return isAblated(list, h.kind, h.layer, h.head)
    ? list.filter((x) => headKey(x) !== headKey(h))
    : canonical([...list, h]);
}

/** Drop heads the model does not have (a URL may name more). */
export function clampAblation(list: Ablation, layers: number, heads: number): AblateHead[] {
  return list.filter((h) => h.layer < layers && h.head < heads);
}


/** "cross 0.1" (layer.head) */
export function headLabel(h: AblateHead): string {
  // the same L·H form as the buttons and the focus title
  return `${KIND_SHORT[h.kind]} L${h.layer}·H${h.head}`;
}

export function ablationParam(): ParamSpec<AblateHead[]> {
  return {
    default: [],
    parse: parseAblation,
    format: (v) => ablationKey(v),
    equals: (a, b) => ablationKey(a) === ablationKey(b),
  };
}
