/**
 * While the page waits for its first document, run the hot drawing code once on a small synthetic
 * input so the JavaScript engine has compiled it by the time real data arrives (a cold first
 * document otherwise pays ~2× for interpreter time). Pure computation, no DOM, ~10 ms, idle time only.
 */
import { headArcs } from './lib/arcs';
import { matrixToRgba } from './lib/color';
import { decodeFloat16 } from './lib/float16';
import { ArcRaster } from './lib/raster';

export function warmUp(): void {
  const n = 24;
  const m = new Float32Array(n * n);
  for (let q = 0; q < n; q++) for (let k = 0; k < n; k++) m[q * n + k] = k === q ? 0.6 : 0.4 / (n - 1);
  const px = new Uint8ClampedArray(n * n * 4);
  for (let i = 0; i < 30; i++) matrixToRgba(m, n, n, i % 2 === 0, px);
  const arcs = headArcs(m, n, n, 0, 0.9, false, 0.01, 4);
  const r = new ArcRaster(200, 200);
  for (let i = 0; i < 12; i++) {
    r.clear();
    for (const a of arcs) r.curve(10, a.q * 8, 190, a.k * 8 + (i % 3), [0, 114, 178], a.w, 1.5);
    r.toRgba();
  }
  decodeFloat16(new Uint8Array(4096));
}

export function scheduleWarmUp(): void {
  const idle = (window as Window & { requestIdleCallback?: (cb: () => void, o?: { timeout: number }) => number }).requestIdleCallback;
  if (idle) idle(warmUp, { timeout: 500 });
  else setTimeout(warmUp, 50);
}
