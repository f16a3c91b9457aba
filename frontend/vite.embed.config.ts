import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';
import { viteSingleFile } from 'vite-plugin-singlefile';
import { KATEX_CSS_ID, KATEX_JS_ID } from './src/lib/katex.embed';

// The single-file build: the same index.html and main.ts as the served app (same views), with
// every chunk, stylesheet and font inlined into dist/embed/index.html. The Python package embeds
// a document into it (attnviz.save_html, attnviz.show, `attnviz html`) and the app's
// "Download HTML" button does the same client-side.

const here = dirname(fileURLToPath(import.meta.url));
const katexDist = dirname(createRequire(import.meta.url).resolve('katex/dist/katex.min.js'));

/** Text that is safe as the content of a <script> element (the tokenizer ends or escapes it at these). */
function inertText(text: string, what: string): string {
  if (/<\/script|<!--|<script/i.test(text)) throw new Error(`${what} cannot be inlined as text: it contains a script or comment tag`);
  return text;
}

// KaTeX (script and fonts, ~620 kB) is kept out of the page's script and stylesheet, which every
// open of the file parses: lib/katex.ts becomes lib/katex.embed.ts, which reads KaTeX's minified
// build (its UMD wrapper given a `module` to fill, as an ES module) and its stylesheet (fonts
// inlined, woff2 only: every browser that runs this ES2022 bundle reads it) from inert text
// blocks the first time the math view opens.
// the math view's formulas (views/mathView.ts) use no \mathcal, \mathfrak, \mathsf, \mathscr
// or \mathtt: their five families' fonts (~170 kB) are left out; a glyph in them would be drawn
// in a system font, still offline
const UNUSED_FONTS = /@font-face\{[^}]*font-family:KaTeX_(?:Caligraphic|Fraktur|SansSerif|Script|Typewriter)[^}]*\}/g;

const lazyKatex: Plugin = {
  name: 'attnviz-lazy-katex',
  enforce: 'pre',
  resolveId(source, importer) {
    if (importer && /[\\/]lib[\\/]katex(\.ts)?$/.test(join(dirname(importer), source))) return join(here, 'src/lib/katex.embed.ts');
    return null;
  },
  transformIndexHtml: {
    order: 'post',
    handler(html) {
      const umd = inertText(readFileSync(join(katexDist, 'katex.min.js'), 'utf8'), 'katex.min.js');
      const js = `const module = { exports: {} }, exports = module.exports;\n${umd}\nexport default module.exports;\n`;
      const css = readFileSync(join(katexDist, 'katex.min.css'), 'utf8')
        .replace(UNUSED_FONTS, '')
        .replace(/,\s*url\([^)]*\.woff\)\s*format\("woff"\)/g, '')
        .replace(/,\s*url\([^)]*\.ttf\)\s*format\("truetype"\)/g, '')
        .replace(/url\((fonts\/[^)]+\.woff2)\)/g, (_, file: string) => `url(data:font/woff2;base64,${readFileSync(join(katexDist, file)).toString('base64')})`);
      if (/url\((?!data:)/.test(css)) throw new Error('katex.min.css still refers to a file after inlining its fonts');
      const blocks =
        `<script type="text/plain" id="${KATEX_JS_ID}">${js}</script>\n` + `<script type="text/plain" id="${KATEX_CSS_ID}">${inertText(css, 'katex.min.css')}</script>\n`;
      const at = html.lastIndexOf('</body>');
      if (at < 0) throw new Error('index.html has no </body>');
      return html.slice(0, at) + blocks + html.slice(at);
    },
  },
};

// A saved page is parsed in many slices (its document is megabytes of base64 at the end of the
// body), and the browser would lay out and paint the empty shell between them; the first frame
// waits for the document instead, which the app draws right after parsing (bench/bench_anywhere.py).
const renderAfterDocument: Plugin = {
  name: 'attnviz-render-after-document',
  enforce: 'post',
  transformIndexHtml: (html: string) => html.replace('</head>', '  <link rel="expect" href="#attnviz-document" blocking="render">\n  </head>'),
};

export default defineConfig({
  base: './',
  plugins: [lazyKatex, viteSingleFile({ removeViteModuleLoader: true }), renderAfterDocument],
  build: { outDir: 'dist/embed', emptyOutDir: true, target: 'es2022', sourcemap: false, assetsInlineLimit: () => true },
});
