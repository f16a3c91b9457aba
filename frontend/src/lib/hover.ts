/**
 * Linked hover. One hover target in the store; every view derives what to highlight from it.
 * A token is named by its side (src = encoder tokens, tgt = decoder tokens) and index, so the
 * same token lights up whether it is a query or a key of the current kind.
 */
import type { AttentionKind } from '../api/types';
import { keySide, querySide, type Side } from './doc';

export type Hover =
  | { type: 'token'; side: Side; index: number; /** which column it was hovered in, if any */ role?: 'q' | 'k' }
  | { type: 'cell'; q: number; k: number }
  | null;

export interface Highlight {
  /** query row to highlight, or null */
  q: number | null;
  /** key column to highlight, or null */
  k: number | null;
  /** true when one cell (q, k) is meant, not a whole row / column */
  cell: boolean;
}

export function highlightFor(hover: Hover, kind: AttentionKind): Highlight {
  if (!hover) return { q: null, k: null, cell: false };
  if (hover.type === 'cell') return { q: hover.q, k: hover.k, cell: true };
  const q = querySide(kind) === hover.side && hover.role !== 'k' ? hover.index : null;
  const k = keySide(kind) === hover.side && hover.role !== 'q' ? hover.index : null;
  return { q, k, cell: false };
}

/** Is token (side, i) lit by the hover, under `kind`? */
export function tokenLit(hover: Hover, kind: AttentionKind, side: Side, i: number): boolean {
  if (!hover) return false;
  if (hover.type === 'token') return hover.side === side && hover.index === i;
  return (querySide(kind) === side && hover.q === i) || (keySide(kind) === side && hover.k === i);
}

export function sameHover(a: Hover, b: Hover): boolean {
  if (a === b) return true;
  if (!a || !b || a.type !== b.type) return false;
  if (a.type === 'cell' && b.type === 'cell') return a.q === b.q && a.k === b.k;
  if (a.type === 'token' && b.type === 'token') return a.side === b.side && a.index === b.index && a.role === b.role;
  return false;
}
