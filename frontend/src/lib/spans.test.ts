import { describe, expect, it } from 'vitest';
import type { AttnDoc, AttnTensor } from './doc';
import { hideSpecialTokens } from './special';
import {
  extendSpan,
  groupDoc,
  joinTokens,
  mergeMatrix,
  rawPositions,
  shownIndex,
  spanParam,
  sumColumns,
  sumRows,
  withSpan,
  wordGroups,
  wordScheme,
} from './spans';

/** A row-stochastic n × n matrix with distinct entries (row i, column j ∝ 1 + i + 2j + (i*j mod 3)). */
function stochastic(nq: number, nk: number): Float32Array {
  const m = new Float32Array(nq * nk);
  for (let i = 0; i < nq; i++) {
    let s = 0;
    for (let j = 0; j < nk; j++) s += (m[i * nk + j] = 1 + i + 2 * j + ((i * j) % 3));
    for (let j = 0; j < nk; j++) m[i * nk + j]! /= s;
  }
  return m;
}

const at = (m: ArrayLike<number>, nk: number, i: number, j: number) => m[i * nk + j]!;

describe('span sums', () => {
  const n = 6;
  const m = stochastic(n, n);

  it('sumColumns is, for every query, the sum of the selected columns', () => {
    const cols = [1, 2, 3];
    const s = sumColumns(m, n, n, cols);
    for (let i = 0; i < n; i++) expect(s[i]).toBeCloseTo(at(m, n, i, 1) + at(m, n, i, 2) + at(m, n, i, 3), 6);
  });

  it('sumRows is, for every key, the sum of the selected rows', () => {
    const s = sumRows(m, n, [0, 4]);
    for (let j = 0; j < n; j++) expect(s[j]).toBeCloseTo(at(m, n, 0, j) + at(m, n, 4, j), 6);
  });

  it('mergeMatrix sums the keys of a group and averages its queries; rows still sum to 1', () => {
    const groups = withSpan([[0], [1], [2], [3], [4], [5]], 2, 5); // [[0], [1], [2, 3, 4], [5]]
    expect(groups).toEqual([[0], [1], [2, 3, 4], [5]]);
    const g = mergeMatrix(m, n, groups, groups);
    const k = groups.length;
    const cols = sumColumns(m, n, n, [2, 3, 4]);
    // the span's column: the sum of its three columns, for a query outside it
    expect(at(g, k, 0, 2)).toBeCloseTo(cols[0]!, 6);
    expect(at(g, k, 3, 2)).toBeCloseTo(cols[5]!, 6);
    // the span's row: the mean of its three rows, for a key outside it
    const rows = sumRows(m, n, [2, 3, 4]);
    expect(at(g, k, 2, 0)).toBeCloseTo(rows[0]! / 3, 6);
    expect(at(g, k, 2, 1)).toBeCloseTo(rows[1]! / 3, 6);
    // the span with itself: mean over its rows of the sum over its columns
    expect(at(g, k, 2, 2)).toBeCloseTo((cols[2]! + cols[3]! + cols[4]!) / 3, 6);
    for (let i = 0; i < k; i++) expect([0, 1, 2, 3].reduce((s, j) => s + at(g, k, i, j), 0)).toBeCloseTo(1, 5);
  });
});

