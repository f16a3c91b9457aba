/**
 * While the page waits for its first document, run the hot drawing code once on a small synthetic
 * input so the JavaScript engine has compiled it by the time real data arrives (a cold first
 * document otherwise runs in the interpreter). Pure computation, no DOM (drawing through the real
 * views offscreen measured worse, bench/NOTES.md): three short background steps, run while the
 * page waits for the model's answer.
 * `warmFonts` below does the same for the browser's font lookups.
 *
 * The calls must look like the real ones, or the optimised code is thrown away at the first real
 * call ("deoptimised") and the first document runs interpreted after all: the arcs go through the
 * arc view's own `layerArcs` + `rasterArcs` with fractional coordinates (real geometry is never
 * whole pixels), several heads and line widths, enough rounds for every branch to gather feedback.
 */
import { layerArcs } from '../lib/arcs';
import { matrixToRgba } from '../lib/color';
import type { AttnTensor } from '../lib/doc';
import { decodeFloat16 } from '../lib/float16';
import { ARC_MAX_ROW, ARC_MIN_ROW, ARC_TOP, arcGeometry } from '../lib/geometry';
import { ArcRaster, rasterArcs } from '../lib/raster';
import { layerMeans, rolloutFromMeans } from '../lib/rollout';
import { memorySource } from '../lib/source';

/** Synthetic attention of `heads` heads over n tokens: diagonal, anti-diagonal, previous token (+ spread). */
function syntheticHeads(heads: number, n: number): Float32Array {
  const data = new Float32Array(heads * n * n);
  for (let h = 0; h < heads; h++)
    for (let q = 0; q < n; q++)
      for (let k = 0; k < n; k++) {
        const peak = h % 3 === 0 ? q : h % 3 === 1 ? n - 1 - q : Math.max(0, q - 1);
        data[(h * n + q) * n + k] = k === peak ? 0.55 : Math.abs(k - peak) === 1 ? 0.15 : 0.15 / (n - 3);
      }
  return data;
}

/** Colour mapping (heatmap, thumbnails) and the float16 decoder's table. */
function warmCells(): void {
  const n = 24;
  const m = syntheticHeads(1, n);
  const px = new Uint8ClampedArray(n * n * 4);
  for (let i = 0; i < 6; i++) matrixToRgba(m, n, n, i % 2 === 0, px);
  decodeFloat16(new Uint8Array(4096), false); // builds the table large documents decode through
}

/** Arc pruning and the arc rasteriser, at the arc view's call sites (narrow canvases: cheap). */
function warmArcs(): void {
  const n = 24;
  const heads = 3;
  const t: AttnTensor = { kind: 'encoder_self', layers: 1, heads, nq: n, nk: n, causal: false, data: syntheticHeads(heads, n) };
  // a source, as the arc view passes: the JIT sees the calls it will see there
  const src = memorySource(t);
  for (let i = 0; i < 6; i++) {
    const { arcs } = layerArcs(src, 0, i % 4 === 3 ? [i % heads] : [0, 1, 2], i % 2 ? 0.9 : 0.75);
    arcs.sort((a, b) => a.w - b.w);
    const g = arcGeometry(n, n, 64.5 + (i % 3), 100 + (i % 5) * 0.5, 12.5, ARC_TOP, ARC_MIN_ROW, ARC_MAX_ROW);
    const r = new ArcRaster(65 + (i % 3), g.height);
    rasterArcs(r, arcs, g, g.xq + 6, g.xk - 6, i % 4 === 1 ? 2 : 1, 0.75 + (i % 3) * 0.8, i % 2 ? 1.15 : 1, i % 2 ? 1.8 : 2.5);
    r.toRgba();
    r.clear();
  }
}

let aggregatesWarm = false;

/**
 * The model view's mean and rollout pseudo-heads (computed within the first render when small):
 * also run at once when a skeleton is laid out (perf/index.ts), as the first document is then close.
 */
export function warmAggregates(): void {
  if (aggregatesWarm) return; // the skeleton ran it already: the scheduled step has nothing to add
  aggregatesWarm = true;
  const n = 12;
  const data = syntheticHeads(3, n);
  for (let i = 0; i < 8; i++) rolloutFromMeans(layerMeans(data, 3, 1, n, n), 3, n);
}

type PostTask = (cb: () => void, o: { priority: 'background' }) => Promise<void>;

/**
 * Run the steps one task each, at background priority (`scheduler.postTask`), from the end of the boot on;
 * steps left when `done()` turns true (a document is shown: the real code is running) are skipped.
 * Every other task goes first: the checkpoint list, the skeleton, and the attention response
 * whenever it arrives, so a document waits for one step at most (why not idle callbacks or plain
 * tasks: bench/NOTES.md).
 */
export function scheduleWarmUp(done: () => boolean = () => false): void {
  const steps = [warmAggregates, warmArcs, warmCells];
  const sched = (globalThis as { scheduler?: { postTask?: PostTask } }).scheduler;
  const post = (cb: () => void) => (sched?.postTask ? void sched.postTask(cb, { priority: 'background' }) : void setTimeout(cb, 0));
  const next = () => {
    const step = steps.shift();
    if (!step || done()) return;
    step();
    post(next);
  };
  post(next);
}

/**
 * Text sizes and weights the first document brings to the page (token labels, output panel, panel
 * chrome) that the empty page does not use. Chromium resolves the font of each (family, integer px
 * size, weight) once, through a synchronous call to the browser process, a dozen on the first
 * document: laid out here, offscreen, at boot, they are resolved before the data arrives.
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
