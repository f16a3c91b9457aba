import { defineConfig } from 'vite';
import { viteSingleFile } from 'vite-plugin-singlefile';

// The single-file build: the same index.html and main.ts as the served app (same views), with
// every chunk, stylesheet and font inlined into dist/embed/index.html. The Python package embeds
// a document into it (attnviz.save_html, attnviz.show, `attnviz html`) and the app's
// "Download HTML" button does the same client-side. KaTeX's woff/ttf fallbacks are dropped:
// every browser that runs this ES2022 bundle reads woff2.
const dropFontFallbacks = {
  name: 'attnviz-woff2-only',
  enforce: 'pre' as const,
  transform(code: string, id: string) {
    if (!/katex(\.min)?\.css/.test(id)) return null;
    return code.replace(/,\s*url\([^)]*\.woff\)\s*format\("woff"\)/g, '').replace(/,\s*url\([^)]*\.ttf\)\s*format\("truetype"\)/g, '');
  },
};

// A saved page is parsed in many slices (its document is megabytes of base64 at the end of the
// body), and the browser would lay out and paint the empty shell between them; the first frame
// waits for the document instead, which the app draws right after parsing (bench/bench_anywhere.py).
const renderAfterDocument = {
  name: 'attnviz-render-after-document',
  enforce: 'post' as const,
  transformIndexHtml: (html: string) => html.replace('</head>', '  <link rel="expect" href="#attnviz-document" blocking="render">\n  </head>'),
};

export default defineConfig({
  base: './',
  plugins: [dropFontFallbacks, viteSingleFile({ removeViteModuleLoader: true }), renderAfterDocument],
  build: { outDir: 'dist/embed', emptyOutDir: true, target: 'es2022', sourcemap: false, assetsInlineLimit: () => true },
});