describe('word grouping', () => {
  it('WordPiece: ## pieces join the word before; specials and punctuation stand alone', () => {
    // MiniLM (bert-base-uncased vocabulary) on "Tokenization unbelievably helps, doesn't it?"
    const toks = ['[CLS]', 'token', '##ization', 'un', '##bel', '##ie', '##va', '##bly', 'helps', ',', 'doesn', "'", 't', 'it', '?', '[SEP]'];
    expect(wordScheme(toks)).toBe('wordpiece');
    const g = wordGroups(toks);
    expect(g).toEqual([[0], [1, 2], [3, 4, 5, 6, 7], [8], [9], [10], [11], [12], [13], [14], [15]]);
    expect(g.map((w) => joinTokens(w.map((i) => toks[i]!)))).toEqual(['[CLS]', 'tokenization', 'unbelievably', 'helps', ',', 'doesn', "'", 't', 'it', '?', '[SEP]']);
  });

  it('BPE (GPT-2): Ġ starts a word, pieces without it continue', () => {
    // GPT-2's tokenizer on "Hello, world! Tokenization rocks"
    const toks = ['Hello', ',', 'Ġworld', '!', 'ĠToken', 'ization', 'Ġrocks'];
    expect(wordScheme(toks)).toBe('bpe');
    const g = wordGroups(toks);
    expect(g).toEqual([[0], [1], [2], [3], [4, 5], [6]]);
    expect(joinTokens(['ĠToken', 'ization'])).toBe('ĠTokenization');
  });

  it('SentencePiece: ▁ starts a word; the model’s special tokens stand alone', () => {
    const toks = ['<s>', '▁the', '▁emb', 'ed', 'd', 'ings', '▁attend', '</s>'];
    expect(wordScheme(toks)).toBe('sentencepiece');
    expect(wordGroups(toks, ['<s>', '</s>'])).toEqual([[0], [1], [2, 3, 4, 5], [6], [7]]);
  });

  it('BPE as the server shows it: Ġ and ▁ are the visible space ␣', () => {
    // the tiny GPT-2 of tests/hf on "the cats attended homework", through backend hf.py display_token
    const toks = ['the', '␣cat', 's', '␣at', 'ten', 'd', 'ed', '␣ho', 'mewor', 'k'];
    expect(wordScheme(toks)).toBe('space');
    const g = wordGroups(toks);
    expect(g).toEqual([[0], [1, 2], [3, 4, 5, 6], [7, 8, 9]]);
    expect(g.map((w) => joinTokens(w.map((i) => toks[i]!)))).toEqual(['the', '␣cats', '␣attended', '␣homework']);
    // a newline is a word of its own, and so is a lone space
    expect(wordGroups(['a', '↵', 'b', '␣', 'c'], null, 'space')).toEqual([[0], [1], [2], [3], [4]]);
  });

  it('characters (the toy models) have no sub-word marks: every token is its own word', () => {
    const toks = ['<bos>', 'h', 'e', 'l', 'l', 'o', '<eos>'];
    expect(wordScheme(toks)).toBeNull();
    expect(wordGroups(toks)).toEqual(toks.map((_, i) => [i]));
    expect(joinTokens(['h', 'e', 'l'])).toBe('hel');
    expect(joinTokens(['l', 'o', '<eos>'])).toBe('lo<eos>');
  });

  it('a span that cuts a word takes the whole word', () => {
    expect(withSpan([[0], [1, 2], [3, 4, 5], [6]], 2, 4)).toEqual([[0], [1, 2, 3, 4, 5], [6]]);
  });
});

function tensor(kind: AttnTensor['kind'], nq: number, nk: number): AttnTensor {
  const one = stochastic(nq, nk);
  const data = new Float32Array(2 * nq * nk);
  data.set(one, 0);
  data.set(one.map((v) => v / 2), nq * nk); // a second head, rows summing to ½
  return { kind, layers: 1, heads: 2, nq, nk, data, causal: false };
}

function docOf(src: string[]): AttnDoc {
  return {
    schemaVersion: 1,
    checkpoint: 'hf/x',
    model: {} as AttnDoc['model'],
    input: 'x',
    output: null,
    expected: null,
    tokens: { src, tgt: [] },
    kinds: { encoder_self: tensor('encoder_self', src.length, src.length) },
    warnings: [],
    steps: null,
    encoding: 'json',
    weighting: 'attention',
    specialTokens: ['[CLS]', '[SEP]'],
  };
}

