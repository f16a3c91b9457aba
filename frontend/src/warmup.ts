/**
 * While the page waits for its first document, the real drawing views (model view, focus
 * heatmap, arcs) draw a small synthetic document offscreen, against a store of their own, so the
 * JavaScript engine has compiled their code by the time real data arrives (a cold first document
 * otherwise pays ~2× for interpreter time). No call site is copied: what runs is the views' own
 * code, on a document that takes the same paths as a real one (float16 decoding through the
 * table, mean and rollout thumbnails, more arcs than canvas strokes are used for).
 * `warmFonts` below does the same for the browser's font lookups.
 *
 * The views sit in a closed shadow root, inert and hidden, with a copy of the page's stylesheets
 * (laid out as on the page, so their sizes settle as there): no selector, test id, focus or screen
 * reader reaches them.
 */
import { bytesToBase64 } from './lib/base64';
import { decodeDocument, type AttnDoc } from './lib/doc';
import { floatToHalf } from './lib/float16';
import { layerMeans, rolloutFromMeans } from './lib/rollout';
import { createStore, type Store } from './lib/store';
import { URL_SPECS, initialState, type AppState } from './state';
import { parseParams } from './lib/url';
import { createArcView } from './views/arcView';
import { createFocusHeatmap } from './views/focusHeatmap';
import { createModelView } from './views/modelView';

/** The drawing views warmed, in the page's containers (index.html) and so laid out by its styles. */
const WARMED: readonly [(container: HTMLElement, store: Store<AppState>) => void, id: string][] = [
  [createModelView, 'model-view'],
  [createFocusHeatmap, 'focus-heatmap'],
  [createArcView, 'arc-view'],
];
/**
 * The documents drawn: a small one first, the size of a toy model's (arcs drawn as canvas
 * strokes), then 4 × 4 heads × 64² = 65 536 weights: decoded through the float16 table as large
 * documents are, its rollout cheap enough to draw at once, ~1 300 arcs (the rasteriser's path).
 */
const SHAPES = [
  { layers: 2, heads: 4, tokens: 24 },
  { layers: 4, heads: 4, tokens: 64 },
] as const;

/**
 * The raw (wire) document: heads that attend to the same, the mirrored and the previous token,
 * spread over their neighbours so each query keeps several keys at the arcs' mass.
 */
function syntheticDocument({ layers, heads, tokens: n }: (typeof SHAPES)[number]): unknown {
  const half = new Uint16Array(layers * heads * n * n);
  const spread = [0.4, 0.2, 0.08, 0.02];
  const row = new Float64Array(n);
  for (let l = 0; l < layers; l++)
    for (let h = 0; h < heads; h++)
      for (let q = 0; q < n; q++) {
        const peak = (h + l) % 3 === 0 ? q : (h + l) % 3 === 1 ? n - 1 - q : Math.max(0, q - 1);
        row.fill(1e-3);
        for (let d = -3; d <= 3; d++) if (peak + d >= 0 && peak + d < n) row[peak + d]! += spread[Math.abs(d)]!;
        let sum = 0;
        for (let k = 0; k < n; k++) sum += row[k]!;
        for (let k = 0; k < n; k++) half[((l * heads + h) * n + q) * n + k] = floatToHalf(row[k]! / sum);
      }
  const tokens = Array.from({ length: n }, (_, i) => String.fromCharCode(97 + (i % 26)));
  return {
    schema_version: 1,
    checkpoint: null,
    model: { task: null, epoch: null, n_layers: layers, n_heads: heads, d_model: 64 },
    input: tokens.join(''),
    output: null,
    expected: null,
    tokens: { src: tokens, tgt: [] },
    attentions: { encoder_self: { dtype: 'float16', shape: [layers, heads, n, n], data: bytesToBase64(new Uint8Array(half.buffer)) } },
    encoding: 'float16',
    warnings: [],
  };
}

const shown = (doc: AttnDoc): Partial<AppState> => ({ doc, rawDoc: doc, docSource: 'api', status: 'ready', layer: 0, head: 0, heads: null, hover: null });

let aggregatesWarm = false;

/**
 * The model view's mean and rollout pseudo-heads, run at once when a skeleton is laid out
 * (perf.ts): the first document is then close, and the background steps above rarely get a turn
 * before it (the skeleton's frame and the response come first); computed within that document's
 * first render, they are its costliest cold code.
 */
