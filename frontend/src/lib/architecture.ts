/**
 * The layout of the architecture drawing (the paper's Figure 1, Vaswani et al. 2017) for the
 * loaded model: its encoder stack (left) and decoder stack (right), each layer drawn bottom-up as
 * in the paper — attention block(s), Add & Norm, feed-forward, Add & Norm — on top of the
 * embedding and the positional encoding. Decoder-only models have no encoder and no
 * cross-attention; encoder-only ones no decoder. Pure geometry: views/architecture.ts draws it.
 *
 * Layers are named from 1 as in the paper ("Cross-attention, layer 2" is the second layer); the
 * URL and the heatmap title count from 0, so each layer's label also shows that index ("L1").
 */
import type { AttentionKind } from '../api/types';

export interface ArchShape {
  /** encoder layers (0 = no encoder) */
  encoder: number;
  /** decoder layers (0 = no decoder) */
  decoder: number;
  /** whether the decoder layers read the encoder (cross-attention) */
  cross: boolean;
  heads: number;
}

export type BlockClass = 'att' | 'norm' | 'ff' | 'pe' | 'emb' | 'out';

export interface ArchBlock {
  cls: BlockClass;
  label: string;
  x: number;
  y: number;
  w: number;
  h: number;
  /** attention blocks: the kind and 0-based layer they open */
  kind?: AttentionKind;
  layer?: number;
  /** attention blocks: the accessible name, e.g. "Cross-attention, layer 2" */
  name?: string;
}

export interface ArchLayout {
  width: number;
  height: number;
  blocks: ArchBlock[];
  /** the layer frames: one per layer and stack, with its label */
  frames: { x: number; y: number; w: number; h: number; label: string; side: 'left' | 'right' }[];
  /** arrows (x1, y1) → (x2, y2) */
  flows: [number, number, number, number][];
}

/** The block's visible label (short: it must fit the block); the accessible name is KIND_NAME's. */
const KIND_SHORT: Record<AttentionKind, string> = {
  encoder_self: 'Self-attention',
  decoder_self: 'Masked self-attention',
  cross: 'Cross-attention',
};

export const KIND_NAME: Record<AttentionKind, string> = {
  encoder_self: 'Encoder self-attention',
  decoder_self: 'Masked self-attention',
  cross: 'Cross-attention',
};

const COL_W = 180;
const GAP_X = 56;
const PAD = 22; // room for the rotated layer labels on the outer sides
const ATT_H = 24;
const NORM_H = 12;
const FF_H = 20;
const GAP = 4;
const FRAME_PAD = 6;

/** Accessible name of an attention block (1-based layer, as in the paper). */
export function blockName(kind: AttentionKind, layer: number): string {
  return `${KIND_NAME[kind]}, layer ${layer + 1}`;
}

export function archLayout(shape: ArchShape): ArchLayout {
  const blocks: ArchBlock[] = [];
  const frames: ArchLayout['frames'] = [];
  const flows: ArchLayout['flows'] = [];
  const encRow = [ATT_H, NORM_H, FF_H, NORM_H];
  const decRow = shape.cross ? [ATT_H, NORM_H, ATT_H, NORM_H, FF_H, NORM_H] : encRow;
  const rowH = (r: number[]) => r.reduce((a, b) => a + b + GAP, 0) - GAP + 2 * FRAME_PAD;
  const stackH = (n: number, r: number[]) => n * rowH(r) + (n - 1) * 8;
  const base = 24 + 6 + 18 + 10; // embedding, positional encoding (⊕) and their gaps
  const top = 34; // the output / encoder-output label above the stacks
  const height = PAD + top + Math.max(shape.encoder ? stackH(shape.encoder, encRow) : 0, shape.decoder ? stackH(shape.decoder, decRow) : 0) + 10 + base + PAD;
  const cols = (shape.encoder ? 1 : 0) + (shape.decoder ? 1 : 0);
  const width = PAD * 2 + cols * COL_W + (cols - 1) * GAP_X;

  const stack = (x: number, n: number, row: number[], kinds: (AttentionKind | null)[], side: 'Encoder' | 'Decoder') => {
    // bottom-up: embedding, positional encoding, then layer 0 at the bottom
    let y = height - PAD - 24;
    blocks.push({ cls: 'emb', label: side === 'Encoder' ? 'Input embedding' : shape.encoder ? 'Output embedding (shifted right)' : 'Token embedding', x, y, w: COL_W, h: 24 });
    const cx = x + COL_W / 2;
    y -= 6 + 18;
    blocks.push({ cls: 'pe', label: '⊕ Positional encoding', x: x + 10, y, w: COL_W - 20, h: 18 });
    flows.push([cx, y + 24 + 6, cx, y + 18]);
    y -= 10;
    const layerTops: number[] = [];
    for (let l = 0; l < n; l++) {
      const h = rowH(row);
      const fy = y - h;
      frames.push({ x: x - 2, y: fy, w: COL_W + 4, h, label: `layer ${l + 1} · L${l}`, side: side === 'Encoder' ? 'left' : 'right' });
      flows.push([cx, y, cx, y - FRAME_PAD]);
      let by = y - FRAME_PAD;
      row.forEach((bh, i) => {
        by -= bh;
        const kind = kinds[i] ?? null;
        if (kind) blocks.push({ cls: 'att', label: `${KIND_SHORT[kind]} ×${shape.heads}`, x: x + 8, y: by, w: COL_W - 16, h: bh, kind, layer: l, name: blockName(kind, l) });
        else blocks.push({ cls: bh === FF_H ? 'ff' : 'norm', label: bh === FF_H ? 'Feed-forward' : 'Add & Norm', x: x + 8, y: by, w: COL_W - 16, h: bh });
        by -= GAP;
      });
      layerTops.push(fy);
      y = fy - 8;
    }
    return { top: layerTops[layerTops.length - 1] ?? y, cx };
  };

  let x = PAD;
  let enc: { top: number; cx: number } | null = null;
  if (shape.encoder) {
    enc = stack(x, shape.encoder, encRow, ['encoder_self', null, null, null], 'Encoder');
    blocks.push({ cls: 'out', label: shape.decoder ? 'Encoder output (keys, values)' : 'Contextual embeddings', x, y: enc.top - 30, w: COL_W, h: 22 });
    flows.push([enc.cx, enc.top, enc.cx, enc.top - 8]);
    x += COL_W + GAP_X;
  }
  if (shape.decoder) {
    const kinds: (AttentionKind | null)[] = shape.cross ? ['decoder_self', null, 'cross', null, null, null] : ['decoder_self', null, null, null];
    const dec = stack(x, shape.decoder, decRow, kinds, 'Decoder');
    blocks.push({ cls: 'out', label: 'Linear + softmax → next token', x, y: dec.top - 30, w: COL_W, h: 22 });
    flows.push([dec.cx, dec.top, dec.cx, dec.top - 8]);
    if (enc && shape.cross) {
      // the encoder output feeds every cross-attention block (its keys and values)
      for (const b of blocks) if (b.kind === 'cross') flows.push([PAD + COL_W, enc.top - 19, b.x, b.y + b.h / 2]);
    }
  }
  return { width, height, blocks, frames, flows };
}
