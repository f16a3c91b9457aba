/**
 * KaTeX on a single-file page: its script (katex.min.js as an ES module) and stylesheet (fonts inlined as woff2
 * data) are inert text blocks in the page, written by vite.embed.config.ts, so a page that never
 * opens the math view parses neither; the first time it opens, the stylesheet is added and the
 * script imported from a blob: URL. Same interface as lib/katex.ts, which it replaces in that build.
 */
import type Katex from 'katex';

export type KatexApi = typeof Katex;

export const KATEX_JS_ID = 'attnviz-katex-js';
export const KATEX_CSS_ID = 'attnviz-katex-css';

let api: Promise<KatexApi> | null = null;

async function load(): Promise<KatexApi> {
  const js = document.getElementById(KATEX_JS_ID)?.textContent;
  const css = document.getElementById(KATEX_CSS_ID)?.textContent;
  if (!js || !css) throw new Error('this page was saved without KaTeX, which typesets the math view');
  const style = document.createElement('style');
  style.textContent = css;
  document.head.append(style);
  const url = URL.createObjectURL(new Blob([js], { type: 'text/javascript' }));
  try {
    const m = (await import(/* @vite-ignore */ url)) as { default: KatexApi };
    return m.default;
  } finally {
    URL.revokeObjectURL(url);
  }
}

export function loadKatex(): Promise<KatexApi> {
  api ??= load();
  return api;
}
