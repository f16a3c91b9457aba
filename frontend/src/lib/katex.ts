/**
 * KaTeX, loaded the first time the math view opens: ~270 kB of script and its fonts, which a page
 * that never opens the view should not have to parse. The served app loads it as a chunk of its
 * own; the single-file build swaps this module for lib/katex.embed.ts (vite.embed.config.ts).
 */
import type Katex from 'katex';

export type KatexApi = typeof Katex;

let api: Promise<KatexApi> | null = null;

export function loadKatex(): Promise<KatexApi> {
  api ??= Promise.all([import('katex'), import('katex/dist/katex.min.css')]).then(([m]) => m.default);
  api.catch(() => (api = null)); // a failed chunk request may be tried again
  return api;
}