describe('grouped documents', () => {
  const toks = ['[CLS]', 'the', 'em', '##bed', '##ding', '##s', 'attend', '[SEP]'];
  const doc = docOf(toks);
  const raw = doc.kinds.encoder_self!;

  it('groups words in every head, and maps shown positions back to the tokens as received', () => {
    const g = groupDoc(doc, { words: true, span: null });
    expect(g.tokens.src).toEqual(['[CLS]', 'the', 'embeddings', 'attend', '[SEP]']);
    const t = g.kinds.encoder_self!;
    expect([t.nq, t.nk, t.heads]).toEqual([5, 5, 2]);
    const cols = sumColumns(raw.data, 8, 8, [2, 3, 4, 5]);
    expect(at(t.data, 5, 1, 2)).toBeCloseTo(cols[1]!, 6);
    expect(rawPositions(g, 'src', 2)).toEqual([2, 3, 4, 5]);
    // with [CLS] / [SEP] hidden after the merge, shown 1 is the merged word
    const hidden = hideSpecialTokens(g);
    expect(hidden.tokens.src).toEqual(['the', 'embeddings', 'attend']);
    expect(rawPositions(hidden, 'src', 1)).toEqual([2, 3, 4, 5]);
    // and back: every piece of the word is the merged token (what the math view's hover needs)
    for (const p of [2, 3, 4, 5]) expect([shownIndex(g, 'src', p), shownIndex(hidden, 'src', p)]).toEqual([2, 1]);
    expect([shownIndex(g, 'src', 6), shownIndex(hidden, 'src', 6)]).toEqual([3, 2]);
    expect([shownIndex(hidden, 'src', 0), shownIndex(hidden, 'src', 7), shownIndex(g, 'src', 8)]).toEqual([null, null, null]);
    for (let i = 0; i < hidden.tokens.src.length; i++) for (const p of rawPositions(hidden, 'src', i)) expect(shownIndex(hidden, 'src', p)).toBe(i);
  });

  it('a span merges its tokens; out of range it is ignored', () => {
    const g = groupDoc(doc, { words: false, span: { side: 'src', from: 1, to: 3 } });
    expect(g.tokens.src).toEqual(['[CLS]', 'the em', '##bed', '##ding', '##s', 'attend', '[SEP]']);
    const rows = sumRows(raw.data, 8, [1, 2]);
    expect(at(g.kinds.encoder_self!.data, 7, 1, 0)).toBeCloseTo(rows[0]! / 2, 6);
    expect(groupDoc(doc, { words: false, span: { side: 'src', from: 3, to: 12 } })).toBe(doc);
  });
});

describe('span selection and URL', () => {
  it('shift-clicks extend the span to the hull; a click on the span itself clears it', () => {
    let s = extendSpan(null, 'src', [3]);
    expect(s).toEqual({ side: 'src', from: 3, to: 4 });
    s = extendSpan(s, 'src', [1]);
    expect(s).toEqual({ side: 'src', from: 1, to: 4 });
    s = extendSpan(s, 'src', [5, 6]);
    expect(s).toEqual({ side: 'src', from: 1, to: 7 });
    expect(extendSpan(s, 'tgt', [0])).toEqual({ side: 'tgt', from: 0, to: 1 });
    expect(extendSpan(s, 'src', [1, 2, 3, 4, 5, 6])).toBeNull();
  });

  it('span=src:2-5 round-trips; a bad one is refused', () => {
    const p = spanParam();
    expect(p.parse('src:2-5')).toEqual({ side: 'src', from: 2, to: 5 });
    expect(p.format({ side: 'tgt', from: 0, to: 3 })).toBe('tgt:0-3');
    expect(p.parse('src:5-2')).toBeUndefined();
    expect(p.parse('key:1-2')).toBeUndefined();
  });
});

describe('the URL and a saved document remember the span and the words', () => {
  it('span / words round-trip through the URL specs and a document’s view string', async () => {
    const { URL_SPECS, docViewPatch, docViewString } = await import('../app/state');
    const { formatParams, parseParams } = await import('./url');
    const s = parseParams(URL_SPECS, '?ckpt=hf/x&text=a%20b&span=src:1-3&words=1&text2=a%20c');
    expect([s.span, s.words, s.text2]).toEqual([{ side: 'src', from: 1, to: 3 }, true, 'a c']);
    expect(formatParams(URL_SPECS, s)).toContain('span=src%3A1-3&words=1&text2=a+c');
    expect(docViewPatch(docViewString(s))).toMatchObject({ span: { side: 'src', from: 1, to: 3 }, words: true });
  });
});