export function warmAggregates(): void {
  if (aggregatesWarm) return; // once: after the first document the real code is warm
  aggregatesWarm = true;
  const n = 12;
  const data = new Float32Array(3 * n * n).fill(1 / n); // 3 layers of one head
  for (let i = 0; i < 8; i++) rolloutFromMeans(layerMeans(data, 3, 1, n, n), 3, n);
}

type PostTask = (cb: () => void, o: { priority: 'background' }) => Promise<void>;

/**
 * Run the warm-up one step a task, at background priority (`scheduler.postTask`), from the end
 * of the boot on; once `done()` turns true (a document is shown: the real code is running) the
 * steps left are skipped and the offscreen views removed. Every other task goes first: the
 * skeleton, and the attention response whenever it arrives, so a document waits for one step at
 * most. (Idle callbacks often came too late: the page is rarely idle before the first document.
 * Plain tasks went before the response and delayed it by the whole warm-up.)
 */
export function scheduleWarmUp(done: () => boolean = () => false): void {
  const host = document.createElement('div');
  host.setAttribute('aria-hidden', 'true');
  host.dataset.testid = 'warm-up';
  host.inert = true;
  host.style.cssText = 'position:fixed;left:-10000px;top:0;visibility:hidden;pointer-events:none;contain:strict;width:1400px;height:640px';
  const root = host.attachShadow({ mode: 'closed' });
  const views = document.createElement('main');
  views.className = 'views has-doc';
  views.style.height = '100%';
  const stores: Store<AppState>[] = [];
  let small: AttnDoc | null = null;
  let large: AttnDoc | null = null;
  // one short task a step: a document decoded, one view mounted (mounting draws it), one view redrawn
  const steps: (() => void)[] = [
    () => {
      root.append(...Array.from(document.querySelectorAll('link[rel=stylesheet], style'), (n) => n.cloneNode(true)), views);
      document.body.append(host);
      small = decodeDocument(syntheticDocument(SHAPES[0]));
    },
    ...WARMED.map(([create, id]) => () => {
      const box = document.createElement('section');
      box.id = id;
      views.append(box);
      const store = createStore<AppState>({ ...initialState(parseParams(URL_SPECS, '')), ...shown(small!) });
      stores.push(store);
      create(box, store);
    }),
    () => {
      large = decodeDocument(syntheticDocument(SHAPES[1]));
    },
    ...WARMED.map((_, i) => () => stores[i]!.set(shown(large!))),
    // another layer and head, some heads on the arcs, a hover: the branches a user takes next
    ...WARMED.map((_, i) => () => stores[i]!.set({ layer: 1, head: 2, heads: [0, 3], hover: { type: 'token', side: 'src', index: 5 } })),
  ];
  const sched = (globalThis as { scheduler?: { postTask?: PostTask } }).scheduler;
  const post = (cb: () => void) => (sched?.postTask ? void sched.postTask(cb, { priority: 'background' }) : void setTimeout(cb, 0));
  const next = () => {
    const step = steps.shift();
    if (!step || done()) {
      host.remove();
      return;
    }
    step();
    post(next);
  };
  post(next);
}

/**
 * Text sizes and weights the first document brings to the page (token labels, output panel, panel
 * chrome) that the empty page does not use. Chromium resolves the font of each (family, integer px
 * size, weight) once, through a synchronous call to the browser process (~1 ms each, a dozen on the
 * first document): laid out here, offscreen, at boot, they are resolved before the data arrives.
 * Label sizes follow the data (cell / row height, 8–13 px): every integer size in that range.
 */
const FONT_STRIKES: readonly [mono: boolean, px: number, weight: number][] = [
  ...[8, 9, 10, 11, 12, 13].map((px): [boolean, number, number] => [true, px, 400]),
  [true, 13, 600],
  [true, 12.5, 400],
  [false, 11.6667, 400], // <small> in 14 px text (the kind tabs' sizes)
  ...[11, 12].flatMap((px): [boolean, number, number][] => [[false, px, 400], [false, px, 600], [false, px, 700]]),
];
const WARM_TEXT = 'aA0␣↵⇥∅→·×✓✗⚠…<eos>';

export function warmFonts(container: HTMLElement): void {
  for (const [mono, px, weight] of FONT_STRIKES) {
    const span = document.createElement('span');
    if (mono) span.className = 'm';
    span.style.cssText = `font-size:${px}px;font-weight:${weight}`;
    span.textContent = WARM_TEXT;
    container.append(span);
  }
}
