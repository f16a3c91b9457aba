import { describe, expect, it } from 'vitest';
import { decodeDocument } from './doc';
import { compactDocument, DOCUMENT_ID, embedDocument, scriptJson } from './embedHtml';
import { KATEX_CSS_ID, KATEX_JS_ID } from './katex.embed';

const TEMPLATE = '<!doctype html><html><head><script type="module">console.log("</b" + "ody>")</script></head><body><div id="app"></div></body></html>';

function embedded(html: string, id: string): unknown {
  const m = new RegExp(`<script type="application/json" id="${id}">([\\s\\S]*?)</script>`).exec(html);
  return m ? JSON.parse(m[1]!) : undefined;
}

describe('scriptJson', () => {
  it('never closes the script element, and parses back to the same value', () => {
    const value = { input: '</script><!-- x', tokens: ['<s>', '\u2028'] };
    const text = scriptJson(value);
    expect(text).not.toContain('<');
    expect(JSON.parse(text)).toEqual(value);
  });
});

describe('embedDocument', () => {
  it('puts the document before the real </body> and replaces an earlier one', () => {
    const once = embedDocument(TEMPLATE, { a: 1 });
    expect(embedded(once, DOCUMENT_ID)).toEqual({ a: 1 });
    expect(once.indexOf(`id="${DOCUMENT_ID}"`)).toBeGreaterThan(once.indexOf('<div id="app">'));
    const twice = embedDocument(once, { b: 2 }, { math: [] });
    expect(twice.match(new RegExp(`id="${DOCUMENT_ID}"`, 'g'))).toHaveLength(1);
    expect(embedded(twice, DOCUMENT_ID)).toEqual({ b: 2 });
    expect(embedded(twice, 'attnviz-data')).toEqual({ math: [] });
  });
});

describe('embedDocument and KaTeX', () => {
  const katex = `<script type="text/plain" id="${KATEX_JS_ID}">export default 1;</script>\n<script type="text/plain" id="${KATEX_CSS_ID}">.katex{}</script>\n`;
  const withKatex = TEMPLATE.replace('</body>', `${katex}</body>`);
  const blocks = (html: string) => [KATEX_JS_ID, KATEX_CSS_ID].filter((id) => html.includes(`id="${id}"`));
  it('leaves KaTeX out of a file that embeds no math (its math view cannot open)', () => {
    expect(blocks(withKatex)).toHaveLength(2);
    for (const data of [null, {}, { math: [] }, { timeline: [{}] }]) {
      const html = embedDocument(withKatex, { a: 1 }, data);
      expect(blocks(html)).toEqual([]);
      expect(embedded(html, DOCUMENT_ID)).toEqual({ a: 1 });
      expect(html).toContain('<div id="app"></div>');
    }
  });
  it('keeps it in a file that embeds math', () => {
    const html = embedDocument(withKatex, { a: 1 }, { math: [{ request: {}, response: {} }] });
    expect(blocks(html)).toEqual([KATEX_JS_ID, KATEX_CSS_ID]);
    expect(html).toContain(katex);
  });
});

describe('compactDocument', () => {
  it('round-trips the weights through float16', () => {
    const raw = {
      schema_version: 1, checkpoint: null, model: { n_layers: 1, n_heads: 1 }, input: 'a b', output: null,
      tokens: { src: ['a', 'b'] }, attentions: { encoder_self: [[[[0.25, 0.75], [0.5, 0.5]]]] },
    };
    const doc = decodeDocument(raw);
    const compact = compactDocument(doc);
    expect(compact.encoding).toBe('float16');
    expect(compact.attentions.encoder_self).toMatchObject({ dtype: 'float16', shape: [1, 1, 2, 2] });
    const back = decodeDocument(JSON.parse(JSON.stringify(compact)));
    expect(Array.from(back.kinds.encoder_self!.data)).toEqual([0.25, 0.75, 0.5, 0.5]);
    expect(back.tokens).toEqual(doc.tokens);
  });
});
