/**
 * The single-file page (pure helpers): a document put into the built single-file template
 * (dist/embed/index.html) as `<script type="application/json" id="attnviz-document">`, and a
 * shown document encoded back to compact float16 for it. The Python side (attnviz/html.py)
 * writes the same tags.
 */
import type { DocumentFile } from '../api/types';
import { ATTENTION_KINDS } from '../api/types';
import { bytesToBase64 } from './base64';
import { toJsonDocument, type AttnDoc } from './doc';
import { floatToHalf } from './float16';
import { KATEX_CSS_ID, KATEX_JS_ID } from './katex.embed';

export const DOCUMENT_ID = 'attnviz-document';
export const DATA_ID = 'attnviz-data';

/** JSON that is safe inside a <script> element: `<` only occurs in strings, where \u003c means the same. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

const tagRe = (id: string) => new RegExp(`<script type="application/json" id="${id}">[\\s\\S]*?<\\/script>\\s*`, 'g');
const inertRe = (id: string) => new RegExp(`<script type="text/plain" id="${id}">[\\s\\S]*?<\\/script>\\n?`);

/** `template` (a single-file page) with its embedded document (and extras) replaced by `doc` (and `data`). */
export function embedDocument(template: string, doc: unknown, data: unknown = null): string {
  let clean = template.replace(tagRe(DOCUMENT_ID), '').replace(tagRe(DATA_ID), '');
  // KaTeX typesets the math view only, which a file without embedded math cannot open: ~560 kB
  // less for the browser to parse on every open (attnviz/html.py does the same)
  if (!(data as { math?: unknown[] } | null)?.math?.length) clean = clean.replace(inertRe(KATEX_JS_ID), '').replace(inertRe(KATEX_CSS_ID), '');
  const close = '</' + 'script>';
  let tags = `<script type="application/json" id="${DOCUMENT_ID}">${scriptJson(doc)}${close}\n`;
  if (data !== null) tags += `<script type="application/json" id="${DATA_ID}">${scriptJson(data)}${close}\n`;
  const at = clean.lastIndexOf('</body>');
  if (at < 0) throw new Error('The single-file template has no </body>.');
  return clean.slice(0, at) + tags + clean.slice(at);
}

/** The schema-v1 document of `doc` with every kind as compact float16 (2 bytes a weight). */
export function compactDocument(doc: AttnDoc): DocumentFile {
  const out = toJsonDocument({ ...doc, kinds: {} });
  out.attentions = {};
  for (const kind of ATTENTION_KINDS) {
    const t = doc.kinds[kind];
    if (!t) continue;
    const half = new Uint16Array(t.data.length);
    for (let i = 0; i < t.data.length; i++) half[i] = floatToHalf(t.data[i]!);
    const bytes = new Uint8Array(half.buffer);
    out.attentions[kind] = { dtype: 'float16', shape: [t.layers, t.heads, t.nq, t.nk], data: bytesToBase64(bytes) };
  }
  out.encoding = 'float16';
  if ('precision' in out) out.precision = null; // decimals mean nothing to float16
  return out;
}
