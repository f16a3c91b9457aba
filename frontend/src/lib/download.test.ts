import { describe, expect, it } from 'vitest';
import type { AttentionDocument } from '../api/types';
import { decodeDocument, documentJson } from './doc';
import { compactDocument } from './embedHtml';

/** A document as the service sends it (every field it has today), plus fields this page has
 *  never heard of: a newer server's, at the top level and inside the objects the page reads. */
function served() {
  return {
    schema_version: 1,
    checkpoint: 'copy/ckpt_epoch3.pt',
    model: { task: 'copy', epoch: 3, n_layers: 1, n_heads: 1, d_model: 8, future_model_field: 'kept' },
    input: 'ab',
    output: 'ab',
    expected: 'ab',
    tokens: { src: ['a', 'b', '<eos>'], tgt: ['<bos>', 'a', 'b'], future_tokens_field: [1, 2] } as AttentionDocument['tokens'],
    encoding: 'json',
    weighting: 'attention',
    precision: 4,
    detail: 'full',
    warnings: ['a sentence'],
    steps: [{ t: 0, token: 'a', p: 0.9, p_sampled: null, top: [{ token: 'a', p: 0.9 }] }],
    sampling: { temperature: 0.5, top_k: 0, top_p: 1, seed: 7 },
    attentions: {
      encoder_self: [[[[0.5, 0.25, 0.25], [0.25, 0.5, 0.25], [0.25, 0.25, 0.5]]]],
      decoder_self: [[[[1, 0, 0], [0.5, 0.5, 0], [0.25, 0.25, 0.5]]]],
      cross: [[[[0.5, 0.5, 0], [0, 0.5, 0.5], [0.25, 0.5, 0.25]]]],
    },
    future_field: { nested: [1, 'two', null] },
    future_flag: false,
  } satisfies Partial<AttentionDocument> & Record<string, unknown>;
}

// what a download rewrites, because it re-encodes the weights (and writes the view it is on)
const REWRITTEN = new Set(['attentions', 'encoding', 'precision', 'view']);

function expectEveryFieldKept(got: Record<string, unknown>, sent: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(sent)) {
    if (!REWRITTEN.has(key)) expect(got[key], key).toEqual(value);
  }
}

describe('downloads keep every field the server sent', () => {
  it('the JSON download', () => {
    const sent = served();
    const got = JSON.parse(documentJson(decodeDocument(sent), 'kind=cross&layer=0'));
    expectEveryFieldKept(got, sent);
    expect(got.future_field).toEqual({ nested: [1, 'two', null] });
    expect(got.model.future_model_field).toBe('kept');
    expect(got.tokens.future_tokens_field).toEqual([1, 2]);
    // the weights are written as nested lists, and the document says so
    expect([got.encoding, got.precision]).toEqual(['json', 6]);
    expect(got.attentions).toEqual(sent.attentions);
    expect(got.view).toBe('kind=cross&layer=0');
  });

  it('the HTML download (its float16 document)', () => {
    const sent = { ...served(), encoding: 'float16' as const, precision: null };
    const got = JSON.parse(JSON.stringify(compactDocument(decodeDocument(sent))));
    expectEveryFieldKept(got, sent);
    expect(got.future_field).toEqual({ nested: [1, 'two', null] });
    expect([got.encoding, got.precision]).toEqual(['float16', null]);
    expect(decodeDocument(got).kinds.cross!.data).toEqual(decodeDocument(sent).kinds.cross!.data);
  });

  it('a downloaded file downloads again the same, its old view replaced', () => {
    const once = JSON.parse(documentJson(decodeDocument(served()), 'layer=0'));
    const twice = JSON.parse(documentJson(decodeDocument(once), 'kind=cross'));
    expect(twice).toEqual({ ...once, view: 'kind=cross' });
    // without a view of its own, the file's old one is not passed off as this one
    expect(JSON.parse(documentJson(decodeDocument(once)))).not.toHaveProperty('view');
  });

  it('the decoded document does not keep the received weights a second time', () => {
    const d = decodeDocument(served());
    expect(d.received).toBeDefined();
    expect(d.received).not.toHaveProperty('attentions');
  });
});
