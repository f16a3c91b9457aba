/**
 * The architecture as the map (`?insight=arch`, the Architecture tab, beside the focused head):
 * the paper's Figure 1 drawn for the loaded model (lib/architecture.ts: its stacks, layer and head
 * counts, decoder-only and encoder-only shapes). Each attention block is a button: it opens that
 * kind and layer; the block of the focused head is lit.
 */
import '../lessons.css';
import { type ArchBlock, type ArchLayout, archLayout, type ArchShape } from '../lib/architecture';
import type { AttnDoc } from '../lib/doc';
import type { Store } from '../lib/store';
import type { AppState } from '../app/state';
import type { ViewSpec } from './spec';

const SVG = 'http://www.w3.org/2000/svg';

function shapeOf(doc: AttnDoc): ArchShape {
  const k = doc.kinds;
  const heads = Math.max(k.encoder_self?.heads ?? 0, k.decoder_self?.heads ?? 0, k.cross?.heads ?? 0);
  return { encoder: k.encoder_self?.layers ?? 0, decoder: k.decoder_self?.layers ?? k.cross?.layers ?? 0, cross: !!k.cross, heads };
}

function describe(sh: ArchShape): string {
  const parts = [];
  if (sh.encoder) parts.push(`${sh.encoder}-layer encoder`);
  if (sh.decoder) parts.push(`${sh.decoder}-layer decoder${sh.cross ? '' : ' (no cross-attention)'}`);
  return `Model architecture: ${parts.join(', ')}, ${sh.heads} heads per attention block`;
}

/** A layer frame and its label, outside the stack: left of the encoder, right of the decoder. */
function frameEls(f: ArchLayout['frames'][number]): SVGElement[] {
  const r = document.createElementNS(SVG, 'rect');
  r.setAttribute('class', 'stack');
  for (const [a, v] of [['x', f.x], ['y', f.y], ['width', f.w], ['height', f.h], ['rx', 6]] as const) r.setAttribute(a, String(v));
  const t = document.createElementNS(SVG, 'text');
  t.setAttribute('class', 'stack-label');
  // outside the stack: left of the encoder, right of the decoder (the gap carries the arrows)
  const lx = f.side === 'left' ? f.x - 4 : f.x + f.w + 4;
  const ly = f.y + f.h / 2;
  t.setAttribute('x', String(lx));
  t.setAttribute('y', String(ly));
  t.setAttribute('text-anchor', 'middle');
  t.setAttribute('transform', `rotate(${f.side === 'left' ? -90 : 90} ${lx} ${ly})`);
  t.textContent = f.label;
  return [r, t];
}

/** One block; an attention block is a button that opens its kind and layer. */
function blockEl(b: ArchBlock, store: Store<AppState>): SVGGElement {
  const g = document.createElementNS(SVG, 'g');
  const r = document.createElementNS(SVG, 'rect');
  r.setAttribute('class', `blk blk-${b.cls}`);
  for (const [a, v] of [['x', b.x], ['y', b.y], ['width', b.w], ['height', b.h], ['rx', 4]] as const) r.setAttribute(a, String(v));
  const t = document.createElementNS(SVG, 'text');
  t.setAttribute('x', String(b.x + b.w / 2));
  t.setAttribute('y', String(b.y + b.h / 2 + 4));
  t.setAttribute('text-anchor', 'middle');
  if (b.h < 16) t.setAttribute('font-size', '9');
  t.textContent = b.label;
  g.append(r, t);
  if (b.kind !== undefined && b.layer !== undefined) {
    const { kind, layer } = b;
    g.setAttribute('class', 'att');
    g.setAttribute('role', 'button');
    g.setAttribute('tabindex', '0');
    g.setAttribute('aria-label', b.name!);
    g.dataset.kind = kind;
    g.dataset.layer = String(layer);
    g.dataset.testid = `arch-${kind}-${layer}`;
    const open = () => store.set({ kind, layer, agg: 'none', diff: null, hover: null });
    g.addEventListener('click', open);
    g.addEventListener('keydown', (e) => {
      if (e.key !== 'Enter' && e.key !== ' ') return;
      e.preventDefault();
      open();
    });
  }
  return g;
}

/** The figure for one shape: frames, then arrows, then blocks (the blocks paint over the arrows). */
function drawFigure(lay: ArchLayout, store: Store<AppState>): SVGSVGElement {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', `0 0 ${lay.width} ${lay.height}`);
  svg.setAttribute('aria-hidden', 'false');
  svg.innerHTML = '<defs><marker id="arch-arrow" viewBox="0 0 8 8" refX="7" refY="4" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#6b7280"/></marker></defs>';
  for (const f of lay.frames) svg.append(...frameEls(f));
  for (const [x1, y1, x2, y2] of lay.flows) {
    const l = document.createElementNS(SVG, 'path');
    l.setAttribute('class', 'flow');
    l.setAttribute('d', `M${x1},${y1} L${x2},${y2}`);
    svg.append(l);
  }
  for (const b of lay.blocks) svg.append(blockEl(b, store));
  return svg;
}

export function createArchitecture(container: HTMLElement, store: Store<AppState>) {
  const root = document.createElement('div');
  root.className = 'arch';
  const note = document.createElement('p');
  note.className = 'arch-note';
  note.textContent = 'Click an attention block to open its kind and layer. Layers are counted from 1 as in the paper; “L0” is the heatmap’s layer 0.';
  const fig = document.createElement('div');
  fig.dataset.testid = 'architecture';
  fig.setAttribute('role', 'group');
  root.append(note, fig);
  container.append(root);
  let drawnFor = '';

  function draw(s: AppState) {
    const doc = s.doc;
    if (!doc) {
      fig.replaceChildren();
      fig.setAttribute('aria-label', 'Model architecture (no model loaded)');
      drawnFor = '';
      return;
    }
    const sh = shapeOf(doc);
    const key = JSON.stringify(sh);
    if (key !== drawnFor) {
      drawnFor = key;
      fig.setAttribute('aria-label', describe(sh));
      fig.replaceChildren(drawFigure(archLayout(sh), store));
    }
    for (const g of fig.querySelectorAll<SVGGElement>('g.att')) {
      const on = g.dataset.kind === s.kind && Number(g.dataset.layer) === s.layer;
      g.classList.toggle('is-focused', on);
      g.setAttribute('aria-pressed', String(on));
    }
  }
  store.subscribe((s, p) => {
    if (s.doc !== p.doc || s.kind !== p.kind || s.layer !== p.layer) draw(s);
  });
  draw(store.get());
}

// the paper's Figure 1 for the loaded model: a map of its attention blocks, beside the focused head
export const spec: ViewSpec = {
  id: 'arch',
  place: { tab: 'arch', label: 'Architecture', title: 'The model drawn as in the paper: click an attention block to open it', beside: true },
  create: createArchitecture,
};
